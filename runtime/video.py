"""Upscaling a video (a file or a webcam) frame by frame with a pocketsr runner.

Decoding and encoding use PyAV (FFmpeg). Three kinds of threads overlap the work:

* one *decode* thread demuxes the input, converts each video frame to ``(H, W, 3)`` uint8 RGB
  and puts it on a bounded queue; audio packets are handed to the encode thread;
* ``workers`` *inference* threads, each with its own runner (LiteRT interpreters are not
  thread-safe), upscale frames with :func:`pocketsr.runtime.tiling.upscale_uint8` (numpy, LiteRT and
  PyTorch release the GIL, so the threads really run in parallel);
* the *calling* thread (where Ctrl-C lands) takes results in frame order through a reorder
  buffer, encodes H.264 (``libx264``; ``mpeg4`` if this PyAV build has no libx264) and muxes
  the audio.

Memory is bounded: at most ``workers + 2`` decoded frames wait for a worker, and output frames
live in a fixed pool of ``2 * workers + 2`` preallocated buffers; a worker takes a buffer
*before* it takes a frame, so the frame the encoder waits for always owns one (no deadlock) and
the reorder buffer never holds more than the pool. Only compressed audio packets are queued
without a bound (they are small).

Output file: written to a hidden temporary file in the output's folder with the output's
suffix (so the muxer picks the container), then renamed over the output path.

Interruption (Ctrl-C or an error in any stage): workers stop before their next tile, frames
finished but not yet encoded are discarded, the encoder is flushed and the container closed
properly, so the frames already encoded form a valid, playable file. It is kept at the
output path — a long run interrupted near its end is still worth having — and a note
``interrupted after K frames: wrote a playable file with K frames`` is added to ``notes`` (the
CLI prints it); with 0 frames written the temporary file is removed instead. The exception is
then re-raised (the CLI exits 130 on Ctrl-C). While the output is open (and the call is in the
main thread), Ctrl-C only *requests* the stop and the KeyboardInterrupt is raised between two
frames: raised at an arbitrary point it could drop the packets an encoder call had just
returned — the first of them the keyframe every later frame needs — and leave a file that
plays nothing.

Colour: decoded frames are converted to RGB with the input's signalled matrix (FFmpeg's
default, BT.601, when unsignalled); H.264 output is written as BT.709 limited range and tagged
so (``mpeg4`` output is untagged BT.601, which is what decoders assume for it).
"""

from __future__ import annotations

import os
import queue
import secrets
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np

from pocketsr.errors import InputError
from pocketsr.interrupts import requests_stop

#: output suffix -> FFmpeg muxer name
CONTAINERS = {".mp4": "mp4", ".mkv": "matroska", ".mov": "mov"}

#: libx264 settings: visually lossless-ish quality at a speed that keeps up with inference
X264_OPTIONS = {"crf": "18", "preset": "veryfast"}

_STOP = object()  # queue sentinel


def video_codec() -> str:
    """The output video encoder: ``"libx264"`` if this PyAV build has it, else ``"mpeg4"``."""
    import av

    return "libx264" if "libx264" in av.codecs_available else "mpeg4"


def output_format(path: Path) -> str:
    """FFmpeg muxer for an output path from its suffix (case-insensitive).

    Raises:
        InputError: the suffix is not one of :data:`CONTAINERS`.
    """
    fmt = CONTAINERS.get(Path(path).suffix.lower())
    if fmt is None:
        raise InputError(f"unknown output container {Path(path).suffix or '(no suffix)'!r} for {path}: "
                         f"use {', '.join(CONTAINERS)}")
    return fmt


