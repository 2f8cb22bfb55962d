"""The configuration users actually have: no ``../shared`` data folder beside the project.

``POCKETSR_SHARED_DATASETS=none`` makes the product ignore the development data, exactly as an
installed wheel does; only the weights come from a local folder (a user's download cache).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import SET5, WEIGHTS
from pocketsr.convert.quantize import QuantPlan, normalization_scopes
from pocketsr.mobile_models import create_model
from pocketsr.datasets import sets as vdata

POCKETSR = Path(sys.executable).with_name("pocketsr")


def fresh_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("POCKETSR_")}
    env.update(POCKETSR_SHARED_DATASETS="none", POCKETSR_WEIGHTS_DIR=str(WEIGHTS))
    return env


def test_data_roles_are_disjoint_and_ship_with_the_dependencies(monkeypatch):
    names = [n for role in vdata.ROLES.values() for n in role]
    assert len(names) == len(set(names)), "an image serves two purposes"
    monkeypatch.setenv("POCKETSR_SHARED_DATASETS", "none")
    assert vdata.shared_datasets_dir() is None
    assert [n for n, _ in vdata.real_photos()] == list(vdata.ROLES["parity"])
    for role in ("gating", "selection"):
        pairs = vdata.builtin_pairs(role, 4)
        assert [i.name for i in pairs.images] == list(vdata.ROLES[role])
        for item in pairs.images:
            assert item.hr.shape[0] == 4 * item.lr.shape[0] and item.hr.shape[1] == 4 * item.lr.shape[1]
            assert item.lr.dtype == np.uint8 and item.lr.shape[2] == 3


def test_bicubic_downscale_matches_matlab_on_set5():
    """Set5's LR images are bit-exact MATLAB imresize(modcrop(HR, 4), 1/4, 'bicubic')."""
    diffs = []
    for item in vdata.load_benchmark(SET5, 4).images:
        ours = vdata.bicubic_downscale(item.hr, 4)
        assert ours.shape == item.lr.shape
        d = np.abs(ours.astype(int) - item.lr.astype(int))
        assert d.max() <= 1, item.name
        diffs.append((d > 0).mean())
    assert max(diffs) < 0.002
    # and it is not trivially true: the plain Pillow resize (no MATLAB order/rounding) is off more
    from PIL import Image
    hr = vdata.load_benchmark(SET5, 4).images[0]
    plain = np.asarray(Image.fromarray(hr.hr).resize((hr.lr.shape[1], hr.lr.shape[0]), Image.BICUBIC))
    assert (plain != hr.lr).mean() > 0.01


def test_layernorms_are_kept_float_by_static_quantization():
    folded = create_model("lkdn-s", "deploy").fold_pixel_range()
    assert normalization_scopes(folded) == [f"body.B{i}.pixel_norm" for i in range(1, 6)]
    assert normalization_scopes(create_model("fmen-s", "deploy")) == []


class _Plan(QuantPlan):
    def __init__(self, target_db=51.0, budget=12):
        self.target_db, self.max_float_layers, self.gate_delta_db = target_db, budget, 0.1
        self.ranking = [f"c{i}" for i in range(20)]
        self.stopped, self.accepted, self.label, self.warm_start = None, [], "test", None
        self.precision = "int8-weights"


def test_search_stops_when_its_target_is_out_of_reach():
    plan = _Plan()
    calls = []

    def attempt(keep):  # a real artifact would plateau like this (measured: 33.2 -> 33.8 dB)
        calls.append(list(keep))
        return {"selection_psnr_db": 33.0 + 0.05 * len(keep), "selection_delta_db": -0.3}

    plan.keep_float_search(attempt)
    assert len(calls) == 1 + 3 and "out of reach" in plan.stopped  # not all 12

    # within 3 dB of the target a plateau is not cut short (LKDN-S int8-dynamic: 50.12, 50.81,
    # 50.88 dB at 2-4 float convs, 52.92 at 5, 56.12 at 7 with a 54 dB target)
    plan, calls = _Plan(), []
    plan.keep_float_search(lambda keep: calls.append(keep) or
                           {"selection_psnr_db": 49.0 + 0.01 * len(keep), "selection_delta_db": -0.3})
    assert len(calls) == 13 and "the cap" in plan.stopped

    plan, calls = _Plan(), []
    psnr = iter([45.0, 47.0, 49.0, 52.0])
    plan.keep_float_search(lambda keep: calls.append(keep) or
                           {"selection_psnr_db": next(psnr), "selection_delta_db": -0.05})
    assert len(calls) == 4 and plan.stopped is None  # accepted: 52 dB and |-0.05| <= 0.075


