"""The app bundle: what a phone app needs to run pocketsr artifacts and check them on the phone.

``write_bundle(artifact folder, bundle folder)`` copies the chosen artifacts with their
manifests and writes:

* ``bundle.json`` (schema: ``validate/schemas/bundle.schema.json``): per artifact everything an
  app needs to feed it and judge it — file, sha256, model, scale, target, precision, I/O names,
  shapes, layout, dtype, quantization, the pixel rule, tiling and the on-device gate — and the
  desktop's own figures on the golden set;
* a **golden set** per (model, weights, input size) under ``goldens/``: real-photo LR crops at
  the artifact's input size (``NAME.png``, 8-bit RGB) and the PyTorch fp32 deploy model's output
  for each (``NAME.npy``, float32 HWC in [0, 1]) — a window of it at the most detailed region,
  whose HR position ``[y, x, h, w]`` is the golden's ``window``.

The parity measure the apps compute on the golden set is ``validate/PARITY.md``.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from pocketsr.convert.gates import GATES, REPORT_ONLY
from pocketsr.convert.manifest import artifact_sha256, input_hw, utc_now
from pocketsr.errors import ArtifactError, InputError

BUNDLE_SCHEMA_VERSION = 1
BUNDLE_NAME = "bundle.json"
#: golden crops per (model, weights, input size)
GOLDEN_COUNT = 4
#: side of the square HR window stored per golden (px); float32: 256*256*3*4 B = 768 KiB each
GOLDEN_WINDOW = 256
#: parity floor for float16 arithmetic (GPU FP16, Neural Engine): the fp16 artifacts' floor
FP16_ARITHMETIC_FLOOR_DB = GATES["fp16"][0]
PICKS = ("ship", "all")


def _step(step, msg):
    if step is not None:
        step(msg)


# -- which artifacts ---------------------------------------------------------------------------
def _ship_picks(folder: Path, items, threads: int, step) -> Dict[str, List[str]]:
    """``{file: ["fastest", "smallest"]}``: the report's "which artifact to ship" picks, from
    ``report.json`` when it describes exactly these artifacts, else measured now."""
    from pocketsr.validate.report import matrix_row, measure_latencies, recommendations

    report = folder / "report.json"
    recs = None
    if report.is_file():
        try:
            data = json.loads(report.read_text())
            described = {r["file"]: r.get("sha256") for r in data.get("artifacts", [])}
            if described == {m["file"]: m["sha256"] for _, m in items}:
                recs = data.get("recommendations")
        except (OSError, ValueError, KeyError, TypeError):
            recs = None
    if recs is None:
        latencies, _ = measure_latencies(items, threads, runs=5, warmup=1, step=step, torch=False)
        recs = recommendations([matrix_row(m, latencies[m["file"]]) for _, m in items])
    picks: Dict[str, List[str]] = {}
    for rec in recs:
        for role in ("fastest", "smallest"):
            if rec.get(role):
                picks.setdefault(rec[role], []).append(role)
    return picks


def choose(folder: Path, pick: Sequence[str] = ("ship",), threads: int = 2,
           step: Optional[Callable[[str], None]] = None) -> List[Tuple[Path, Dict, List[str]]]:
    """The artifacts of ``folder`` a bundle takes, as ``[(path, manifest, picked_as)]``.

    Args:
        pick: ``["ship"]`` (per model and target, the fastest and the smallest artifact that
            passed its gate; Core ML has no latency here, so its pick is the smallest), ``["all"]``
            (every artifact in ``index.json``) or artifact file names.

    Raises:
        InputError: not an artifact folder, an unknown name, or nothing to pick.
        ArtifactError: an artifact missing or not matching its manifest's sha256.
    """
    from pocketsr.validate.report import read_artifact_folder

    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"artifact folder not found: {folder}")
    items = read_artifact_folder(folder)
    for path, m in items:
        if not path.exists():
            raise ArtifactError(f"{path.name} is listed in index.json but missing from {folder}")
    pick = list(pick) or ["ship"]
    if pick == ["all"]:
        return [(p, m, ["all"]) for p, m in items]
    if pick == ["ship"]:
        picks = _ship_picks(folder, items, threads, step)
        chosen = [(p, m, picks[m["file"]]) for p, m in items if m["file"] in picks]
        if not chosen:
            raise InputError(f"no artifact in {folder} passed its gate: nothing to ship (use --pick all or names)")
        return chosen
    if any(name in PICKS for name in pick):
        raise InputError("--pick takes 'ship', 'all' or artifact names, not a mix")
    by_name = {m["file"]: (p, m) for p, m in items}
    unknown = [n for n in pick if n not in by_name]
    if unknown:
        raise InputError(f"not in {folder}/index.json: {', '.join(unknown)} (known: {', '.join(by_name)})")
    return [(*by_name[n], ["named"]) for n in dict.fromkeys(pick)]


# -- what an app needs per artifact ----------------------------------------------------------------
def _image_io(m: Dict) -> bool:
    return m["target"] == "coreml" and (m.get("conversion") or {}).get("io", "image") == "image"


def _eight_bit_output(m: Dict) -> bool:
    """The output holds 8-bit levels only: Core ML image output, or an int8/uint8 output with
    scale 1/255 (``int8-full``)."""
    if _image_io(m):
        return True
    q = (m["output"].get("quantization") or {})
    return m["output"].get("dtype") in ("int8", "uint8") and abs(q.get("scale", 0.0) * 255.0 - 1.0) < 1e-6


def pixel_rule(m: Dict) -> Dict[str, str]:
    """How 8-bit RGB goes in and comes out (``convert/CONTRACT.md``), as text for app authors."""
    if _image_io(m):
        return {"input": "8-bit RGB image (CVPixelBuffer, e.g. 32BGRA); the program divides by 255",
                "output": "8-bit RGB image written by Core ML from clamp(y, 0, 1) * 255"}
    inp, out = m["input"], m["output"]
    layout = inp.get("layout", "NHWC")
    if inp.get("dtype") == "int8":
        fin = f"int8 {layout}: byte - 128 (scale 1/255, zero point -128)"
    else:
        fin = f"float32 {layout}: byte / 255"
    if out.get("dtype") == "int8":
        fout = "int8: byte = q + 128"
    else:
        fout = "float32: byte = round_half_to_even(clamp(y, 0, 1) * 255)"
    return {"input": fin, "output": fout}


def eight_bit_floor(floor_db: float) -> float:
    """A parity floor (dB, float output) as the floor for the same arithmetic behind an 8-bit
    output (``validate/PARITY.md`` section 4): an error of RMS ``s = 10 ** (-floor / 20)``
    (taken Gaussian) moves a fraction ``p = sqrt(2 / pi) * s * 255`` of the values across a
    rounding boundary, each by one level, which scores ``10 * log10(255 ** 2 / p)`` dB against
    the golden rounded to 8 bits. Returns the lower of that and ``floor_db``; ``floor_db`` itself
    when ``p >= 1`` (errors of a level or more: rounding no longer dominates).
    E.g. 100 dB -> 75.05 dB, 60 dB -> 55.05 dB, 40 dB and below unchanged.
    """
    p = math.sqrt(2 / math.pi) * 10 ** (-floor_db / 20) * 255
    if p >= 1:
        return floor_db
    return min(floor_db, 10 * math.log10(255 ** 2 / p))


def device_gate(m: Dict) -> Dict:
    """The parity floors a device run must meet (``validate/PARITY.md`` section 4): the
    artifact's desktop floor for float32 arithmetic, at most the float16 artifacts' floor for
    float16 arithmetic, each through :func:`eight_bit_floor` when the output is 8-bit."""
    v = m.get("validation") or {}
    floor = (v.get("gate") or {}).get("min_parity_db")
    if floor is None:
        floor = GATES.get(m["precision"], (35.0, None))[0]
    fp32, fp16 = floor, min(floor, FP16_ARITHMETIC_FLOOR_DB)
    gate = {"min_parity_psnr_db": fp32, "min_parity_psnr_db_fp16": fp16,
            "report_only": m["precision"] in REPORT_ONLY,
            "rule": "every golden image: psnr_db >= the floor of the arithmetic used (identical passes)"}
    if _eight_bit_output(m):
        gate.update(min_parity_psnr_db=round(eight_bit_floor(fp32), 2),
                    min_parity_psnr_db_fp16=round(eight_bit_floor(fp16), 2),
                    eight_bit_output=f"floors {fp32:g} / {fp16:g} dB converted for the 8-bit output's own rounding")
    return gate


def _input_size(m: Dict) -> Tuple[int, int]:
    """The golden crop size: the artifact's input size, or the validator's parity size for a
    dynamic-size artifact."""
    from pocketsr.validate.validator import DYNAMIC_PARITY_SIZE

    return input_hw(m) or DYNAMIC_PARITY_SIZE


def _golden_key(m: Dict, size: Tuple[int, int]) -> str:
    w = m.get("weights") or {}
    suffix = "" if w.get("official", True) else "_" + str(w.get("sha256", "local"))[:8]
    return f"{m['model']}{suffix}_{size[0]}x{size[1]}"


# -- golden set ----------------------------------------------------------------------------------
def golden_crops(size: Tuple[int, int], count: int = GOLDEN_COUNT, seed: int = 0,
                 photos: Optional[Path] = None) -> List[Dict]:
    """``count`` LR crops of ``size = (h, w)`` from real photos (never a benchmark set): photo
    ``i % P`` of ``photos`` (a folder) or else of the built-in parity photos (astronaut, chelsea,
    coffee, rocket: the same goldens on every machine), the first crop of each photo at its most
    detailed region
    (:func:`pocketsr.runtime.metrics.detail_window`), later ones at seeded random places.

    Returns:
        ``[{"name", "photo", "crop": [y, x, h, w], "lr": (h, w, 3) uint8}]``.

    Raises:
        InputError: no photo is at least ``h x w``.
    """
    from pocketsr.datasets.sets import ROLES, builtin_image, real_photos
    from pocketsr.runtime.metrics import detail_window

    h, w = size
    pool = real_photos(photos) if photos is not None else [(n, builtin_image(n)) for n in ROLES["parity"]]
    usable = [(n, img) for n, img in pool if img.shape[0] >= h and img.shape[1] >= w]
    if not usable:
        raise InputError(f"no real photo of at least {w}x{h} pixels for the golden set")
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        name, img = usable[i % len(usable)]
        k = i // len(usable)
        if k == 0:
            y, x = detail_window(img, (h, w))
        else:
            y, x = int(rng.integers(0, img.shape[0] - h + 1)), int(rng.integers(0, img.shape[1] - w + 1))
        out.append({"name": f"{name}-{k}", "photo": name, "crop": [y, x, h, w],
                    "lr": np.ascontiguousarray(img[y:y + h, x:x + w])})
    return out


def _save_png(path: Path, img: np.ndarray) -> None:
    from PIL import Image
    Image.fromarray(img, "RGB").save(path, optimize=True)


def _write_golden_set(root: Path, key: str, reference, scale: int, size: Tuple[int, int], count: int,
                      seed: int, photos: Optional[Path]) -> Dict:
    """Run the PyTorch reference on each crop and store inputs and golden windows under
    ``root/goldens/key``; returns the bundle.json entry (file paths relative to ``root``)."""
    from pocketsr.runtime.images import to_tensor_array
    from pocketsr.runtime.metrics import detail_window, to_uint8

    folder = root / "goldens" / key
    folder.mkdir(parents=True)
    images = []
    for crop in golden_crops(size, count, seed, photos):
        sr = reference(to_tensor_array(crop["lr"]))[0].transpose(1, 2, 0)  # (sH, sW, 3) float32
        sr = np.clip(sr, 0.0, 1.0).astype(np.float32)  # the contract's output (clamped in the graph)
        wh, ww = min(GOLDEN_WINDOW, sr.shape[0]), min(GOLDEN_WINDOW, sr.shape[1])
        y, x = detail_window(to_uint8(sr), (wh, ww))
        window = np.ascontiguousarray(sr[y:y + wh, x:x + ww])
        base = folder / crop["name"]
        _save_png(base.with_suffix(".png"), crop["lr"])
        np.save(base.with_suffix(".npy"), window)
        rel = base.relative_to(root).as_posix()
        images.append({"name": crop["name"], "photo": crop["photo"], "crop": crop["crop"],
                       "input": {"file": rel + ".png", "format": "png", "dtype": "uint8",
                                 "shape": [size[0], size[1], 3], "layout": "HWC", "color": "RGB"},
                       "golden": {"file": rel + ".npy", "format": "npy", "dtype": "float32",
                                  "shape": list(window.shape), "layout": "HWC", "range": [0.0, 1.0]},
                       "window": [int(y), int(x), int(wh), int(ww)]})
    return {"input_size": list(size), "scale": scale, "seed": seed, "images": images}


def desktop_golden_parity(runner, m: Dict, golden_set: Dict, root: Path) -> List[Dict]:
    """This machine's run of the artifact on the golden set, measured by ``validate/PARITY.md``
    (Core ML's 8-bit image write emulated by round half to even).

    Args:
        runner: the artifact's runner (:func:`pocketsr.runtime.runners.open_artifact`):
            ``(1, 3, h, w)`` float32 in [0, 1] -> ``(1, 3, s*h, s*w)`` float32.
        m: the artifact's manifest; golden_set: its bundle.json golden-set entry; root: the
            folder the golden file paths are relative to.

    Returns:
        ``[{"name", "psnr_db", "identical", "nan", "max_abs", "changed_8bit"}]`` per golden
        image (:func:`pocketsr.runtime.metrics.golden_parity`).
    """
    from pocketsr.runtime.images import load_image, to_tensor_array
    from pocketsr.runtime.metrics import golden_parity, to_uint8

    eight_bit = _eight_bit_output(m)
    figures = []
    for g in golden_set["images"]:
        lr = load_image(root / g["input"]["file"])[0]
        out = runner(to_tensor_array(lr))[0].transpose(1, 2, 0).astype(np.float64)
        y, x, h, w = g["window"]
        out = out[y:y + h, x:x + w]
        if eight_bit:
            out = to_uint8(out) / 255.0
        golden = np.load(root / g["golden"]["file"])
        figures.append({"name": g["name"], **golden_parity(out, golden, eight_bit)})
    return figures


def verdict(figures: Sequence[Dict], floor: float) -> bool:
    """``validate/PARITY.md`` section 4: every image identical or ``psnr_db >= floor``, no NaN."""
    return all(not f.get("nan") and (f.get("identical") or (f.get("psnr_db") is not None and f["psnr_db"] >= floor))
               for f in figures)


def _layout(m: Dict, which: str) -> Optional[str]:
    """The schema's layout word: ``image`` for a Core ML ImageType (the manifest says
    "image (Core ML ImageType)"), else the manifest's ``NHWC``/``NCHW``."""
    return "image" if _image_io(m) else m[which].get("layout")


