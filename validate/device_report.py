"""Device reports: what a sample app measured on a phone, read back into the desktop report.

A device report (JSON, schema ``validate/schemas/device_report.schema.json``, draft 2020-12) has
one run per (artifact, accelerator or compute-unit setting): first load, latency, thermal state,
the golden-set parity of ``validate/PARITY.md`` and the verdict against the artifact's gate.
:func:`ingest` validates files with ``jsonschema``, matches runs to the artifacts of a folder by
sha256, stores them in ``<folder>/device_reports/`` and refreshes the report's **On device**
section (``report.json`` key ``on_device``; ``report.html`` between its on-device markers).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from pocketsr.convert.manifest import INDEX_NAME, REPORT_HTML, REPORT_JSON, atomic_path, write_json
from pocketsr.errors import InputError

SCHEMA_PATH = Path(__file__).with_name("schemas") / "device_report.schema.json"
STORE = "device_reports"
HTML_START, HTML_END = "<!-- pocketsr:on-device -->", "<!-- /pocketsr:on-device -->"


def schema() -> Dict:
    """The device-report JSON Schema (a dict)."""
    return json.loads(SCHEMA_PATH.read_text())


def _field(path) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(top level)"


def load(path: Path) -> Dict:
    """Read and validate one device report.

    Raises:
        InputError: ``FILE: not JSON (...)`` or ``FILE: field F: problem`` (the first schema
            error, by path), one line.
    """
    from jsonschema import Draft202012Validator, FormatChecker

    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"device report not found: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a JSON file ({exc})") from None
    validator = Draft202012Validator(schema(), format_checker=FormatChecker())
    errors = sorted(validator.iter_errors(data), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if errors:
        e = errors[0]
        message = e.message if len(e.message) <= 160 else e.message[:157] + "..."
        raise InputError(f"{path}: field {_field(e.absolute_path)}: {message}")
    return data


def _artifacts_by_sha(folder: Path) -> Dict[str, Dict]:
    index = folder / INDEX_NAME
    if not index.is_file():
        raise InputError(f"{folder} has no {INDEX_NAME}: not a pocketsr artifact folder")
    return {e["sha256"]: {"file": e["file"], "model": e.get("model"), "target": e.get("target"),
                          "precision": e.get("precision")}
            for e in json.loads(index.read_text()).get("artifacts", [])}


def _store_name(data: Dict, raw: bytes) -> str:
    d = data["device"]
    slug = re.sub(r"[^A-Za-z0-9]+", "-", f"{data['app']['platform']}-{d['maker']}-{d['model']}").strip("-").lower()
    return f"{slug}-{hashlib.sha256(raw).hexdigest()[:12]}.json"


def ingest(files: Sequence[Path], folder: Path) -> List[Path]:
    """Validate every file, match each run to an artifact of ``folder`` by sha256, then store
    them all (nothing is stored unless every file is good) and refresh the report's On device
    section. Storing the same file again replaces it (the name carries its content hash).

    Returns:
        The stored paths.

    Raises:
        InputError: a bad file (one line naming the file and the failing field), a run whose
            sha256 is no artifact of ``folder``, or ``folder`` not an artifact folder.
    """
    folder = Path(folder)
    if not files:
        raise InputError("no device report given")
    known = _artifacts_by_sha(folder)
    loaded = []
    for f in files:
        data = load(f)
        for i, run in enumerate(data["runs"]):
            sha = run["artifact"]["sha256"]
            if sha not in known:
                raise InputError(f"{f}: field runs[{i}].artifact.sha256: {sha[:12]}… ({run['artifact']['file']}) "
                                 f"is no artifact of {folder}")
        loaded.append((Path(f), data))
    stored = []
    for f, data in loaded:
        raw = json.dumps(data, sort_keys=True).encode()
        target = folder / STORE / _store_name(data, raw)
        target.parent.mkdir(exist_ok=True)
        write_json(target, data)
        stored.append(target)
    refresh_report(folder)
    return stored


def stored_reports(folder: Path) -> List[Dict]:
    """The device reports stored in ``folder`` (each re-validated; a damaged one is skipped)."""
    out = []
    for path in sorted((Path(folder) / STORE).glob("*.json")):
        try:
            out.append({**load(path), "_stored": path.name})
        except InputError:
            continue
    return out


def on_device_rows(folder: Path, desktop_latency: Optional[Dict[str, Dict]] = None) -> List[Dict]:
    """One row per stored run: device, app, artifact, accelerator requested → used, first load,
    latency beside this desktop's (``desktop_latency``: file → ``{"median_ms", ...}``), worst
    golden PSNR vs the gate applied, verdict, fallback, thermal states."""
    folder = Path(folder)
    try:
        known = _artifacts_by_sha(folder)
    except InputError:
        known = {}
    desktop_latency = desktop_latency or {}
    rows = []
    for rep in stored_reports(folder):
        d, app = rep["device"], rep["app"]
        for run in rep["runs"]:
            art = known.get(run["artifact"]["sha256"], {})
            goldens = run["goldens"]
            finite = [g["psnr_db"] for g in goldens if g["psnr_db"] is not None]
            worst = None if any(g.get("nan") for g in goldens) else (min(finite) if finite else None)
            rt = run["runtime"]
            rows.append({
                "device": f"{d['maker']} {d['model']}", "os": d["os_version"], "soc": d.get("soc"),
                "app": f"{app['platform']} {app['version']}", "fixture": bool(rep.get("fixture")),
                "created": rep["created"], "stored": rep["_stored"],
                "file": art.get("file", run["artifact"]["file"]), "model": art.get("model"),
                "target": art.get("target"), "precision": art.get("precision"),
                "runtime": f"{rt['name']} {rt['version']}", "requested": rt["requested"], "used": rt["used"],
                "gpu_precision": rt.get("gpu_precision"), "arithmetic": rt["arithmetic"],
                "first_load_ms": run["first_load_ms"], "latency_ms": run["latency_ms"],
                "desktop_latency_ms": (desktop_latency.get(art.get("file")) or {}).get("median_ms"),
                "worst_psnr_db": worst, "identical": all(g["identical"] for g in goldens),
                "nan": any(g.get("nan") for g in goldens),
                "max_changed_8bit": max(g["changed_8bit"] for g in goldens),
                "gate_db": run["gate_db"], "passed": run["passed"], "fallback": run.get("fallback"),
                "errors": run.get("errors", []), "thermal": run["thermal"],
                "peak_memory_mb": run.get("peak_memory_mb"),
            })
    return sorted(rows, key=lambda r: (r["device"], r["file"], r["requested"], r["created"]))


def render_section(rows: Sequence[Dict]) -> str:
    """The report's On device section (HTML, between :data:`HTML_START` and :data:`HTML_END`)."""
    from jinja2 import Environment, PackageLoader, select_autoescape
    env = Environment(loader=PackageLoader("pocketsr.validate", "templates"), autoescape=select_autoescape(["html", "j2"]))
    return env.get_template("on_device.html.j2").render(rows=rows, start=HTML_START, end=HTML_END)


def refresh_report(folder: Path) -> None:
    """Rewrite the On device section of ``report.json`` / ``report.html`` in ``folder`` if they
    exist (atomically; the rest of the report is kept as it is)."""
    folder = Path(folder)
    rj, rh = folder / REPORT_JSON, folder / REPORT_HTML
    desktop = {}
    data = None
    if rj.is_file():
        data = json.loads(rj.read_text())
        desktop = {r["file"]: r.get("latency") for r in data.get("artifacts", []) if r.get("latency")}
    rows = on_device_rows(folder, desktop)
    if data is not None:
        write_json(rj, {**data, "on_device": rows})
    if rh.is_file():
        html = rh.read_text(encoding="utf-8")
        section = render_section(rows)
        if HTML_START in html and HTML_END in html:
            a, b = html.index(HTML_START), html.index(HTML_END) + len(HTML_END)
            html = html[:a] + section + html[b:]
        else:  # a report written before device reports existed
            html = html.replace('<h2 id="reproduce">', section + '\n<h2 id="reproduce">', 1)
        with atomic_path(rh) as tmp:
            tmp.write_text(html, encoding="utf-8")
