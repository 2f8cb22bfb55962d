"""FMEN-S: Fast and Memory-Efficient Network for single-image SR.

Follows the official implementation (NJU-Jet/FMEN, Apache-2.0, ``train_fmen.py`` for the
training form and ``test_fmen.py`` for the deploy form) and the paper Du et al., "Fast and
Memory-Efficient Network Towards Efficient Image Super-Resolution", CVPRW 2022 (NTIRE 2022
efficient SR, lowest memory). Sub-module names equal the upstream ones so the official
deploy checkpoint ``test_weights.pt`` loads with ``strict=True``.

Native value range: RGB in [0, 255] (EDSR convention, no mean shift). Input
``(N, 3, H, W)`` float; output ``(N, 3, H * scale, W * scale)`` float in the same range. The
:class:`~pocketsr.mobile_models.SRNet` wrapper maps the public [0, 1] interface onto it.
"""

from __future__ import annotations

import math
from typing import Dict, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .fusion import (add_branches, bn_scale_shift, conv_weight_bias, fold_bn_after,
                     fold_bn_before, fuse_linear_after, fuse_linear_before, identity_kernel,
                     pad_with_values)
from .rep import RepBlock

LRELU_SLOPE = 0.1


def _act(x: Tensor) -> Tensor:
    return F.leaky_relu(x, LRELU_SLOPE)


class RRRB(RepBlock):
    """Residual-in-residual reparameterizable block (training form), ``C -> C``.

    ``e = expand(x)`` (1x1, C -> ratio*C); ``out = reduce(fea(bias_pad(e)) + e) + x`` with a
    valid 3x3 ``fea`` conv and a 1x1 ``reduce``. Fuses into one 3x3 ``rep_conv``.
    """

    consumes = ("expand_conv", "fea_conv", "reduce_conv")

    def __init__(self, n_feats: int, ratio: int = 2):
        super().__init__()
        self.expand_conv = nn.Conv2d(n_feats, ratio * n_feats, 1)
        self.fea_conv = nn.Conv2d(ratio * n_feats, ratio * n_feats, 3)
        self.reduce_conv = nn.Conv2d(ratio * n_feats, n_feats, 1)

    def forward(self, x: Tensor) -> Tensor:
        e = self.expand_conv(x)
        out = self.fea_conv(pad_with_values(e, self.expand_conv.bias)) + e
        return self.reduce_conv(out) + x

    def fused_state(self) -> Dict[str, Tensor]:
        we, be = conv_weight_bias(self.expand_conv)
        wf, bf = conv_weight_bias(self.fea_conv)
        mid = wf.shape[0]
        # fea(pad(e)) + e  ==  (fea + identity) applied to pad(e)
        wf, bf = add_branches((wf, bf), (identity_kernel(mid, 3, 1, dtype=wf.dtype, device=wf.device), None))
        w, b = fuse_linear_before(wf, bf, we[:, :, 0, 0], be)
        wr, br = conv_weight_bias(self.reduce_conv)
        w, b = fuse_linear_after(w, b, wr[:, :, 0, 0], br)
        n = w.shape[0]
        w, b = add_branches((w, b), (identity_kernel(n, 3, 1, dtype=w.dtype, device=w.device), None))
        return {"rep_conv.weight": w, "rep_conv.bias": b}


class RepConv(nn.Module):
    """Deploy-form RRRB: a single 3x3 conv named ``rep_conv`` (upstream ``test_fmen.RRRB``)."""

    def __init__(self, n_feats: int):
        super().__init__()
        self.rep_conv = nn.Conv2d(n_feats, n_feats, 3, 1, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.rep_conv(x)


class ERB(nn.Module):
    """Enhanced residual block: ``RRRB -> LeakyReLU(0.1) -> RRRB``."""

    def __init__(self, n_feats: int, ratio: int, rep: bool):
        super().__init__()
        block = (lambda: RRRB(n_feats, ratio)) if rep else (lambda: RepConv(n_feats))
        self.conv1 = block()
        self.conv2 = block()

    def forward(self, x: Tensor) -> Tensor:
        return self.conv2(_act(self.conv1(x)))


class HFAB(RepBlock):
    """High-frequency attention block, ``(N, C, H, W) -> (N, C, H, W)``.

    Training form: ``BN1 -> bias-pad -> squeeze 3x3 -> act -> ERBs -> act -> BN2 -> bias-pad ->
    excitate 3x3 -> BN3 -> sigmoid``, times the input. Deploy form drops the BNs (folded into
    ``squeeze`` and ``excitate``) and pads with zeros.
    """

    consumes = ("bn1", "bn2", "bn3", "squeeze", "excitate")

    def __init__(self, n_feats: int, up_blocks: int, mid_feats: int, ratio: int, rep: bool):
        super().__init__()
        self.rep = rep
        pad = 0 if rep else 1
        if rep:
            self.bn1 = nn.BatchNorm2d(n_feats)
            self.bn2 = nn.BatchNorm2d(mid_feats)
            self.bn3 = nn.BatchNorm2d(n_feats)
        self.squeeze = nn.Conv2d(n_feats, mid_feats, 3, 1, pad)
        self.convs = nn.Sequential(*[ERB(mid_feats, ratio, rep) for _ in range(up_blocks)])
        self.excitate = nn.Conv2d(mid_feats, n_feats, 3, 1, pad)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x: Tensor) -> Tensor:
        if self.rep:
            out = pad_with_values(self.bn1(x), bn_scale_shift(self.bn1)[1])
            out = _act(self.squeeze(out))
            out = _act(self.convs(out))
            out = pad_with_values(self.bn2(out), bn_scale_shift(self.bn2)[1])
            out = self.sigmoid(self.bn3(self.excitate(out)))
        else:
            out = _act(self.squeeze(x))
            out = _act(self.convs(out))
            out = self.sigmoid(self.excitate(out))
        return out * x

    def fused_state(self) -> Dict[str, Tensor]:
        sw, sb = fold_bn_before(*conv_weight_bias(self.squeeze), self.bn1)
        ew, eb = fold_bn_before(*conv_weight_bias(self.excitate), self.bn2)
        ew, eb = fold_bn_after(ew, eb, self.bn3)
        return {"squeeze.weight": sw, "squeeze.bias": sb, "excitate.weight": ew, "excitate.bias": eb}


