"""`pocketsr video`: real clips through an artifact or PyTorch, audio, bad inputs, interruption."""

from fractions import Fraction

import av
import numpy as np
import pytest
from PIL import Image

from conftest import VIDEOS, assert_one_line_error, run_cli

CLIP = VIDEOS / "bottle-detection.mp4"  # 640x360, 179/6 fps, no audio
OTHER = VIDEOS / "car-detection.mp4"  # 768x432, 12.5 fps


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0 ** 2 / mse))


def read_frames(path, limit=None):
    """All decoded video frames of a file as (H, W, 3) uint8 RGB."""
    with av.open(str(path)) as c:
        frames = []
        for f in c.decode(video=0):
            frames.append(f.to_ndarray(format="rgb24"))
            if limit and len(frames) >= limit:
                break
        return frames


def audio_seconds(path) -> float:
    """Duration of the first audio stream from its decoded samples (seconds)."""
    with av.open(str(path)) as c:
        stream = c.streams.audio[0]
        return sum(f.samples for f in c.decode(stream)) / stream.codec_context.sample_rate


def real_frames(path, indices, size=None):
    """Frames ``indices`` of a real clip (far apart: distinct content), optionally resized to
    ``size`` (w, h) with Pillow."""
    wanted, got = set(indices), {}
    with av.open(str(path)) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i in wanted:
                img = f.to_image()
                got[i] = np.asarray(img.resize(size, Image.BICUBIC) if size else img)
            if i >= max(indices):
                break
    return [got[i] for i in indices]


def make_clip(path, frames, rate=10, audio=None, pix_fmt="yuv420p", audio_codec="aac", sample_rate=44100):
    """Write ``frames`` (H, W, 3 uint8) as H.264 at ``rate`` fps; with ``audio`` = seconds, a
    440 Hz sine tone of that length in ``audio_codec``."""
    with av.open(str(path), "w") as c:
        v = c.add_stream("libx264", rate=rate, options={"crf": "10", "preset": "ultrafast"})
        v.height, v.width = frames[0].shape[:2]
        v.pix_fmt = pix_fmt
        a = None
        if audio:
            a = c.add_stream(audio_codec, rate=sample_rate)
            a.layout = "mono"
        for i, img in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            for p in v.encode(frame):
                c.mux(p)
        for p in v.encode(None):
            c.mux(p)
        if a is not None:
            n = int(audio * sample_rate)
            t = np.arange(n) / sample_rate
            tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            fmt = "fltp" if audio_codec == "aac" else "s16"
            for start in range(0, n, 1024):
                chunk = tone[start:start + 1024]
                data = chunk[None] if fmt == "fltp" else (chunk * 32767).astype(np.int16)[None]
                af = av.AudioFrame.from_ndarray(data, format=fmt, layout="mono")
                af.sample_rate = sample_rate
                af.pts = start
                for p in a.encode(af):
                    c.mux(p)
            for p in a.encode(None):
                c.mux(p)
    return path


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    """A small fixed-size FMEN-S TFLite artifact (90x160 LR tiles): real frames are tiled."""
    from pocketsr.convert.pipeline import build_artifact
    path, manifest = build_artifact("fmen-s", "tflite", "fp32", (90, 160), tmp_path_factory.mktemp("video_art"))
    return path


def torch_factory(name="fmen-s"):
    from pocketsr.mobile_models import create_model, get_spec
    from pocketsr.runtime.runners import TorchRunner
    return lambda: TorchRunner(create_model(name, "deploy"), get_spec(name).scale, 2)


def no_temp_files(folder):
    return not [p for p in folder.iterdir() if ".tmp" in p.name]


