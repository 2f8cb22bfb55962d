"""Pixel shuffle as one TFLite ``DEPTH_TO_SPACE`` op (for GPU delegates).

Why: litert-torch 0.10 decomposes ``nn.PixelShuffle(r)`` into RESHAPE/TRANSPOSE chains that
fold the output channels into the batch axis (``[3, 4, 4, H*W]``, ``[3, 4, H, W*4]`` for
``r = 4``, 3 channels). The TFLite GPU delegate reads dim 0 of every tensor as the batch, and its
OpenGL ES backend refuses a graph whose tensors do not all share one batch size (see
:mod:`pocketsr.convert.analyzer`). TFLite has a builtin for the whole thing, ``DEPTH_TO_SPACE``,
which every GPU delegate backend runs, but no litert-torch lowering emits it.

Two facts make an exact replacement:

* Channel order. PyTorch's ``pixel_shuffle`` is CRD (column-row-depth from the inside out): output
  channel ``c`` at sub-pixel ``(i, j)`` reads input channel ``c*r*r + i*r + j``. TFLite's (and
  TensorFlow's) ``DEPTH_TO_SPACE`` is DCR: it reads ``(i*r + j)*C + c``. Reordering the output
  channels of the conv that feeds the shuffle (its weight rows and bias) by
  :func:`dcr_permutation` turns one into the other exactly: the same products are summed in
  the same order, only written to other channels.
* Lowering. :data:`depth_to_space` is a PyTorch custom op (``pocketsr::depth_to_space``, NHWC,
  DCR) with an eager implementation (so the rewritten model runs and is tested in PyTorch) and a
  litert-torch lowering (:func:`register_tflite_lowering`) that hands the converter a StableHLO
  ``custom_call`` named ``tfl.depth_to_space`` with its ``block_size`` attribute — the carrier
  the LiteRT converter turns into the TFLite builtin of that name (its ``tfl.``-prefixed custom
  call legalization, as litert-torch's own ``torch_tfl`` ops use). :class:`DepthToSpace` wraps
  it for NCHW models with the two layout permutes, which the converter folds into the
  surrounding NHWC graph (measured: ``CONV_2D -> DEPTH_TO_SPACE -> RELU_0_TO_1``, no TRANSPOSE).

:func:`pixel_shuffle_to_depth_to_space_` applies both to a model in place.
"""

from __future__ import annotations

from typing import List

import torch
from torch import Tensor, nn

#: The custom op's qualified name (``torch.ops.pocketsr.depth_to_space``).
OP_NAME = "pocketsr::depth_to_space"


def _d2s_shape(x: Tensor, block_size: int):
    if x.ndim != 4:
        raise ValueError(f"depth_to_space expects (N, H, W, C), got shape {tuple(x.shape)}")
    n, h, w, c = x.shape
    r = int(block_size)
    if r < 2 or c % (r * r):
        raise ValueError(f"depth_to_space: block_size {r} must be >= 2 and divide the {c} channels "
                         f"into r*r groups")
    return n, h, w, c, r


