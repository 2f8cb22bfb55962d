"""Compute cost of a model: multiply-accumulates of one forward pass, counted by PyTorch's own
:class:`torch.utils.flop_counter.FlopCounterMode` (not a hand-written per-layer formula)."""

from __future__ import annotations

from typing import Sequence

import torch


def count_macs(model: torch.nn.Module, input_hw: Sequence[int], in_channels: int = 3) -> int:
    """Multiply-accumulates (MACs) of one forward pass of ``model`` on one ``(1, in_channels,
    h, w)`` input, ``input_hw = (h, w)`` the low-resolution size in pixels.

    Counted: what :class:`~torch.utils.flop_counter.FlopCounterMode` counts — convolutions
    (grouped and depthwise ones by their real weight shape), transposed convolutions and matrix
    products (``mm``/``bmm``/``addmm``/``matmul``/``linear``, attention); one MAC = 2 FLOPs, so
    this is its FLOP total / 2. Not counted: elementwise ops (bias adds, activations,
    normalisation, pixel shuffle, residual adds, the pixel-range scaling), which on these
    models are a few percent of the work. The cost does not depend on the weights.

    The forward pass runs once, on CPU zeros of the model's parameter dtype, under
    :func:`torch.no_grad` and in eval mode (the model's mode is restored afterwards).

    Returns:
        MACs as an ``int`` (e.g. a 3x3 conv 64->64 on 180x320: 64*64*9*180*320 = 2.12e9).

    Raises:
        ValueError: ``input_hw`` is not two positive integers.
    """
    from torch.utils.flop_counter import FlopCounterMode

    hw = tuple(int(v) for v in input_hw)
    if len(hw) != 2 or min(hw) <= 0:
        raise ValueError(f"input_hw must be (h, w) with positive sizes, got {tuple(input_hw)}")
    param = next(model.parameters(), None)
    dtype = param.dtype if param is not None else torch.float32
    device = param.device if param is not None else torch.device("cpu")
    x = torch.zeros((1, in_channels, *hw), dtype=dtype, device=device)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(x)
    finally:
        model.train(was_training)
    return int(counter.get_total_flops()) // 2