class FMENet(nn.Module):
    """FMEN network (FMEN-S defaults: n_feats 50, mid_feats 16, 4 down blocks, up [2,1,1,1,1]).

    Args:
        rep: build the training form (RRRB, HFAB with BatchNorms) instead of the deploy form.
    """

    def __init__(self, n_feats: int = 50, mid_feats: int = 16, down_blocks: int = 4,
                 up_blocks: Sequence[int] = (2, 1, 1, 1, 1), scale: int = 4, ratio: int = 2,
                 rep: bool = False):
        super().__init__()
        self.config = dict(n_feats=n_feats, mid_feats=mid_feats, down_blocks=down_blocks,
                           up_blocks=tuple(up_blocks), scale=scale, ratio=ratio)
        self.head = nn.Conv2d(3, n_feats, 3, 1, 1)
        self.warmup = nn.Sequential(nn.Conv2d(n_feats, n_feats, 3, 1, 1),
                                    HFAB(n_feats, up_blocks[0], mid_feats - 4, ratio, rep))
        self.ERBs = nn.ModuleList([ERB(n_feats, ratio, rep) for _ in range(down_blocks)])
        self.HFABs = nn.ModuleList([HFAB(n_feats, up_blocks[i + 1], mid_feats, ratio, rep)
                                    for i in range(down_blocks)])
        self.lr_conv = nn.Conv2d(n_feats, n_feats, 3, 1, 1)
        self.tail = nn.Sequential(nn.Conv2d(n_feats, 3 * scale ** 2, 3, 1, 1), nn.PixelShuffle(scale))

    def deploy_twin(self) -> "FMENet":
        return FMENet(**self.config, rep=False)

    @torch.no_grad()
    def rescale_range_(self, factor: float) -> "FMENet":
        """Make the deploy-form network work on inputs/outputs divided by ``factor``, in place.

        Exact (up to float rounding) because every layer between the image and the output is a
        conv (linear), LeakyReLU or a residual add, all positively homogeneous: dividing every
        trunk conv *bias* by ``factor`` scales every trunk feature map by ``1 / factor``. The
        HFAB attention branch must feed its sigmoid the same values as before, so each branch
        gets its own scale ``k``: ``squeeze`` weight * ``k * factor``, bias and the inner ERB
        biases * ``k``, ``excitate`` weight / ``k``. ``k`` balances the largest squeeze and
        excitate weights — upstream folding of BN3 leaves excitate weights as small as 4e-8,
        which underflow in float16 (measured: FMEN-S fp16 parity 37 dB before, 77 dB after).

        With ``factor=255`` the [0, 255] network becomes a [0, 1] one, so fp16/int8 pipelines
        see unit-range activations. Raises ``ValueError`` on the training form.
        """
        if any(isinstance(m, (RRRB, nn.BatchNorm2d)) for m in self.modules()):
            raise ValueError("rescale_range_ works on the deploy form; reparameterize first")

        def biases(module: nn.Module, k: float) -> None:
            for conv in module.modules():
                if isinstance(conv, nn.Conv2d):
                    conv.bias.mul_(k)

        for conv in (self.head, self.warmup[0], self.lr_conv, self.tail[0]):
            conv.bias.div_(factor)
        for erb in self.ERBs:
            biases(erb, 1.0 / factor)
        for hfab in (self.warmup[1], *self.HFABs):
            k = math.sqrt(hfab.excitate.weight.abs().max().item() /
                          (factor * hfab.squeeze.weight.abs().max().item()))
            hfab.squeeze.weight.mul_(k * factor)
            hfab.squeeze.bias.mul_(k)
            biases(hfab.convs, k)
            hfab.excitate.weight.div_(k)
        return self

    def forward(self, x: Tensor) -> Tensor:
        x = self.head(x)
        h = self.warmup(x)
        for erb, hfab in zip(self.ERBs, self.HFABs):
            h = hfab(erb(h))
        return self.tail(self.lr_conv(h) + x)
