"""The one public model interface every pocketsr model and artifact shares.

``SRNet`` wraps an upstream network (its state-dict keys live under ``body.``) and gives it
the pocketsr contract: input RGB float ``(N, 3, H, W)`` in [0, 1]; output RGB float
``(N, 3, H*scale, W*scale)`` clamped to [0, 1] inside the graph. Networks trained on another
range (FMEN-S works on [0, 255]) get that range through ``pixel_range``, which
:meth:`SRNet.fold_pixel_range` moves exactly into the first and last conv so exported graphs
have no extra multiply/divide.
"""

from __future__ import annotations

import copy
from typing import Dict, List, Sequence

import torch
from torch import Tensor, nn


class SRNet(nn.Module):
    """Public-interface wrapper around an upstream SR network.

    Args:
        body: the upstream network, native range ``[0, pixel_range]``.
        scale: upscale factor (output is ``scale`` times larger on each side).
        pixel_range: the body's native white level (1.0 or 255.0).
        first_conv, last_conv: dotted names (inside ``body``) of the first conv that sees the
            image and the last conv before PixelShuffle; used by :meth:`fold_pixel_range`.
    """

    def __init__(self, body: nn.Module, scale: int, pixel_range: float = 1.0,
                 first_conv: str = "", last_conv: str = ""):
        super().__init__()
        self.body = body
        self.scale = scale
        self.pixel_range = float(pixel_range)
        self.first_conv = first_conv
        self.last_conv = last_conv

    def forward(self, x: Tensor) -> Tensor:
        """``(N, 3, H, W)`` float in [0, 1] -> ``(N, 3, H*scale, W*scale)`` float in [0, 1]."""
        if self.pixel_range != 1.0:
            x = x * self.pixel_range
        y = self.body(x)
        if self.pixel_range != 1.0:
            y = y / self.pixel_range
        return y.clamp(0.0, 1.0)

    def deploy_twin(self) -> "SRNet":
        """Same wrapper around the body's deploy-form architecture (used by reparameterize)."""
        return SRNet(self.body.deploy_twin(), self.scale, self.pixel_range, self.first_conv,
                     self.last_conv)

    @torch.no_grad()
    def fp16_headroom_rescale_(self, probes: Sequence[Tensor], tolerance: float = 1e-5) -> List[Dict]:
        """Exactly rescale the body's activations in place so float16 programs do not overflow
        (for bodies that implement ``fp16_headroom_rescale_``, e.g. LKDN-S; a no-op returning
        ``[]`` otherwise — FMEN-S's range is handled by its ``rescale_range_``).

        Args:
            probes: ``(1, 3, h, w)`` float32 inputs in [0, 1] that set the per-block factors
                (e.g. :func:`pocketsr.datasets.sets.probe_images`).
            tolerance: largest max-abs change of the output allowed on the probes.

        Returns:
            The body's per-block records (for the manifest).

        Raises:
            RuntimeError: the rescaled model does not compute the same function.
        """
        if not hasattr(self.body, "fp16_headroom_rescale_"):
            return []
        self.eval()
        before = [self(x) for x in probes]
        records = self.body.fp16_headroom_rescale_(lambda: [self(x) for x in probes])
        err = max(float((a - self(x)).abs().max()) for a, x in zip(before, probes))
        if err > tolerance:
            raise RuntimeError(f"float16 headroom rescaling changed the function (max-abs {err:.2e})")
        return records

    def fold_pixel_range(self, internal: bool = True) -> "SRNet":
        """Return a copy whose body works on [0, 1] directly (same function up to rounding).

        If the body can rescale its whole internal range (``rescale_range_``, e.g. FMEN-S,
        whose trunk is positively homogeneous), that is used, so activations are unit-range
        too. Otherwise the first conv's weight is scaled by ``pixel_range`` (zero padding stays
        zero, so this is exact) and the last conv's weight and bias by ``1 / pixel_range``;
        ``internal=False`` forces this simpler fold (kept for comparison: it leaves FMEN-S's
        attention weights in float16's subnormal range).
        """
        folded = copy.deepcopy(self)
        if folded.pixel_range == 1.0:
            return folded
        if internal and hasattr(folded.body, "rescale_range_"):
            folded.body.rescale_range_(folded.pixel_range)
            folded.pixel_range = 1.0
            return folded
        first = folded.body.get_submodule(folded.first_conv)
        last = folded.body.get_submodule(folded.last_conv)
        first.weight.data.mul_(folded.pixel_range)
        last.weight.data.div_(folded.pixel_range)
        if last.bias is not None:  # a bias-free last conv (user networks) has only weights to scale
            last.bias.data.div_(folded.pixel_range)
        folded.pixel_range = 1.0
        return folded
