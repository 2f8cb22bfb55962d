"""The conversion report: data from real manifests, rendered page checked in headless Chromium."""

import json
import os
import shutil
import time

import numpy as np
import pytest

from conftest import PHOTOS, assert_one_line_error, run_cli
from pocketsr.convert.manifest import read_manifest
from pocketsr.validate.report import LATENCY_BUDGET_S, heat_map, pareto_front, write_report


def _browser():
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        if os.environ.get("POCKETSR_REQUIRE_BROWSER"):
            pytest.fail("POCKETSR_REQUIRE_BROWSER is set but no chromium is installed")
        pytest.skip("no chromium (apt-get install chromium)")
    return exe


@pytest.fixture(scope="module")
def report_folder(artifacts, artifacts_validator, tmp_path_factory):
    """A copy of the session artifacts (both models, TFLite fp32 + fp16), one of them made to
    fail a stricter gate through the real gate logic, and its report."""
    from pocketsr.convert.pipeline import record_validation
    from pocketsr.validate import validator as V

    src, manifests = artifacts
    out = tmp_path_factory.mktemp("report")
    for m in manifests:
        shutil.copy(src / m["file"], out / m["file"])
        shutil.copy(src / (m["file"] + ".json"), out / (m["file"] + ".json"))
    shutil.copy(src / "index.json", out / "index.json")
    failing = next(m for m in manifests if m["model"] == "fmen-s" and m["precision"] == "fp16")
    strict = dict(V.GATES, fp16=(200.0, 0.0))  # fp16 cannot reach 200 dB parity: must fail
    old, V.GATES = V.GATES, strict
    try:
        verdict = V.Validator.gate("fp16", failing["validation"])
    finally:
        V.GATES = old
    assert verdict["passed"] is False
    record_validation(out / failing["file"], failing, {**failing["validation"], **verdict})
    from pocketsr.convert.manifest import update_index
    update_index(out)
    html, js = write_report(out, photos=PHOTOS, latency_runs=3, latency_warmup=1, images=1,
                            validator=artifacts_validator, step=lambda msg: print(f"[report {time.strftime('%H:%M:%S')}] {msg}", flush=True))
    return out, html, json.loads(js.read_text()), failing["file"]


def test_report_json_carries_the_manifests_figures(report_folder):
    out, _, data, failing = report_folder
    index = json.loads((out / "index.json").read_text())["artifacts"]
    assert sorted(r["file"] for r in data["artifacts"]) == sorted(e["file"] for e in index)
    for row in data["artifacts"]:
        v = read_manifest(out / row["file"])["validation"]
        assert row["parity_max_abs"] == v["parity"]["max_abs"]
        assert row["size_bytes"] == read_manifest(out / row["file"])["size_bytes"]
        assert set(row["benchmarks"]) == {"CC0-3", "Set5"}
        for b in v["benchmarks"]:
            assert row["benchmarks"][b["dataset"]]["delta_db"] == b["conversion_delta_db"]
        # TFLite runs here: every artifact timed, min <= median <= max
        lat = row["latency"]
        assert lat["min_ms"] <= lat["median_ms"] <= lat["max_ms"]
        # 3 runs, or fewer once the time budget is spent (int8-full on reference kernels)
        assert lat["runs"] == 3 or 1 <= lat["runs"] and lat["runs"] * lat["max_ms"] >= 1000 * LATENCY_BUDGET_S
        assert row["passed"] is (row["file"] != failing)
    assert set(data["torch_latency"]) == {"lkdn-s", "fmen-s"}
    # seam curve: monotone-ish from visible seams at overlap 0 to exact tiling at the radius
    for c in data["seam_curves"]:
        rows = c["rows"]
        assert rows[0]["overlap"] == 0 and rows[0]["psnr_db"] < 70
        assert rows[-1]["overlap"] == c["radius"] and (rows[-1]["psnr_db"] is None or rows[-1]["psnr_db"] > 100)
    # the failed artifact gets its layer divergence, with layer rows from the real layer report
    (div,) = data["divergence"]
    assert div["file"] == failing and div["layers"] and "200" in " ".join(div["failures"])
    # recommendations only name passing artifacts
    for r in data["recommendations"]:
        assert r["fastest"] != failing and r["smallest"] != failing
    assert not any(k.endswith("png") for k in json.dumps(data).split('"'))


