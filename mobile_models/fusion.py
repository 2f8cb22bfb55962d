"""Generic, exact fusion helpers for structural reparameterization.

Every helper works on plain tensors and returns a ``(weight, bias)`` pair of a single
convolution that computes the same function as the pattern it replaces. Weights use the
PyTorch layout ``(C_out, C_in / groups, kH, kW)``; biases are ``(C_out,)``; dtypes follow
the inputs (pass float64 tensors to separate rounding from algebra mistakes).

The patterns are the ones used by RepVGG-style blocks (Ding et al., CVPR 2021), and by the
two models this package ships:

* identity branch into a conv                      -> :func:`identity_kernel` + :func:`add_branches`
* parallel convs of different kernel sizes         -> :func:`add_branches`
* ``k x k`` conv after a per-pixel linear map
  (a 1x1 conv or an eval-mode BatchNorm), where the
  border is padded with the map's bias              -> :func:`fuse_linear_before`
* BatchNorm after a conv                            -> :func:`fold_bn_after`
* BatchNorm before a conv (bias-padded border)      -> :func:`fold_bn_before`

"Bias padding" is what makes the second and fourth patterns exact: the upstream training
forms pad the intermediate feature map with the per-channel bias of the preceding linear map
instead of zeros, which is the same as zero-padding the *input* of that linear map. The fused
conv can therefore use ordinary zero padding.
"""

from __future__ import annotations

from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

WeightBias = Tuple[Tensor, Tensor]


def _bias_or_zeros(conv: nn.Conv2d) -> Tensor:
    if conv.bias is not None:
        return conv.bias.detach()
    return torch.zeros(conv.out_channels, dtype=conv.weight.dtype, device=conv.weight.device)


def conv_weight_bias(conv: nn.Conv2d) -> WeightBias:
    """Return detached ``(weight, bias)`` of ``conv``; a missing bias becomes zeros ``(C_out,)``."""
    return conv.weight.detach(), _bias_or_zeros(conv)


def pad_kernel(weight: Tensor, kernel_size: int) -> Tensor:
    """Zero-pad a square ``k x k`` kernel to ``kernel_size`` around its centre.

    Args:
        weight: ``(C_out, C_in/g, k, k)`` with ``k <= kernel_size`` and ``kernel_size - k`` even.

    Raises:
        ValueError: if the kernel cannot be centred in ``kernel_size``.
    """
    k = weight.shape[-1]
    if k > kernel_size or (kernel_size - k) % 2:
        raise ValueError(f"cannot centre a {k}x{k} kernel in {kernel_size}x{kernel_size}")
    p = (kernel_size - k) // 2
    return F.pad(weight, (p, p, p, p))


