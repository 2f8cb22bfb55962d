"""The conversion report: one self-contained page per artifact folder (``report.html``, images
embedded, opens offline) and the same data as ``report.json``.

What it holds, for every artifact listed in the folder's ``index.json`` (manifests written and
validated by ``pocketsr convert`` / ``pocketsr validate``):

* **the matrix** — model × target × precision: size, parity vs PyTorch on real photos (PSNR,
  max-abs, % of 8-bit values changed), Set5/Set14 Y-PSNR/SSIM and Δ vs PyTorch fp32 on the
  identical canvas, gate verdict, GPU-delegate verdict (TFLite), float16 headroom (Core ML) and
  latency on this machine (TFLite only: Core ML runs on Apple hardware);
* **plots** (matplotlib) — quality vs latency per model with the Pareto front, size per
  precision, seam error vs tile overlap (:func:`pocketsr.runtime.tiling.seam_curve`);
* **image comparisons** — per model, crops of real photos upscaled by bicubic, PyTorch and each
  artifact, each with an amplified |artifact − PyTorch| heat map;
* **layer divergence** for every artifact that failed its gate (:func:`pocketsr.validate.layers.
  artifact_layer_report`).

Latency here is a quick context figure (median of a few runs in a fresh process, see
:func:`pocketsr.validate.bench.run_isolated`); ``pocketsr bench`` is the benchmark.
"""

from __future__ import annotations

import base64
import io
import json
import math
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from pocketsr.convert.manifest import (INDEX_NAME, REPORT_HTML, REPORT_JSON, atomic_path, input_hw, read_manifest, tool_versions, utc_now, write_json)
from pocketsr.errors import InputError

from pocketsr.datasets.sets import BUILTIN_BENCHMARK, ROLES

REPORT_SCHEMA = 1
#: |artifact - torch| that maps to the top of the heat-map colour scale, in 8-bit levels
HEAT_FULL_SCALE = 4.0
#: seconds of timed runs per latency figure (at least one run): context, not the benchmark
LATENCY_BUDGET_S = 5.0
#: side of the square HR crop shown in the image comparisons, in HR pixels
CROP = 128
#: real photos in the image comparisons by default
IMAGES = 2
#: overlaps (LR pixels) of the seam curve, besides the radius itself: doubling steps from a
#: visible seam to near-exact (each point costs ~8 tile inferences; README "Any image size"
#: has the dense curve)
SEAM_OVERLAPS = (0, 4, 8, 16, 32)
#: further overlaps for networks that are not local (no radius at which tiling turns exact)
NONLOCAL_SEAM_OVERLAPS = (44,)
#: real photos in the seam curve (the largest; each adds 8 tile inferences per overlap: two
#: photos doubled the report's longest step for the same shape of curve)
SEAM_IMAGES = 1