def test_round_trip_real_clip(artifact, tmp_path, capfd):
    from pocketsr.runtime.runners import open_artifact
    from pocketsr.runtime.tiling import upscale_uint8

    out = tmp_path / "sr.mp4"
    code, stdout, err = run_cli(capfd, "video", CLIP, "-o", out, "-a", artifact, "--max-frames", 3,
                                "--overlap", 8)
    assert code == 0, err
    assert "3 frames 2560x1440" in stdout and "fps" in stdout
    with av.open(str(CLIP)) as c:
        rate_in = c.streams.video[0].average_rate
        first_in = next(c.decode(video=0)).to_ndarray(format="rgb24")
    with av.open(str(out)) as c:
        s = c.streams.video[0]
        assert s.codec_context.name == "h264" and s.format.name == "yuv420p"
        assert (s.width, s.height) == (4 * 640, 4 * 360)
        assert s.average_rate == rate_in == Fraction(179, 6)
        assert not c.streams.audio
    frames = read_frames(out)
    assert len(frames) == 3
    direct = upscale_uint8(open_artifact(artifact), first_in, 8)
    assert psnr(frames[0], direct) > 30  # H.264 is lossy; a wrong frame or colour matrix is far below
    # and it is the SR, not a resize: the bicubic upscale is clearly further from the output
    bicubic = np.asarray(Image.fromarray(first_in).resize((2560, 1440), Image.BICUBIC))
    assert psnr(frames[0], direct) > psnr(frames[0], bicubic) + 3
    assert no_temp_files(tmp_path)


def test_side_by_side_two_workers_keeps_frame_order(artifact, tmp_path):
    """Four real frames far apart in time (distinct content), two workers: each output frame is
    [bicubic | SR] of its own input frame."""
    from pocketsr.runtime.runners import open_artifact
    from pocketsr.runtime.tiling import upscale_uint8
    from pocketsr.runtime.video import upscale_video

    lr = real_frames(OTHER, [0, 40, 80, 120], size=(240, 136))
    clip = make_clip(tmp_path / "four.mp4", lr)
    inputs = read_frames(clip)
    out = tmp_path / "sbs.mkv"
    stats = upscale_video(clip, out, lambda: open_artifact(artifact), 8, side_by_side=True, workers=2)
    assert stats["frames"] == 4 and stats["workers"] == 2
    frames = read_frames(out)
    assert len(frames) == 4
    assert frames[0].shape == (4 * 136, 2 * 4 * 240, 3)
    runner = open_artifact(artifact)
    half = 4 * 240
    for k, (got, x) in enumerate(zip(frames, inputs)):
        sr = upscale_uint8(runner, x, 8)
        bicubic = np.asarray(Image.fromarray(x).resize((half, 4 * 136), Image.BICUBIC))
        rows = slice(40, None)  # below the labels
        assert psnr(got[rows, half:], sr[rows]) > 30, k
        assert psnr(got[rows, :half], bicubic[rows]) > 30, k
        for j, other in enumerate(inputs):  # not another frame's SR
            if j != k:
                assert psnr(got[rows, half:], upscale_uint8(runner, other, 8)[rows]) < psnr(got[rows, half:], sr[rows]) - 3
    # the labels are drawn: the top-left corner differs from the bicubic upscale
    assert np.abs(frames[0][:20, :60].astype(int) - bicubic_first(inputs[0], half)[:20, :60]).max() > 60


def bicubic_first(x, half):
    return np.asarray(Image.fromarray(x).resize((half, x.shape[0] * 4), Image.BICUBIC)).astype(int)


def test_audio_is_copied_with_the_same_duration(tmp_path, capfd):
    lr = real_frames(CLIP, [0, 5, 10, 15, 20, 25], size=(64, 36))
    clip = make_clip(tmp_path / "with_audio.mp4", lr, rate=10, audio=0.6)
    out = tmp_path / "sr.mp4"
    code, stdout, err = run_cli(capfd, "video", clip, "-o", out, "-m", "fmen-s")
    assert code == 0, err
    assert "audio copied" in stdout
    with av.open(str(out)) as c:
        assert c.streams.audio and c.streams.audio[0].codec_context.name == "aac"
        assert c.streams.video[0].average_rate == 10
    assert audio_seconds(out) == pytest.approx(audio_seconds(clip), abs=0.2)
    assert len(read_frames(out)) == 6


