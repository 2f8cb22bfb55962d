"""Real-image calibration sets: sources, determinism and bad input."""

import shutil

import numpy as np
import pytest

from conftest import DATA, PHOTOS, assert_one_line_error, run_cli
from pocketsr.convert import calibration
from pocketsr.convert.calibration import calibration_set, collect_frames
from pocketsr.errors import InputError

VIDEOS = DATA / "real_world" / "video"


def test_default_uses_builtin_photos_and_shared_video_frames():
    frames, desc = collect_frames(None)
    assert desc.startswith("built-in photos") and "0 images, 3 videos" in desc
    assert len(frames) == 3 + 3 * calibration.FRAMES_PER_VIDEO
    assert all(f.dtype == np.uint8 and f.ndim == 3 and f.shape[2] == 3 for f in frames)
    assert {f.shape[:2] for f in frames} >= {(360, 640), (432, 768)}  # the two video sizes


def test_crops_are_deterministic_per_seed():
    a, _ = calibration_set(None, (48, 64), count=6, seed=3)
    b, _ = calibration_set(None, (48, 64), count=6, seed=3)
    c, desc = calibration_set(None, (48, 64), count=6, seed=4)
    assert len(a) == 6 and all(x.shape == (48, 64, 3) for x in a)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))
    assert "seed 4" in desc and "6 random 48x64 crops" in desc


def test_fresh_machine_calibrates_on_builtin_photos_only(monkeypatch):
    monkeypatch.setenv("POCKETSR_SHARED_DATASETS", "none")
    frames, desc = collect_frames(None)
    assert "scikit-image" in desc and len(frames) == 3 and "video" not in desc
    assert all(f.ndim == 3 and f.shape[2] == 3 for f in frames)


def test_user_folder_with_images_and_a_video(tmp_path):
    shutil.copy(PHOTOS / "camera.png", tmp_path / "a.png")
    sub = tmp_path / "clips"
    sub.mkdir()
    shutil.copy(VIDEOS / "bottle-detection.mp4", sub / "b.mp4")
    frames, desc = collect_frames(tmp_path)
    assert "1 images, 1 videos" in desc and len(frames) == 1 + calibration.FRAMES_PER_VIDEO


@pytest.mark.parametrize("case", ["missing", "empty", "bad_image", "bad_video"])
def test_bad_calibration_input(tmp_path, case):
    folder = tmp_path / "calib"
    if case != "missing":
        folder.mkdir()
    if case == "bad_image":
        (folder / "x.jpg").write_bytes(b"not a jpeg")
    if case == "bad_video":
        (folder / "x.mp4").write_bytes(b"\x00" * 1000)
    with pytest.raises(InputError):
        collect_frames(folder)
    with pytest.raises(InputError, match="at least 1"):
        calibration_set(None, (8, 8), count=0)


def test_cli_rejects_bad_calibration_before_converting(tmp_path, capfd, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    code, _, err = run_cli(capfd, "convert", "-m", "lkdn-s", "-p", "int8-weights", "--calibration", tmp_path / "empty")
    assert_one_line_error(code, err, "no images or videos")
    assert not (tmp_path / "artifacts").exists()
    code, _, err = run_cli(capfd, "convert", "-p", "int8-full", "--dynamic-size")
    assert_one_line_error(code, err, "int8-full needs a fixed input size")
