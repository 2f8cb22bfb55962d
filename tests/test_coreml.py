"""Core ML target: conversion of every precision, validation through the MIL executor (gates on
Set5/Set14), image I/O, executor exactness, float16 headroom, unknown ops, folder artifacts."""

import json
import math

import numpy as np
import pytest
import torch

from conftest import PHOTOS, SET5, SET14

pytest.importorskip("coremltools")

SIZE = (96, 128)  # fixed input size for these tests: few benchmark tiles, quick conversions
ALL = ("fp32", "fp16", "int8-weights", "palettized-6bit", "palettized-4bit", "w8a8")


@pytest.fixture(scope="module")
def validator():
    from pocketsr.validate.validator import Validator
    return Validator([SET5, SET14], PHOTOS)


@pytest.fixture(scope="module")
def lkdn_artifacts(tmp_path_factory, validator):
    """LKDN-S in every Core ML precision through the main-job pipeline, validated."""
    from pocketsr.convert.pipeline import plan, run_jobs
    out = tmp_path_factory.mktemp("coreml")
    manifests = run_jobs(plan(["lkdn-s"], ["coreml"], ALL), SIZE, out, validator)
    return out, {m["precision"]: m for m in manifests}


@pytest.fixture(scope="module")
def photo_inputs():
    from pocketsr.runtime.images import crops, to_tensor_array
    from pocketsr.datasets.sets import real_photos
    rng = np.random.default_rng(1)
    return [to_tensor_array(c) for _, img in real_photos(PHOTOS) for c in crops(img, SIZE, 1, rng)]


def _convert(tmp_path, name, precision, io="tensor", rescale=True):
    """A Core ML package of the registry model, written directly by the target (the pipeline's
    float16 headroom rescaling applied unless ``rescale=False``)."""
    from pocketsr.convert.coreml import CoreMLTarget
    from pocketsr.mobile_models import create_model
    from pocketsr.datasets.sets import probe_images
    model = create_model(name, "deploy").fold_pixel_range().eval()
    if rescale:
        model.fp16_headroom_rescale_([torch.from_numpy(x) for x in probe_images()])
    path = tmp_path / f"{name}_{precision}_{io}.mlpackage"
    result = CoreMLTarget().convert(model, SIZE, precision, path, io=io,
                                    info={"model": name, "weights": {"official": True, "sha256": "abc"}})
    return path, result


# -- every precision -------------------------------------------------------------------------------

def test_defaults_are_the_gated_precisions():
    from pocketsr.convert.base import get_target
    t = get_target("coreml")
    assert t.default_precisions == ("fp32", "fp16", "int8-weights", "palettized-6bit")
    assert set(t.precisions) == set(ALL)
    assert t.needs_plan("w8a8") and t.needs_plan("int8-weights") and not t.needs_plan("fp16")
    assert get_target("tflite").needs_plan("int8-full") and not get_target("tflite").needs_plan("fp16")


@pytest.mark.parametrize("precision", ["fp32", "fp16", "int8-weights", "palettized-6bit"])
def test_gated_precisions_pass_on_set5_set14(lkdn_artifacts, precision):
    from pocketsr.convert.manifest import artifact_sha256, read_manifest
    from pocketsr.convert.gates import GATES
    out, manifests = lkdn_artifacts
    m = manifests[precision]
    path = out / m["file"]
    assert path.is_dir() and path.suffix == ".mlpackage"
    assert read_manifest(path)["sha256"] == artifact_sha256(path) == m["sha256"]
    v = m["validation"]
    assert v["runtime"] == "coreml-mil"
    assert v["passed"], v["failures"]
    min_db, max_delta = GATES[precision]
    assert [b["dataset"] for b in v["benchmarks"]] == ["CC0-3", "Set5", "Set14"]
    for b in v["benchmarks"]:
        assert abs(b["conversion_delta_db"]) <= max_delta
        assert b["images"] == {"CC0-3": 3, "Set5": 5, "Set14": 14}[b["dataset"]]
    assert v["parity"]["psnr_db"] >= min_db
    assert m["conversion"]["fp16_headroom_rescaling"], "LKDN-S needs its LayerNorm inputs rescaled"
    index = json.loads((out / "index.json").read_text())
    assert any(e["file"] == m["file"] and e["passed"] for e in index["artifacts"])


