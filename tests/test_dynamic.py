"""Dynamic-size TFLite artifacts (any H x W): the exact PixelShuffle replacement, the rewritten
models in PyTorch, and both official models converted once and run at two odd sizes on real
photos against PyTorch and against a fixed-size artifact."""

import numpy as np
import pytest
import torch
from torch import nn

from conftest import PHOTOS
from pocketsr.convert.dynamic import (IdentityConvFront, LayerNormAsConv, PixelShuffleAsConvTranspose, dynamic_ready, dynamic_shapes_spec)
from pocketsr.convert.tflite import TFLiteTarget
from pocketsr.mobile_models import create_model
from pocketsr.runtime.images import crops, to_tensor_array
from pocketsr.datasets.sets import real_photos
from pocketsr.runtime.metrics import psnr
from pocketsr.runtime.runners import TFLiteRunner, open_artifact

TRACE = (48, 80)          # the dynamic artifact is traced here and run at other sizes
SIZES = [(64, 96), (97, 131)]
FIXED = (97, 131)         # fixed-size artifact for the dynamic-vs-fixed comparison
SHUFFLES = {"lkdn-s": "body.upsampler.1", "fmen-s": "body.tail.1"}


@pytest.mark.parametrize("r", [2, 3, 4])
@pytest.mark.parametrize("c", [1, 3])
def test_pixel_shuffle_as_conv_transpose_is_exact(r, c):
    gen = torch.Generator().manual_seed(r * 10 + c)
    x = torch.randn(2, c * r * r, 7, 5, generator=gen) * 100.0
    got = PixelShuffleAsConvTranspose(r, c)(x)
    assert got.shape == (2, c, 7 * r, 5 * r)
    assert torch.equal(got, nn.PixelShuffle(r)(x))


def test_layer_norm_as_conv_matches_layer_norm():
    norm = nn.LayerNorm(42)
    with torch.no_grad():
        norm.weight.uniform_(0.5, 1.5)
        norm.bias.uniform_(-0.5, 0.5)
    x = torch.randn(1, 9, 13, 42) * 3.0 + 1.0
    with torch.no_grad():
        assert torch.allclose(LayerNormAsConv(norm)(x), norm(x), atol=1e-5, rtol=0)


def test_dynamic_shapes_spec_names_lr_height_width():
    spec = dynamic_shapes_spec()
    assert set(spec) == {"lr"} and set(spec["lr"]) == {1, 2}
    h, w = spec["lr"][1], spec["lr"][2]
    assert h.__name__ != w.__name__  # independent: H == W is not imposed
    assert (h.min, h.max) == (8, 4096) and (w.min, w.max) == (8, 4096)


@pytest.fixture(scope="module", params=["lkdn-s", "fmen-s"])
def model(request):
    return request.param, create_model(request.param).fold_pixel_range().eval()


def test_dynamic_ready_rewrites_and_keeps_function(model):
    name, m = model
    ready = dynamic_ready(m)
    assert isinstance(ready, IdentityConvFront) and ready.scale == m.scale == 4
    assert isinstance(m.get_submodule(SHUFFLES[name]), nn.PixelShuffle)  # original untouched
    assert isinstance(ready.model.get_submodule(SHUFFLES[name]), PixelShuffleAsConvTranspose)
    kinds = {type(mod) for mod in ready.modules()}
    assert nn.PixelShuffle not in kinds and nn.LayerNorm not in kinds
    x = torch.rand(1, 3, 23, 17, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert (ready(x) - m(x)).abs().max().item() <= 1e-5


@pytest.fixture(scope="module")
def photos():
    """Real photo crops ``(1, 3, h, w)`` float32 [0, 1] at each of :data:`SIZES`."""
    rng = np.random.default_rng(0)
    imgs = real_photos(PHOTOS)[:3]
    return {size: [to_tensor_array(crops(img, size, 1, rng)[0]) for _, img in imgs] for size in SIZES}


@pytest.fixture(scope="module")
def converted(model, tmp_path_factory):
    """One dynamic fp32 artifact (traced at :data:`TRACE`) and one fixed-size fp32 artifact
    (:data:`FIXED`) per model."""
    name, m = model
    out = tmp_path_factory.mktemp(f"dynamic_{name}")
    target = TFLiteTarget()
    dyn_path, fixed_path = out / f"{name}_dynamic.tflite", out / f"{name}_fixed.tflite"
    dyn = target.convert(m, TRACE, "fp32", dyn_path, dynamic=True)
    fixed = target.convert(m, FIXED, "fp32", fixed_path)
    return name, m, (dyn_path, dyn), (fixed_path, fixed)


def test_dynamic_conversion_result(converted):
    _, _, (path, result), (_, fixed) = converted
    assert result.input["shape"] == [1, -1, -1, 3] == result.output["shape"]
    assert result.input["name"] == "lr" and result.output["name"] == "sr"
    assert result.details["dynamic_size"] is True and result.details["traced_at"] == list(TRACE)
    assert result.details["dynamic_check"]["max_abs"] <= 1e-4
    assert "dynamic_size" not in fixed.details and fixed.input["shape"] == [1, *FIXED, 3]
    runner = open_artifact(path)
    assert isinstance(runner, TFLiteRunner) and runner.input_size is None and runner.scale == 4
    assert list(runner.inp["shape_signature"]) == [1, -1, -1, 3]
    assert runner.interp.get_signature_list() == {"serving_default": {"inputs": ["lr"], "outputs": ["sr"]}}


def test_dynamic_artifact_matches_torch_and_fixed(converted, photos):
    name, m, (dyn_path, _), (fixed_path, _) = converted
    dyn = TFLiteRunner(dyn_path)
    fixed = TFLiteRunner(fixed_path)
    assert fixed.input_size == FIXED and fixed.scale == 4
    for size in SIZES:
        for x in photos[size]:
            y = dyn(x)
            assert y.shape == (1, 3, 4 * size[0], 4 * size[1])
            with torch.inference_mode():
                ref = m(torch.from_numpy(x)).numpy()
            assert float(np.abs(y - ref).max()) <= 1e-4, (name, size)
            if size == FIXED:
                assert psnr(y, fixed(x), 1.0) >= 100.0, name
    # back to the first size after a resize: the interpreter is re-planned, not stuck
    x = photos[SIZES[0]][0]
    assert np.array_equal(dyn(x), TFLiteRunner(dyn_path, scale=4)(x))
