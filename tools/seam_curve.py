"""Seam error vs overlap: PSNR of tiled vs whole-image PyTorch output on real photographs.

For each model: its receptive-field radius R (computed from its layers), then for overlaps
0 .. R the tiled output (tile = the default artifact input size 180x320, tiling of
validate/TILING.md) against whole-image inference of the same float32 model, on the five real
photographs of ../shared/datasets/real_world/photos used as LR inputs. Reported per overlap:
worst-image PSNR (dB, float outputs, peak 1), worst max-abs, and the fraction of 8-bit output
values that differ.

Reproduce:  POCKETSR_WEIGHTS_DIR=../shared/weights .venv/bin/python tools/seam_curve.py [--json out.json]
RLFN (not local; worst case):  ... tools/seam_curve.py --models rlfn --two-by-two --images 3
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pocketsr.convert.pipeline import conversion_model  # noqa: E402
from pocketsr.mobile_models import create_model, get_spec  # noqa: E402
from pocketsr.runtime.images import to_tensor_array
from pocketsr.datasets.sets import real_photos  # noqa: E402
from pocketsr.runtime.runners import TorchRunner  # noqa: E402
from pocketsr.runtime.tiling import UnboundedReceptiveField, receptive_field_radius, seam_curve  # noqa: E402

TILE = (180, 320)


def curve(name: str, overlaps=None, threads: int = 2, two_by_two: bool = False, images: int = 5):
    model, _ = conversion_model(create_model(name, "deploy"))
    spec = get_spec(name)
    try:
        radius = receptive_field_radius(model, spec.scale)
    except UnboundedReceptiveField:  # not local (RLFN's ESA): how close does each overlap get?
        radius = None
    overlaps = overlaps or (sorted({0, 1, 2, 4, 8, 12, 16, 20, 24, 32, 40, 48, radius // 2, radius}
                                   - {o for o in range(radius + 1, 999)}) if radius is not None
                            else [0, 8, 16, 24, 32, 40, 48, 64, 79])
    runner = TorchRunner(model, spec.scale, threads)
    photos = real_photos(Path(__file__).resolve().parents[2] / "shared" / "datasets" / "real_world" / "photos")
    photos = sorted(photos, key=lambda p: p[1].shape[0] * p[1].shape[1])[-images:]
    rows = seam_curve(runner, spec.scale, [to_tensor_array(img) for _, img in photos], TILE, overlaps,
                      two_by_two=two_by_two)
    for r in rows:
        db = "identical" if r["psnr_db"] is None else f"{r['psnr_db']:.2f} dB"
        print(f"{name} overlap {r['overlap']:3d}: worst PSNR {db}, max-abs {r['max_abs']:.2e}, "
              f"8-bit changed {100 * r['changed_8bit']:.4f} %", flush=True)
    return {"model": name, "radius": radius, "tile": list(TILE), "images": [n for n, _ in photos], "rows": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path)
    ap.add_argument("--models", nargs="*", default=["lkdn-s", "fmen-s"])
    ap.add_argument("--two-by-two", action="store_true",
                    help="2x2 tiles of each photo's centre per overlap (worst case, much faster)")
    ap.add_argument("--images", type=int, default=5, help="the largest N photos")
    args = ap.parse_args()
    torch.manual_seed(0)
    results = [curve(m, two_by_two=args.two_by_two, images=args.images) for m in args.models]
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
