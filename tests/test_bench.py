"""``pocketsr bench``: LiteRT, PyTorch eager (both forms) and ONNX Runtime timed in child
processes, with MACs, GFLOP/s and the matmul peak. Real runtimes on a small artifact."""

import json

import numpy as np
import pytest
import torch

from conftest import PHOTOS, assert_one_line_error, run_cli

SMALL = (48, 64)


@pytest.fixture(scope="module")
def small_artifact(tmp_path_factory):
    """One fp32 TFLite artifact of FMEN-S at 48x64 (no validation)."""
    from pocketsr.convert.pipeline import build_artifact
    path, _ = build_artifact("fmen-s", "tflite", "fp32", SMALL, tmp_path_factory.mktemp("bench"))
    return path


def test_bench_json_has_every_runtime_and_compute_context(small_artifact, capfd):
    code, out, err = run_cli(capfd, "bench", small_artifact, "--runs", 3, "--warmup", 1, "--threads", 1, "--json")
    assert code == 0, err
    result = json.loads(out)
    machine = result["machine"]
    assert machine["cpu"] and machine["logical_cores"] >= 1 and machine["torch"] and machine["onnxruntime"]
    assert set(result["matmul_peak_gflops"]) == {"1"} and result["matmul_peak_gflops"]["1"] > 0
    rows = {(r["kind"], r["form"]): r for r in result["rows"]}
    assert set(rows) == {("litert", "deploy"), ("torch", "deploy"), ("torch", "training"), ("onnxruntime", "deploy")}
    assert rows[("onnxruntime", "deploy")]["name"] == "FMEN-S ONNX Runtime (deploy)"
    for r in result["rows"]:
        assert r["threads"] == 1 and r["runs"] == 3 and r["input"] == list(SMALL)
        assert r["max_ms"] >= r["median_ms"] >= r["min_ms"] > 0
        assert r["peak_rss_mb"] > 0 and r["gmacs"] > 0 and r["gflops_per_s"] > 0
        assert r["pct_of_matmul_peak"] == pytest.approx(100 * r["gflops_per_s"] / result["matmul_peak_gflops"]["1"])
        assert r["vs_torch_deploy"] == pytest.approx(rows[("torch", "deploy")]["median_ms"] / r["median_ms"])
        assert r["vs_fp32_tflite"] == pytest.approx(rows[("litert", "deploy")]["median_ms"] / r["median_ms"])
    # the training form does more work than the deploy form it reparameterizes into
    assert rows[("torch", "training")]["gmacs"] > rows[("torch", "deploy")]["gmacs"] == rows[("litert", "deploy")]["gmacs"]
    # ONNX Runtime's child does not import torch: far below a torch process (~190 MB of libraries)
    assert rows[("onnxruntime", "deploy")]["peak_rss_mb"] < rows[("torch", "deploy")]["peak_rss_mb"]


def test_bench_table_without_training_form_and_onnx(small_artifact, capfd):
    code, out, err = run_cli(capfd, "bench", small_artifact, "--runs", 3, "--warmup", 0, "--threads", 1,
                             "--no-training-form", "--no-onnx")
    assert code == 0, err
    assert "vs torch deploy" in out and "% matmul peak" in out and "torch.matmul fp32 2048x2048" in out
    assert "FMEN-S torch eager (deploy)" in out
    assert "training" not in out.split("GMAC per inference")[1] and "ONNX Runtime (deploy)" not in out


def test_count_macs_matches_the_analytic_conv_formula_and_reparameterization():
    from pocketsr.mobile_models import count_macs, create_model
    cout, cin, k, h, w = 7, 5, 3, 10, 12
    conv = torch.nn.Conv2d(cin, cout, k, padding=k // 2)
    assert count_macs(conv, (h, w), in_channels=cin) == cout * cin * k * k * h * w
    depthwise = torch.nn.Conv2d(cin, cin, k, padding=k // 2, groups=cin)
    assert count_macs(depthwise, (h, w), in_channels=cin) == cin * k * k * h * w
    deploy = count_macs(create_model("fmen-s", "deploy", pretrained=False), SMALL)
    training = count_macs(create_model("fmen-s", "training", pretrained=False), SMALL)
    assert 0 < deploy <= training
    with pytest.raises(ValueError):
        count_macs(conv, (0, 4), in_channels=cin)


def test_onnxruntime_matches_torch_on_real_photos(tmp_path):
    """The exported conversion graph in ONNX Runtime computes what PyTorch's deploy model does
    (FMEN-S: its export takes seconds; LKDN-S's fp16-headroom probe takes ~30 s here)."""
    from pocketsr.mobile_models import create_model
    from pocketsr.validate.bench import export_onnx, onnx_session
    from pocketsr.runtime.images import crops, to_tensor_array
    from pocketsr.datasets.sets import real_photos
    deploy = create_model("fmen-s", "deploy")
    session = onnx_session(export_onnx(deploy, (96, 128), tmp_path / "fmen.onnx"), threads=1)
    (inp,) = session.get_inputs()
    assert inp.shape == [1, 3, 96, 128]
    for name, img in real_photos(PHOTOS):
        x = to_tensor_array(crops(img, (96, 128), 1, np.random.default_rng(0))[0])
        y = session.run(None, {inp.name: x})[0]
        with torch.inference_mode():
            ref = deploy(torch.from_numpy(x)).numpy()
        assert y.shape == ref.shape == (1, 3, 384, 512) and y.dtype == np.float32
        assert np.abs(y - ref).max() <= 1e-4, name


def test_bench_rejects_a_file_that_is_not_an_artifact(tmp_path, capfd):
    junk = tmp_path / "notes.tflite"
    junk.write_text("not a model")
    code, _, err = run_cli(capfd, "bench", junk, "--runs", 3)
    assert_one_line_error(code, err, "no manifest for", "notes.tflite")


def test_time_runs_times_a_call_longer_than_the_budget_once_cold():
    import time as _time

    from pocketsr.validate.bench import time_runs

    calls = []

    def slow(x):
        calls.append(x)
        _time.sleep(0.25)

    r = time_runs(slow, 0, runs=5, warmup=1, budget_s=0.2)
    assert len(calls) == 1 and r["runs"] == 1 and r["warmed_up"] is False and r["median_ms"] >= 250
    calls.clear()
    r = time_runs(lambda x: calls.append(x), 0, runs=5, warmup=1, budget_s=0.2)
    assert len(calls) == 6 and r["runs"] == 5 and r["warmed_up"] is True
