"""The app bundle (pocketsr bundle, convert --bundle), its golden set, the on-device parity
measure (validate/PARITY.md) on the shared vectors, and device reports read back."""

import importlib.util
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import ROOT, assert_one_line_error, run_cli
from pocketsr.runtime.metrics import golden_parity
from pocketsr.validate.bundle import verdict

VECTORS = ROOT / "validate" / "vectors"
SCHEMAS = ROOT / "validate" / "schemas"
FIXTURE = Path(__file__).parent / "fixtures" / "device_report.fixture.json"


def _make_vectors():
    spec = importlib.util.spec_from_file_location("make_vectors", ROOT / "tools" / "make_vectors.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _case_output(case):
    if "out_levels" in case:
        return np.array(case["out_levels"], np.float64).reshape(case["shape"]) / 255
    if "out_quantized" in case:
        q = case["out_quantized"]
        return (np.array(q["q"], np.float64).reshape(case["shape"]) - q["zero_point"]) / 255
    return np.array([np.nan if v is None else v for v in case["out"]], np.float64).reshape(case["shape"])


def test_parity_vectors_are_what_the_reference_writes_and_reproduces():
    committed = json.loads((VECTORS / "parity.json").read_text())
    regenerated, arrays = _make_vectors().parity_vectors()
    assert json.loads(json.dumps(regenerated)) == committed, "rerun tools/make_vectors.py (on purpose only)"
    assert len(committed["cases"]) >= 7
    for case in committed["cases"]:
        golden = np.array(case["golden"], np.float64).reshape(case["shape"])
        got = golden_parity(_case_output(case), golden, case["eight_bit"])
        want = case["expected"]
        assert got["identical"] == want["identical"] and got["nan"] == want["nan"], case["name"]
        assert got["changed_8bit"] == want["changed_8bit"], case["name"]
        for key in ("psnr_db", "max_abs"):
            if want[key] is None:
                assert got[key] is None, case["name"]
            else:
                assert math.isclose(got[key], want[key], rel_tol=1e-9), (case["name"], key)
    names = [c["name"] for c in committed["cases"]]
    # the cases the apps must get right: an exact 8-bit output is identical, NaN fails
    exact = committed["cases"][names.index(next(n for n in names if n.startswith("8-bit output")))]
    assert exact["expected"]["identical"] is True
    for v in committed["verdicts"]:
        figures = [{"psnr_db": p, "identical": p is None and not nan, "nan": nan}
                   for p, nan in zip(v["psnr_db"], v.get("nan", [False] * len(v["psnr_db"])))]
        assert verdict(figures, v["gate_db"]) is v["passed"], v
    for entry in committed["npy"]:
        a = np.load(VECTORS / entry["file"])
        assert a.dtype.str == entry["dtype"] and list(a.shape) == entry["shape"]
        assert a.astype(np.float64).ravel().tolist() == entry["values"]
        assert (a == arrays[entry["file"]]).all()


def test_golden_parity_is_the_validators_parity_on_float_outputs(photo_crops):
    """One definition: on float outputs the device measure equals the desktop validator's."""
    from pocketsr.runtime.metrics import parity

    rng = np.random.default_rng(3)
    ref = photo_crops[0][0].transpose(1, 2, 0)
    out = np.clip(ref + rng.normal(0, 1e-3, ref.shape), 0, 1).astype(np.float32)
    a, b = golden_parity(out, ref), parity(out, ref)
    assert math.isclose(a["psnr_db"], b["psnr_db"], rel_tol=1e-12) and a["max_abs"] == b["max_abs"]
    assert a["changed_8bit"] == b["changed_8bit"]
    with pytest.raises(ValueError):
        golden_parity(out[:-1], ref)


def _check_bundle(bundle_dir: Path, artifact_dir: Path):
    """bundle.json against its schema; every file present with the stated format and shape;
    each golden = the PyTorch deploy model's output on the golden PNG, at the stated window."""
    from jsonschema import Draft202012Validator

    from pocketsr.convert.manifest import artifact_sha256
    from pocketsr.datasets.sets import builtin_image
    from pocketsr.mobile_models import create_model
    from pocketsr.runtime.images import to_tensor_array
    from pocketsr.runtime.metrics import detail_window

    data = json.loads((bundle_dir / "bundle.json").read_text())
    errors = list(Draft202012Validator(json.loads((SCHEMAS / "bundle.schema.json").read_text())).iter_errors(data))
    assert not errors, errors[0].message
    for a in data["artifacts"]:
        assert artifact_sha256(bundle_dir / a["file"]) == a["sha256"]
        assert json.loads((bundle_dir / a["manifest"]).read_text())["sha256"] == a["sha256"]
        assert (artifact_dir / a["file"]).exists()
        assert a["golden_set"] in data["golden_sets"]
        assert a["desktop_golden_parity"]["passed"] is True
        assert a["gate"]["min_parity_psnr_db_fp16"] <= a["gate"]["min_parity_psnr_db"]
    for key, gs in data["golden_sets"].items():
        model = create_model(gs["model"], "deploy", pretrained=True).eval()
        h, w = gs["input_size"]
        first_of_photo = set()
        for g in gs["images"]:
            lr = np.asarray(Image.open(bundle_dir / g["input"]["file"]))
            assert lr.shape == tuple(g["input"]["shape"]) == (h, w, 3) and lr.dtype == np.uint8
            y, x, ch, cw = g["crop"]
            assert (builtin_image(g["photo"])[y:y + ch, x:x + cw] == lr).all()  # a real-photo crop, exactly
            if g["photo"] not in first_of_photo:  # its first crop: the most detailed region
                first_of_photo.add(g["photo"])
                assert (y, x) == detail_window(builtin_image(g["photo"]), (h, w))
            golden = np.load(bundle_dir / g["golden"]["file"])
            assert golden.dtype == np.float32 and list(golden.shape) == g["golden"]["shape"]
            import torch
            with torch.inference_mode():
                sr = model(torch.from_numpy(to_tensor_array(lr))).clamp(0, 1)[0].permute(1, 2, 0).numpy()
            wy, wx, wh, ww = g["window"]
            assert golden.shape == (wh, ww, 3) and wy + wh <= sr.shape[0] and wx + ww <= sr.shape[1]
            assert np.abs(golden - sr[wy:wy + wh, wx:wx + ww]).max() < 2e-5, key
    return data


def test_convert_with_bundle_writes_a_bundle_whose_goldens_match_pytorch(tmp_path, capfd, monkeypatch):
    monkeypatch.setenv("POCKETSR_SHARED_DATASETS", "none")  # as a user's machine
    out, bundle = tmp_path / "art", tmp_path / "app-bundle"
    code, stdout, err = run_cli(capfd, "convert", "-m", "lkdn-s", "-t", "tflite", "-p", "fp32", "-p", "fp16",
                                "--input-size", "48x64", "-o", out, "--no-report", "--bundle", bundle)
    assert code == 0, err
    data = _check_bundle(bundle, out)
    assert {a["precision"] for a in data["artifacts"]} <= {"fp32", "fp16"}
    assert set(sum((a["picked_as"] for a in data["artifacts"]), [])) == {"fastest", "smallest"}
    (gs,) = data["golden_sets"].values()
    assert len(gs["images"]) == 4 and {g["photo"] for g in gs["images"]} == {"astronaut", "chelsea", "coffee", "rocket"}
    # pocketsr bundle on the same folder: all artifacts, 6 goldens (two crops of two photos)
    again = tmp_path / "all"
    code, stdout, err = run_cli(capfd, "bundle", out, "-o", again, "--pick", "all", "--golden", "6")
    assert code == 0, err
    data = _check_bundle(again, out)
    assert len(data["artifacts"]) == 2 and len(next(iter(data["golden_sets"].values()))["images"]) == 6
    # a damaged artifact is refused, and the existing bundle is left as it was
    before = (again / "bundle.json").read_bytes()
    with open(out / "lkdn-s_x4_48x64_fp32.tflite", "ab") as f:
        f.write(b"\0")
    code, _, err = run_cli(capfd, "bundle", out, "-o", again, "--pick", "all")
    assert_one_line_error(code, err, "does not match its manifest's sha256")
    assert (again / "bundle.json").read_bytes() == before
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_bundle_8bit_output_and_refusals(artifacts, tmp_path, capfd):
    """int8-full (int8 output, 8-bit levels): values '8bit', desktop figures by PARITY.md; bad
    picks, missing manifests and non-bundle folders are one-line errors."""
    src, manifests = artifacts
    full = next(m["file"] for m in manifests if m["model"] == "lkdn-s" and m["precision"] == "int8-full")
    bundle = tmp_path / "b"
    code, stdout, err = run_cli(capfd, "bundle", src, "-o", bundle, "--pick", full, "--golden", "1")
    assert code == 0, err
    data = _check_bundle(bundle, src)
    (a,) = data["artifacts"]
    assert a["output"]["values"] == "8bit" and a["output"]["dtype"] == "int8" and a["input"]["zero_point"] == -128
    (fig,) = a["desktop_golden_parity"]["figures"]
    assert fig["psnr_db"] >= a["gate"]["min_parity_psnr_db"] == 35.0 and 0 < fig["changed_8bit"] < 1
    assert "q + 128" in a["pixels"]["output"] and "byte - 128" in a["pixels"]["input"]
    for args, fragment in [(["--pick", "nope.tflite"], "not in"), (["--pick", "all", "--pick", full], "not a mix")]:
        code, _, err = run_cli(capfd, "bundle", src, "-o", tmp_path / "x", *args)
        assert_one_line_error(code, err, fragment)
    (tmp_path / "notabundle").mkdir()
    (tmp_path / "notabundle" / "keep.txt").write_text("mine")
    code, _, err = run_cli(capfd, "bundle", src, "-o", tmp_path / "notabundle")
    assert_one_line_error(code, err, "is not a pocketsr bundle")
    assert (tmp_path / "notabundle" / "keep.txt").read_text() == "mine"
    lonely = tmp_path / "lonely"
    lonely.mkdir()
    shutil.copy(src / "index.json", lonely / "index.json")
    shutil.copy(src / full, lonely / full)
    code, _, err = run_cli(capfd, "bundle", lonely, "-o", tmp_path / "y", "--pick", full)
    assert_one_line_error(code, err, "no manifest")


def fixture_report(folder: Path, path: Path) -> Path:
    """The committed fixture (``"fixture": true``, never a measurement) with the sha256s of the
    artifacts of ``folder`` it names."""
    index = {e["file"]: e["sha256"] for e in json.loads((folder / "index.json").read_text())["artifacts"]}
    data = json.loads(FIXTURE.read_text())
    for run in data["runs"]:
        run["artifact"]["sha256"] = index[run["artifact"]["file"]]
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize("mutate, fragment", [
    (lambda d: d["runs"][0].pop("goldens"), "field runs[0]: 'goldens' is a required property"),
    (lambda d: d["runs"][1]["latency_ms"].update(median="fast"), "field runs[1].latency_ms.median: 'fast' is not of type 'number'"),
    (lambda d: d["device"].pop("model"), "field device: 'model' is a required property"),
    (lambda d: d["runs"][0]["runtime"].update(requested="tpu"), "field runs[0].runtime.requested"),
    (lambda d: d["runs"][0]["artifact"].update(sha256="ab" * 32), "field runs[0].artifact.sha256: abababababab"),
    (lambda d: d.update(schema_version=2), "field schema_version: 1 was expected"),
])
def test_device_report_refuses_bad_files_and_keeps_what_is_stored(artifacts, tmp_path, capfd, mutate, fragment):
    src, _ = artifacts
    folder = tmp_path / "art"
    folder.mkdir()
    shutil.copy(src / "index.json", folder / "index.json")
    good = fixture_report(src, tmp_path / "good.json")
    code, stdout, err = run_cli(capfd, "device-report", good, "--into", folder)
    assert code == 0, err
    assert "FIXTURE" in stdout
    stored = sorted((folder / "device_reports").iterdir())
    snapshot = {p.name: p.read_bytes() for p in stored}
    data = json.loads(good.read_text())
    mutate(data)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    code, _, err = run_cli(capfd, "device-report", good, bad, "--into", folder)
    assert_one_line_error(code, err, str(bad), fragment)
    assert {p.name: p.read_bytes() for p in (folder / "device_reports").iterdir()} == snapshot
    bad.write_text("{not json")
    code, _, err = run_cli(capfd, "device-report", bad, "--into", folder)
    assert_one_line_error(code, err, "not a JSON file")


def test_bundle_and_device_report_refuse_bad_places(tmp_path, capfd):
    """Folders and files that are not what the commands need: one line, exit 2, nothing written."""
    folder = tmp_path / "art"
    folder.mkdir()
    code, _, err = run_cli(capfd, "bundle", tmp_path / "missing", "-o", tmp_path / "b")
    assert_one_line_error(code, err, "artifact folder not found")
    code, _, err = run_cli(capfd, "bundle", folder, "-o", folder)
    assert_one_line_error(code, err, "must not be the artifact folder")
    code, _, err = run_cli(capfd, "bundle", folder, "-o", tmp_path / "b")
    assert_one_line_error(code, err, "has no index.json")
    report = tmp_path / "phone.json"
    report.write_text(FIXTURE.read_text())
    code, _, err = run_cli(capfd, "device-report", report, "--into", folder)
    assert_one_line_error(code, err, "not a pocketsr artifact folder")
    (folder / "index.json").write_text('{"artifacts": []}')
    code, _, err = run_cli(capfd, "device-report", tmp_path / "nope.json", "--into", folder)
    assert_one_line_error(code, err, "device report not found")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["art", "phone.json"]
    assert [p.name for p in folder.iterdir()] == ["index.json"]


def test_bundle_vectors_are_current_and_the_valid_bundle_meets_the_schema():
    """validate/vectors/bundles.json: the apps read ``valid`` and refuse each ``invalid`` bundle;
    the valid one is what the schema accepts, and the vectors are what tools/make_vectors.py writes."""
    import jsonschema

    committed = json.loads((VECTORS / "bundles.json").read_text())
    assert json.loads(json.dumps(_make_vectors().bundle_vectors())) == committed, "rerun tools/make_vectors.py"
    validator = jsonschema.Draft202012Validator(json.loads((SCHEMAS / "bundle.schema.json").read_text()))
    for case in committed["valid"]:
        validator.validate(case["bundle"])
    names = {c["name"] for c in committed["invalid"]}
    assert {"schema version 2", "missing sha256", "output not x4"} <= names
    # the schema alone already refuses these; the others are the apps' own checks
    for case in committed["invalid"]:
        if case["name"] in ("schema version 2", "not a bundle", "no artifacts", "missing sha256"):
            assert not validator.is_valid(case["bundle"]), case["name"]


def test_eight_bit_output_gates_account_for_the_outputs_own_rounding():
    """PARITY.md section 4: an 8-bit output's floors are converted (Gaussian error at the floor,
    rounded to levels); float outputs and floors of 40 dB and below keep theirs."""
    from pocketsr.validate.bundle import device_gate, eight_bit_floor
    assert eight_bit_floor(100.0) == pytest.approx(75.05, abs=0.01)
    assert eight_bit_floor(60.0) == pytest.approx(55.05, abs=0.01)
    assert eight_bit_floor(40.0) == 40.0 and eight_bit_floor(35.0) == 35.0
    # the formula: simulate a Gaussian error of RMS 1e-3 (60 dB) on smooth values, round, score
    rng = np.random.default_rng(0)
    v = rng.uniform(0.05, 0.95, 400_000)
    out = np.round(np.clip(v + rng.normal(0, 1e-3, v.size), 0, 1) * 255) / 255
    measured = golden_parity(out.reshape(-1, 1, 1), v.reshape(-1, 1, 1), True)["psnr_db"]
    assert abs(measured - eight_bit_floor(60.0)) < 0.2
    image = {"target": "coreml", "precision": "fp32", "conversion": {"io": "image"},
             "output": {"dtype": "uint8"}, "validation": {"gate": {"min_parity_db": 100.0}}}
    g = device_gate(image)
    assert (g["min_parity_psnr_db"], g["min_parity_psnr_db_fp16"]) == (75.05, 55.05) and "eight_bit_output" in g
    tensor = {"target": "tflite", "precision": "fp32", "output": {"dtype": "float32"},
              "validation": {"gate": {"min_parity_db": 100.0}}}
    assert (device_gate(tensor)["min_parity_psnr_db"], device_gate(tensor)["min_parity_psnr_db_fp16"]) == (100.0, 60.0)