def test_compressed_weights_are_in_the_package(lkdn_artifacts):
    _, manifests = lkdn_artifacts
    ops = {p: manifests[p]["coreml"]["ops"] for p in manifests}
    assert ops["fp32"].get("constexpr_affine_dequantize", 0) == 0 and not manifests["fp32"]["coreml"]["fp16_compute"]
    assert manifests["fp16"]["coreml"]["fp16_compute"]
    assert ops["int8-weights"]["constexpr_affine_dequantize"] > 60  # most of the 86 convs
    assert ops["palettized-6bit"]["constexpr_lut_to_dense"] >= 1
    assert ops["w8a8"]["quantize"] > 10 and ops["w8a8"]["dequantize"] > 10
    sizes = {p: manifests[p]["size_bytes"] for p in manifests}
    assert sizes["fp16"] < 0.7 * sizes["fp32"]
    assert sizes["int8-weights"] < sizes["fp16"]
    assert manifests["palettized-6bit"]["conversion"]["minimum_deployment_target"] == "iOS18"
    search = manifests["int8-weights"]["conversion"]["mixed_precision_search"]
    assert search[-1]["selection_psnr_db"] >= 54.0 or search[-1]["float_layers"] == 12


def test_report_only_and_w8a8_are_recorded(lkdn_artifacts):
    from pocketsr.convert.gates import GATES
    _, manifests = lkdn_artifacts
    p4 = manifests["palettized-4bit"]["validation"]
    assert p4["gate"] == {"report_only": True} and p4["passed"] is True
    d4 = [b["conversion_delta_db"] for b in p4["benchmarks"]]
    d6 = [b["conversion_delta_db"] for b in manifests["palettized-6bit"]["validation"]["benchmarks"]]
    assert all(math.isfinite(d) for d in d4) and sum(d4) < sum(d6)  # 4-bit is measurably worse
    assert p4["would_fail"] == [] and p4["fp16_headroom"]["passed"]  # no float16 breakage
    assert min(d4) < -0.3  # a real loss (-0.7 to -1.3 dB here): recorded, not failed
    w = manifests["w8a8"]["validation"]
    deltas = [b["conversion_delta_db"] for b in w["benchmarks"]]
    assert all(-2.0 < d < 0.0 for d in deltas), deltas  # works, but loses quality
    min_db, max_delta = GATES["w8a8"]
    within = all(abs(d) <= max_delta for d in deltas) and w["parity"]["psnr_db"] >= min_db
    assert w["passed"] == (within and all(b["parity"]["psnr_db"] >= min_db for b in w["benchmarks"]))


# -- I/O variants and metadata ---------------------------------------------------------------------

def test_image_io_is_default_and_documented(lkdn_artifacts, photo_inputs):
    import coremltools as ct
    from pocketsr.mobile_models import create_model, get_spec
    from pocketsr.runtime.runners import CoreMLRunner
    out, manifests = lkdn_artifacts
    m = manifests["fp32"]
    assert m["input"]["layout"].startswith("image") and m["input"]["dtype"] == "uint8"
    assert m["output"]["layout"].startswith("image") and m["conversion"]["io"] == "image"
    spec = ct.utils.load_spec(str(out / m["file"]))
    assert spec.description.input[0].type.WhichOneof("Type") == "imageType"
    assert spec.description.output[0].type.WhichOneof("Type") == "imageType"
    meta = spec.description.metadata
    assert meta.license.startswith("Weights: MIT") and "stella-von/LKDN" in meta.license
    assert "LKDN-S" in meta.shortDescription and meta.author and meta.versionString
    user = dict(meta.userDefined)
    assert user["pocketsr.model"] == "lkdn-s" and user["pocketsr.precision"] == "fp32"
    assert user["pocketsr.scale"] == "4"
    assert user["pocketsr.weights_sha256"] == get_spec("lkdn-s").pretrained_source.sha256
    assert spec.description.input[0].shortDescription and spec.description.output[0].shortDescription
    # the image artifact computes the model on the 8-bit input; its output value / 255 is the model's
    runner = CoreMLRunner(out / m["file"])
    model = create_model("lkdn-s", "deploy").eval()
    for x in photo_inputs[:2]:
        with torch.no_grad():
            want = model(torch.from_numpy(x)).numpy()
        assert np.abs(runner(x) - want).max() < 1e-5