@torch.library.custom_op(OP_NAME, mutates_args=())
def depth_to_space(x: Tensor, block_size: int) -> Tensor:
    """TFLite ``DEPTH_TO_SPACE`` (DCR) on an NHWC tensor.

    Shapes: ``(N, H, W, r*r*C) -> (N, H*r, W*r, C)``, any float dtype,
    ``out[n, h*r + i, w*r + j, c] = x[n, h, w, (i*r + j)*C + c]`` with ``r = block_size``.

    Raises:
        ValueError: not 4-D, ``block_size < 2`` or channels not a multiple of ``r*r``.
    """
    n, h, w, c, r = _d2s_shape(x, block_size)
    return (x.reshape(n, h, w, r, r, c // (r * r)).permute(0, 1, 3, 2, 4, 5)
            .reshape(n, h * r, w * r, c // (r * r)).clone())


@depth_to_space.register_fake
def _depth_to_space_fake(x: Tensor, block_size: int) -> Tensor:
    n, h, w, c, r = _d2s_shape(x, block_size)
    return x.new_empty(n, h * r, w * r, c // (r * r))


def dcr_permutation(out_channels: int, upscale_factor: int) -> torch.Tensor:
    """Channel order that turns a pixel shuffle's CRD input into DEPTH_TO_SPACE's DCR input.

    Returns ``perm`` (int64, shape ``(C*r*r,)``) with ``perm[(i*r + j)*C + c] = c*r*r + i*r +
    j``: for a tensor ``x`` of ``C*r*r`` channels, ``depth_to_space(x[:, perm] in NHWC, r) ==
    pixel_shuffle(x, r)`` exactly; a conv whose weight rows and bias are indexed by ``perm``
    computes ``x[:, perm]``.

    Raises:
        ValueError: ``out_channels < 1`` or ``upscale_factor < 1``.
    """
    c, r = int(out_channels), int(upscale_factor)
    if c < 1 or r < 1:
        raise ValueError(f"need out_channels >= 1 and upscale_factor >= 1, got {c}, {r}")
    crd = torch.arange(c * r * r).reshape(c, r * r)  # crd[c, i*r + j] = c*r*r + i*r + j
    return crd.t().reshape(-1)  # position (i*r + j)*C + c holds crd[c, i*r + j]


class DepthToSpace(nn.Module):
    """``nn.PixelShuffle(r)``'s shapes with DEPTH_TO_SPACE's (DCR) channel order, on NCHW.

    Shapes: ``(N, r*r*C, H, W) -> (N, C, H*r, W*r)``, float,
    ``out[n, c, h*r + i, w*r + j] = x[n, (i*r + j)*C + c, h, w]``. Exactly
    ``pixel_shuffle(x[:, argsort(perm)], r)`` for ``perm = dcr_permutation(C, r)``; equal to
    the original ``PixelShuffle`` only when the producing conv's channels were reordered by
    ``perm`` (:func:`pixel_shuffle_to_depth_to_space_` does both). Converts to one TFLite
    ``DEPTH_TO_SPACE`` once :func:`register_tflite_lowering` has run.
    """

    def __init__(self, block_size: int):
        super().__init__()
        if int(block_size) < 2:
            raise ValueError(f"block_size must be >= 2, got {block_size}")
        self.block_size = int(block_size)

    def forward(self, x: Tensor) -> Tensor:
        y = torch.ops.pocketsr.depth_to_space(x.permute(0, 2, 3, 1), self.block_size)
        return y.permute(0, 3, 1, 2)

    def extra_repr(self) -> str:
        return f"block_size={self.block_size}"


def pixel_shuffle_to_depth_to_space_(model: nn.Module) -> List[str]:
    """Replace, in place, every ``nn.PixelShuffle`` that directly follows an ``nn.Conv2d`` in an
    ``nn.Sequential`` by :class:`DepthToSpace`, reordering that conv's output channels (weight
    and bias) by :func:`dcr_permutation`. Same function, bit for bit (no arithmetic changes).

    In pocketsr's deploy models that is LKDN-S ``body.upsampler.1`` (after ``upsampler.0``) and
    FMEN-S ``body.tail.1`` (after ``tail.0``).

    Returns:
        The module paths of the replaced shuffles (empty if there were none).

    Raises:
        ValueError: a pixel shuffle not fed by a conv in the same ``nn.Sequential`` (its input
            channels cannot be reordered here), or a conv whose channel count is not
            ``C * r * r``.
    """
    shuffles = [n for n, m in model.named_modules() if isinstance(m, nn.PixelShuffle)]
    done: List[str] = []
    for name in shuffles:
        parent_name, _, leaf = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        keys = list(parent._modules) if isinstance(parent, nn.Sequential) else []
        pos = keys.index(leaf) if leaf in keys else -1
        conv = parent._modules[keys[pos - 1]] if pos > 0 else None
        if not isinstance(conv, nn.Conv2d):
            raise ValueError(f"{name}: a pixel shuffle must directly follow an nn.Conv2d in an "
                             f"nn.Sequential to become DEPTH_TO_SPACE")
        r = parent._modules[leaf].upscale_factor
        if conv.out_channels % (r * r):
            raise ValueError(f"{name}: {conv.out_channels} conv channels is not a multiple of {r * r}")
        perm = dcr_permutation(conv.out_channels // (r * r), r).to(conv.weight.device)
        with torch.no_grad():
            conv.weight.copy_(conv.weight[perm])
            if conv.bias is not None:
                conv.bias.copy_(conv.bias[perm])
        parent._modules[leaf] = DepthToSpace(r)
        done.append(name)
    return done


_LOWERING_REGISTERED = False


def register_tflite_lowering() -> None:
    """Teach litert-torch (0.10) to lower ``pocketsr::depth_to_space`` to TFLite's
    ``DEPTH_TO_SPACE`` builtin. Idempotent; imports litert-torch (slow: loads TensorFlow)."""
    global _LOWERING_REGISTERED
    if _LOWERING_REGISTERED:
        return
    from litert_converter.mlir import ir
    from litert_converter.mlir.dialects import stablehlo
    from litert_torch.backend.lowerings import lower, utils

    def lowering(lctx, x, block_size: int):
        attrs = ir.DictAttr.get({"block_size": ir.IntegerAttr.get(ir.IntegerType.get_signless(32),
                                                                  int(block_size))})
        return stablehlo.custom_call(result=utils.node_meta_to_ir_types(lctx.node), inputs=[x],
                                     call_target_name=ir.StringAttr.get("tfl.depth_to_space"),
                                     has_side_effect=ir.BoolAttr.get(False),
                                     backend_config=ir.StringAttr.get(str(attrs)))

    lower(torch.ops.pocketsr.depth_to_space.default)(lowering)
    _LOWERING_REGISTERED = True
