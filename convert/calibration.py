"""Real-image calibration sets for quantization (shared by every target).

Calibration uses real photographs and video frames only — never the evaluation sets. Sources:

* ``--calibration DIR``: every image (PNG/JPEG/...) and video (MP4/MOV/MKV/AVI/WEBM) in DIR;
  videos contribute frames sampled evenly over their length (decoded with PyAV).
* default: the calibration photographs every installation has (``pocketsr.datasets.sets.ROLES
  ["calibration"]``: hubble_deep_field, immunohistochemistry, retina from scikit-image), plus
  the frames of the videos in ``real_world/video`` of the development data folder when it
  exists (``POCKETSR_CALIBRATION_DIR`` replaces that folder). The parity photographs, the
  selection pairs and the gating benchmarks are never among them.

From the pooled frames, ``count`` random crops of the artifact's input size are drawn,
deterministically for a given ``seed`` (frames smaller than the crop are edge-replicated).
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np

from pocketsr.errors import InputError
from pocketsr.runtime.images import IMAGE_SUFFIXES, crops, load_image
from pocketsr.datasets.sets import ROLES, builtin_image, env_or_shared

VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v"}
FRAMES_PER_VIDEO = 4


def default_calibration_dir() -> Optional[Path]:
    """``$POCKETSR_CALIBRATION_DIR``, else ``real_world/video`` of
    :func:`pocketsr.datasets.sets.shared_datasets_dir` when present (added to the built-in photos)."""
    return env_or_shared("POCKETSR_CALIBRATION_DIR", "real_world/video")


def video_frames(path: Path, count: int = FRAMES_PER_VIDEO) -> List[np.ndarray]:
    """``count`` RGB uint8 frames ``(H, W, 3)`` spread evenly over a video.

    Raises:
        InputError: unreadable file or no decodable frame.
    """
    import av

    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            total = stream.frames or 0
            frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)] if total == 0 else None
            if frames is None:
                wanted = set(np.linspace(0, total - 1, count).round().astype(int).tolist())
                frames = []
                for i, frame in enumerate(container.decode(stream)):
                    if i in wanted:
                        frames.append(frame.to_ndarray(format="rgb24"))
                    if len(frames) == len(wanted):
                        break
    except (av.error.FFmpegError, IndexError, OSError) as exc:
        raise InputError(f"cannot decode video {path}: {exc}") from None
    if not frames:
        raise InputError(f"video {path} has no decodable frames")
    if total == 0:
        idx = np.linspace(0, len(frames) - 1, min(count, len(frames))).round().astype(int)
        frames = [frames[i] for i in idx]
    return frames


def collect_frames(source: Optional[Path]) -> Tuple[List[np.ndarray], str]:
    """All calibration frames of a source, plus a description for the manifest.

    Raises:
        InputError: missing folder, no usable files, or an unreadable file.
    """
    if source is None:
        names = ROLES["calibration"]
        frames = [builtin_image(n) for n in names]
        description = "built-in photos (scikit-image, public domain/CC0): " + ", ".join(names)
        extra = default_calibration_dir()
        if extra is None:
            return frames, description
        more, more_description = collect_frames(extra)
        return frames + more, f"{description} + {more_description}"
    source = Path(source)
    if not source.is_dir():
        raise InputError(f"calibration folder not found: {source}")
    files = sorted(p for p in source.rglob("*") if p.is_file()
                   and p.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES)
    if not files:
        raise InputError(f"no images or videos in calibration folder {source}")
    frames: List[np.ndarray] = []
    n_img = n_vid = 0
    for path in files:
        if path.suffix.lower() in VIDEO_SUFFIXES:
            frames.extend(video_frames(path))
            n_vid += 1
        else:
            frames.append(load_image(path)[0])
            n_img += 1
    return frames, f"{source} ({n_img} images, {n_vid} videos x {FRAMES_PER_VIDEO} frames)"


def calibration_set(source: Optional[Path], size: Tuple[int, int], count: int = 32,
                    seed: int = 0) -> Tuple[List[np.ndarray], str]:
    """``count`` crops ``(h, w, 3)`` uint8 at ``size`` drawn from the source's frames.

    Raises:
        InputError: as :func:`collect_frames`, or ``count < 1``.
    """
    if count < 1:
        raise InputError("--calibration-count must be at least 1")
    frames, description = collect_frames(source)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(frames), count)
    out = [crops(frames[i], size, 2, rng)[1] for i in picks]
    return out, f"{description}; {count} random {size[0]}x{size[1]} crops, seed {seed}"
