"""Reproduces the README's FMEN-S float16 figures: parity of the deploy model with float16-
rounded conv weights (what the fp16 TFLite artifact computes on CPU) against float32, for the
two ways of folding FMEN-S's [0, 255] range into the weights.

    POCKETSR_WEIGHTS_DIR=../shared/weights python tools/fp16_range_study.py
"""

import numpy as np
import torch

from pocketsr.mobile_models import create_model
from pocketsr.runtime.images import crops, to_tensor_array
from pocketsr.datasets.sets import real_photos
from pocketsr.validate.emulate import with_fp16_weights as fp16_weights
from pocketsr.runtime.metrics import parity


def main():
    model = create_model("fmen-s")
    variants = {"first/last-conv fold": fp16_weights(model.fold_pixel_range(internal=False)),
                "internal range rescaling": fp16_weights(model.fold_pixel_range())}
    rng = np.random.default_rng(0)  # same crops as the validator (seed 0, 2 per photo)
    inputs = [torch.from_numpy(to_tensor_array(c)) for _, img in real_photos()
              for c in crops(img, (180, 320), 2, rng)]
    for name, variant in variants.items():
        with torch.no_grad():
            scores = [parity(variant(x).numpy(), model(x).numpy())["psnr_db"] for x in inputs]
        print(f"{name:26s} fp16 weights vs fp32: worst {min(scores):.2f} dB, mean {np.mean(scores):.2f} dB")


if __name__ == "__main__":
    main()