def test_report_renders_in_headless_chromium(report_folder, tmp_path):
    from playwright.sync_api import sync_playwright

    out, html, data, failing = report_folder
    n = len(data["artifacts"])
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_browser(), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            problems = []
            page.on("console", lambda m: problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
            page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url[:80]}"))
            page.goto(html.as_uri())
            page.wait_for_load_state("load")
            # the matrix: one row per artifact plus one PyTorch row per model, plus the header
            assert page.locator("#matrix-table tr").count() == n + 2 + 1
            assert page.locator("#matrix-table tr.fail").count() == 1
            assert "FAIL" in page.locator("#matrix-table tr.fail").inner_text()
            # plots and images: present and decoded (an undecodable data URI has naturalWidth 0)
            for sel in ("#plot-quality-latency", "#plot-sizes", "#plot-seam"):
                assert page.locator(sel).evaluate("img => img.complete && img.naturalWidth > 300"), sel
            widths = page.locator(".comparison img").evaluate_all("imgs => imgs.map(i => i.naturalWidth)")
            # per model: bicubic + torch + (crop + heat map) per artifact
            assert len(widths) == sum(2 + 2 * sum(r["model"] == m for r in data["artifacts"])
                                      for m in {r["model"] for r in data["artifacts"]})
            assert min(widths) > 0
            assert page.locator(".divergence-table tr").count() >= 2
            assert failing in page.locator("#divergence").evaluate("h => h.parentElement.innerText")
            page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
            assert problems == []
        finally:
            browser.close()
    assert (tmp_path / "report.png").stat().st_size > 50_000


def test_pareto_front_and_heat_map():
    # (latency, quality): b is dominated by a (slower and worse); c is slowest but best
    assert pareto_front([(1.0, 0.0), (2.0, -1.0), (3.0, 1.0), (1.0, -2.0)]) == [0, 2]
    assert pareto_front([]) == []
    diff = np.zeros((2, 2, 3), np.float32)
    diff[0, 0] = 4 / 255  # the full-scale level
    diff[1, 1] = 1.0      # clipped to it
    img = heat_map(diff)
    assert img.dtype == np.uint8 and img.shape == (2, 2, 3)
    assert (img[0, 0] == img[1, 1]).all() and img[0, 0].sum() > img[0, 1].sum()
    assert (img[0, 1] == img[1, 0]).all()  # zero difference: the bottom of the scale


def test_report_bad_input(tmp_path, capfd):
    code, _, err = run_cli(capfd, "report", tmp_path / "missing")
    assert_one_line_error(code, err, "artifact folder not found")
    code, _, err = run_cli(capfd, "report", tmp_path)
    assert_one_line_error(code, err, "no index.json")
    assert not (tmp_path / "report.html").exists()


def test_device_report_fixture_joins_the_report_and_renders(report_folder, tmp_path, capfd):
    """pocketsr device-report with the committed FIXTURE (not a measurement): stored, matched by
    sha256, report.json gains on_device rows beside the desktop latency, and report.html shows
    them in headless Chromium while the rest of the page stays as it was."""
    from playwright.sync_api import sync_playwright

    from test_bundle import fixture_report

    src, _, _, _ = report_folder
    folder = tmp_path / "art"
    shutil.copytree(src, folder)
    html_before = (folder / "report.html").read_text()
    assert 'id="no-device-reports"' in html_before
    code, stdout, err = run_cli(capfd, "device-report", fixture_report(folder, tmp_path / "phone.json"), "--into", folder)
    assert code == 0, err
    data = json.loads((folder / "report.json").read_text())
    rows = data["on_device"]
    assert [r["file"] for r in rows] == ["lkdn-s_x4_180x320_fp16.tflite", "lkdn-s_x4_180x320_fp32.tflite"]
    assert all(r["fixture"] for r in rows) and [r["passed"] for r in rows] == [True, False]
    desktop = {r["file"]: r["latency"]["median_ms"] for r in data["artifacts"]}
    assert rows[0]["desktop_latency_ms"] == desktop[rows[0]["file"]]
    assert rows[1]["used"] == "cpu" and "GELU" in rows[1]["fallback"] and rows[0]["worst_psnr_db"] == 61.2
    html = (folder / "report.html").read_text()
    cut = html_before.index("<!-- pocketsr:on-device -->")
    assert html[:cut] == html_before[:cut]  # the rest of the report is kept as it was
    # the same file again replaces its stored copy instead of adding rows
    code, _, err = run_cli(capfd, "device-report", tmp_path / "phone.json", "--into", folder)
    assert code == 0, err
    assert len(json.loads((folder / "report.json").read_text())["on_device"]) == 2
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_browser(), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            problems = []
            page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
            page.goto((folder / "report.html").as_uri())
            page.wait_for_load_state("load")
            assert page.locator("#on-device-table tr.device-row").count() == 2
            failing = page.locator("#on-device-table tr.device-row.fail")
            assert failing.count() == 1 and "FAIL" in failing.inner_text() and "gpu → cpu" in failing.inner_text()
            assert "FIXTURE" in page.locator("#on-device-table").inner_text()
            assert page.locator("#matrix-table tr").count() == len(data["artifacts"]) + 2 + 1
            assert problems == []
        finally:
            browser.close()
