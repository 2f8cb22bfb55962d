"""Shared fixtures. Tests read real data from ``../shared`` (weights, Set5/Set14, photos)."""

import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
WEIGHTS = SHARED / "weights"
DATA = SHARED / "datasets"
SET5, SET14 = DATA / "Set5", DATA / "Set14"
PHOTOS = DATA / "real_world" / "photos"
VIDEOS = DATA / "real_world" / "video"

if not WEIGHTS.is_dir():
    raise RuntimeError(f"tests need the shared data folder at {SHARED}")
os.environ["POCKETSR_WEIGHTS_DIR"] = str(WEIGHTS)
os.environ.pop("POCKETSR_WEIGHTS_URL", None)


@pytest.fixture(scope="session")
def photo_crops():
    """Real photo crops (1, 3, 96, 128) float32 in [0, 1], one per shared photo."""
    from pocketsr.runtime.images import crops, to_tensor_array
    from pocketsr.datasets.sets import real_photos
    rng = np.random.default_rng(0)
    return [to_tensor_array(crops(img, (96, 128), 1, rng)[0]) for _, img in real_photos(PHOTOS)]


@pytest.fixture(scope="session")
def artifacts_validator():
    """The validator of :func:`artifacts`, keeping one photo's image comparisons for the report
    (as ``pocketsr convert`` does before it writes its report). Gates on CC0-3 and Set5: Set14
    (14 more tiles per artifact, ~2.5 min for the two int8-full artifacts on 16-bit reference
    kernels) is gated in ``test_coreml.py`` and by the README's main job."""
    from pocketsr.validate.report import CROP
    from pocketsr.validate.validator import Validator
    validator = Validator([SET5], PHOTOS)
    validator.keep_comparisons(1, CROP)
    return validator


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory, artifacts_validator):
    """The main job's TFLite artifacts for both models (every default precision, 180x320) as a
    user's machine converts them — calibrated on the built-in photos only
    (``POCKETSR_SHARED_DATASETS=none`` while converting; the shared video frames are not used) —
    then validated on the shared photos and gated on CC0-3 *and* Set5: the fresh-machine
    artifacts must pass the benchmark they never saw. Built once and shared by the tests."""
    from pocketsr.convert.pipeline import plan, run_jobs
    out = tmp_path_factory.mktemp("artifacts")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("POCKETSR_SHARED_DATASETS", "none")
        manifests = run_jobs(plan(["lkdn-s", "fmen-s"], ["tflite"], None), (180, 320), out, artifacts_validator)
    return out, manifests


def run_cli(capfd, *args):
    """Run ``pocketsr ARGS`` in-process; returns ``(exit code, stdout, stderr)``."""
    from pocketsr.cli import main
    capfd.readouterr()
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capfd.readouterr()
    return code, out, err


def assert_one_line_error(code, err, *fragments, exit_code=2):
    """Bad input contract: non-zero exit, one ``error:`` line, no traceback."""
    assert code == exit_code, (code, err)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error:")]
    assert len(errors) == 1, err
    assert "Traceback" not in err
    for f in fragments:
        assert f in errors[0], (f, errors[0])
