"""Benchmark PSNR/SSIM (Y channel) of any runner on a Set5/Set14-style dataset."""

from __future__ import annotations

from typing import Dict, List

import numpy as np

from pocketsr.runtime.images import from_tensor_array, to_tensor_array
from pocketsr.datasets.sets import BenchmarkSet
from pocketsr.runtime.metrics import psnr_ssim_y
from pocketsr.runtime.runners import Runner
from pocketsr.runtime.tiling import describe, run_images


def evaluate(runner: Runner, dataset: BenchmarkSet, input_size=None, overlap: int = 16,
             keep_outputs: bool = False) -> Dict:
    """PSNR/SSIM of ``runner`` on every image of ``dataset``.

    Returns:
        ``{"dataset", "images", "psnr_y", "ssim_y", "input": how images were fed,
        "per_image": [{"name", "psnr_y", "ssim_y"}]}`` (means over images, dB / [0, 1]);
        with ``keep_outputs`` also ``"outputs"``: the float SR arrays by image name.
    """
    if runner.scale != dataset.scale:
        raise ValueError(f"runner scale x{runner.scale} vs dataset scale x{dataset.scale}")
    size = input_size if input_size is not None else runner.input_size
    per_image: List[Dict] = []
    outputs = {}
    feeds = set()
    # every image's tiles in one batched pass (runners with batch_pixels run them together)
    srs = run_images(runner, [to_tensor_array(item.lr) for item in dataset.images], runner.scale, size, overlap)
    for item, sr in zip(dataset.images, srs):
        feeds.add(describe(item.lr.shape[:2], size, overlap))
        scores = psnr_ssim_y(from_tensor_array(sr), item.hr, dataset.scale)
        per_image.append({"name": item.name, **scores})
        if keep_outputs:
            outputs[item.name] = sr
    result = {
        "dataset": dataset.name,
        "images": len(per_image),
        "psnr_y": float(np.mean([r["psnr_y"] for r in per_image])),
        "ssim_y": float(np.mean([r["ssim_y"] for r in per_image])),
        "input": "; ".join(sorted(feeds)),
        "per_image": per_image,
    }
    if keep_outputs:
        result["outputs"] = outputs
    return result
