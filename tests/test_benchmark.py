"""Benchmark metric and the reproduction of the reference PSNR/SSIM by the deploy models."""

import math

import numpy as np
import pytest

from conftest import SET5, SET14
from pocketsr.mobile_models import create_model, get_spec
from pocketsr.errors import InputError
from pocketsr.datasets.benchmark import evaluate
from pocketsr.datasets.sets import load_benchmark
from pocketsr.runtime.metrics import parity, psnr_ssim_y, rgb_to_y, to_uint8
from pocketsr.runtime.runners import TorchRunner


def test_matlab_luma_and_rounding():
    px = np.array([[[0, 0, 0], [255, 255, 255], [255, 0, 0]]], dtype=np.uint8)
    assert np.allclose(rgb_to_y(px), [[16.0, 235.0, 16 + 65.481]])
    assert to_uint8(np.array([0.5 / 255, 1.5 / 255, -0.2, 1.7])).tolist() == [0, 2, 0, 255]


def test_psnr_ssim_crops_and_identity():
    rng = np.random.default_rng(0)
    hr = rng.integers(0, 256, (50, 62, 3), dtype=np.uint8)  # not a multiple of 4
    same = psnr_ssim_y(hr[:48, :60], hr, 4)
    assert math.isinf(same["psnr_y"]) and same["ssim_y"] == pytest.approx(1.0)
    noisy = np.clip(hr.astype(int) + 5, 0, 255).astype(np.uint8)
    assert psnr_ssim_y(noisy, hr, 4)["psnr_y"] < 40
    with pytest.raises(ValueError):
        psnr_ssim_y(hr[:20], hr, 4)


def test_parity_metric():
    a = np.full((1, 3, 4, 4), 0.5, np.float32)
    r = parity(a, a)
    assert r["max_abs"] == 0 and math.isinf(r["psnr_db"]) and r["changed_8bit"] == 0
    b = a.copy()
    b[0, 0, 0, 0] += 0.01
    r = parity(b, a)
    assert r["max_abs"] == pytest.approx(0.01, rel=1e-4) and r["changed_8bit"] == pytest.approx(1 / 48)


def test_dataset_layout_and_greyscale():
    data = load_benchmark(SET14, 4)
    assert data.name == "Set14" and len(data.images) == 14
    bridge = next(i for i in data.images if i.name == "bridge")
    assert bridge.hr.shape[2] == 3 and bridge.lr.shape[2] == 3
    with pytest.raises(InputError, match="not a benchmark folder"):
        load_benchmark(SET5 / "HR", 4)


def _check_reference(name, folder):
    spec = get_spec(name)
    r = evaluate(TorchRunner(create_model(name), spec.scale), load_benchmark(folder, spec.scale))
    want_psnr, want_ssim = spec.reference[folder.name]
    assert r["psnr_y"] == pytest.approx(want_psnr, abs=0.005)
    assert r["ssim_y"] == pytest.approx(want_ssim, abs=0.0005)


@pytest.mark.parametrize("name", ["lkdn-s", "fmen-s"])
def test_set5_reference_psnr(name):
    _check_reference(name, SET5)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["lkdn-s", "fmen-s"])
def test_set14_reference_psnr(name):
    _check_reference(name, SET14)
