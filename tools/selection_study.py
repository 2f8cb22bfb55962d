"""Does the mixed-precision selection set predict Set5? Every candidate of one search, measured.

Converts one model to one TFLite int8 precision at 180x320 the way a user's machine does
(``POCKETSR_SHARED_DATASETS=none``: built-in calibration photos only), but instead of stopping
where the search would, writes the artifact with the 0, 1, ..., K most sensitive convs kept float
(the converter's own sensitivity ranking) and measures each candidate's ΔPSNR (Y-PSNR of the
artifact minus the PyTorch model's on the identical canvas, same tiling overlap) per image on:

* candidate selection photographs shipped by dependencies: astronaut, chelsea, coffee, rocket,
  camera, grass (scikit-image), china, flower (scikit-learn), as bicubic x4 HR/LR pairs;
* the always-available gating benchmark CC0-3 and Set5 (from ../shared, the benchmark a user's
  machine does not have).

One JSON line per candidate: ``{"k", <the search's own measure>, "photos": {name: Δ}, "CC0-3":
{...}, "Set5": {...}}`` (dB), and per set ``"<set> output PSNR"``: the artifact's SR output vs the
PyTorch model's (peak 1, RGB) per image. About 3 min per model and precision on 2 cores.

Reproduce:  .venv/bin/python tools/selection_study.py lkdn-s int8-dynamic 12 --out lkdn.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["POCKETSR_SHARED_DATASETS"] = "none"
os.environ.setdefault("POCKETSR_WEIGHTS_DIR", str(ROOT.parent / "shared" / "weights"))

from pocketsr.convert import quantize  # noqa: E402
from pocketsr.convert.pipeline import build_artifact  # noqa: E402
from pocketsr.convert.quantize import QuantOptions  # noqa: E402
from pocketsr.datasets.benchmark import evaluate  # noqa: E402
from pocketsr.datasets.sets import (ROLES, BenchmarkImage, BenchmarkSet, bicubic_downscale,  # noqa: E402
                                    builtin_image, builtin_pairs, load_benchmark)
from pocketsr.runtime.metrics import parity  # noqa: E402
from pocketsr.runtime.runners import TorchRunner  # noqa: E402

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "camera", "grass", "china", "flower")


def photo(name: str) -> np.ndarray:
    """(H, W, 3) uint8 RGB of a photograph a dependency ships (the product's loader for the
    images of a role; scikit-image directly for the excluded ones)."""
    if name in {n for names in ROLES.values() for n in names}:
        return builtin_image(name)
    from skimage import data
    img = np.asarray(getattr(data, name)())
    return np.ascontiguousarray(np.stack([img] * 3, -1) if img.ndim == 2 else img[..., :3])


def pairs(scale: int) -> BenchmarkSet:
    items = []
    for name in PHOTOS:
        hr = photo(name)
        hr = np.ascontiguousarray(hr[: hr.shape[0] // scale * scale, : hr.shape[1] // scale * scale])
        items.append(BenchmarkImage(name, bicubic_downscale(hr, scale), hr))
    return BenchmarkSet("photos", scale, items)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("precision", choices=["int8-weights", "int8-dynamic", "int8-full"])
    ap.add_argument("k", type=int, help="largest number of float convs to measure")
    ap.add_argument("--set5", type=Path, default=ROOT.parent / "shared" / "datasets" / "Set5")
    ap.add_argument("--out", type=Path, required=True, help="JSON lines, one per candidate")
    args = ap.parse_args()
    sets = {"photos": pairs(4), "CC0-3": builtin_pairs("gating", 4), "Set5": load_benchmark(args.set5, 4)}
    refs: dict = {}
    args.out.write_text("")
    original = quantize.QuantPlan.measure
    count = [0]

    def measure(plan, runner):
        out = original(plan, runner)
        row = {"k": count[0], **out}  # the search's own measure
        for name, dataset in sets.items():
            if name not in refs:
                ref = TorchRunner(plan.model, dataset.scale)
                refs[name] = evaluate(ref, dataset, input_size=runner.input_size, overlap=plan.overlap,
                                      keep_outputs=True)
            got = evaluate(runner, dataset, overlap=plan.overlap, keep_outputs=True)
            row[name] = {a["name"]: round(a["psnr_y"] - b["psnr_y"], 4)
                         for a, b in zip(got["per_image"], refs[name]["per_image"])}
            row[name + " output PSNR"] = {n: round(parity(got["outputs"][n], refs[name]["outputs"][n])["psnr_db"], 2)
                                          for n in got["outputs"]}
        count[0] += 1
        with args.out.open("a") as f:  # the conversion captures stdout: results go to the file
            f.write(json.dumps(row) + "\n")
        return out

    def every_k(plan, attempt, first=None):
        for k in range(1, args.k + 1):
            attempt(plan.ranking[:k])
        return plan.ranking[:args.k]

    quantize.QuantPlan.measure = measure
    quantize.QuantPlan.keep_float_search = every_k
    with tempfile.TemporaryDirectory() as tmp:
        build_artifact(args.model, "tflite", args.precision, (180, 320), Path(tmp),
                       quant_options=QuantOptions(), cache={})
    for line in args.out.read_text().splitlines():
        row = json.loads(line)
        mean = {n: np.mean(list(row[n].values())) for n in sets}
        mean["china+flower out"] = np.mean([row["photos output PSNR"][n] for n in ("china", "flower")])
        print(f"k={row['k']:2d} " +
              "  ".join(f"{n} {v:+.4f}" for n, v in mean.items()) + "  | " +
              " ".join(f"{n} {v:+.3f}" for n, v in row["photos"].items()))


if __name__ == "__main__":
    main()
