"""Reproduces the README's "stock recipe" rows: ai-edge-quantizer's stock recipes applied to
the fp32 artifact with no mixed precision, and their benchmark ΔPSNR vs PyTorch on the same
180x320 canvas. Calibration (static recipes): 6 crops of each shared real photo, seed 0,
ai-edge-quantizer's default moving-average merge.

    POCKETSR_WEIGHTS_DIR=../shared/weights python tools/int8_recipes.py ARTIFACT_DIR
"""

import sys
from pathlib import Path

import numpy as np
from ai_edge_quantizer import quantizer, recipe

from pocketsr.mobile_models import create_model
from pocketsr.datasets.benchmark import evaluate
from pocketsr.runtime.images import crops
from pocketsr.datasets.sets import load_benchmark, real_photos
from pocketsr.runtime.runners import TFLiteRunner, TorchRunner

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets"
RECIPES = {"weight-only int8": recipe.weight_only_wi8_afp32, "dynamic int8": recipe.dynamic_wi8_afp32,
           "static int8": recipe.static_wi8_ai8, "static int16 activations": recipe.static_wi8_ai16}


def main(folder: Path):
    sets = [load_benchmark(DATA / d, 4) for d in ("Set5", "Set14")]
    rng = np.random.default_rng(0)
    calib = [{"lr": (c.astype(np.float32) / 255.0)[None]}
             for _, img in real_photos() for c in crops(img, (180, 320), 6, rng)]
    for model in ("lkdn-s", "fmen-s"):
        src = folder / f"{model}_x4_180x320_fp32.tflite"
        ref = TorchRunner(create_model(model), 4)
        base = {s.name: evaluate(ref, s, input_size=(180, 320))["psnr_y"] for s in sets}
        for name, make in RECIPES.items():
            qt = quantizer.Quantizer(str(src))
            qt.load_quantization_recipe(make())
            cal = qt.calibrate({"serving_default": calib}, num_threads=2) if qt.need_calibration else None
            out = folder / f"stock_{model}_{name.replace(' ', '_')}.tflite"
            qt.quantize(cal, enable_progress_bar=False, enable_progress_report=False).export_model(str(out), overwrite=True)
            runner = TFLiteRunner(out)
            deltas = " / ".join(f"{evaluate(runner, s)['psnr_y'] - base[s.name]:+.3f}" for s in sets)
            print(f"{model} {name}: ΔPSNR Set5 / Set14 {deltas} dB", flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
