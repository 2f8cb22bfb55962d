"""The GPU rewrites of the TFLite graph (pocketsr.convert.depth_to_space, pipeline.gpu_rewrites_)
and the GPU check's one-batch rule: PixelShuffle as one DEPTH_TO_SPACE op (exact, via the conv
channel permutation DCR <- CRD), LayerNorm as 1x1-conv statistics, no tensor of another batch."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from pocketsr.convert.analyzer import analyzer_dump, check_dump, gpu_compatibility, parse_dump
from pocketsr.convert.depth_to_space import (DepthToSpace, dcr_permutation, depth_to_space,
                                             pixel_shuffle_to_depth_to_space_)
from pocketsr.convert.pipeline import build_artifact, gpu_rewrites_
from pocketsr.runtime.metrics import psnr

SIZE = (32, 48)


@pytest.mark.parametrize("channels, r", [(3, 4), (3, 2), (2, 3), (1, 4), (5, 2)])
def test_dcr_permutation_turns_depth_to_space_into_pixel_shuffle_exactly(channels, r):
    torch.manual_seed(channels * 10 + r)
    x = torch.randn(2, channels * r * r, 5, 7, dtype=torch.float64)
    perm = dcr_permutation(channels, r)
    assert sorted(perm.tolist()) == list(range(channels * r * r))
    assert torch.equal(DepthToSpace(r)(x[:, perm]), F.pixel_shuffle(x, r))
    # TFLite's DCR definition, element by element: out[h*r+i, w*r+j, c] = in[h, w, (i*r+j)*C + c]
    nhwc = x.permute(0, 2, 3, 1)
    out = depth_to_space(nhwc, r)
    i, j, c = r - 1, r // 2, channels - 1
    assert torch.equal(out[:, 3 * r + i, 4 * r + j, c], nhwc[:, 3, 4, (i * r + j) * channels + c])
    # without the permutation the two orders differ (the test can fail)
    assert not torch.equal(DepthToSpace(r)(x), F.pixel_shuffle(x, r)) or channels == 1


def test_rewrite_keeps_the_function_bit_for_bit():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(5, 48, 3, padding=1), nn.PixelShuffle(4), nn.ReLU())
    x = torch.randn(1, 5, 6, 9)
    with torch.no_grad():
        ref = model(x)
        assert pixel_shuffle_to_depth_to_space_(model) == ["1"]
        assert isinstance(model[1], DepthToSpace)
        assert torch.equal(model(x), ref)
    with pytest.raises(ValueError, match="must directly follow an nn.Conv2d") as info:
        pixel_shuffle_to_depth_to_space_(nn.Sequential(nn.ReLU(), nn.PixelShuffle(2)))
    assert "\n" not in str(info.value)
    with pytest.raises(ValueError, match="unknown rewrite"):
        gpu_rewrites_(nn.Sequential(), ["depth_to_space", "gelu"])


def _tiny_sr(rewrite: bool) -> nn.Module:
    torch.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(3, 48, 3, padding=1), nn.PixelShuffle(4)).eval()
    model.scale = 4
    if rewrite:
        gpu_rewrites_(model)
    return model


def test_batch_rule_flags_the_pixel_shuffle_chain_and_not_depth_to_space(tmp_path):
    """litert-torch's own pixel_shuffle lowering goes through batch-3 tensors: flagged (OpenGL ES
    refuses it, OpenCL runs it); the rewritten graph has one DEPTH_TO_SPACE and passes."""
    from pocketsr.convert.tflite import TFLiteTarget
    from pocketsr.runtime.runners import TFLiteRunner

    outputs = {}
    for rewrite in (False, True):
        path = tmp_path / f"tiny_{rewrite}.tflite"
        TFLiteTarget().convert(_tiny_sr(rewrite), (8, 12), "fp32", path)
        v = gpu_compatibility(path)
        batch = [w for w in v["warnings"] if w["reason"].startswith("batch-3 tensor")]
        assert v["gpu_compatible"] is True
        if rewrite:
            assert v["ops"] == {"CONV_2D": 1, "DEPTH_TO_SPACE": 1}
            assert not batch and v["opengl_es_compatible"] is True
        else:
            assert "DEPTH_TO_SPACE" not in v["ops"] and v["ops"]["RESHAPE"] >= 2
            assert {w["op"] for w in batch} == {"RESHAPE", "TRANSPOSE"}
            assert v["opengl_es_compatible"] is False
        x = np.random.default_rng(0).random((1, 3, 8, 12), dtype=np.float32)
        outputs[rewrite] = TFLiteRunner(path, threads=1, scale=4)(x)
    assert np.abs(outputs[True] - outputs[False]).max() <= 1e-6


def test_batch_rule_on_a_hand_written_dump():
    dump = """Subgraph#0 main(T#0) -> [T#4]
  Op#0 DEQUANTIZE(T#5) -> [T#6]
  Op#1 CONV_2D(T#0, T#6, T#7) -> [T#1]
  Op#2 RESHAPE(T#1, T#2[3, 4, 4, 96]) -> [T#3]
  Op#3 TRANSPOSE(T#3, T#8[0, 1, 3, 2]) -> [T#4]

