"""int8 quantization: emulation, mixed-precision plumbing, distillation and int8-full I/O."""

import re

import numpy as np
import pytest
import torch

from conftest import PHOTOS, SET5
from pocketsr.convert.pipeline import build_artifact
from pocketsr.convert.quantize import (QuantOptions, StaticInt8Emulation, block_scopes, conv_names, distill, emulate, fake_quant_dynamic, fake_quant_weight, layer_sensitivity, module_regex, scope_regex, static_int8_forward)
from pocketsr.mobile_models import create_model
from pocketsr.runtime.runners import open_artifact
from pocketsr.validate.validator import Validator


def test_fake_quant_weight_is_per_channel_int8():
    w = torch.randn(6, 4, 3, 3) * torch.logspace(-6, 1, 6).view(-1, 1, 1, 1)
    q = fake_quant_weight(w)
    for o in range(6):
        scale = w[o].abs().max() / 127
        levels = torch.unique((q[o] / scale).round())
        assert levels.numel() <= 255 and levels.abs().max() <= 127
        assert torch.allclose(q[o].abs().max(), w[o].abs().max(), rtol=1e-6)  # max is exact
        assert (q[o] - w[o]).abs().max() <= scale / 2 + 1e-12


def test_fake_quant_dynamic_keeps_zero_exact():
    x = torch.cat([torch.zeros(10), torch.rand(100) * 3 - 0.5])
    q = fake_quant_dynamic(x)
    assert torch.all(q[:10] == 0)
    assert (q - x).abs().max() <= (x.max() - x.min()) / 255 / 2 + 1e-6


def test_module_regex_finds_every_conv_in_the_artifact(tmp_path):
    from ai_edge_litert.interpreter import Interpreter
    model = create_model("fmen-s").fold_pixel_range()
    path, _ = build_artifact("fmen-s", "tflite", "fp32", (24, 32), tmp_path)
    names = [d["name"] for d in Interpreter(model_path=str(path)).get_tensor_details()]
    for conv in conv_names(model):  # includes ModuleList members (ERBs.0 ...)
        hits = [n for n in names if re.search(module_regex(conv, model), n)]
        assert hits, conv
        other = "body.HFABs.3.squeeze" if conv != "body.HFABs.3.squeeze" else "body.head"
        assert not any(re.search(module_regex(other, model), n) for n in hits)


def test_sensitivity_ranks_every_conv(photo_crops):
    model = create_model("lkdn-s").fold_pixel_range()
    x = torch.from_numpy(np.concatenate([c[:, :, :32, :48] for c in photo_crops[:2]]))
    ranking = layer_sensitivity(model, "int8-weights", x)
    assert [n for n, _ in sorted(ranking)] == sorted(conv_names(model))
    assert ranking[0][1] <= ranking[-1][1]
    dense = [n for n, m in model.named_modules() if isinstance(m, torch.nn.Conv2d) and m.groups == 1]
    assert sorted(n for n, _ in layer_sensitivity(model, "int8-dynamic", x)) == sorted(dense)


def test_distillation_reduces_quantization_error(photo_crops):
    from pocketsr.datasets.sets import real_photos
    teacher = create_model("fmen-s").fold_pixel_range()
    frames = [img for _, img in real_photos(PHOTOS)]
    x = torch.from_numpy(np.concatenate(photo_crops[:2]))
    with torch.no_grad():
        ref = teacher(x)
        before = torch.nn.functional.mse_loss(emulate(teacher, "int8-dynamic")(x), ref).item()
    student = distill(teacher, "int8-dynamic", [], frames, steps=30, crop=64, batch=4, lr=5e-6)
    assert type(student.body) is type(teacher.body)
    with torch.no_grad():
        after = torch.nn.functional.mse_loss(emulate(student, "int8-dynamic")(x), ref).item()
    assert after < before


@pytest.mark.parametrize("name", ["fmen-s", "lkdn-s"])
def test_block_scopes_partition_the_artifact(tmp_path, name):
    """Mixed precision widens whole blocks: every block names some ops, and together they hold
    every compute op of the network body (a tensor may carry two blocks' names when
    litert-torch fuses ops across a block boundary)."""
    from ai_edge_litert.interpreter import Interpreter
    model = create_model(name).fold_pixel_range()
    path, _ = build_artifact(name, "tflite", "fp32", (24, 32), tmp_path)
    interp = Interpreter(model_path=str(path))
    tensors = interp.get_tensor_details()
    outputs = {tensors[o["outputs"][0]]["name"] for o in interp._get_ops_details()}  # noqa: SLF001
    blocks = block_scopes(model)
    assert blocks[-1] == "body" and len(blocks) == len(set(blocks)) > 5
    owner = {}
    for block in blocks:
        hits = [n for n in outputs if re.search(scope_regex(block, model), n)]
        assert hits, block
        owner.update(dict.fromkeys(hits, block))
    body = [n for n in outputs if re.search(module_regex("body", model, scope=True), n)]
    assert set(body) <= set(owner) and len(body) > 20


