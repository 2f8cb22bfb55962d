"""PyTorch emulation of reduced-precision artifacts, to separate a model's own sensitivity
from converter or runtime behaviour."""

from __future__ import annotations

import copy

import torch


def with_fp16_weights(model: torch.nn.Module) -> torch.nn.Module:
    """Copy of ``model`` whose conv weights are rounded to float16 and back (biases and compute
    stay float32) — what a TFLite fp16 artifact computes on the CPU interpreter."""
    model = copy.deepcopy(model)
    for conv in model.modules():
        if isinstance(conv, torch.nn.Conv2d):
            conv.weight.data = conv.weight.data.half().float()
    return model