def camera_source(index: int) -> Tuple[str, str]:
    """``(device, FFmpeg input format)`` of webcam ``index``: ``/dev/videoN`` with ``v4l2`` on
    Linux, ``"N"`` with ``avfoundation`` on macOS.

    Raises:
        InputError: another OS, or a negative index.
    """
    if index < 0:
        raise InputError(f"--camera must be >= 0, got {index}")
    if sys.platform.startswith("linux"):
        return f"/dev/video{index}", "v4l2"
    if sys.platform == "darwin":
        return str(index), "avfoundation"
    raise InputError(f"--camera is supported on Linux (v4l2) and macOS (avfoundation), not {sys.platform}")


def _reason(exc: BaseException) -> str:
    """One line about an exception: FFmpeg's own message without errno and file name."""
    text = (getattr(exc, "strerror", None) or str(exc)).strip().splitlines()
    return text[0] if text else type(exc).__name__


def open_input(source, camera: Optional[int] = None):
    """Open a video file (``source``) or webcam ``camera`` for decoding.

    Returns:
        ``(container, video stream, audio stream or None)``.

    Raises:
        InputError: missing file, a file FFmpeg cannot read (not a video, truncated, corrupt),
            no video stream, or a camera that cannot be opened.
    """
    import av

    if camera is not None:
        device, fmt = camera_source(camera)
        try:
            container = av.open(device, format=fmt)
        except (av.FFmpegError, OSError, ValueError) as exc:
            raise InputError(f"cannot open camera {camera} ({device}, {fmt}): {_reason(exc)}") from None
        name = f"camera {camera}"
    else:
        path = Path(source)
        if not path.is_file():
            raise InputError(f"input video not found: {path}")
        try:
            container = av.open(str(path), metadata_errors="ignore")
        except (av.FFmpegError, OSError, ValueError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read {path} as a video: {_reason(exc)}") from None
        name = str(path)
    if not container.streams.video:
        container.close()
        raise InputError(f"{name} has no video stream")
    video = container.streams.video[0]
    if video.codec_context is None or not video.codec_context.name:
        container.close()
        raise InputError(f"{name}: video stream has no decoder")
    audio = container.streams.audio[0] if container.streams.audio else None
    return container, video, audio


@dataclass
class _Plan:
    """What the output looks like: SR size (even, maybe cropped), frame size, rates."""

    sr_h: int
    sr_w: int
    out_h: int
    out_w: int
    rate: Fraction  # frames per second (nominal)
    time_base: Fraction  # of input pts
    cropped: bool


def _label(text: str, height: int) -> np.ndarray:
    """A small white-on-black text patch ``(h, w, 3)`` uint8 (Pillow's default font)."""
    from PIL import Image, ImageDraw, ImageFont

    size = max(10, height // 40)
    try:
        font = ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: bitmap font, fixed size
        font = ImageFont.load_default()
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    x0, y0, x1, y1 = probe.textbbox((0, 0), text, font=font)
    pad = max(2, size // 3)
    img = Image.new("RGB", (x1 - x0 + 2 * pad, y1 - y0 + 2 * pad), (0, 0, 0))
    ImageDraw.Draw(img).text((pad - x0, pad - y0), text, fill=(255, 255, 255), font=font)
    return np.asarray(img)


def _paste(dst: np.ndarray, patch: np.ndarray, y: int, x: int) -> None:
    h = min(patch.shape[0], dst.shape[0] - y)
    w = min(patch.shape[1], dst.shape[1] - x)
    if h > 0 and w > 0:
        dst[y:y + h, x:x + w] = patch[:h, :w]


def _put(q: "queue.Queue", item, stop: threading.Event) -> bool:
    """Blocking put that gives up (False) once ``stop`` is set."""
    while not stop.is_set():
        try:
            q.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def _get(q: "queue.Queue", stop: threading.Event):
    """Blocking get that gives up (returns ``_STOP``) once ``stop`` is set."""
    while not stop.is_set():
        try:
            return q.get(timeout=0.1)
        except queue.Empty:
            continue
    return _STOP


def _packet_seconds(packet) -> Optional[float]:
    return float(packet.pts * packet.time_base) if packet.pts is not None and packet.time_base else None


class _Output:
    """The output container: one H.264 (or mpeg4) video stream and the input's audio.

    Audio strategy, tried in order until the muxer accepts the header: remux the input audio
    packets unchanged (``"copy"``), decode and re-encode them to AAC (``"aac"``), no audio
    (``"dropped"``, with a note). ``"none"``: the input has no audio.
    """

    def __init__(self, tmp: Path, fmt: str, plan: _Plan, in_audio, notes: List[str]):
        import av

        self.plan = plan
        self.codec = video_codec()
        self.in_audio = in_audio
        self.audio_mode = "none"
        self.frames = 0
        self._last_pts: Optional[int] = None
        last_error: Optional[BaseException] = None
        for mode in (("copy", "aac", "dropped") if in_audio is not None else ("none",)):
            container = av.open(str(tmp), mode="w", format=fmt)
            try:
                self._setup(container, mode)
                container.start_encoding()  # writes the header: the muxer checks every stream here
            except (av.FFmpegError, ValueError, TypeError, KeyError) as exc:
                last_error = exc
                try:
                    container.close()
                except Exception:  # noqa: BLE001 - already failing; the next mode starts over
                    pass
                if mode in ("none", "dropped"):
                    raise InputError(f"cannot write {self.codec} video to a {fmt} file: {_reason(exc)}") from None
                continue
            self.container = container
            self.audio_mode = mode
            break
        if self.audio_mode == "dropped":
            notes.append(f"audio ({in_audio.codec_context.name}) can be neither copied nor re-encoded "
                         f"to AAC in this container ({_reason(last_error)}): dropped")

    def _setup(self, container, mode: str) -> None:
        import av

        plan = self.plan
        rate = Fraction(plan.rate).limit_denominator(65535)
        options = dict(X264_OPTIONS) if self.codec == "libx264" else {}
        stream = container.add_stream(self.codec, rate=rate, options=options)
        stream.width, stream.height = plan.out_w, plan.out_h
        stream.pix_fmt = "yuv420p"
        cc = stream.codec_context
        if self.codec == "libx264":
            # the input's time base: frame times are copied exactly (variable rate too)
            cc.time_base = plan.time_base if plan.time_base else Fraction(1, 1_000_000)
            cc.colorspace, cc.color_primaries, cc.color_trc, cc.color_range = 1, 1, 1, 1  # BT.709, limited
        else:  # mpeg4 allows time bases up to 1/65535 only: frame times are rounded to 1 / rate
            cc.time_base = 1 / rate
            cc.bit_rate = max(2_000_000, plan.out_w * plan.out_h * 6)
        stream.time_base = cc.time_base
        cc.framerate = rate
        self.video = stream
        self.audio = None
        self.decoder = None
        if mode == "copy":
            self.audio = container.add_stream_from_template(self.in_audio)
        elif mode == "aac":
            src = self.in_audio.codec_context
            if not src.sample_rate:
                raise ValueError("input audio has no sample rate")
            self.audio = container.add_stream("aac", rate=src.sample_rate)
            self.audio.layout = "mono" if src.layout.nb_channels == 1 else "stereo"
            self.decoder = av.CodecContext.create(src.name, "r")
            if src.extradata:
                self.decoder.extradata = src.extradata
            self.decoder.sample_rate = src.sample_rate
            self.decoder.layout = src.layout

    def write(self, rgb: np.ndarray, pts: int, time_base: Fraction) -> None:
        """Encode one ``(out_h, out_w, 3)`` uint8 RGB frame presented at ``pts * time_base``
        seconds (times are forced to increase strictly, as H.264 requires)."""
        import av

        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        if self.codec == "libx264":
            frame = frame.reformat(format="yuv420p", dst_colorspace="itu709", dst_color_range=1)
        else:
            frame = frame.reformat(format="yuv420p")
        ticks = round(Fraction(pts) * time_base / self.video.codec_context.time_base)
        if self._last_pts is not None and ticks <= self._last_pts:
            ticks = self._last_pts + 1
        self._last_pts = ticks
        frame.pts = ticks
        frame.time_base = self.video.codec_context.time_base
        for packet in self.video.encode(frame):
            self.container.mux(packet)
        self.frames += 1

    def write_audio(self, packet) -> None:
        """Mux (copy) or transcode one input audio packet (no-op without an audio stream)."""
        if self.audio is None or packet.dts is None or packet.size == 0:
            return
        if self.audio_mode == "copy":
            packet.stream = self.audio
            self.container.mux(packet)
            return
        for frame in self.decoder.decode(packet):
            frame.pts = None  # the AAC encoder counts samples itself
            for out in self.audio.encode(frame):
                self.container.mux(out)

    def close(self) -> None:
        """Flush the encoders and write the trailer: the file is then playable."""
        try:
            for packet in self.video.encode(None):
                self.container.mux(packet)
            if self.audio_mode == "aac":
                for frame in self.decoder.decode(None):
                    frame.pts = None
                    for out in self.audio.encode(frame):
                        self.container.mux(out)
                for out in self.audio.encode(None):
                    self.container.mux(out)
        finally:
            self.container.close()


def _temp_path(output: Path) -> Path:
    """An unused hidden name beside ``output`` with its suffix (the muxer reads the suffix);
    created by FFmpeg itself so the file gets the usual permissions."""
    while True:
        path = output.parent / f".{output.stem}.tmp{secrets.token_hex(4)}{output.suffix}"
        if not path.exists():
            return path


class _Stopped(Exception):
    """Raised in a worker when the pipeline is stopping (not an error)."""


class _Stoppable:
    """A runner wrapper that refuses new tiles once ``stop`` is set, so an interrupted run
    does not wait for whole frames to finish."""

    def __init__(self, runner, stop: threading.Event):
        self.runner, self.stop = runner, stop
        self.scale = runner.scale
        self.input_size = getattr(runner, "input_size", None)

    def __getattr__(self, name):  # anything else the tiler may ask of a runner
        return getattr(self.runner, name)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.stop.is_set():
            raise _Stopped
        return self.runner(x)


def _demux(container, vstream, astream):
    """``("video", VideoFrame)`` and ``("audio", Packet)`` items in file order."""
    streams = [vstream] + ([astream] if astream is not None else [])
    for packet in container.demux(*streams):
        if packet.stream.type == "audio":
            yield "audio", packet
        else:
            for frame in packet.decode():
                yield "video", frame


class _Pipeline:
    """Decode thread -> ``workers`` inference threads -> encoding in the calling thread."""

    def __init__(self, source, first, first_rgb: np.ndarray, backlog: list, plan: _Plan, out: _Output,
                 runners: list, overlap: int, tile, side_by_side: bool, max_frames: Optional[int],
                 camera: bool, notes: List[str], sr_label: Optional[str], stop: threading.Event,
                 interrupted: threading.Event):
        self.source, self.first, self.first_rgb = source, first, first_rgb
        self.plan, self.out, self.runners = plan, out, runners
        self.overlap, self.tile, self.side_by_side = overlap, tile, side_by_side
        self.max_frames, self.notes = max_frames, notes
        self.workers = len(runners)
        self.stop = stop  # set on any error or Ctrl-C: every thread ends
        self.interrupted = interrupted  # set by Ctrl-C (see upscale_video)
        self.error: Optional[BaseException] = None
        self.pool: "queue.Queue" = queue.Queue()
        for _ in range(2 * self.workers + 2):
            self.pool.put(np.empty((plan.out_h, plan.out_w, 3), dtype=np.uint8))
        self.frames: "queue.Queue" = queue.Queue(maxsize=self.workers + 2)
        self.results: "queue.Queue" = queue.Queue()  # bounded by the pool
        self.audio: "queue.Queue" = queue.Queue()  # compressed packets: small
        for p in backlog:
            self.audio.put(p)
        self.audio_complete = threading.Event()
        self.infer_seconds: List[float] = []
        self.pts0 = first.pts if camera and first.pts is not None else 0  # webcams: wall-clock times
        self.time_base = plan.time_base if plan.time_base else None
        scale = runners[0].scale
        self.labels = ((_label("bicubic", plan.out_h), _label(sr_label or f"SR x{scale}", plan.out_h))
                       if side_by_side else None)
        self.half = plan.out_w // 2 if side_by_side else plan.out_w

    def fail(self, exc: BaseException) -> None:
        if self.error is None:
            self.error = exc
        self.stop.set()

    # -- decode -----------------------------------------------------------------------------------
    def _frame_time(self, frame, index: int) -> Tuple[int, Fraction, float]:
        """``(pts, time base, seconds)`` of a decoded frame (index / rate if it has no pts)."""
        if frame.pts is not None and self.time_base:
            pts = frame.pts - self.pts0
            return pts, self.time_base, float(pts * self.time_base)
        tb = 1 / Fraction(self.plan.rate)
        return index, tb, float(index * tb)

    def decode(self) -> None:
        import av

        index, end_s, item = 0, None, self.first
        try:
            while True:
                if item is not None:
                    rgb = self.first_rgb if index == 0 else item.to_ndarray(format="rgb24")
                    if rgb.shape != self.first_rgb.shape:
                        raise InputError(f"frame {index} is {rgb.shape[1]}x{rgb.shape[0]} but the first was "
                                         f"{self.first_rgb.shape[1]}x{self.first_rgb.shape[0]}: size changes "
                                         "are not supported")
                    pts, tb, seconds = self._frame_time(item, index)
                    if not _put(self.frames, (index, rgb, pts, tb, seconds), self.stop):
                        return
                    index += 1
                    end_s = seconds + float(1 / Fraction(self.plan.rate))
                    if self.max_frames is not None and index >= self.max_frames:
                        break
                try:
                    kind, item = next(self.source)
                except StopIteration:
                    break
                if kind == "audio":
                    self.audio.put(item)
                    item = None
                if self.stop.is_set():
                    return
            if end_s is not None:  # the last frames' audio may still lie ahead in the file
                for kind, packet in self.source:
                    if self.stop.is_set():
                        return
                    if kind == "audio":
                        self.audio.put(packet)
                        t = _packet_seconds(packet)
                        if t is not None and t >= end_s:
                            break
        except (av.FFmpegError, ValueError, EOFError) as exc:
            if index == 0:
                self.fail(InputError(f"cannot decode the video: {_reason(exc)}"))
            else:  # a damaged tail (e.g. a truncated file): keep what decoded
                self.notes.append(f"decoding stopped after {index} frames: {_reason(exc)}")
        except BaseException as exc:  # noqa: BLE001 - re-raised by the calling thread
            self.fail(exc)
        finally:
            self.audio_complete.set()
            for _ in range(self.workers):
                _put(self.frames, _STOP, self.stop)

    # -- inference --------------------------------------------------------------------------------
    def infer(self, runner) -> None:
        from PIL import Image

        from pocketsr.runtime.tiling import upscale_uint8

        plan = self.plan
        scratch = (np.empty((plan.sr_h, plan.sr_w, 3), dtype=np.uint8)
                   if self.side_by_side or plan.cropped else None)
        try:
            while True:
                buf = _get(self.pool, self.stop)  # a buffer first, then a frame: see module docstring
                if buf is _STOP:
                    return
                job = _get(self.frames, self.stop)
                if job is _STOP:
                    self.pool.put(buf)
                    _put(self.results, _STOP, self.stop)
                    return
                index, rgb, pts, tb, seconds = job
                t0 = time.perf_counter()
                if scratch is None:
                    upscale_uint8(runner, rgb, self.overlap, tile=self.tile, out=buf)
                else:
                    sr = upscale_uint8(runner, rgb, self.overlap, tile=self.tile, out=scratch)
                    h, half = plan.out_h, self.half
                    if self.side_by_side:
                        buf[:, half:] = sr[:h, :half]
                        bicubic = Image.fromarray(rgb).resize((plan.sr_w, plan.sr_h), Image.BICUBIC)
                        buf[:, :half] = np.asarray(bicubic)[:h, :half]
                        pad = max(4, h // 100)
                        _paste(buf, self.labels[0], pad, pad)
                        _paste(buf, self.labels[1], pad, half + pad)
                    else:
                        buf[:] = sr[:h, :plan.out_w]
                self.infer_seconds.append(time.perf_counter() - t0)
                if not _put(self.results, (index, buf, pts, tb, seconds), self.stop):
                    return
        except _Stopped:
            return
        except BaseException as exc:  # noqa: BLE001 - re-raised by the calling thread
            self.fail(exc)

    # -- encode (calling thread) ------------------------------------------------------------------
    def _mux_audio(self, waiting: deque, until_s: Optional[float], strict: bool = False) -> None:
        """Write waiting audio packets up to ``until_s`` seconds (all when None). ``strict``:
        drop the rest (the end of the output)."""
        while True:
            try:
                waiting.append(self.audio.get_nowait())
            except queue.Empty:
                break
        while waiting:
            t = _packet_seconds(waiting[0])
            if until_s is not None and t is not None and (t >= until_s if strict else t > until_s):
                if strict:
                    waiting.clear()
                return
            self.out.write_audio(waiting.popleft())

    def run(self, progress, total: Optional[int]) -> None:
        """Run to the end (``self.t0``: start time, ``time.perf_counter`` seconds). Re-raises the
        first error of any thread."""
        threads = [threading.Thread(target=self.decode, name="pocketsr-decode", daemon=True)]
        threads += [threading.Thread(target=self.infer, args=(_Stoppable(r, self.stop),),
                                     name=f"pocketsr-infer-{i}", daemon=True)
                    for i, r in enumerate(self.runners)]
        self.t0 = t0 = time.perf_counter()
        for t in threads:
            t.start()
        pending: Dict[int, tuple] = {}
        waiting: deque = deque()
        next_index, finished, end_s = 0, 0, None
        try:
            while finished < self.workers:
                item = _get(self.results, self.stop)
                if item is _STOP:
                    if self.error is not None or self.interrupted.is_set():
                        break
                    finished += 1
                    continue
                pending[item[0]] = item
                while next_index in pending and not self.interrupted.is_set():
                    _, buf, pts, tb, seconds = pending.pop(next_index)
                    self._mux_audio(waiting, seconds)
                    self.out.write(buf, pts, tb)
                    self.pool.put(buf)
                    next_index += 1
                    end_s = seconds + float(1 / Fraction(self.plan.rate))
                    if progress is not None:
                        elapsed = time.perf_counter() - t0
                        progress(next_index, total, next_index / elapsed if elapsed > 0 else 0.0)
            if self.error is not None:
                raise self.error
            if self.interrupted.is_set():
                raise KeyboardInterrupt  # between two frames: every packet returned so far is muxed
            while not self.audio_complete.wait(0.1):
                pass
            self._mux_audio(waiting, end_s, strict=True)
        finally:
            self.stop.set()  # workers stop before their next tile, the decoder before its next frame
            for t in threads:
                # No timeout: a thread abandoned inside a native runtime (LiteRT, FFmpeg) while
                # the interpreter exits aborts the process (exit 134), and the container it
                # reads is closed next. Each stops within one tile or one frame.
                t.join()


def upscale_video(input, output, runner_factory: Callable[[], object], overlap: int,
                  side_by_side: bool = False, workers: int = 1, max_frames: Optional[int] = None,
                  progress: Optional[Callable[[int, Optional[int], float], None]] = None,
                  camera: Optional[int] = None, tile: Optional[Tuple[int, int]] = None,
                  notes: Optional[List[str]] = None, sr_label: Optional[str] = None) -> Dict:
    """Upscale every frame of a video with an SR runner and write an H.264 video.

    Args:
        input: video file path (any container/codec FFmpeg decodes); ignored when ``camera``
            is given.
        output: output path; its suffix picks the container (:data:`CONTAINERS`). Written
            atomically; see the module docstring for what an interruption leaves.
        runner_factory: called ``workers`` times, in the calling thread before any work, to
            make one runner per worker: ``(1, 3, h, w)`` float32 RGB in [0, 1] ->
            ``(1, 3, h*s, w*s)`` float32, attributes ``scale`` and ``input_size`` (see
            :mod:`pocketsr.runtime.runners`).
        overlap: tile overlap in LR pixels (:func:`pocketsr.runtime.tiling.upscale_uint8`).
        side_by_side: each output frame is ``[bicubic | SR]`` (Pillow bicubic), each half
            labelled; the frame is then ``2 * W * s`` pixels wide.
        workers: inference threads (>= 1), each with its own runner.
        max_frames: stop after this many frames (None: all).
        progress: called in the calling thread after each written frame as
            ``progress(frames_done, total_or_None, frames_per_second_so_far)``.
        camera: read webcam ``N`` instead of ``input`` (:func:`camera_source`).
        tile: tile ``(h, w)`` for runners that accept any size (default: the runner's input
            size, else :data:`pocketsr.runtime.tiling.DEFAULT_ANY_SIZE_TILE`).
        sr_label: label of the SR half side by side (default ``"SR x<scale>"``).
        notes: list receiving human-readable notes (odd size cropped, audio dropped, damaged
            tail, interruption) for the caller to print.

    Output: frames of ``(H*s, W*s)`` pixels (``2*W*s`` wide side by side) cropped to even
    sizes if needed (yuv420p; only an odd scale makes them odd), H.264 yuv420p (``mpeg4`` if
    libx264 is missing), frame times copied from the input (constant or variable rate), nominal
    rate = the input's ``average_rate``. Audio: the first audio stream, copied (or re-encoded
    to AAC), cut at the end of the last written video frame.

    Returns:
        ``{"frames": int, "seconds": float (wall, pipeline start to the closed output; excludes
        opening the input and making runners), "fps": float
        (frames per wall second), "infer_ms_mean": float (mean ms per frame inside one worker:
        tiled upscale, plus bicubic and labels side by side), "audio": "copied" | "re-encoded"
        | "none" | "dropped", "width": int, "height": int (output frame, px), "input_width":
        int, "input_height": int, "fps_in": float (input nominal frames per second), "codec":
        str, "workers": int, "output": str}``.

    Raises:
        InputError: missing/unreadable input, no video stream, no decodable frame, unknown
            output suffix, missing output folder, output == input, ``workers`` < 1 or
            ``max_frames`` < 1, or frames changing size mid-stream.
        ArtifactError: from ``runner_factory``.
        KeyboardInterrupt: re-raised after the partial output was finalised.
    """
    import av

    from pocketsr.runtime.tiling import DEFAULT_ANY_SIZE_TILE, plan_tiles

    output = Path(output)
    fmt = output_format(output)
    if workers < 1:
        raise InputError(f"--workers must be >= 1, got {workers}")
    if max_frames is not None and max_frames < 1:
        raise InputError(f"--max-frames must be >= 1, got {max_frames}")
    if not output.parent.is_dir():
        raise InputError(f"output folder not found: {output.parent}")
    if camera is None and Path(input).exists() and Path(input).resolve() == output.resolve():
        raise InputError("the output would overwrite the input")
    notes = notes if notes is not None else []
    label = str(input) if camera is None else f"camera {camera}"
    container, vstream, astream = open_input(input, camera)
    tmp: Optional[Path] = None
    out: Optional[_Output] = None
    try:
        vstream.thread_type = "AUTO"
        rate = next((Fraction(r) for r in (vstream.average_rate, vstream.guessed_rate, vstream.base_rate)
                     if r), Fraction(25))
        time_base = Fraction(vstream.time_base) if vstream.time_base else Fraction(0)
        total = vstream.frames or None
        if total is None and camera is None and vstream.duration and time_base:
            total = round(float(vstream.duration * time_base * rate)) or None
        if max_frames is not None:
            total = min(total, max_frames) if total else max_frames
        runners = [runner_factory() for _ in range(workers)]
        scale = int(runners[0].scale)

        source = _demux(container, vstream, astream)
        backlog, first = [], None
        try:
            for kind, item in source:
                if kind == "audio":
                    backlog.append(item)
                else:
                    first = item
                    break
        except (av.FFmpegError, ValueError, EOFError) as exc:
            raise InputError(f"cannot decode {label}: {_reason(exc)}") from None
        if first is None:
            raise InputError(f"{label}: no decodable video frame")
        first_rgb = first.to_ndarray(format="rgb24")
        h, w = first_rgb.shape[:2]
        sr_h, sr_w = h * scale, w * scale
        out_h, out_w = sr_h - sr_h % 2, sr_w - sr_w % 2
        plan = _Plan(sr_h, sr_w, out_h, out_w * (2 if side_by_side else 1), rate, time_base,
                     (out_h, out_w) != (sr_h, sr_w))
        try:
            plan_tiles(h, w, tile or runners[0].input_size or DEFAULT_ANY_SIZE_TILE, overlap)
        except ValueError as exc:
            raise InputError(f"{label}: {exc}") from None
        if plan.cropped:
            notes.append(f"SR size {sr_w}x{sr_h} is odd: cropped to {out_w}x{out_h} (yuv420p needs even sizes)")

        stop, interrupted = threading.Event(), threading.Event()
        with requests_stop(stop, interrupted):
            tmp = _temp_path(output)
            try:
                out = _Output(tmp, fmt, plan, astream, notes)
                pipeline = _Pipeline(source, first, first_rgb, backlog, plan, out, runners, overlap, tile,
                                     side_by_side, max_frames, camera is not None, notes, sr_label,
                                     stop=stop, interrupted=interrupted)
                pipeline.run(progress, total)
                if out.frames == 0:
                    raise InputError(f"{label}: no decodable video frame")
                audio_mode = out.audio_mode
                out, finished = None, out
                finished.close()
                seconds = time.perf_counter() - pipeline.t0  # including the encoder's flush
                os.replace(tmp, output)
                tmp = None
            except BaseException:
                if out is not None:
                    written = out.frames
                    try:
                        out.close()
                    except Exception:  # noqa: BLE001 - the original error matters more
                        written = 0
                    if written > 0:
                        os.replace(tmp, output)
                        tmp = None
                        notes.append(f"interrupted after {written} frames: wrote a playable file with "
                                     f"{written} frames to {output}")
                if tmp is not None:
                    tmp.unlink(missing_ok=True)
                raise
        if interrupted.is_set():  # Ctrl-C while the finished file was being flushed: it is whole
            notes.append(f"interrupted after {finished.frames} frames: wrote a playable file with "
                         f"{finished.frames} frames (the whole video) to {output}")
            raise KeyboardInterrupt
    finally:
        container.close()

    infer = pipeline.infer_seconds
    return {"frames": finished.frames, "seconds": seconds,
            "fps": finished.frames / seconds if seconds > 0 else 0.0,
            "infer_ms_mean": 1000.0 * float(np.mean(infer)) if infer else 0.0,
            "audio": {"copy": "copied", "aac": "re-encoded"}.get(audio_mode, audio_mode),
            "width": plan.out_w, "height": plan.out_h, "input_width": w, "input_height": h,
            "fps_in": float(rate), "codec": finished.codec, "workers": workers, "output": str(output)}
