"""Per-layer divergence report (pocketsr.validate.layers) on a small FMEN-S artifact and its static
int8 version, built here (CI has no sample artifacts)."""

import math
from io import StringIO

import numpy as np
import pytest
from conftest import PHOTOS

from pocketsr.errors import InputError

SIZE = (32, 48)
CONV_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D")


@pytest.fixture(scope="module")
def reference():
    from pocketsr.convert.pipeline import gpu_rewrites_
    from pocketsr.mobile_models import create_model
    deploy = create_model("fmen-s", "deploy")
    converted = deploy.fold_pixel_range().eval()
    gpu_rewrites_(converted)  # the graph build_artifact converts (PixelShuffle as DEPTH_TO_SPACE)
    return deploy, converted


@pytest.fixture(scope="module")
def crops32():
    """Real photo crops (1, 3, 32, 48) float32 [0, 1]: two for the report, the rest calibrate."""
    from pocketsr.runtime.images import crops, to_tensor_array
    from pocketsr.datasets.sets import real_photos
    rng = np.random.default_rng(1)
    out = []
    for _, img in real_photos(PHOTOS):
        out += [to_tensor_array(c) for c in crops(img, SIZE, 2, rng)]
    return out


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory, reference, crops32):
    """(fp32 artifact, static int8 artifact) of FMEN-S at 32x48."""
    from ai_edge_quantizer import quantizer, recipe

    from pocketsr.convert.pipeline import build_artifact
    out = tmp_path_factory.mktemp("layers")
    fp32, _ = build_artifact("fmen-s", "tflite", "fp32", SIZE, out, deploy=reference[0])
    qt = quantizer.Quantizer(str(fp32))
    qt.load_quantization_recipe(recipe.static_wi8_ai8())
    calibration = {"serving_default": [{"lr": np.ascontiguousarray(x.transpose(0, 2, 3, 1))}
                                       for x in crops32[2:8]]}
    int8 = out / "fmen-s_static_int8.tflite"
    qt.quantize(qt.calibrate(calibration, num_threads=2)).export_model(str(int8), overwrite=True)
    return fp32, int8


@pytest.fixture(scope="module")
def reports(artifacts, reference, crops32):
    from pocketsr.validate.layers import layer_report
    fp32, int8 = artifacts
    images = crops32[:2]
    return layer_report(fp32, reference[1], images), layer_report(int8, reference[1], images)


def _torch_rows(report):
    return [r for r in report["layers"] if r["reference"] == "torch"]


def test_report_structure(reports):
    for rep in reports:
        assert set(rep) >= {"layers", "first_jump", "matched", "unmatched", "most_sensitive"}
        layers = rep["layers"]
        assert [r["index"] for r in layers] == list(range(len(layers)))
        for r in layers:
            assert {"tensor", "module", "shape", "dtype", "snr_db", "psnr_db", "max_abs",
                    "local_snr_db", "drop_db", "op", "torch_op"} <= set(r)
            assert isinstance(r["shape"], list) and r["dtype"] in ("int8", "int16", "float32", "float16")
            assert all(i < r["index"] for i in r["inputs"])  # inputs come earlier: graph order
        assert rep["first_jump"] is None or 0 <= rep["first_jump"] < len(layers)
        assert rep["matched"] + rep["unmatched"] >= rep["matched"] > 0
        assert not rep["torch_unmatched"]  # every torch value found its TFLite tensor
        modules = {r["module"] for r in layers}
        # attribute names resolved through ModuleLists and Sequentials
        assert {"body.head", "body.ERBs.0.conv1.rep_conv", "body.HFABs.3.sigmoid",
                "body.warmup.1.convs.1.conv2.rep_conv", "body.lr_conv", "body.tail.0"} <= modules
        # the last row is the model output (clamp), compared in the graph's own layout
        assert any(r["module"] == "(model)" and r["torch_op"] == "clamp" for r in layers[-2:])


def test_most_convs_matched(reports):
    for rep in reports:
        matched = sum(1 for r in _torch_rows(rep) if r["op"] in CONV_OPS)
        missed = sum(1 for t in rep["unmatched_tensors"] if t.split()[0] in CONV_OPS)
        assert matched >= 30 and matched >= 0.9 * (matched + missed), (matched, missed)


def test_fp32_exact_int8_diverges(reports):
    fp32, int8 = reports
    snr32 = [r["snr_db"] for r in _torch_rows(fp32)]
    assert min(snr32) > 60.0
    assert fp32["first_jump"] is None
    assert all(r["dtype"] == "float32" for r in fp32["layers"])

    rows8 = _torch_rows(int8)
    assert any(r["dtype"] == "int8" and r["quant"] for r in rows8)
    snr8 = [r["snr_db"] for r in rows8]
    assert np.median(snr8) < np.median(snr32) - 20.0
    # every int8 conv output is below fp32 precision (the int8 input row may be exact)
    assert max(r["snr_db"] for r in rows8 if r["op"] in CONV_OPS) < 60.0
    assert int8["first_jump"] is not None
    # the ranking uses each op's own error, which is finite and below fp32 precision
    assert int8["most_sensitive"]
    assert all(math.isfinite(int8["layers"][i]["local_snr_db"]) for i in int8["most_sensitive"])
    # same graph positions on both sides: conv rows pair with the same torch modules
    convs = lambda rep: [r["module"] for r in rep["layers"] if r["op"] in CONV_OPS]
    assert convs(fp32) == convs(int8)


def test_layer_table_highlights_first_jump(reports):
    from rich.console import Console

    from pocketsr.validate.layers import layer_table
    int8 = reports[1]
    table = layer_table(int8)
    assert table.row_count == len(int8["layers"])
    console = Console(file=StringIO(), width=250, record=True)
    console.print(table)
    text = console.export_text()
    assert "first jump" in text and "body.head" in text


def test_wrong_image_size(artifacts, reference):
    from pocketsr.validate.layers import layer_report
    with pytest.raises(InputError, match="takes"):
        layer_report(artifacts[0], reference[1], [np.zeros((1, 3, 16, 16), np.float32)])