def test_search_warm_starts_from_the_plans_last_accepted_artifact():
    """Core ML int8-weights starts where TFLite int8-weights was accepted (same precision only):
    the same answer as a cold search (accepted from 5 float convs on), in 3 candidates, not 6."""
    def psnr(keep):
        return {"selection_psnr_db": 50.0 + 3.0 * len(keep), "selection_delta_db": -0.01}

    cold, calls = _Plan(target_db=65.0), []
    assert cold.keep_float_search(lambda keep: calls.append(len(keep)) or psnr(keep)) == cold.ranking[:5]
    assert calls == [0, 1, 2, 3, 4, 5] and cold.warm_start is None
    assert cold.accepted == [{"artifact": "test", "precision": "int8-weights", "float_convs": 5}]

    for hint, want_calls in ((5, [5, 4, 5]), (7, [7, 6, 5, 4, 5]), (3, [3, 4, 5])):
        warm, calls = cold.for_gate("int8-weights", label="coreml int8-weights"), []
        warm.accepted = [{"artifact": "tflite int8-weights", "precision": "int8-weights", "float_convs": hint},
                         {"artifact": "coreml palettized-6bit", "precision": "palettized-6bit", "float_convs": 1}]
        keep = warm.keep_float_search(lambda keep: calls.append(len(keep)) or psnr(keep))
        assert keep == cold.ranking[:5] and calls == want_calls, (hint, calls)
        assert warm.warm_start == {"artifact": "tflite int8-weights", "precision": "int8-weights", "float_convs": hint}
        assert warm.stopped is None
        assert warm.accepted[-1] == {"artifact": "coreml int8-weights", "precision": "int8-weights", "float_convs": 5}
    # another precision of the same plan starts cold
    other, calls = cold.for_gate("palettized-6bit"), []
    other.keep_float_search(lambda keep: calls.append(len(keep)) or psnr(keep))
    assert calls == [0, 1, 2, 3, 4, 5] and other.warm_start is None
    # the target's own start (TFLite writes the 0-float artifact first) is never skipped
    first, calls = cold.for_gate("int8-weights"), []
    first.keep_float_search(lambda keep: calls.append(len(keep)) or psnr(keep), psnr([]))
    assert calls == [1, 2, 3, 4, 5] and first.warm_start is None


@pytest.mark.slow
def test_int8_full_passes_its_gate_on_a_fresh_machine(tmp_path):
    """The regression test for the fresh-machine LKDN-S int8-full failure: with the built-in
    calibration photos its LayerNorm variance overflowed an 8-bit grid (parity 21-24 dB)."""
    out = tmp_path / "artifacts"
    run = subprocess.run([str(POCKETSR), "convert", "-m", "lkdn-s", "-t", "tflite", "-p", "int8-full",
                          "--input-size", "64x64", "-o", str(out), "--no-report"],
                         cwd=tmp_path, env=fresh_env(), capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "gated on CC0-3" in " ".join(run.stdout.split())
    manifest = json.loads((out / "lkdn-s_x4_64x64_int8-full.tflite.json").read_text())
    conv, val = manifest["conversion"], manifest["validation"]
    assert conv["calibration"].startswith("built-in photos") and "shared" not in conv["calibration"]
    assert conv["float_normalizations"] == [f"body.B{i}.pixel_norm" for i in range(1, 6)]
    assert conv["selection"]["set"] == vdata.SELECTION_SET
    assert val["passed"] and val["gated_on"] == [vdata.BUILTIN_BENCHMARK]
    assert val["parity"]["psnr_db"] >= 35 and abs(val["benchmarks"][0]["conversion_delta_db"]) <= 0.10
    from ai_edge_litert.interpreter import Interpreter
    interp = Interpreter(model_path=str(out / manifest["file"]))
    tensors = {t["index"]: t for t in interp.get_tensor_details()}
    rsqrt = [tensors[op["outputs"][0]]["dtype"] for op in interp._get_ops_details() if op["op_name"] == "RSQRT"]
    assert len(rsqrt) == 5 and all(d == np.float32 for d in rsqrt)