Tensors of Subgraph#0
  T#0(in) shape:[1, 8, 12, 8], type:FLOAT32
  T#1(conv) shape:[1, 8, 12, 48], type:FLOAT32
  T#2(shape) shape:[4], type:INT32 RO 16 bytes, buffer: 2, data:[3, 4, 4, 96]
  T#3(r) shape:[3, 4, 4, 96], type:FLOAT32
  T#4(t) shape:[3, 4, 96, 4], type:FLOAT32
  T#5(w16) shape:[48, 3, 3, 8], type:FLOAT16 RO 6912 bytes, buffer: 3, data:[0, ...]
  T#6(w) shape:[48, 3, 3, 8], type:FLOAT32
  T#7(b) shape:[48], type:FLOAT32 RO 192 bytes, buffer: 4, data:[0, ...]
  T#8(perm) shape:[4], type:INT32 RO 16 bytes, buffer: 5, data:[0, 1, 3, 2]

Your model looks compatible with GPU delegate on TFLite runtime version 9.9.9.
"""
    v = check_dump(dump)
    flagged = {(w["op"], tuple(w["nodes"])) for w in v["warnings"]}
    # the dequantized weights [48, ...] are folded into constants by the delegate: not a batch
    assert flagged == {("RESHAPE", (2,)), ("TRANSPOSE", (3,))}
    assert v["gpu_compatible"] is True and v["opengl_es_compatible"] is False
    assert check_dump(dump.replace("[3, 4, 4, 96]", "[1, 4, 12, 96]").replace("[3, 4, 96, 4]", "[1, 4, 96, 12]")
                      )["opengl_es_compatible"] is True


@pytest.fixture(scope="module")
def rewritten(tmp_path_factory):
    """fp32 artifacts of both models at 32x48 with the GPU rewrites, with their manifests."""
    out = tmp_path_factory.mktemp("gpu_rewrites")
    return {m: build_artifact(m, "tflite", "fp32", SIZE, out, gpu_friendly=True) for m in ("lkdn-s", "fmen-s")}


@pytest.mark.parametrize("model", ["lkdn-s", "fmen-s"])
def test_rewritten_artifact_is_one_gpu_graph_with_fp32_parity(rewritten, model, photo_crops):
    from pocketsr.convert.gates import GATES
    from pocketsr.mobile_models import create_model
    from pocketsr.runtime.runners import TFLiteRunner

    path, manifest = rewritten[model]
    applied = [r["rewrite"] for r in manifest["conversion"]["rewrites"]]
    assert applied == (["depth_to_space", "layernorm_as_conv"] if model == "lkdn-s" else ["depth_to_space"])
    gpu = manifest["gpu_delegate"]
    assert gpu["compatible"] is True and gpu["opengl_es_compatible"] is True
    assert gpu["incompatible_ops"] == [] and {w["op"] for w in gpu["warnings"]} <= {"GELU"}
    assert gpu["ops"]["DEPTH_TO_SPACE"] == 1
    assert not {"RESHAPE", "TRANSPOSE", "MEAN"} & set(gpu["ops"])
    assert manifest["tiling"]["receptive_field_radius"] == {"lkdn-s": 63, "fmen-s": 34}[model]

    sg = parse_dump(analyzer_dump(path))["subgraphs"][0]
    runtime = [t["shape"] for t in sg["tensors"].values() if not t["const"] and t["shape"]]
    assert runtime
    assert all(s[0] == 1 and len(s) <= 4 for s in runtime), [s for s in runtime if s[0] != 1]

    deploy = create_model(model, "deploy").eval()
    runner = TFLiteRunner(path, threads=2)
    worst = np.inf
    for crop in photo_crops:
        x = np.ascontiguousarray(crop[:, :, :SIZE[0], :SIZE[1]])
        with torch.no_grad():
            ref = deploy(torch.from_numpy(x)).numpy()
        worst = min(worst, psnr(runner(x), ref, 1.0))
    assert worst >= GATES["fp32"][0], worst


def test_recorded_rewrites_rebuild_the_converted_graph(rewritten):
    from pocketsr.convert.pipeline import recorded_rewrites_
    from pocketsr.mobile_models import create_model

    _, manifest = rewritten["lkdn-s"]
    model = create_model("lkdn-s", "deploy")  # (the layer report passes conversion_model's graph)
    assert [r["rewrite"] for r in recorded_rewrites_(model, manifest)] == ["depth_to_space", "layernorm_as_conv"]
    assert isinstance(model.body.upsampler[1], DepthToSpace)
    assert recorded_rewrites_(model, {"conversion": {"rewrites": ["LayerNorm -> ..."]}}) == []


@pytest.mark.parametrize("target, dynamic", [("coreml", False), ("tflite", True)])
def test_core_ml_and_dynamic_size_convert_without_the_gpu_rewrites(monkeypatch, tmp_path, target, dynamic):
    """The rewrites are for the fixed-size TFLite graph only: Core ML gets the PixelShuffle it
    converts natively, dynamic-size TFLite its own rewrites (convert/dynamic.py). (FMEN-S: no
    float16 headroom probe to wait for; the same condition guards LKDN-S's LayerNorm.)"""
    from pocketsr.convert.base import get_target

    class Stop(Exception):
        pass

    seen = {}

    def convert(model, *args, **kwargs):
        seen["model"] = model
        raise Stop

    monkeypatch.setattr(get_target(target), "convert", convert)
    with pytest.raises(Stop):
        build_artifact("fmen-s", target, "fp32", SIZE, tmp_path, gpu_friendly=True, dynamic=dynamic)
    kinds = {type(m) for m in seen["model"].modules()}
    assert nn.PixelShuffle in kinds and DepthToSpace not in kinds
