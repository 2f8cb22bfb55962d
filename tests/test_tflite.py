"""TFLite fp32/fp16 conversion of both official models and their parity on real images."""

import json
import shutil

import numpy as np
import pytest

from conftest import PHOTOS, SET5
from pocketsr.convert.manifest import manifest_path, read_manifest
from pocketsr.convert.pipeline import build_artifact
from pocketsr.mobile_models import sha256_file
from pocketsr.errors import ArtifactError
from pocketsr.runtime.runners import TFLiteRunner, open_artifact
from pocketsr.runtime.tiling import axis_tiles
from pocketsr.validate.validator import Validator

LIMITS = {"fp32": (100.0, 0.001), "fp16": (60.0, 0.01), "int8-weights": (40.0, 0.03),
          "int8-dynamic": (40.0, 0.03), "int8-full": (35.0, 0.10)}
DEFAULT = ("fp32", "fp16", "int8-weights", "int8-dynamic", "int8-full")


def by_name(artifacts):
    out, manifests = artifacts
    return {(m["model"], m["precision"]): (out / m["file"], m) for m in manifests}


def test_main_job_artifacts_pass_parity(artifacts):
    found = by_name(artifacts)
    assert set(found) == {(m, p) for m in ("lkdn-s", "fmen-s") for p in DEFAULT}
    for (model, precision), (path, m) in found.items():
        v = m["validation"]
        min_db, max_delta = LIMITS[precision]
        assert v["passed"], (model, precision, v["failures"])
        assert v["parity"]["psnr_db"] >= min_db and v["parity"]["images"] == 10
        assert v["runtime"] == "litert"
        names = [b["dataset"] for b in v["benchmarks"]]
        assert names == v["gated_on"] == ["CC0-3", "Set5"]
        for b in v["benchmarks"]:
            assert abs(b["conversion_delta_db"]) <= max_delta
            assert b["parity"]["psnr_db"] >= min_db
            # canvas cost is torch-vs-torch, identical for every artifact of the model
            assert b["canvas_cost_db"] == pytest.approx(b["torch_canvas_psnr_y"] - b["torch_whole_psnr_y"])
            assert "edge-replicated to a 180x320 canvas" in b["input"]
        if not precision.startswith("int8"):
            assert v["noise_probe"]["max_abs"] < 0.1
        if "calibration" in m["conversion"]:  # converted as on a user's machine (conftest)
            assert m["conversion"]["calibration"].startswith("built-in photos"), m["conversion"]["calibration"]
        assert "CONV_2D" in m["gpu_delegate"]["ops"]
        if m["conversion"].get("activations_16bit_blocks"):  # 16x8 blocks: said, not hidden
            assert m["gpu_delegate"]["compatible"] is False
            assert all("int16" in r["reason"] for r in m["gpu_delegate"]["incompatible_ops"])
        else:
            assert m["gpu_delegate"]["compatible"] is True


def test_io_contract_nhwc_named(artifacts):
    for path, m in by_name(artifacts).values():
        runner = open_artifact(path)
        assert isinstance(runner, TFLiteRunner) and runner.input_size == (180, 320) and runner.scale == 4
        assert runner.inp["name"].endswith("lr") and runner.out["name"].startswith("serving_default_sr")
        assert list(runner.inp["shape"]) == [1, 180, 320, 3] == m["input"]["shape"]
        assert list(runner.out["shape"]) == [1, 720, 1280, 3] == m["output"]["shape"]
        io_dtype = np.int8 if m["precision"] == "int8-full" else np.float32  # CONTRACT.md
        assert runner.inp["dtype"] == io_dtype == runner.out["dtype"] and m["input"]["layout"] == "NHWC"
        assert m["input"]["dtype"] == m["output"]["dtype"] == np.dtype(io_dtype).name
        assert runner.interp.get_signature_list() == {"serving_default": {"inputs": ["lr"], "outputs": ["sr"]}}
        y = runner(np.zeros((1, 3, 180, 320), np.float32))
        assert y.min() >= 0.0 and y.max() <= 1.0  # clamped in-graph


def test_manifests_and_index(artifacts):
    out, manifests = artifacts
    index = json.loads((out / "index.json").read_text())
    assert len(index["artifacts"]) == 2 * len(DEFAULT) and all(a["passed"] for a in index["artifacts"])
    for path, m in by_name(artifacts).values():
        on_disk = read_manifest(path)
        assert on_disk["sha256"] == sha256_file(path) and on_disk["size_bytes"] == path.stat().st_size
        for key in ("schema_version", "model", "scale", "format", "precision", "file", "input", "output",
                    "weights", "tools", "created", "validation"):
            assert key in on_disk
        assert on_disk["weights"]["sha256"] and on_disk["weights"]["official"]
        assert {"torch", "litert-torch", "ai-edge-litert"} <= set(on_disk["tools"])
    fp32 = by_name(artifacts)[("fmen-s", "fp32")][0].stat().st_size
    fp16 = by_name(artifacts)[("fmen-s", "fp16")][0].stat().st_size
    assert fp16 < 0.6 * fp32
    assert by_name(artifacts)[("fmen-s", "fp32")][1]["pixel_range"]["method"] == "internal range rescaling"


def test_gate_fails_when_precision_is_misdeclared(artifacts, tmp_path):
    """The fp16 artifact relabelled as fp32 must fail the fp32 gate: the check can fail."""
    path, m = by_name(artifacts)[("lkdn-s", "fp16")]
    fake = tmp_path / "fake_fp32.tflite"
    shutil.copy(path, fake)
    manifest_path(fake).write_text(json.dumps({**m, "file": fake.name, "precision": "fp32"}))
    report = Validator([SET5], PHOTOS).validate(fake, read_manifest(fake))
    assert report["passed"] is False and any("parity" in f for f in report["failures"])


def test_damaged_artifact_is_rejected(artifacts, tmp_path):
    path, _ = by_name(artifacts)[("lkdn-s", "fp32")]
    copy = tmp_path / path.name
    shutil.copy(path, copy)
    shutil.copy(manifest_path(path), manifest_path(copy))
    with open(copy, "r+b") as f:
        f.seek(2000)
        f.write(b"\x00" * 64)
    with pytest.raises(ArtifactError, match="does not match its manifest"):
        read_manifest(copy)


def test_interrupted_conversion_leaves_nothing(tmp_path, monkeypatch):
    from pocketsr.convert.tflite import TFLiteTarget

    def boom(self, model, size, precision, out_path, plan=None, **kwargs):
        out_path.write_bytes(b"half an artifact")
        raise KeyboardInterrupt

    monkeypatch.setattr(TFLiteTarget, "convert", boom)
    with pytest.raises(KeyboardInterrupt):
        build_artifact("lkdn-s", "tflite", "fp32", (64, 64), tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("n,tile,overlap", [(1, 64, 8), (64, 64, 8), (65, 64, 8), (997, 64, 12), (300, 40, 0)])
def test_tile_ownership_partitions_the_axis(n, tile, overlap):
    spans = axis_tiles(n, tile, overlap)
    owned = [(a, b) for _, _, a, b in spans]
    assert owned[0][0] == 0 and owned[-1][1] == n
    assert all(owned[i][1] == owned[i + 1][0] for i in range(len(owned) - 1))
    for s, e, a, b in spans:
        assert e - s == tile
        if n > tile:
            assert 0 <= s and e <= n  # never beyond the image
            assert (a == 0 or a - s >= overlap) and (b == n or e - b >= overlap)
