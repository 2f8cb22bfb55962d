"""LKDN and LKDN-S: Large Kernel Distillation Network for efficient single-image SR.

Follows the official implementation (stella-von/LKDN, MIT licence, commit 54df78a,
``basicsr/archs/lkdn_blocks.py``, ``lkdn_arch.py`` and ``lkdns_arch.py``) and the paper
Xie et al., "Large Kernel Distillation Network for Efficient Single Image Super-Resolution",
CVPRW 2023. Sub-module names equal the upstream ones so official checkpoints load with
``strict=True``.

Native value range: RGB in [0, 1]. Input ``(N, 3, H, W)`` float; output
``(N, 3, H * scale, W * scale)`` float (not clamped here; the :class:`~pocketsr.mobile_models.SRNet`
wrapper clamps).

Forms:
* training form (LKDN-S): ``BSConvU_rep`` convs inside the distillation blocks and the
  ``Upsampler_rep`` head.
* deploy form: plain ``BSConvU`` and a single 3x3 conv + PixelShuffle (``UpsampleOneStep``).
"""

from __future__ import annotations

import math
from typing import Callable, Dict, List

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .fusion import (add_branches, conv_weight_bias, fuse_linear_before, identity_kernel)
from .rep import RepBlock


class BSConvU(nn.Module):
    """Blueprint separable conv: 1x1 pointwise (no bias) then ``k x k`` depthwise (with bias).

    Shapes: ``(N, C_in, H, W) -> (N, C_out, H, W)``. Source: upstream ``BSConvU``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, padding: int = 1):
        super().__init__()
        self.pw = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.dw = nn.Conv2d(out_channels, out_channels, kernel_size, padding=padding,
                            groups=out_channels, bias=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.dw(self.pw(x))


class BSConvURep(RepBlock):
    """Training-form BSConvU (upstream ``BSConvU_rep``), requires ``C_in == C_out``.

    ``y = pw(x) + x``; ``out = dw(y) + y + rep1x1(y)`` with ``rep1x1`` a depthwise 1x1 conv.
    Reparameterizes into :class:`BSConvU`: the identity joins the pointwise kernel, the
    identity and the 1x1 depthwise branch join the centre of the depthwise kernel.
    """

    consumes = ("pw", "dw", "rep1x1")

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, padding: int = 1):
        super().__init__()
        if in_channels != out_channels:
            raise ValueError("BSConvU_rep needs in_channels == out_channels (identity branches)")
        self.pw = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.dw = nn.Conv2d(out_channels, out_channels, kernel_size, padding=padding,
                            groups=out_channels, bias=True)
        self.rep1x1 = nn.Conv2d(out_channels, out_channels, 1, groups=out_channels, bias=True)

    def forward(self, x: Tensor) -> Tensor:
        x = self.pw(x) + x
        return self.dw(x) + x + self.rep1x1(x)

    def fused_state(self) -> Dict[str, Tensor]:
        c = self.pw.out_channels
        w = self.pw.weight
        pw = w + identity_kernel(c, 1, 1, dtype=w.dtype, device=w.device)
        dw, db = add_branches(
            conv_weight_bias(self.dw),
            (identity_kernel(c, 1, c, dtype=w.dtype, device=w.device), None),
            conv_weight_bias(self.rep1x1),
        )
        return {"pw.weight": pw, "dw.weight": dw, "dw.bias": db}


class Attention(nn.Module):
    """Large-kernel attention: 1x1 -> depthwise 5x5 -> depthwise 5x5 dilation 3; ``x * attn``."""

    def __init__(self, dim: int):
        super().__init__()
        self.pointwise = nn.Conv2d(dim, dim, 1)
        self.depthwise = nn.Conv2d(dim, dim, 5, padding=2, groups=dim)
        self.depthwise_dilated = nn.Conv2d(dim, dim, 5, padding=6, groups=dim, dilation=3)

    def forward(self, x: Tensor) -> Tensor:
        return x * self.depthwise_dilated(self.depthwise(self.pointwise(x)))


class LKDB(nn.Module):
    """Large kernel distillation block (upstream ``LKDB``); ``(N, C, H, W) -> (N, C, H, W)``.

    Three distillation steps (1x1 distilled branch, BSConv refine branch, GELU), a BSConv
    fourth step, 1x1 fusion, large-kernel attention, 1x1, LayerNorm over channels, residual.
    """

    def __init__(self, channels: int, atten_channels: int, rep: bool):
        super().__init__()
        conv = BSConvURep if rep else BSConvU
        dc = channels // 2
        self.c1_d = nn.Conv2d(channels, dc, 1)
        self.c1_r = conv(channels, channels, 3, 1)
        self.c2_d = nn.Conv2d(channels, dc, 1)
        self.c2_r = conv(channels, channels, 3, 1)
        self.c3_d = nn.Conv2d(channels, dc, 1)
        self.c3_r = conv(channels, channels, 3, 1)
        self.c4 = BSConvU(channels, dc, 3, 1)
        self.act = nn.GELU()
        self.c5 = nn.Conv2d(dc * 4, atten_channels, 1)
        self.atten = Attention(atten_channels)
        self.c6 = nn.Conv2d(atten_channels, channels, 1)
        self.pixel_norm = nn.LayerNorm(channels)

    def forward(self, x: Tensor) -> Tensor:
        d1 = self.act(self.c1_d(x))
        r1 = self.act(self.c1_r(x))
        d2 = self.act(self.c2_d(r1))
        r2 = self.act(self.c2_r(r1))
        d3 = self.act(self.c3_d(r2))
        r3 = self.act(self.c3_r(r2))
        r4 = self.act(self.c4(r3))
        out = self.c5(torch.cat([d1, d2, d3, r4], dim=1))
        out = self.c6(self.atten(out))
        out = self.pixel_norm(out.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        return out + x

    @torch.no_grad()
    def rescale_(self, s: float, t: float) -> None:
        """Scale the attention product ``x * attn`` by ``s`` and the LayerNorm input (``c6``'s
        output) by ``t``, leaving the block's function unchanged (exact for powers of two):

        * ``attn`` is affine in the attention branch and has no non-linearity, so the pointwise
          conv's weight and bias and both depthwise biases times ``s`` give ``s * attn``;
        * ``c6`` weight times ``t / s`` and bias times ``t`` give ``t`` times its output;
        * LayerNorm over channels is scale-invariant given ``eps * t**2``:
          ``LN(t*y; eps*t^2) == LN(y; eps)``.

        Works on this block's ``pixel_norm`` and on any rewrite of it with an ``eps`` attribute.
        """
        a = self.atten
        a.pointwise.weight.mul_(s)
        a.pointwise.bias.mul_(s)
        a.depthwise.bias.mul_(s)
        a.depthwise_dilated.bias.mul_(s)
        self.c6.weight.mul_(t / s)
        self.c6.bias.mul_(t)
        self.pixel_norm.eps = self.pixel_norm.eps * t * t


class UpsamplerRep(RepBlock):
    """Training-form upsampler head (upstream ``Upsampler_rep``).

    ``conv1(x) + conv3(x) + conv3x3(bias_pad(conv1x1(x)))`` then PixelShuffle. The 1x1 branch is
    bias-padded, i.e. equal to ``conv1x1`` applied to zero-padded ``x``, so the three branches fuse
    exactly into one 3x3 conv (key ``0`` of the deploy ``nn.Sequential``).
    """

    consumes = ("conv1", "conv3", "conv1x1", "conv3x3")

    def __init__(self, in_channels: int, out_channels: int, scale: int):
        super().__init__()
        n = out_channels * scale ** 2
        self.conv1 = nn.Conv2d(in_channels, n, 1)
        self.conv3 = nn.Conv2d(in_channels, n, 3, 1, 1)
        self.conv1x1 = nn.Conv2d(in_channels, in_channels * 2, 1)
        self.conv3x3 = nn.Conv2d(in_channels * 2, n, 3)
        self.pixel_shuffle = nn.PixelShuffle(scale)

    def forward(self, x: Tensor) -> Tensor:
        # conv1x1 on the zero-padded input == conv1x1 output padded with its bias (upstream).
        mid = self.conv1x1(F.pad(x, (1, 1, 1, 1)))
        out = self.conv1(x) + self.conv3(x) + self.conv3x3(mid)
        return self.pixel_shuffle(out)

    def fused_state(self) -> Dict[str, Tensor]:
        w1, b1 = conv_weight_bias(self.conv1x1)
        chain = fuse_linear_before(*conv_weight_bias(self.conv3x3), w1[:, :, 0, 0], b1)
        w, b = add_branches(conv_weight_bias(self.conv1), conv_weight_bias(self.conv3), chain)
        return {"0.weight": w, "0.bias": b}


def upsample_one_step(in_channels: int, out_channels: int, scale: int) -> nn.Sequential:
    """Deploy-form upsampler: 3x3 conv to ``out * scale^2`` channels, then PixelShuffle."""
    return nn.Sequential(nn.Conv2d(in_channels, out_channels * scale ** 2, 3, 1, 1),
                         nn.PixelShuffle(scale))


class LKDNet(nn.Module):
    """LKDN family network (LKDN-S: 42 channels, 5 blocks; LKDN: 56 channels, 8 blocks).

    Args:
        num_feat: trunk channels; num_block: number of LKDBs (named ``B1..Bn``);
        scale: upscale factor; rep: build the training form (``BSConvU_rep`` +
        ``Upsampler_rep``) instead of the deploy form; num_in: times the input is
        repeated along channels before the first conv (4 upstream).
    """

    def __init__(self, num_feat: int = 42, num_block: int = 5, scale: int = 4, rep: bool = False,
                 num_in: int = 4, num_atten: int | None = None):
        super().__init__()
        self.config = dict(num_feat=num_feat, num_block=num_block, scale=scale, num_in=num_in,
                           num_atten=num_atten or num_feat)
        self.rep = rep
        self.num_in = num_in
        self.num_block = num_block
        self.fea_conv = BSConvU(3 * num_in, num_feat, 3, 1)
        for i in range(1, num_block + 1):
            setattr(self, f"B{i}", LKDB(num_feat, num_atten or num_feat, rep))
        self.c1 = nn.Conv2d(num_feat * num_block, num_feat, 1)
        self.GELU = nn.GELU()
        self.c2 = BSConvU(num_feat, num_feat, 3, 1)
        self.upsampler = UpsamplerRep(num_feat, 3, scale) if rep else upsample_one_step(num_feat, 3, scale)

    def deploy_twin(self) -> "LKDNet":
        return LKDNet(**self.config, rep=False)

    #: largest |value| allowed after :meth:`fp16_headroom_rescale_` on the probe images; far
    #: below float16's 65504 so that a float16 sum of squares over the 42 channels stays finite
    HEADROOM_TARGETS = {"attention_product": 256.0, "layernorm_input": 16.0}

    @torch.no_grad()
    def fp16_headroom_rescale_(self, run: Callable[[], object]) -> List[Dict]:
        """Rescale every block in place, exactly, so float16 activations keep their headroom.

        On real photographs the 1x1 conv ``c6`` feeding each LayerNorm reaches ~1.1e5 and the
        attention product ~2e4 (noise drives the product to ~1.2e5): float16 overflows at 65504,
        which is what GPU delegates and the Neural Engine compute in. Each block gets the
        powers of two ``s`` and ``t`` (:meth:`LKDB.rescale_`) that bring its peaks on the probe
        inputs to :data:`HEADROOM_TARGETS`.

        Args:
            run: runs the probe inputs through the model that contains this body (so the body
                sees its native range); called once, with forward hooks recording the peaks.

        Returns:
            One record per block: ``block``, ``attention_scale`` ``s``,
            ``layernorm_input_scale`` ``t`` and the probe peaks before rescaling.
        """
        blocks = [(f"B{i}", getattr(self, f"B{i}")) for i in range(1, self.num_block + 1)]
        peaks = {name: {"attention_product": 0.0, "layernorm_input": 0.0} for name, _ in blocks}
        hooks = []
        for name, block in blocks:
            for key, module in (("attention_product", block.atten), ("layernorm_input", block.c6)):
                def hook(_m, _i, output, name=name, key=key):
                    peaks[name][key] = max(peaks[name][key], float(output.abs().max()))
                hooks.append(module.register_forward_hook(hook))
        try:
            run()
        finally:
            for h in hooks:
                h.remove()

        def pow2(value: float, target: float) -> float:  # 2**-k (k >= 0) with value * 2**-k <= target
            return 1.0 if value <= target else 2.0 ** -math.ceil(math.log2(value / target))

        records = []
        for name, block in blocks:
            s = pow2(peaks[name]["attention_product"], self.HEADROOM_TARGETS["attention_product"])
            t = pow2(peaks[name]["layernorm_input"], self.HEADROOM_TARGETS["layernorm_input"])
            block.rescale_(s, t)
            records.append({"block": name, "attention_scale": s, "layernorm_input_scale": t,
                            "probe_max_attention_product": round(peaks[name]["attention_product"], 1),
                            "probe_max_layernorm_input": round(peaks[name]["layernorm_input"], 1)})
        return records

    def forward(self, x: Tensor) -> Tensor:
        fea = self.fea_conv(torch.cat([x] * self.num_in, dim=1))
        outs = []
        h = fea
        for i in range(1, self.num_block + 1):
            h = getattr(self, f"B{i}")(h)
            outs.append(h)
        trunk = self.GELU(self.c1(torch.cat(outs, dim=1)))
        return self.upsampler(self.c2(trunk) + fea)
