"""GPU-delegate readiness check (pocketsr.convert.analyzer): analyzer call, dump parsing, GPU rules,
and the optional GELU / LayerNorm rewrites. Builds its own small artifact."""

import math

import pytest
import torch
from torch import nn

from pocketsr.convert.analyzer import (ANALYZER, SigmoidGELU, check_dump, gpu_compatibility, gpu_friendly_gelu_, gpu_friendly_layernorm_, parse_dump)
from pocketsr.convert.pipeline import build_artifact
from pocketsr.errors import ArtifactError


@pytest.fixture(scope="module")
def lkdn_artifact(tmp_path_factory):
    path, _ = build_artifact("lkdn-s", "tflite", "fp32", (32, 48), tmp_path_factory.mktemp("gpu"))
    return path


def test_verdict_on_built_artifact(lkdn_artifact):
    v = gpu_compatibility(lkdn_artifact)
    assert v["analyzer"] == ANALYZER == "ai_edge_litert ModelAnalyzer"
    assert isinstance(v["gpu_compatible"], bool)
    assert isinstance(v["incompatible_ops"], list) and isinstance(v["warnings"], list)
    for entry in v["incompatible_ops"] + v["warnings"]:
        assert {"op", "reason", "count", "nodes"} <= set(entry)
        assert isinstance(entry["reason"], str) and entry["reason"]
        assert entry["count"] == len(entry["nodes"]) >= 1
    ops = v["ops"]
    assert ops["CONV_2D"] > 0 and ops["DEPTHWISE_CONV_2D"] > 0
    assert sum(ops.values()) == v["num_ops"] and v["subgraphs"] == 1
    # fp32 LKDN-S (default GPU rewrites) has no static GPU blocker on any backend: no MEAN over
    # channels, no tensor of another batch; GELU's delegate-age caveat stays a warning.
    assert v["gpu_compatible"] is True and v["incompatible_ops"] == []
    assert v["opengl_es_compatible"] is True
    assert v["analyzer_verdict"] is True
    assert {w["op"] for w in v["warnings"]} == {"GELU"}
    assert ops["DEPTH_TO_SPACE"] == 1 and "MEAN" not in ops
    assert v["path"] == str(lkdn_artifact)


@pytest.mark.parametrize("content", [b"", b"not a model at all, just text\n", b"\x00" * 64])
def test_unloadable_files_raise_one_line_artifact_error(tmp_path, content):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(content)
    with pytest.raises(ArtifactError) as info:
        gpu_compatibility(bad)
    message = str(info.value)
    assert "bad.tflite" in message and "\n" not in message and "Traceback" not in message


def test_truncated_artifact_and_missing_path_raise(tmp_path, lkdn_artifact):
    cut = tmp_path / "cut.tflite"
    cut.write_bytes(lkdn_artifact.read_bytes()[:2000])
    with pytest.raises(ArtifactError, match="could not load cut.tflite"):
        gpu_compatibility(cut)
    with pytest.raises(ArtifactError, match="not found"):
        gpu_compatibility(tmp_path / "missing.tflite")
    with pytest.raises(ArtifactError, match="not a file"):
        gpu_compatibility(tmp_path)


# A hand-written dump in the analyzer's format: a rank-6 transpose, an unsupported op, int16
# activations and an int8 constant whose data dump contains a newline byte.
DUMP = """Your TFLite model has '1' subgraph(s). In the subgraph description below,
T# represents the Tensor numbers.

Subgraph#0 main(T#0) -> [T#7]
  Op#0 RESHAPE(T#0, T#1[1, 2, 2, 2, 3, ...]) -> [T#2]
  Op#1 TRANSPOSE(T#2, T#3[0, 1, 3, 2, 4, ...]) -> [T#4]
  Op#2 ARG_MAX(T#0, T#5[2]) -> [T#6]
  Op#3 MEAN(T#8, T#9[1, 2]) -> [T#7]
  Op#4 QUANTIZE(T#0) -> [T#8]

Tensors of Subgraph#0
  T#0(in) shape:[1, 8, 12, 4], type:FLOAT32
  T#1(shape) shape:[6], type:INT32 RO 24 bytes, buffer: 2, data:[1, 2, 2, 2, 3, ...]
  T#2(r) shape:[1, 2, 2, 2, 3, 4], type:FLOAT32
  T#3(perm) shape:[6], type:INT32 RO 24 bytes, buffer: 3, data:[0, 1, 3, 2, 4, ...]
  T#4(t) shape:[1, 2, 2, 2, 3, 4], type:FLOAT32
  T#5(axis) shape:[1], type:INT32 RO 4 bytes, buffer: 4, data:[2]
  T#6(am) shape:[1, 8, 4], type:INT32
  T#10(w) shape:[4], type:INT8 RO 4 bytes, buffer: 5, data:[1, 
, 3, 4]
  T#7(out) shape:[1, 1, 1, 4], type:INT16
  T#8(q) shape:[1, 8, 12, 4], type:INT16
  T#9(axes) shape:[2], type:INT32 RO 8 bytes, buffer: 6, data:[1, 2]


Your model looks compatible with GPU delegate on TFLite runtime version 9.9.9.
This does not guarantee that your model will work well with GPU delegate because there could still be runtime incompatibililties.
"""