def _b64_png(img: np.ndarray) -> str:
    """``(H, W, 3)`` uint8 -> ``data:image/png;base64,...``."""
    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _b64_figure(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _finite(v: Optional[float]) -> Optional[float]:
    """JSON-safe float: ``inf`` (identical outputs) and NaN become None."""
    return None if v is None or not math.isfinite(v) else float(v)


# -- the matrix -------------------------------------------------------------------------------
def gpu_verdict(manifest: Dict) -> Optional[str]:
    """One-line GPU-delegate verdict of a TFLite manifest (``yes``, ``yes (N warnings)``,
    ``yes, not OpenGL ES (N warnings)`` when the OpenGL ES backend would refuse the graph, or
    ``no: OP, OP, OP, … (N op types)``); None for artifacts without one (Core ML). Shared by the
    report and the CLI summary."""
    g = manifest.get("gpu_delegate")
    if not g:
        return None
    if g.get("compatible"):
        head = "yes, not OpenGL ES" if g.get("opengl_es_compatible") is False else "yes"
        return head + (f" ({len(g['warnings'])} warnings)" if g.get("warnings") else "")
    ops = sorted({r["op"] for r in g.get("incompatible_ops", [])})
    return f"no: {', '.join(ops[:3])}{', …' if len(ops) > 3 else ''} ({len(ops)} op types)"


def matrix_row(manifest: Dict, latency: Optional[Dict]) -> Dict:
    """One row of the report matrix from an artifact manifest (validated or not).

    Returns a flat dict: ``file, sha256, model, title, target, precision, size_bytes, input_hw,
    parity_psnr_db, parity_max_abs, changed_8bit_pct, benchmarks{dataset: {psnr_y, ssim_y,
    torch_psnr_y, torch_ssim_y, delta_db}}, passed (None: not validated or no gate),
    report_only, failures, gpu_delegate, fp16_peak{max_abs, ratio_to_fp16_max, passed},
    latency{median_ms, min_ms, max_ms, threads, runs} | None``. dB values that are infinite
    (identical outputs) are None.
    """
    v = manifest.get("validation") or {}
    parity = v.get("parity") or {}
    benches = {}
    for b in v.get("benchmarks", []):
        benches[b["dataset"]] = {"psnr_y": b["psnr_y"], "ssim_y": b["ssim_y"],
                                 "torch_psnr_y": b.get("torch_canvas_psnr_y"),
                                 "torch_ssim_y": b.get("torch_canvas_ssim_y"),
                                 "delta_db": b.get("conversion_delta_db")}
    head = v.get("fp16_headroom") or {}
    hw = input_hw(manifest)
    return {
        "file": manifest["file"], "sha256": manifest.get("sha256"), "model": manifest["model"],
        "title": manifest.get("title", manifest["model"]),
        "target": manifest["target"], "precision": manifest["precision"], "size_bytes": manifest["size_bytes"],
        "input_hw": list(hw) if hw else None,
        "parity_psnr_db": _finite(parity.get("psnr_db")), "parity_max_abs": parity.get("max_abs"),
        "changed_8bit_pct": None if parity.get("changed_8bit") is None else 100.0 * parity["changed_8bit"],
        "benchmarks": benches,
        "passed": v.get("passed") if v else None,
        "report_only": bool((v.get("gate") or {}).get("report_only")),
        "failures": list(v.get("failures", [])),
        "gpu_delegate": gpu_verdict(manifest),
        "fp16_peak": ({"max_abs": head.get("max_abs"), "ratio_to_fp16_max": head.get("ratio_to_fp16_max"),
                       "passed": head.get("passed")} if head.get("checked") else None),
        "latency": latency,
    }


#: display order of precisions (unknown ones last, alphabetically)
PRECISION_ORDER = ("fp32", "fp16", "int8-weights", "int8-dynamic", "int8-full", "w8a8",
                   "palettized-6bit", "palettized-4bit")


def _row_order(row: Dict):
    p = row["precision"]
    rank = PRECISION_ORDER.index(p) if p in PRECISION_ORDER else len(PRECISION_ORDER)
    return (row["model"], row["target"], rank, p, row["file"])


def pareto_front(points: Sequence[Tuple[float, float]]) -> List[int]:
    """Indices of the points no other point beats on both axes — lower x (latency) and higher
    y (quality) — ordered by x. Ties on x keep the higher y only."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    front, best = [], -math.inf
    for i in order:
        if points[i][1] > best:
            front.append(i)
            best = points[i][1]
    return front


def _quality_dataset(rows: Sequence[Dict]) -> Optional[str]:
    names = {d for r in rows for d in r["benchmarks"]}
    return next((d for d in ("Set14", "Set5") if d in names), sorted(names)[0] if names else None)


def recommendations(rows: Sequence[Dict]) -> List[Dict]:
    """Per model and target, among artifacts that passed a (non report-only) gate: the fastest
    (by measured latency, TFLite) and the smallest. ``[{"model", "target", "fastest", "smallest"}]``
    (file names or None)."""
    out = []
    for key in sorted({(r["model"], r["target"]) for r in rows}):
        ok = [r for r in rows if (r["model"], r["target"]) == key and r["passed"] and not r["report_only"]]
        timed = [r for r in ok if r["latency"]]
        out.append({"model": key[0], "target": key[1],
                    "fastest": min(timed, key=lambda r: r["latency"]["median_ms"])["file"] if timed else None,
                    "smallest": min(ok, key=lambda r: r["size_bytes"])["file"] if ok else None})
    return out


# -- plots ------------------------------------------------------------------------------------
def _figure(ncols: int, width: float = 5.2, height: float = 3.8):
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width * ncols, height))
    return fig, [fig.add_subplot(1, ncols, i + 1) for i in range(ncols)]


def plot_quality_latency(rows: Sequence[Dict], torch_latency: Dict[str, Dict]) -> Optional[str]:
    """Per model: benchmark ΔY-PSNR vs PyTorch fp32 (dB, the conversion error on the identical
    canvas) against median latency (TFLite artifacts; PyTorch eager deploy form as a star at
    0 dB), Pareto front (faster and better) drawn; a data URI, or None without timed artifacts
    or benchmark data."""
    dataset = _quality_dataset(rows)
    models = sorted({r["model"] for r in rows if r["latency"] and dataset in r["benchmarks"]})
    if not dataset or not models:
        return None
    fig, axes = _figure(len(models))
    for ax, model in zip(axes, models):
        pts = [r for r in rows if r["model"] == model and r["latency"] and dataset in r["benchmarks"]
               and r["benchmarks"][dataset].get("delta_db") is not None]
        xy = [(r["latency"]["median_ms"], r["benchmarks"][dataset]["delta_db"]) for r in pts]
        front = pareto_front(xy)
        for i, (r, (x, y)) in enumerate(zip(pts, xy)):
            ax.scatter([x], [y], s=60 if i in front else 30, marker="o", zorder=3,
                       color="#d62728" if r["passed"] is False else ("#1f77b4" if i in front else "#7f7f7f"))
            ax.annotate(r["precision"], (x, y), textcoords="offset points", xytext=(5, 4), fontsize=8)
        fx = sorted(xy[i] for i in front)
        ax.plot([p[0] for p in fx], [p[1] for p in fx], "-", color="#1f77b4", lw=1, zorder=2,
                label="Pareto front (blue; red = failed gate)")
        t = torch_latency.get(model)
        if t:
            ax.scatter([t["median_ms"]], [0.0], marker="*", s=140, color="#2ca02c", zorder=3,
                       label="PyTorch eager, deploy form (fp32)")
        ax.axhline(0.0, color="#999999", lw=0.8)
        ax.set_xscale("log")  # reference-kernel artifacts (int8-full on CPU) are 10-50x slower
        ax.ticklabel_format(axis="y", useOffset=False)
        ax.set_title(f"{pts[0]['title'] if pts else model}: quality vs latency")
        ax.set_xlabel(f"median latency, ms ({(pts or rows)[0]['latency']['threads']} threads, this machine)")
        ax.set_ylabel(f"Δ{dataset} Y-PSNR vs PyTorch fp32, dB")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="best")
    return _b64_figure(fig)


def plot_sizes(rows: Sequence[Dict]) -> Optional[str]:
    """Grouped bars: artifact size (KiB) per precision, one bar per model and target."""
    if not rows:
        return None
    precisions = list(dict.fromkeys(r["precision"] for r in sorted(rows, key=lambda r: -r["size_bytes"])))
    groups = sorted({(r["model"], r["target"]) for r in rows})
    fig, (ax,) = _figure(1, width=max(6.0, 1.1 * len(precisions) + 2))
    width = 0.8 / len(groups)
    for g, (model, target) in enumerate(groups):
        sizes = {r["precision"]: r["size_bytes"] / 1024 for r in rows if (r["model"], r["target"]) == (model, target)}
        xs = [i + (g - (len(groups) - 1) / 2) * width for i, p in enumerate(precisions) if p in sizes]
        bars = ax.bar(xs, [sizes[p] for p in precisions if p in sizes], width, label=f"{model} {target}")
        ax.bar_label(bars, fmt="%.0f", fontsize=7)
    ax.set_xticks(range(len(precisions)), precisions, rotation=20)
    ax.set_ylabel("size, KiB")
    ax.set_title("Artifact size per precision")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return _b64_figure(fig)


def plot_seam(curves: Sequence[Dict]) -> Optional[str]:
    """Seam error vs overlap per model: worst-image PSNR of tiled vs whole-image output;
    identical outputs (infinite PSNR) are drawn at the top edge as triangles."""
    if not curves:
        return None
    fig, (ax,) = _figure(1, width=6.5)
    finite = [r["psnr_db"] for c in curves for r in c["rows"] if r["psnr_db"] is not None]
    top = (max(finite) if finite else 100.0) + 10
    for c in curves:
        xs = [r["overlap"] for r in c["rows"]]
        ys = [r["psnr_db"] if r["psnr_db"] is not None else top for r in c["rows"]]
        radius = "not local" if c["radius"] is None else f"radius {c['radius']}"
        (line,) = ax.plot(xs, ys, "o-", label=f"{c.get('title', c['model'])} ({radius})")
        if c["radius"] is not None:
            ax.axvline(c["radius"], color=line.get_color(), ls=":", lw=1)
        inf = [(x, top) for x, r in zip(xs, c["rows"]) if r["psnr_db"] is None]
        if inf:
            ax.scatter(*zip(*inf), marker="^", color=line.get_color(), zorder=3)
    ax.axhline(60, color="#999999", ls="--", lw=1, label="60 dB")
    ax.set_xlabel("tile overlap, LR pixels (dotted: receptive-field radius)")
    ax.set_ylabel("tiled vs whole image, worst PSNR (dB)")
    ax.set_title("Seam error vs overlap (PyTorch fp32, real photos)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _b64_figure(fig)


# -- images -----------------------------------------------------------------------------------
def heat_map(diff: np.ndarray, full_scale: float = HEAT_FULL_SCALE) -> np.ndarray:
    """``(H, W, 3)`` float |difference| in [0, 1] units -> ``(H, W, 3)`` uint8 'magma' image of
    the per-pixel channel mean, ``full_scale`` 8-bit levels mapping to the top of the scale."""
    from matplotlib import colormaps
    level = np.clip(diff.mean(axis=2) * 255.0 / full_scale, 0.0, 1.0)
    return (colormaps["magma"](level)[..., :3] * 255.0 + 0.5).astype(np.uint8)


def _bicubic(lr: np.ndarray, scale: int) -> np.ndarray:
    from PIL import Image
    h, w = lr.shape[:2]
    return np.asarray(Image.fromarray(lr).resize((w * scale, h * scale), Image.BICUBIC))


def image_comparisons(groups: Dict[str, List[Tuple[Path, Dict]]], validator, images: int,
                      threads: int, step: Callable[[str], None]) -> List[Dict]:
    """Per model and real photo: the LR centre crop at the artifacts' input size, upscaled by
    bicubic, PyTorch (deploy, fp32) and every artifact of that model; the ``CROP``-square HR
    window with the most detail is shown. What ``validator`` kept of the identical validation
    runs (:meth:`~pocketsr.validate.validator.Validator.keep_comparisons`) is used instead of running
    again. Returns ``[{"model", "image", "window": [y, x, size], "panels": [{"label", "png",
    "heat_png" | None, "psnr_db" | None, "max_abs" | None}]}]`` (``psnr_db``/``max_abs`` of the
    whole SR output vs PyTorch, float, peak 1)."""
    from pocketsr.runtime.images import crops, from_tensor_array, to_tensor_array
    from pocketsr.datasets.sets import real_photos
    from pocketsr.runtime.metrics import detail_window, parity
    from pocketsr.runtime.runners import open_artifact
    from pocketsr.validate.validator import DYNAMIC_PARITY_SIZE

    photos = real_photos(validator.photos_dir)[:images]
    out = []
    for model, items in groups.items():
        size = next((input_hw(m) for _, m in items if input_hw(m)), DYNAMIC_PARITY_SIZE)
        first = items[0][1]
        ref = validator.reference(first)
        scale = first["scale"]
        runners: Dict[str, object] = {}
        for name, photo in photos:
            step(f"image comparison {model} {name}")
            lr = crops(photo, tuple(size), 1, np.random.default_rng(0))[0]
            x = to_tensor_array(lr)
            label = f"{name}#0"
            kept = validator.comparisons.get((first["model"], first["weights"].get("sha256"), size, label))
            if kept is None:
                torch_out = ref(x)
                y, xw = detail_window(from_tensor_array(torch_out), CROP)
                torch_win = torch_out[:, :, y:y + CROP, xw:xw + CROP]
            else:
                torch_out, (y, xw, _), torch_win = None, kept["window"], kept["torch"]
            win = (slice(y, y + CROP), slice(xw, xw + CROP))
            panels = [{"label": "bicubic", "png": _b64_png(_bicubic(lr, scale)[win]), "heat_png": None,
                       "psnr_db": None, "max_abs": None},
                      {"label": "PyTorch fp32 (reference)", "png": _b64_png(from_tensor_array(torch_win)),
                       "heat_png": None, "psnr_db": None, "max_abs": None}]
            for path, manifest in items:
                mine = validator.comparisons.get((manifest["sha256"], size, label)) if kept else None
                if mine is None:
                    if manifest["file"] not in runners:
                        runners[manifest["file"]] = open_artifact(path, threads=threads)
                    if torch_out is None:
                        torch_out = ref(x)
                    sr = runners[manifest["file"]](x)
                    p = parity(sr, torch_out)
                    mine = {"sr": sr[:, :, y:y + CROP, xw:xw + CROP], "psnr_db": p["psnr_db"], "max_abs": p["max_abs"]}
                diff = np.abs(np.clip(mine["sr"], 0, 1) - np.clip(torch_win, 0, 1))[0].transpose(1, 2, 0)
                panels.append({"label": f"{manifest['target']} {manifest['precision']}", "file": manifest["file"],
                               "png": _b64_png(from_tensor_array(mine["sr"])),
                               "heat_png": _b64_png(heat_map(diff)),
                               "psnr_db": _finite(mine["psnr_db"]), "max_abs": mine["max_abs"]})
            out.append({"model": model, "title": first.get("title", model), "image": name, "lr_size": list(size),
                        "window": [y, xw, CROP], "panels": panels})
    return out


# -- collection -------------------------------------------------------------------------------
def read_artifact_folder(folder: Path) -> List[Tuple[Path, Dict]]:
    """``[(artifact path, manifest)]`` in ``index.json`` order, each manifest checked against its
    artifact (:func:`pocketsr.convert.manifest.read_manifest`).

    Raises:
        InputError: no ``index.json`` or an empty one. ArtifactError: a manifest missing,
            unreadable or not matching its artifact's sha256.
    """
    folder = Path(folder)
    index = folder / INDEX_NAME
    if not index.is_file():
        raise InputError(f"{folder} has no {INDEX_NAME}: not a pocketsr artifact folder (run pocketsr convert -o {folder})")
    entries = json.loads(index.read_text()).get("artifacts", [])
    if not entries:
        raise InputError(f"{index} lists no artifacts")
    return [(folder / e["file"], read_manifest(folder / e["file"])) for e in entries]


def measure_latencies(items: Sequence[Tuple[Path, Dict]], threads: int = 2, runs: int = 5, warmup: int = 1,
                      step: Optional[Callable[[str], None]] = None, torch: bool = True
                      ) -> Tuple[Dict[str, Optional[Dict]], Dict[str, Dict]]:
    """Latency of each TFLite artifact (and, with ``torch``, of each model's PyTorch eager
    deploy model at the same input), each runtime in a fresh process
    (:func:`pocketsr.validate.bench.run_isolated`, median of ``runs`` after ``warmup``).

    Returns:
        ``({file: {"median_ms", "min_ms", "max_ms", ..., "threads"} or None (Core ML: no
        runtime here)}, {model: same for PyTorch})``.
    """
    from pocketsr.validate.bench import run_isolated

    step = step or (lambda _msg: None)
    latencies: Dict[str, Optional[Dict]] = {}
    torch_latency: Dict[str, Dict] = {}
    for path, m in items:
        latencies[m["file"]] = None
        if runs and m["target"] == "tflite":
            step(f"timing {m['file']}")
            r = run_isolated("artifact", str(path), threads, runs, warmup, budget_s=LATENCY_BUDGET_S)
            latencies[m["file"]] = {**r, "threads": threads}
            if torch and m["model"] not in torch_latency:
                step(f"timing {m['model']} PyTorch eager")
                # a user network is known to the child through its artifact's manifest (model_def)
                what = str(path) if "model_def" in m else m["model"]
                torch_latency[m["model"]] = {**run_isolated("torch", what, threads, runs, warmup,
                                                            r["input"], budget_s=LATENCY_BUDGET_S),
                                             "threads": threads}
    return latencies, torch_latency


def collect(folder: Path, photos: Optional[Path] = None, threads: int = 2, latency_runs: int = 5,
            latency_warmup: int = 1, images: int = IMAGES, seam: bool = True,
            step: Optional[Callable[[str], None]] = None, validator=None) -> Dict:
    """Measure and gather everything the report shows (the content of ``report.json``, plus
    the embedded images under keys ending in ``png``, which :func:`write_report` strips from
    the JSON).

    Args:
        folder: an artifact folder with ``index.json`` (written by ``pocketsr convert``).
        photos: real photos for the comparisons and layer reports (default: the validator's).
        threads: CPU threads for every runtime.
        latency_runs, latency_warmup: timed and untimed runs per latency figure (0 runs: skip).
        images: real photos in the image comparisons (0: none).
        seam: compute the seam-error curve (PyTorch, a few seconds per overlap).
        validator: the :class:`~pocketsr.validate.validator.Validator` that validated these artifacts
            in this process (``photos`` is then its own): its loaded PyTorch models and what it
            kept for the image comparisons are reused instead of running again.

    Raises:
        InputError: not an artifact folder; ArtifactError: a manifest does not match its artifact.
    """
    from pocketsr.validate.bench import machine
    from pocketsr.validate.device_report import on_device_rows
    from pocketsr.validate.layers import artifact_layer_report
    from pocketsr.runtime.tiling import UnboundedReceptiveField, receptive_field_radius, seam_curve
    from pocketsr.validate.validator import DYNAMIC_PARITY_SIZE, Validator

    step = step or (lambda _msg: None)
    folder = Path(folder)
    items = read_artifact_folder(folder)
    validator = validator or Validator((), photos, threads=threads)
    latencies, torch_latency = measure_latencies(items, threads, latency_runs, latency_warmup, step)
    rows = sorted((matrix_row(m, latencies[m["file"]]) for _, m in items), key=_row_order)

    groups: Dict[str, List[Tuple[Path, Dict]]] = {}
    for path, m in items:
        groups.setdefault(m["model"], []).append((path, m))
    curves = []
    if seam:
        from pocketsr.mobile_models import get_spec
        from pocketsr.runtime.images import to_tensor_array
        from pocketsr.datasets.sets import real_photos
        for model, group in groups.items():
            step(f"seam curve {model}")
            spec = get_spec(model)
            tile = next((tuple(r["input_hw"]) for r in rows if r["model"] == model and r["input_hw"]),
                        DYNAMIC_PARITY_SIZE)
            # the validator's deploy model (already loaded): tiled and whole-image runs of the same
            # function, so the pixel-range folding and fp16 rescaling of the artifacts' graph
            # (exact, and ~30 s for LKDN-S) are not needed here
            ref = validator.reference(group[0][1])
            try:
                radius = receptive_field_radius(ref.model, spec.scale)
            except UnboundedReceptiveField:  # not local (e.g. RLFN): the seam error at any overlap
                radius = None
            overlaps = (sorted({o for o in (*SEAM_OVERLAPS, radius) if o <= radius}) if radius is not None
                        else [*SEAM_OVERLAPS, *NONLOCAL_SEAM_OVERLAPS])
            # 2x2 tiles per overlap, seams with exactly o pixels of context (the worst case)
            photos_ = sorted(real_photos(validator.photos_dir), key=lambda p: p[1].shape[0] * p[1].shape[1])[-SEAM_IMAGES:]
            xs = [to_tensor_array(img) for _, img in photos_]
            rows_ = seam_curve(ref, spec.scale, xs, tile, overlaps, two_by_two=True)
            curves.append({"model": model, "title": group[0][1].get("title", model), "radius": radius,
                           "tile": list(tile), "images": [n for n, _ in photos_], "rows": rows_})
    comparisons = image_comparisons(groups, validator, images, threads, step) if images else []
    divergence = []
    for path, m in items:
        v = m.get("validation") or {}
        if v.get("passed") is False:
            step(f"layer divergence {m['file']}")
            rep = artifact_layer_report(path, m, validator, count=2, threads=threads)
            layers = rep["layers"]
            pick = ([rep["first_jump"]] if rep.get("first_jump") is not None else []) + \
                [i for i in rep.get("most_sensitive", []) if i != rep.get("first_jump")]
            if not pick:  # error spread evenly (no jump, no layer below the ceiling): lowest SNR
                pick = [r["index"] for r in sorted(layers, key=lambda r: r["snr_db"])[:5]]
            divergence.append({"file": m["file"], "failures": v.get("failures", []),
                               "first_jump": rep.get("first_jump"), "definition": rep.get("definition"),
                               "most_sensitive": rep.get("most_sensitive", []),
                               "layers": [{k: (_finite(layers[i].get(k)) if k.endswith("_db") else layers[i].get(k))
                                           for k in ("index", "module", "op", "torch_op", "dtype", "snr_db",
                                                     "drop_db", "local_snr_db")} for i in pick]})
    return {
        "report": "pocketsr conversion report", "schema_version": REPORT_SCHEMA, "created": utc_now(),
        "folder": str(folder.resolve()), "machine": machine(), "tools": tool_versions([]),
        "latency_method": {"threads": threads, "runs": latency_runs, "warmup": latency_warmup,
                           "statistic": "median (min, max) in ms, each runtime in a fresh process",
                           "budget_s": LATENCY_BUDGET_S,
                           "note": "context only; pocketsr bench is the benchmark"},
        "quality_dataset": _quality_dataset(rows),
        "artifacts": rows, "torch_latency": torch_latency, "recommendations": recommendations(rows),
        "seam_curves": curves, "comparisons": comparisons, "divergence": divergence,
        "heat_full_scale_levels": HEAT_FULL_SCALE,
        "builtin_benchmark": BUILTIN_BENCHMARK, "data_roles": ROLES,
        "on_device": on_device_rows(folder, {f: l for f, l in latencies.items() if l}),
    }


def _strip_images(data):
    if isinstance(data, dict):
        return {k: _strip_images(v) for k, v in data.items() if not k.endswith("png")}
    if isinstance(data, list):
        return [_strip_images(v) for v in data]
    return data


def render_html(data: Dict, plots: Dict[str, Optional[str]]) -> str:
    """The report page (Jinja2 template ``validate/templates/report.html.j2``, autoescaped)."""
    from jinja2 import Environment, PackageLoader, select_autoescape
    env = Environment(loader=PackageLoader("pocketsr.validate", "templates"), autoescape=select_autoescape(["html", "j2"]))
    env.filters["db"] = lambda v: "∞" if v is None else f"{v:.2f}"
    env.filters["kib"] = lambda v: f"{v / 1024:.0f} KiB"
    env.filters["sgn"] = lambda v: "—" if v is None else f"{v:+.4f}"
    names = {ds for r in data["artifacts"] for ds in r["benchmarks"]}
    first = (BUILTIN_BENCHMARK, "Set5", "Set14")
    datasets = [n for n in first if n in names] + sorted(names - set(first))
    overlaps = sorted({r["overlap"] for c in data["seam_curves"] for r in c["rows"]})
    seam = [{**c, "by_overlap": {r["overlap"]: r for r in c["rows"]}} for c in data["seam_curves"]]
    from pocketsr.validate.device_report import render_section
    return env.get_template("report.html.j2").render(d=data, plots=plots, datasets=datasets, seam=seam,
                                                     seam_overlaps=overlaps,
                                                     on_device=render_section(data.get("on_device", [])))


def write_report(folder: Path, **options) -> Tuple[Path, Path]:
    """Collect (:func:`collect`, same options), plot and write ``report.html`` and
    ``report.json`` into ``folder`` atomically. Returns their paths."""
    folder = Path(folder)
    data = collect(folder, **options)
    plots = {"quality_latency": plot_quality_latency(data["artifacts"], data["torch_latency"]),
             "sizes": plot_sizes(data["artifacts"]), "seam": plot_seam(data["seam_curves"])}
    html = render_html(data, plots)
    with atomic_path(folder / REPORT_HTML) as tmp:
        tmp.write_text(html, encoding="utf-8")
    write_json(folder / REPORT_JSON, {**_strip_images(data), "plots": sorted(k for k, v in plots.items() if v)})
    return folder / REPORT_HTML, folder / REPORT_JSON
