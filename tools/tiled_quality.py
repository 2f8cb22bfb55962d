"""Does tiling cost quality? Y-PSNR/SSIM against the HR images of Set5/Set14 for whole-image
inference and for tiled inference at several overlaps (fp32 PyTorch, validate/TILING.md tiling).

For networks that are not local (RLFN) tiled output differs from whole-image output at any
overlap; this measures whether it is worse. Small tiles (default 48x64) so every benchmark
image is cut into several.

Reproduce (README, RLFN section):
    POCKETSR_WEIGHTS_DIR=../shared/weights .venv/bin/python tools/tiled_quality.py --model rlfn
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pocketsr.datasets.benchmark import evaluate  # noqa: E402
from pocketsr.datasets.sets import load_benchmark  # noqa: E402
from pocketsr.mobile_models import create_model, get_spec  # noqa: E402
from pocketsr.runtime.runners import TorchRunner  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="rlfn")
    ap.add_argument("--data", type=Path, nargs="*",
                    default=[ROOT.parent / "shared" / "datasets" / n for n in ("Set5", "Set14")])
    ap.add_argument("--tile", default="48x64")
    ap.add_argument("--overlaps", type=int, nargs="*", default=[0, 8, 16])
    args = ap.parse_args()
    tile = tuple(int(v) for v in args.tile.split("x"))
    spec = get_spec(args.model)
    runner = TorchRunner(create_model(spec.name), spec.scale, 2)
    for folder in args.data:
        data = load_benchmark(folder, spec.scale)
        whole = evaluate(runner, data)
        print(f"{spec.name} {data.name}: whole image {whole['psnr_y']:.4f} dB / {whole['ssim_y']:.4f}", flush=True)
        for o in args.overlaps:
            r = evaluate(runner, data, input_size=tile, overlap=o)
            print(f"{spec.name} {data.name}: tiled {tile[0]}x{tile[1]} overlap {o}: {r['psnr_y']:.4f} dB "
                  f"({r['psnr_y'] - whole['psnr_y']:+.4f}) / {r['ssim_y']:.4f}", flush=True)


if __name__ == "__main__":
    main()