def test_tensor_io_variant(tmp_path, photo_inputs):
    from pocketsr.runtime.runners import CoreMLRunner
    path, result = _convert(tmp_path, "fmen-s", "fp16", io="tensor")
    assert result.input == {"name": "lr", "shape": [1, 3, *SIZE], "layout": "NCHW", "dtype": "float32",
                            "range": [0.0, 1.0], "color": "RGB"}
    runner = CoreMLRunner(path)
    assert runner.executor.inputs[0]["kind"] == "tensor" and runner.executor.inputs[0]["dtype"] == "fp32"
    assert runner.input_size == SIZE and runner.scale == 4
    y = runner(photo_inputs[0])
    assert y.shape == (1, 3, 4 * SIZE[0], 4 * SIZE[1]) and y.min() >= 0 and y.max() <= 1


# -- the executor ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["lkdn-s", "fmen-s"])
def test_executor_fp32_matches_torch(tmp_path, photo_inputs, name):
    from pocketsr.mobile_models import create_model
    from pocketsr.runtime.mil_executor import MILExecutor
    path, _ = _convert(tmp_path, name, "fp32")
    ex = MILExecutor(path)
    assert not ex.fp16
    model = create_model(name, "deploy").eval()
    for x in photo_inputs[:3]:
        with torch.no_grad():
            want = model(torch.from_numpy(x)).numpy()
        assert np.abs(ex(x) - want).max() < 1e-5


def test_fp16_headroom_reported_and_can_fail(tmp_path, photo_inputs, lkdn_artifacts):
    from pocketsr.runtime.runners import CoreMLRunner
    from pocketsr.validate.validator import Validator
    _, manifests = lkdn_artifacts
    h = manifests["fp16"]["validation"]["fp16_headroom"]
    assert h["checked"] and h["passed"] and h["max_abs"] < 65504 / 2
    assert h["runs"] > 20 and len(h["per_op"]) > 100  # every computed op of every real-image run
    assert "fp16_headroom_noise_probe" in manifests["fp16"]["validation"]
    assert not manifests["fp32"]["validation"]["fp16_headroom"]["checked"]
    # without the exact rescaling, LKDN-S's LayerNorm inputs overflow float16 on real photos
    path, _ = _convert(tmp_path, "lkdn-s", "fp16", rescale=False)
    runner = CoreMLRunner(path)
    for x in photo_inputs:
        runner(x)
    report = runner.report()["fp16_headroom"]
    assert not report["passed"] and (report["overflow_ops"] or report["near_overflow_ops"])
    fake = {"parity": {"psnr_db": 99.0}, "benchmarks": [], "fp16_headroom": report}
    gate = Validator.gate("fp16", fake)
    assert not gate["passed"] and "float16 headroom" in gate["failures"][0]