def test_audio_reencoded_when_the_container_cannot_hold_it(tmp_path):
    """mu-law PCM audio (in .mov) cannot go into .mp4 as is: re-encoded to AAC, same duration."""
    from pocketsr.runtime.video import upscale_video

    lr = real_frames(CLIP, [0, 5, 10, 15, 20], size=(64, 36))
    clip = make_clip(tmp_path / "pcm.mov", lr, rate=10, audio=0.5, audio_codec="pcm_mulaw", sample_rate=8000)
    with av.open(str(clip)) as c:
        assert c.streams.audio[0].codec_context.name == "pcm_mulaw"
    out = tmp_path / "sr.mp4"
    stats = upscale_video(clip, out, torch_factory(), 8)
    assert stats["audio"] == "re-encoded"
    with av.open(str(out)) as c:
        assert c.streams.audio[0].codec_context.name == "aac"
    assert audio_seconds(out) == pytest.approx(0.5, abs=0.2)


def test_max_frames_cuts_audio_at_the_last_frame(tmp_path):
    from pocketsr.runtime.video import upscale_video

    lr = real_frames(CLIP, list(range(0, 40, 4)), size=(64, 36))  # 10 frames: 1 s at 10 fps
    clip = make_clip(tmp_path / "long.mp4", lr, rate=10, audio=1.0)
    out = tmp_path / "sr.mov"
    stats = upscale_video(clip, out, torch_factory(), 8, max_frames=4)
    assert stats["frames"] == 4 and stats["audio"] == "copied"
    assert len(read_frames(out)) == 4
    assert audio_seconds(out) == pytest.approx(0.4, abs=0.2)


def _text_as_mp4(tmp):
    p = tmp / "notes.mp4"
    p.write_text("this is not a video\n" * 50)
    return p


def _truncated(tmp):
    p = tmp / "truncated.mp4"
    p.write_bytes(CLIP.read_bytes()[:2048])
    return p


def _audio_only(tmp):
    p = tmp / "tone.m4a"
    with av.open(str(p), "w", format="mp4") as c:
        a = c.add_stream("aac", rate=44100)
        a.layout = "mono"
        tone = (0.3 * np.sin(np.arange(44100) / 44100 * 2 * np.pi * 440)).astype(np.float32)
        for start in range(0, 44100, 1024):
            f = av.AudioFrame.from_ndarray(tone[None, start:start + 1024], format="fltp", layout="mono")
            f.sample_rate, f.pts = 44100, start
            for pk in a.encode(f):
                c.mux(pk)
        for pk in a.encode(None):
            c.mux(pk)
    return p


@pytest.mark.parametrize("make, fragment", [
    (_text_as_mp4, "cannot read"),
    (_truncated, "cannot read"),
    (_audio_only, "no video stream"),
    (lambda tmp: tmp / "missing.mp4", "not found"),
])
def test_bad_input_is_one_line_error(make, fragment, tmp_path, capfd):
    src = make(tmp_path)
    out = tmp_path / "out.mp4"
    code, _, err = run_cli(capfd, "video", src, "-o", out, "-m", "fmen-s", "--max-frames", 2)
    assert_one_line_error(code, err, fragment)
    assert not out.exists() and no_temp_files(tmp_path)


@pytest.mark.parametrize("args, fragment", [
    (["-o", "{tmp}/out.avi", "-m", "fmen-s"], "unknown output container '.avi'"),
    (["-o", "{tmp}/out.mp4"], "exactly one of --model or --artifact"),
    (["-o", "{tmp}/out.mp4", "-m", "fmen-s", "-a", "{tmp}/x.tflite"], "exactly one of --model or --artifact"),
    (["-o", "{tmp}/out.mp4", "-m", "fmen-s", "--tile", "40x60", "--overlap", "30"], "--overlap 30 too large for 40x60"),
])
def test_bad_options_are_one_line_errors(args, fragment, tmp_path, capfd):
    code, _, err = run_cli(capfd, "video", CLIP, *[a.format(tmp=tmp_path) for a in args])
    assert_one_line_error(code, err, fragment)
    assert not list(tmp_path.iterdir())