def test_dump_parsing_and_rules():
    parsed = parse_dump(DUMP)
    sg = parsed["subgraphs"][0]
    assert parsed["analyzer_verdict"] is True and parsed["runtime_version"] == "9.9.9"
    assert len(sg["ops"]) == 5 and len(sg["tensors"]) == 11  # table not cut by the newline byte
    assert sg["ops"][3]["data"] == {"9": [1, 2]} and sg["ops"][0]["data"] == {"1": None}
    assert sg["tensors"]["10"]["const"] and not sg["tensors"]["8"]["const"]

    v = check_dump(DUMP)
    assert v["gpu_compatible"] is False and v["analyzer_verdict"] is True
    reasons = {(e["op"], e["reason"].split(":")[0]) for e in v["incompatible_ops"]}
    assert ("RESHAPE", "rank-6 tensor [1, 2, 2, 2, 3, 4]") in reasons
    assert ("TRANSPOSE", "rank-6 tensor [1, 2, 2, 2, 3, 4]") in reasons
    assert ("ARG_MAX", "ARG_MAX is not an op of the TFLite GPU delegate") in reasons
    assert ("MEAN", "int16 activations") in reasons and ("QUANTIZE", "int16 activations") in reasons
    reshape = next(e for e in v["incompatible_ops"] if e["op"] == "RESHAPE")
    assert reshape["count"] == 1 and reshape["nodes"] == [0]
    assert v["ops"] == {"RESHAPE": 1, "TRANSPOSE": 1, "ARG_MAX": 1, "MEAN": 1, "QUANTIZE": 1}


def test_analyzer_warnings_are_honoured():
    flagged = DUMP.replace("Your model looks compatible with GPU delegate on TFLite runtime version "
                           "9.9.9.", "GPU COMPATIBILITY WARNING: Subgraph#0 has GPU delegate "
                           "compatibility issues at nodes 4 on TFLite runtime version 9.9.9")
    v = check_dump(flagged)
    assert v["analyzer_verdict"] is False and v["gpu_compatible"] is False
    assert any(e["op"] == "QUANTIZE" and e["reason"].startswith("analyzer:")
               for e in v["incompatible_ops"])
    with pytest.raises(ArtifactError):
        check_dump("The model is not a valid Flatbuffer buffer")


def test_sigmoid_gelu_rewrite_is_close_to_erf_gelu():
    x = torch.linspace(-12, 12, 240_001, dtype=torch.float64)
    err = (SigmoidGELU()(x) - nn.functional.gelu(x)).abs().max().item()
    assert 4.0e-4 < err < 4.8e-4  # the tanh approximation's known maximum error
    tanh_form = 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    assert torch.allclose(SigmoidGELU()(x), tanh_form, atol=1e-12)
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.GELU(), nn.Sequential(nn.GELU()))
    assert gpu_friendly_gelu_(model) == 2
    assert not any(isinstance(m, nn.GELU) for m in model.modules())


def test_conv_layernorm_rewrite_matches_layernorm():
    torch.manual_seed(0)
    norm = nn.LayerNorm(42)
    with torch.no_grad():
        norm.weight.uniform_(0.5, 1.5)
        norm.bias.uniform_(-0.1, 0.1)
    holder = nn.Module()
    holder.pixel_norm = norm
    x = torch.randn(1, 5, 7, 42) * 3 + 1  # NHWC, as LKDN applies it
    with torch.no_grad():
        ref = norm(x)
        assert gpu_friendly_layernorm_(holder) == 1
        out = holder.pixel_norm(x)
    assert out.shape == ref.shape
    assert (out - ref).abs().max().item() < 1e-5


def test_gpu_friendly_conversion_drops_mean_and_keeps_parity(tmp_path, capfd):
    """The default conversion (GPU rewrites on) passes the fp32 gate against the unmodified
    model; ``--no-gpu-friendly`` gives litert-torch's own graph, flagged for OpenGL ES."""
    from conftest import PHOTOS, SET5, run_cli
    import json
    code, _, err = run_cli(capfd, "convert", "-m", "lkdn-s", "-p", "fp32", "--input-size", "48x64",
                           "-o", tmp_path, "--data", SET5, "--photos", PHOTOS, "--no-report")
    assert code == 0, err
    manifest = json.loads((tmp_path / "lkdn-s_x4_48x64_fp32.tflite.json").read_text())
    assert [r["rewrite"] for r in manifest["conversion"]["rewrites"]] == ["depth_to_space", "layernorm_as_conv"]
    assert "MEAN" not in manifest["gpu_delegate"]["ops"]
    assert not any(w["op"] == "MEAN" for w in manifest["gpu_delegate"]["warnings"])
    assert manifest["validation"]["passed"]  # fp32 gate (>= 100 dB vs the unmodified model)
    code, _, err = run_cli(capfd, "convert", "-m", "lkdn-s", "-p", "fp32", "--input-size", "48x64",
                           "--no-gpu-friendly", "-o", tmp_path / "plain", "--no-validate", "--no-report")
    assert code == 0, err
    plain = json.loads((tmp_path / "plain" / "lkdn-s_x4_48x64_fp32.tflite.json").read_text())
    assert plain["conversion"]["rewrites"] == [] and "DEPTH_TO_SPACE" not in plain["gpu_delegate"]["ops"]
    assert plain["gpu_delegate"]["compatible"] is True and plain["gpu_delegate"]["opengl_es_compatible"] is False
    assert {"MEAN", "RESHAPE", "TRANSPOSE"} <= {w["op"] for w in plain["gpu_delegate"]["warnings"]}