def test_unknown_op_is_an_error_naming_it(lkdn_artifacts, tmp_path):
    import coremltools as ct
    from pocketsr.runtime.mil_executor import MILExecutor, UnsupportedOpError
    out, manifests = lkdn_artifacts
    src = out / manifests["fp16"]["file"]
    model = ct.models.MLModel(str(src), skip_model_load=True)
    spec = model.get_spec()
    fn = spec.mlProgram.functions["main"]
    op = next(o for o in fn.block_specializations[fn.opset].operations if o.type == "gelu")
    op.type = "gelu_v2_unknown"
    edited = tmp_path / "edited.mlpackage"
    ct.models.MLModel(spec, weights_dir=model.weights_dir, skip_model_load=True).save(str(edited))
    with pytest.raises(UnsupportedOpError, match="gelu_v2_unknown"):
        MILExecutor(edited)


def test_decompression_matches_coremltools(tmp_path):
    """The executor's own decoding of every weight-compression op equals coremltools' reference
    decompression (tiny model, so fast): int8 affine, iOS17 packed LUT, iOS18 per-channel LUT,
    iOS18 int4 block-wise shift/scale."""
    import coremltools as ct
    from pocketsr.runtime.mil_executor import MILExecutor

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 16, 3, padding=1), torch.nn.LeakyReLU(0.1),
                              torch.nn.Conv2d(16, 8, 3, padding=1)).eval()
    x = torch.rand(1, 3, 12, 16)
    traced = torch.jit.trace(net, x)
    opt = ct.optimize.coreml
    cases = {
        "affine": ("iOS17", opt.OpLinearQuantizerConfig(mode="linear_symmetric", dtype="int8",
                                                        granularity="per_channel", weight_threshold=0)),
        "lut17": ("iOS17", opt.OpPalettizerConfig(mode="kmeans", nbits=6, weight_threshold=0)),
        "lut18": ("iOS18", opt.OpPalettizerConfig(mode="kmeans", nbits=4, granularity="per_grouped_channel",
                                                  group_size=1, weight_threshold=0)),
        "blockwise": ("iOS18", opt.OpLinearQuantizerConfig(mode="linear_symmetric", dtype="int4",
                                                           granularity="per_block", block_size=4,
                                                           weight_threshold=0)),
    }
    seen = set()
    for label, (target, cfg) in cases.items():
        ml = ct.convert(traced, inputs=[ct.TensorType(name="x", shape=x.shape)], convert_to="mlprogram",
                        minimum_deployment_target=getattr(ct.target, target),
                        compute_precision=ct.precision.FLOAT32)
        fn = opt.linear_quantize_weights if isinstance(cfg, opt.OpLinearQuantizerConfig) else opt.palettize_weights
        ml = fn(ml, opt.OptimizationConfig(global_config=cfg))
        reference = {op.outputs[0].name: op.materialized_val_inference()
                     for op in ml._mil_program.functions["main"].operations if op.op_type.startswith("constexpr")}
        path = tmp_path / f"{label}.mlpackage"
        ml.save(str(path))
        ex = MILExecutor(path)
        decoded = {o.name: o.type for o in ex.ops if o.type.startswith("constexpr")}
        assert decoded and set(decoded) == set(reference), label
        seen |= set(decoded.values())
        for name, want in reference.items():
            np.testing.assert_allclose(ex._consts[name].numpy(), np.asarray(want, dtype=np.float32),
                                       rtol=1e-6, atol=1e-8, err_msg=f"{label} {name}")
        y = ex(x.numpy())
        with torch.no_grad():
            assert np.abs(y - net(x).numpy()).max() < 0.2 * float(net(x).abs().max())  # sane, lossy
    assert seen == {"constexpr_affine_dequantize", "constexpr_lut_to_dense", "constexpr_blockwise_shift_scale"}


# -- folder artifacts ------------------------------------------------------------------------------