def identity_kernel(channels: int, kernel_size: int = 1, groups: int = 1,
                    dtype: torch.dtype = torch.float32, device=None) -> Tensor:
    """Kernel of a conv that is the identity map on ``channels`` channels.

    Returns:
        ``(channels, channels // groups, kernel_size, kernel_size)`` with a single 1 per output
        channel at the kernel centre. ``groups`` may be 1 (dense) or ``channels`` (depthwise).
    """
    if groups not in (1, channels):
        raise ValueError("identity_kernel supports groups=1 or groups=channels")
    w = torch.zeros(channels, channels // groups, kernel_size, kernel_size, dtype=dtype, device=device)
    c = kernel_size // 2
    for o in range(channels):
        w[o, 0 if groups == channels else o, c, c] = 1.0
    return w


def add_branches(*branches: Tuple[Tensor, Optional[Tensor]]) -> WeightBias:
    """Sum parallel conv branches that share input, stride and groups into one conv.

    Each branch is ``(weight, bias or None)``; smaller kernels are zero-padded to the largest.
    Exact because convolution is linear in its kernel.
    """
    k = max(w.shape[-1] for w, _ in branches)
    weight = sum(pad_kernel(w, k) for w, _ in branches)
    bias = sum(b for _, b in branches if b is not None)
    if not torch.is_tensor(bias):
        bias = torch.zeros(weight.shape[0], dtype=weight.dtype, device=weight.device)
    return weight, bias


def fuse_linear_before(weight: Tensor, bias: Tensor, matrix: Tensor, shift: Tensor) -> WeightBias:
    """Fuse a per-pixel affine map ``y = matrix @ x + shift`` into the dense conv that follows it.

    The conv ``(weight, bias)`` must see ``y`` padded with ``shift`` at the border (what the
    upstream code calls bias padding), or equivalently ``x`` padded with zeros; the fused conv
    then takes ``x`` with ordinary zero padding.

    Args:
        weight: ``(C_out, C_mid, k, k)`` kernel of the conv, groups=1.
        bias: ``(C_out,)``.
        matrix: ``(C_mid, C_in)`` — a 1x1 conv's weight squeezed, or ``diag(scale)`` of a BN.
        shift: ``(C_mid,)``.

    Returns:
        ``(C_out, C_in, k, k)`` weight and ``(C_out,)`` bias.
    """
    fused_w = torch.einsum("omhw,mi->oihw", weight, matrix)
    fused_b = bias + torch.einsum("omhw,m->o", weight, shift)
    return fused_w, fused_b


def fuse_linear_after(weight: Tensor, bias: Tensor, matrix: Tensor, shift: Tensor) -> WeightBias:
    """Fuse a per-pixel affine map ``z = matrix @ y + shift`` applied after a dense conv.

    Args:
        weight: ``(C_mid, C_in, k, k)``; bias ``(C_mid,)``; matrix ``(C_out, C_mid)``; shift ``(C_out,)``.
    """
    fused_w = torch.einsum("om,mihw->oihw", matrix, weight)
    fused_b = matrix @ bias + shift
    return fused_w, fused_b


def bn_scale_shift(bn: nn.BatchNorm2d) -> Tuple[Tensor, Tensor]:
    """Eval-mode BatchNorm as ``y = scale * x + shift`` (per channel, using running statistics)."""
    std = torch.sqrt(bn.running_var.detach() + bn.eps)
    scale = bn.weight.detach() / std
    shift = bn.bias.detach() - bn.running_mean.detach() * scale
    return scale, shift


def fold_bn_after(weight: Tensor, bias: Tensor, bn: nn.BatchNorm2d) -> WeightBias:
    """Fold an eval-mode BatchNorm that follows a conv into that conv (exact)."""
    scale, shift = bn_scale_shift(bn)
    return weight * scale.view(-1, 1, 1, 1), bias * scale + shift


def fold_bn_before(weight: Tensor, bias: Tensor, bn: nn.BatchNorm2d) -> WeightBias:
    """Fold an eval-mode BatchNorm that precedes a dense conv whose input border is padded with
    the BN's bias (``beta - mean * gamma / std``), as FMEN's HFAB does; exact."""
    scale, shift = bn_scale_shift(bn)
    return fuse_linear_before(weight, bias, torch.diag(scale), shift)


def pad_with_values(x: Tensor, values: Tensor, pad: int = 1) -> Tensor:
    """Pad an NCHW tensor by ``pad`` pixels on every side with a per-channel constant.

    Args:
        x: ``(N, C, H, W)``; values: ``(C,)``.

    Returns:
        ``(N, C, H + 2*pad, W + 2*pad)``. Used by the training forms to reproduce the upstream
        bias-padding exactly (also in train mode, where BN uses batch statistics).
    """
    out = F.pad(x, (pad, pad, pad, pad))
    v = values.view(1, -1, 1, 1).to(out.dtype)
    out[:, :, :pad, :] = v
    out[:, :, -pad:, :] = v
    out[:, :, :, :pad] = v
    out[:, :, :, -pad:] = v
    return out


def make_conv(weight: Tensor, bias: Optional[Tensor], *, padding: int = 0, groups: int = 1,
              dilation: int = 1) -> nn.Conv2d:
    """Build an ``nn.Conv2d`` holding the given fused weight (and bias, if not None)."""
    out_ch, in_per_group, k, _ = weight.shape
    conv = nn.Conv2d(in_per_group * groups, out_ch, k, padding=padding, groups=groups,
                     dilation=dilation, bias=bias is not None)
    conv = conv.to(dtype=weight.dtype, device=weight.device)
    with torch.no_grad():
        conv.weight.copy_(weight)
        if bias is not None:
            conv.bias.copy_(bias)
    return conv


def load_conv_(conv: nn.Conv2d, weight: Tensor, bias: Optional[Tensor]) -> None:
    """Copy a fused ``weight`` (and ``bias``) into an existing conv of the right shape, in place."""
    with torch.no_grad():
        conv.weight.copy_(weight)
        if bias is not None:
            if conv.bias is None:
                raise ValueError("target conv has no bias but a fused bias was given")
            conv.bias.copy_(bias)