def _entry(path: Path, m: Dict, picked_as: List[str], golden_key: str, size: Tuple[int, int]) -> Dict:
    tiling = m.get("tiling") or {}
    out_q = (m["output"].get("quantization") or {})
    in_q = (m["input"].get("quantization") or {})
    v = m.get("validation") or {}
    return {
        "file": m["file"], "manifest": m["file"] + ".json", "sha256": m["sha256"], "size_bytes": m["size_bytes"],
        "model": m["model"], "title": m.get("title", m["model"]), "scale": m["scale"],
        "target": m["target"], "format": m.get("format", m["target"]), "precision": m["precision"],
        "picked_as": picked_as,
        "input": {"name": m["input"]["name"], "shape": m["input"]["shape"], "layout": _layout(m, "input"),
                  "dtype": m["input"].get("dtype"), "scale": in_q.get("scale"), "zero_point": in_q.get("zero_point")},
        "output": {"name": m["output"]["name"], "shape": m["output"]["shape"], "layout": _layout(m, "output"),
                   "dtype": m["output"].get("dtype"), "scale": out_q.get("scale"),
                   "zero_point": out_q.get("zero_point"), "values": "8bit" if _eight_bit_output(m) else "float"},
        "io": "image" if _image_io(m) else "tensor",
        "pixels": pixel_rule(m),
        "tiling": {"tile": list(size), "radius": tiling.get("receptive_field_radius"),
                   "default_overlap": tiling.get("default_overlap"), "exact": tiling.get("exact"),
                   "seam_psnr_db": tiling.get("seam_psnr_db"), "spec": "validate/TILING.md"},
        "gate": device_gate(m),
        "desktop_validation": {"validated": bool(v), "passed": v.get("passed"),
                               "parity_psnr_db": (v.get("parity") or {}).get("psnr_db"),
                               "runtime": v.get("runtime")},
        "golden_set": golden_key,
    }