def test_folder_artifact_hash_and_atomic_replace(tmp_path):
    from pocketsr.convert.manifest import artifact_sha256, artifact_size, atomic_path
    final = tmp_path / "a.mlpackage"
    with atomic_path(final, directory=True) as tmp:
        assert tmp.is_dir() and tmp.name.endswith(".mlpackage") and tmp != final
        (tmp / "Data").mkdir()
        (tmp / "Data" / "w.bin").write_bytes(b"12345")
        (tmp / "Manifest.json").write_text("{}")
    first = artifact_sha256(final)
    assert first == artifact_sha256(final) and artifact_size(final) == 7
    with atomic_path(final, directory=True) as tmp:  # replacing an existing folder
        (tmp / "Manifest.json").write_text("{}")
        (tmp / "x.bin").write_bytes(b"12345")
    assert sorted(p.name for p in final.iterdir()) == ["Manifest.json", "x.bin"]
    assert artifact_sha256(final) != first  # same bytes under another path: another hash
    with pytest.raises(RuntimeError):
        with atomic_path(final, directory=True) as tmp:
            (tmp / "half").write_bytes(b"0")
            raise RuntimeError("interrupted")
    assert sorted(p.name for p in final.iterdir()) == ["Manifest.json", "x.bin"]
    assert [p.name for p in tmp_path.iterdir()] == ["a.mlpackage"]  # no temporary left behind


# -- where a package diverges ----------------------------------------------------------------------

def test_layer_report_pairs_every_conv(lkdn_artifacts, photo_inputs, capfd):
    from conftest import run_cli
    from pocketsr.convert.pipeline import conversion_model
    from pocketsr.mobile_models import create_model
    from pocketsr.validate.layers import layer_report, layer_table
    out, manifests = lkdn_artifacts
    model, _ = conversion_model(create_model("lkdn-s", "deploy"))
    n_convs = sum(isinstance(m, torch.nn.Conv2d) for m in model.modules())
    exact = layer_report(out / manifests["fp32"]["file"], model, photo_inputs[:2])
    assert exact["matched"] == n_convs + 1 and not exact["unmatched"] and not exact["torch_unmatched"]
    assert exact["first_jump"] is None and min(r["snr_db"] for r in exact["layers"]) > 90
    lossy = layer_report(out / manifests["palettized-4bit"]["file"], model, photo_inputs[:2])
    assert min(r["local_snr_db"] for r in lossy["layers"] if r["local_snr_db"] is not None) < 40
    assert lossy["layers"][-1]["module"] == "(model)" and lossy["layers"][-1]["snr_db"] < exact["layers"][-1]["snr_db"]
    assert lossy["most_sensitive"] and layer_table(lossy).row_count == len(lossy["layers"])
    code, text, err = run_cli(capfd, "validate", out / manifests["int8-weights"]["file"], "--layers",
                              "--photos", PHOTOS, "--layer-images", "1")
    assert code == 0, err
    assert "body.B1.c1_d" in text


def test_bench_refuses_core_ml_with_one_line(lkdn_artifacts, capfd):
    from conftest import assert_one_line_error, run_cli
    out, manifests = lkdn_artifacts
    code, _, err = run_cli(capfd, "bench", out / manifests["fp16"]["file"])
    assert_one_line_error(code, err, "Core ML runs on Apple hardware only")


def test_bundle_of_core_ml_packages_meets_the_schema(lkdn_artifacts, tmp_path, capfd):
    """What the iOS app reads: Core ML image-I/O packages in a bundle (layout "image", 8-bit
    output values), the package folders copied whole, goldens equal to PyTorch."""
    from conftest import run_cli
    from test_bundle import _check_bundle
    out, manifests = lkdn_artifacts
    bundle = tmp_path / "ios-bundle"
    code, _, err = run_cli(capfd, "bundle", out, "-o", bundle, "--pick", manifests["fp16"]["file"], "--golden", "1")
    assert code == 0, err
    data = _check_bundle(bundle, out)
    (a,) = data["artifacts"]
    assert a["target"] == "coreml" and a["io"] == "image"
    assert a["input"]["layout"] == a["output"]["layout"] == "image" and a["output"]["values"] == "8bit"
    assert (bundle / a["file"] / "Manifest.json").is_file()