def test_static_int8_emulation_quantizes_every_activation(photo_crops):
    model = create_model("fmen-s").fold_pixel_range().eval()
    x = torch.from_numpy(photo_crops[0][..., :32, :48])
    mode = StaticInt8Emulation()
    with torch.no_grad():
        static_int8_forward(model, mode, x)  # observing ranges
        mode.observing = False
        sites = len(mode.ranges)
        q = static_int8_forward(model, mode, x)
        ref = model(x)
    convs = len(conv_names(model))
    assert sites >= convs + 5  # every conv, activation, sigmoid gate and product
    sigmoids = sum(isinstance(m, torch.nn.Sigmoid) for m in model.modules())
    assert sum(r == [0.0, 1.0] for r in mode.ranges) >= sigmoids == 5  # LOGISTIC's fixed range
    err = (q - ref).abs()
    assert 0 < err.max() < 0.5 and 25 < 10 * np.log10(1 / err.pow(2).mean().item()) < 60


@pytest.fixture(scope="module")
def int8_full(tmp_path_factory):
    out = tmp_path_factory.mktemp("int8full")
    return build_artifact("fmen-s", "tflite", "int8-full", (48, 64), out,
                          quant_options=QuantOptions(count=8, max_float_layers=2))


def test_reference_kernel_artifacts_run_batches_in_parallel(int8_full, photo_crops):
    """16-bit activations run on single-threaded reference kernels: a batch is spread over
    parallel interpreters, with exactly the results of one call per image."""
    from pocketsr.runtime.runners import TFLiteRunner
    from pocketsr.runtime.tiling import run_batched
    path, manifest = int8_full
    if not manifest["conversion"]["activations_16bit_blocks"]:
        pytest.skip("this int8-full artifact has no 16-bit blocks")
    runner = TFLiteRunner(path, threads=2)
    assert runner.batch_pixels == 2 * 48 * 64
    xs = [np.ascontiguousarray(c[:, :, :48, :64]) for c in photo_crops]
    one_by_one = [runner(x) for x in xs]
    batched = runner(np.concatenate(xs))
    assert batched.shape == (len(xs), 3, 192, 256)
    assert all(np.array_equal(batched[i:i + 1], y) for i, y in enumerate(one_by_one))
    assert all(np.array_equal(a, b) for a, b in zip(run_batched(runner, xs), one_by_one))
    assert TFLiteRunner(path, threads=1).batch_pixels == 0  # one thread: nothing to spread


def test_int8_full_has_uint8_compatible_io(int8_full):
    path, manifest = int8_full
    for tensor in (manifest["input"], manifest["output"]):
        assert tensor["dtype"] == "int8"
        assert tensor["quantization"]["scale"] == pytest.approx(1 / 255, abs=1e-9)
        assert tensor["quantization"]["zero_point"] == -128
    runner = open_artifact(path)
    assert runner.inp["dtype"] == np.int8 and runner.out["dtype"] == np.int8
    # an app feeds camera bytes - 128 and reads display bytes + 128
    rgb = np.asarray(__import__("PIL.Image").Image.open(PHOTOS / "coffee.png").convert("RGB"))[:48, :64]
    runner.interp.set_tensor(runner.inp["index"], (rgb.astype(np.int16) - 128).astype(np.int8)[None])
    runner.interp.invoke()
    display = (runner.interp.get_tensor(runner.out["index"]).astype(np.int16) + 128).astype(np.uint8)[0]
    via_float = runner((rgb.astype(np.float32) / 255).transpose(2, 0, 1)[None])[0].transpose(1, 2, 0)
    assert np.abs(display.astype(np.float32) / 255 - via_float).max() < 1e-6
    conversion = manifest["conversion"]
    assert conversion["mixed_precision_search"][0]["wide_blocks"] == 0  # plain W8A8 tried first
    wide = conversion["activations_16bit_blocks"]
    assert set(wide) <= set(block_scopes(create_model("fmen-s")))
    assert manifest["gpu_delegate"]["compatible"] is (not wide)


def test_int8_full_is_validated_with_its_gate(int8_full):
    path, manifest = int8_full
    report = Validator([SET5], PHOTOS).validate(path, manifest)
    assert report["gated_on"] == ["CC0-3", "Set5"]
    assert report["gate"]["max_abs_delta_psnr_db"] == 0.10
    deltas = [b["conversion_delta_db"] for b in report["benchmarks"]]
    assert all(-2.0 < d < 0.0 for d in deltas)  # breakage guard; the gate decides pass
    assert report["passed"] == (all(abs(d) <= 0.10 for d in deltas) and report["parity"]["psnr_db"] >= 35)


def test_calibration_in_two_processes_equals_one(tmp_path, photo_crops):
    """int8 calibration split over forked processes merges to exactly the sequential min/max."""
    from pocketsr.convert.tflite import TFLiteTarget, _calibrate_min_max, _recipe
    model = create_model("fmen-s").fold_pixel_range().eval()
    path = tmp_path / "fmen.tflite"
    TFLiteTarget().convert(model, (48, 64), "fp32", path)
    data = [{"lr": np.ascontiguousarray(x[:, :, :48, :64].transpose(0, 2, 3, 1))} for x in photo_crops]
    one = _calibrate_min_max(_recipe(path, "int8-full", []), data, workers=1)
    two = _calibrate_min_max(_recipe(path, "int8-full", []), data, workers=2)
    assert set(one) == set(two) and len(one) > 50
    for name in one:
        assert np.array_equal(one[name]["min"], two[name]["min"]), name
        assert np.array_equal(one[name]["max"], two[name]["max"]), name
    # the parent's own share alone is not the whole: the child's statistics were merged in
    half = _calibrate_min_max(_recipe(path, "int8-full", []), data[::2], workers=1)
    assert any(not np.array_equal(half[n]["max"], two[n]["max"]) for n in one)