def check_output(output: Path, folder: Path) -> None:
    """Refuse, before any work, a bundle folder that is the artifact folder, a file, a non-empty
    folder that is no bundle (it would be replaced), or a place that cannot be written.

    Raises:
        InputError: one line saying which.
    """
    from pocketsr.convert.manifest import ensure_writable

    output, folder = Path(output), Path(folder)
    if output.resolve() == folder.resolve():
        raise InputError("the bundle folder must not be the artifact folder")
    if output.exists() and (not output.is_dir() or (any(output.iterdir()) and not (output / BUNDLE_NAME).is_file())):
        raise InputError(f"{output} exists and is not a pocketsr bundle: refusing to replace it")
    parent = output.resolve().parent
    created = ensure_writable(parent)
    if created:
        parent.rmdir()


def write_bundle(folder: Path, output: Path, pick: Sequence[str] = ("ship",), golden: int = GOLDEN_COUNT,
                 seed: int = 0, photos: Optional[Path] = None, threads: int = 2,
                 step: Optional[Callable[[str], None]] = None) -> Path:
    """Write an app bundle of the artifacts in ``folder`` (see the module docstring).

    Args:
        folder: an artifact folder (``index.json``, written by ``pocketsr convert``).
        output: the bundle folder; written whole in a temporary folder beside it, then renamed
            into place (an existing bundle there is replaced; any other non-empty folder is refused).
        pick: see :func:`choose`.
        golden: golden crops per (model, weights, input size), >= 1.
        seed: crop placement seed (the first crop per photo is always its most detailed region).
        photos: real photos for the golden crops (default: the parity photos).
        threads: CPU threads for the runtimes.
        step: progress callback, one label per step.

    Returns:
        Path of the written ``bundle.json``.

    Raises:
        InputError: bad folder, pick, golden count or output. ArtifactError: a manifest missing
            or not matching its artifact.
    """
    from pocketsr.runtime.runners import open_artifact
    from pocketsr.validate.validator import Validator

    folder, output = Path(folder), Path(output)
    if golden < 1:
        raise InputError(f"--golden must be >= 1, got {golden}")
    check_output(output, folder)
    chosen = choose(folder, pick, threads, step)
    validator = Validator((), photos, threads=threads)
    tmp = Path(tempfile.mkdtemp(prefix=f".{output.name}.", suffix=".tmp", dir=output.parent))
    old = None
    try:
        goldens: Dict[str, Dict] = {}
        entries = []
        for path, m, picked_as in chosen:
            size = _input_size(m)
            key = _golden_key(m, size)
            if key not in goldens:
                _step(step, f"golden set {key}")
                goldens[key] = {"model": m["model"], "weights_sha256": (m.get("weights") or {}).get("sha256"),
                                **_write_golden_set(tmp, key, validator.reference(m), m["scale"], size,
                                                    golden, seed, photos)}
            _step(step, f"copy {m['file']}")
            dst = tmp / m["file"]
            (shutil.copytree if path.is_dir() else shutil.copy2)(path, dst)
            shutil.copy2(path.with_name(path.name + ".json"), tmp / (m["file"] + ".json"))
            if artifact_sha256(dst) != m["sha256"]:
                raise ArtifactError(f"{m['file']}: the copy does not match the manifest's sha256")
            entry = _entry(path, m, picked_as, key, size)
            _step(step, f"desktop golden parity {m['file']}")
            figures = desktop_golden_parity(open_artifact(dst, threads), m, goldens[key], tmp)
            entry["desktop_golden_parity"] = {"figures": figures,
                                              "passed": verdict(figures, entry["gate"]["min_parity_psnr_db"])}
            entries.append(entry)
        from pocketsr.version import __version__
        bundle = {"bundle": "pocketsr app bundle", "schema_version": BUNDLE_SCHEMA_VERSION, "created": utc_now(),
                  "pocketsr": __version__, "source": {"folder": str(folder.resolve()), "pick": list(pick)},
                  "specs": {"contract": "convert/CONTRACT.md", "tiling": "validate/TILING.md",
                            "parity": "validate/PARITY.md", "device_report": "validate/schemas/device_report.schema.json",
                            "bundle": "validate/schemas/bundle.schema.json"},
                  "artifacts": entries, "golden_sets": goldens}
        (tmp / BUNDLE_NAME).write_text(json.dumps(bundle, indent=2) + "\n")
        if output.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{output.name}.", suffix=".old", dir=output.parent))
            output.replace(old / "bundle")
        tmp.replace(output)
        tmp = None
    finally:
        for leftover in (tmp, old):
            if leftover is not None:
                shutil.rmtree(leftover, ignore_errors=True)
    return output / BUNDLE_NAME
