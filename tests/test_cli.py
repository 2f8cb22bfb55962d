"""The pocketsr command line end to end, and its one-line errors."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import PHOTOS, SET5, assert_one_line_error, run_cli


def test_models_table(capfd):
    code, out, _ = run_cli(capfd, "models")
    assert code == 0
    for text in ("lkdn-s", "fmen-s", "129,177", "341,066", "[0, 255]", "Apache-2.0"):
        assert text in out


def test_eval_json(capfd):
    code, out, _ = run_cli(capfd, "eval", "-m", "fmen-s", "--data", SET5, "--json")
    assert code == 0
    data = json.loads(out)
    (r,) = data["results"]
    assert r["dataset"] == "Set5" and r["images"] == 5
    assert r["psnr_y"] == pytest.approx(32.1153, abs=0.005) and r["ssim_y"] == pytest.approx(0.8949, abs=5e-4)


@pytest.fixture(scope="module")
def small_artifact(tmp_path_factory):
    """`pocketsr convert` for one small artifact, through the real CLI code path."""
    from pocketsr.cli import main
    out = tmp_path_factory.mktemp("cli")
    with _no_exit():
        main(["convert", "-m", "lkdn-s", "-t", "tflite", "-p", "fp32", "--input-size", "64x96",
              "-o", str(out), "--data", str(SET5), "--photos", str(PHOTOS)])
    return out / "lkdn-s_x4_64x96_fp32.tflite"


class _no_exit:
    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if kind is SystemExit and exc.code not in (0, None):
            raise AssertionError(f"convert exited {exc.code}")
        return kind is SystemExit


def test_convert_validate_eval_upscale_with_artifact(small_artifact, tmp_path, capfd):
    assert small_artifact.is_file() and (small_artifact.parent / "index.json").is_file()
    # convert ends with the report of the folder (tests/test_report.py checks its content)
    report = json.loads((small_artifact.parent / "report.json").read_text())
    assert [r["file"] for r in report["artifacts"]] == [small_artifact.name]
    assert (small_artifact.parent / "report.html").stat().st_size > 10_000
    code, out, _ = run_cli(capfd, "validate", small_artifact, "--data", SET5, "--photos", PHOTOS, "--json")
    assert code == 0
    (report,) = json.loads(out)
    assert report["passed"] and report["input_size"] == [64, 96]
    # Set5 LR images are larger than 64x96 in one axis at least: they are tiled
    assert report["gated_on"] == ["CC0-3", "Set5"]
    assert "tiled 64x96" in report["benchmarks"][1]["input"]
    code, out, _ = run_cli(capfd, "eval", "--artifact", small_artifact, "--data", SET5, "--json")
    assert code == 0 and json.loads(out)["runtime"] == "litert"
    target = tmp_path / "cam_x4.png"
    code, out, _ = run_cli(capfd, "upscale", PHOTOS / "camera.png", "-o", target, "-a", small_artifact)
    assert code == 0
    with Image.open(PHOTOS / "camera.png") as a, Image.open(target) as b:
        assert b.size == (a.size[0] * 4, a.size[1] * 4) and b.mode == "RGB"


@pytest.mark.parametrize("mode", ["L", "RGBA", "I;16"])
def test_upscale_converts_modes_with_a_note(tmp_path, capfd, mode):
    with Image.open(PHOTOS / "chelsea.png") as img:
        small = img.convert("RGB").resize((60, 40))
    if mode == "I;16":
        arr = (np.asarray(small.convert("L")).astype(np.uint16) * 257)
        src = Image.fromarray(arr)  # uint16 -> 16-bit greyscale
    else:
        src = small.convert(mode)
    path = tmp_path / f"in_{mode.replace(';', '')}.png"
    src.save(path)
    out = tmp_path / "out.png"
    code, stdout, err = run_cli(capfd, "upscale", path, "-o", out, "-m", "fmen-s")
    assert code == 0 and "note:" in err
    with Image.open(out) as res:
        assert res.size == (240, 160) and res.mode == "RGB"


@pytest.mark.parametrize("args,fragment", [
    (["convert", "--input-size", "12"], "bad --input-size"),
    (["convert", "--input-size", "4x4000000"], "bad --input-size"),
    (["convert", "-p", "int4"], "no available target offers precision int4"),
    (["convert", "-t", "tflite", "-p", "w8a8"], "target tflite has no precision w8a8"),
    (["convert", "-t", "coreml", "--dynamic-size"], "fixed-size artifacts only"),
    (["convert", "--coreml-io", "bogus"], "io must be one of image, tensor"),
    (["convert", "-m", "edsr"], "unknown model"),
    (["convert", "-t", "onnx"], "unknown target"),
    (["convert", "--data", "/nonexistent/Set5"], "--data folder not found"),
    (["validate", "/nonexistent/a.tflite"], "no manifest"),
    (["eval", "--data", str(SET5)], "give --model or --artifact"),
    (["eval", "-m", "lkdn-s", "--data", "/nonexistent"], "not a benchmark folder"),
    (["upscale", "/nonexistent.png", "-o", "x.png", "-m", "lkdn-s"], "image not found"),
    (["upscale", str(PHOTOS / "camera.png"), "-o", "x.png"], "exactly one of"),
])
def test_bad_input_is_one_line(capfd, tmp_path, monkeypatch, args, fragment):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(capfd, *args)
    assert_one_line_error(code, err, fragment)
    assert not (tmp_path / "artifacts").exists() and not (tmp_path / "x.png").exists()


def test_unreadable_image_and_bad_suffix(tmp_path, capfd):
    bad = tmp_path / "photo.png"
    bad.write_bytes(b"not a png")
    code, _, err = run_cli(capfd, "upscale", bad, "-o", tmp_path / "o.png", "-m", "lkdn-s")
    assert_one_line_error(code, err, "cannot read image")
    code, _, err = run_cli(capfd, "upscale", PHOTOS / "camera.png", "-o", tmp_path / "o.xyz", "-m", "lkdn-s")
    assert_one_line_error(code, err, "unsupported output image type")
    assert list(tmp_path.iterdir()) == [bad]


def test_artifact_without_runner_or_damaged(small_artifact, tmp_path, capfd):
    copy = tmp_path / small_artifact.name
    shutil.copy(small_artifact, copy)
    shutil.copy(small_artifact.with_name(small_artifact.name + ".json"), tmp_path / (copy.name + ".json"))
    copy.write_bytes(copy.read_bytes()[:1000])
    code, _, err = run_cli(capfd, "validate", copy)
    assert_one_line_error(code, err, "does not match its manifest")


def test_console_script_entry_point(tmp_path):
    exe = shutil.which("pocketsr") or [sys.executable, "-m", "pocketsr.cli"]
    cmd = [exe] if isinstance(exe, str) else exe
    ok = subprocess.run(cmd + ["models"], capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0 and "lkdn-s" in ok.stdout
    bad = subprocess.run(cmd + ["convert", "--input-size", "axb"], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and bad.stderr.strip().startswith("error: bad --input-size")
    assert "Traceback" not in bad.stderr


def test_validate_layers_report(small_artifact, capfd):
    code, out, _ = run_cli(capfd, "validate", small_artifact, "--layers", "--photos", PHOTOS, "--json")
    assert code == 0
    (report,) = json.loads(out)
    assert report["file"] == small_artifact.name and report["matched"] > 50
    convs = [r for r in report["layers"] if r.get("module") and "upsampler" not in r["module"]]
    assert convs and all(r["snr_db"] > 60 for r in convs)  # an fp32 artifact: no layer diverges
    code, out, _ = run_cli(capfd, "validate", small_artifact, "--layers", "--photos", PHOTOS)
    assert code == 0 and "body.fea_conv" in out


def test_convert_dynamic_size(tmp_path, capfd):
    code, out, err = run_cli(capfd, "convert", "-m", "fmen-s", "-p", "fp32", "--dynamic-size", "-o", tmp_path,
                             "--data", SET5, "--photos", PHOTOS, "--no-report")
    assert code == 0, err
    path = tmp_path / "fmen-s_x4_anysize_fp32.tflite"
    manifest = json.loads((tmp_path / (path.name + ".json")).read_text())
    assert manifest["input"]["shape"] == [1, -1, -1, 3] and manifest["validation"]["passed"]
    bench = manifest["validation"]["benchmarks"][1]
    assert bench["input"] == "whole image" and bench["canvas_cost_db"] == 0.0
    # logs (stderr not a terminal) get one line per finished step with its time, then the total
    steps = [ln for ln in err.splitlines() if ln.startswith("[")]
    assert steps[0].startswith("[1/2] convert fmen-s → tflite fp32: ") and "total" in steps[0]
    assert steps[1].startswith("[2/2] validate fmen-s_x4_anysize_fp32.tflite: ")
    assert "converted and validated 1 artifact(s) in " in err
    assert manifest["conversion"]["seconds"] > 0 and manifest["validation"]["seconds"] > 0


def test_step_clock_estimates_from_finished_steps_of_the_same_kind(monkeypatch):
    from pocketsr import cli
    now = [0.0]
    monkeypatch.setattr(cli.time, "monotonic", lambda: now[0])
    plan = [(kind, "tflite", p) for p in ("fp32", "fp16") for kind in ("convert", "validate")] * 2
    clock = cli.StepClock(plan)  # two models x (convert, validate) x (fp32, fp16)
    assert clock.start(plan[0]) is False and clock.remaining() == (0.0, 8)  # nothing timed yet
    now[0] = 10.0
    clock.start(plan[1])
    now[0] = 14.0
    clock.start(plan[2])  # convert fp32 10 s, validate fp32 4 s; fp16 steps not timed
    now[0] = 15.0
    assert clock.remaining() == (10.0 + 4.0, 2 + 2)
    assert clock.describe_remaining() == "~0:14 left (est.) + 4 step(s) not timed yet"
    for t, key in zip((20.0, 22.0, 40.0, 42.0), plan[3:7]):  # fp16: convert 6 s, validate 2 s
        now[0] = t
        clock.start(key)
    now[0] = 50.0  # 8 s into model 2's fp16 convert (estimate 6 s): overdue counts as finishing now
    assert clock.remaining() == (2.0, 0)
    clock.start(None)
    assert clock.describe_remaining() == "done" and len(clock.done) == 7


def test_report_image_comparisons_reuse_the_validation_runs(small_artifact, monkeypatch):
    """What `convert` keeps while validating gives the report's comparison panels exactly as
    running the artifact again would, without running it (`pocketsr convert` then `report`)."""
    from pocketsr.convert.manifest import read_manifest
    from pocketsr.runtime import runners
    from pocketsr.validate.report import CROP, image_comparisons
    from pocketsr.validate.validator import Validator

    m = read_manifest(small_artifact)
    groups = {m["model"]: [(small_artifact, m)]}
    fresh = image_comparisons(groups, Validator((), PHOTOS), 2, 2, lambda _msg: None)
    kept = Validator((), PHOTOS)
    kept.keep_comparisons(2, CROP)
    assert kept.validate(small_artifact, m)["passed"]
    monkeypatch.setattr(runners, "open_artifact", lambda *a, **k: pytest.fail("artifact run again"))
    reused = image_comparisons(groups, kept, 2, 2, lambda _msg: None)
    assert len(reused) == 2 and reused == fresh