def test_camera_that_cannot_be_opened(tmp_path, capfd):
    code, _, err = run_cli(capfd, "video", "--camera", 97, "-o", tmp_path / "cam.mp4", "-m", "fmen-s")
    assert_one_line_error(code, err, "camera 97")
    code, _, err = run_cli(capfd, "video", CLIP, "--camera", 0, "-o", tmp_path / "cam.mp4", "-m", "fmen-s")
    assert_one_line_error(code, err, "exactly one of INPUT or --camera")


def test_interrupted_run_keeps_a_playable_file(tmp_path):
    from pocketsr.runtime.video import upscale_video

    lr = real_frames(CLIP, [0, 5, 10, 15, 20, 25], size=(64, 36))
    clip = make_clip(tmp_path / "six.mp4", lr, rate=10)
    out = tmp_path / "sr.mp4"
    done = []

    def progress(n, total, fps):  # called by the encode loop after each written frame
        done.append(n)
        if n == 2:
            raise KeyboardInterrupt

    notes = []
    with pytest.raises(KeyboardInterrupt):
        upscale_video(clip, out, torch_factory(), 8, progress=progress, notes=notes)
    assert done == [1, 2]
    assert notes == [f"interrupted after 2 frames: wrote a playable file with 2 frames to {out}"]
    frames = read_frames(out)
    assert len(frames) == 2 and frames[0].shape == (144, 256, 3)
    with av.open(str(out)) as c:
        assert c.streams.video[0].average_rate == 10
    assert no_temp_files(tmp_path)


def test_interrupted_before_any_frame_leaves_nothing(tmp_path):
    from pocketsr.runtime.video import upscale_video

    clip = make_clip(tmp_path / "two.mp4", real_frames(CLIP, [0, 5], size=(64, 36)))
    out = tmp_path / "sr.mp4"

    class Interrupting:
        scale, input_size = 4, None

        def __call__(self, x):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        upscale_video(clip, out, Interrupting, 8)
    assert not out.exists() and no_temp_files(tmp_path)


def test_odd_input_size(tmp_path, capfd):
    lr = real_frames(OTHER, [0, 10, 20], size=(45, 33))
    clip = make_clip(tmp_path / "odd.mp4", lr, pix_fmt="yuv444p")  # 4:2:0 cannot hold odd sizes
    out = tmp_path / "sr.mp4"
    code, stdout, err = run_cli(capfd, "video", clip, "-o", out, "-m", "fmen-s")
    assert code == 0, err
    frames = read_frames(out)
    assert len(frames) == 3 and frames[0].shape == (132, 180, 3)


def test_odd_sr_size_is_cropped_to_even(tmp_path):
    """An x3 upscaler of a 45x33 clip gives 135x99: cropped to 134x98 with a note."""
    from pocketsr.runtime.video import upscale_video

    class Nearest3:
        scale, input_size = 3, None

        def __call__(self, x):
            return x.repeat(3, axis=2).repeat(3, axis=3)

    lr = real_frames(OTHER, [0, 10], size=(45, 33))
    clip = make_clip(tmp_path / "odd.mp4", lr, pix_fmt="yuv444p")
    inputs = read_frames(clip)
    notes = []
    stats = upscale_video(clip, tmp_path / "sr.mp4", Nearest3, 0, notes=notes)
    assert (stats["width"], stats["height"]) == (134, 98)
    assert any("cropped to 134x98" in n for n in notes)
    frames = read_frames(tmp_path / "sr.mp4")
    assert frames[0].shape == (98, 134, 3)
    expected = inputs[0].repeat(3, axis=0).repeat(3, axis=1)[:98, :134]
    assert psnr(frames[0], expected) > 30
