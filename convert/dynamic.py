"""Dynamic-size TFLite artifacts: one ``.tflite`` file that takes any ``H x W`` LR image.

The fixed-size path (:class:`pocketsr.convert.tflite.TFLiteTarget` without ``dynamic``) traces the model
at one ``(1, H, W, 3)`` shape. Here the ``lr`` input is exported with symbolic ``H`` and ``W``
(``torch.export.Dim``), so the artifact's input shape signature is ``[1, -1, -1, 3]``; an app
calls ``interpreter.resize_tensor_input(...)`` + ``allocate_tensors()`` before invoking it at a
new size (see :class:`pocketsr.runtime.runners.TFLiteRunner`).

How litert-torch 0.10 really handles this, and why the model needs rewriting first:

* Convolution results are lowered with the *trace-time* shape (the symbolic sizes are replaced
  by their example values), so from the first convolution on, the graph is typed for the
  trace size. It still runs at other sizes because the LiteRT runtime re-derives every
  tensor's shape when the input is resized. That works for ops whose output shape follows
  from their inputs (CONV_2D, DEPTHWISE_CONV_2D, element-wise ops, CONCATENATION, MEAN over
  channels, ...) and breaks for ops that carry a shape as a constant (RESHAPE, SLICE).
* ``nn.PixelShuffle`` cannot be exported at all with symbolic sizes (``TypeError: Shapes must
  be 1D sequences of concrete values``). :class:`PixelShuffleAsConvTranspose` computes the
  same thing as one stride-``r`` transposed convolution (one TRANSPOSE_CONV op). Its
  ``output_shape`` operand is still the trace-time constant: the XNNPACK CPU delegate
  (the default in ai-edge-litert) ignores it and sizes the output from the input, the builtin
  reference kernel refuses a resized input at ``allocate_tensors`` (an error, never a wrong
  result). So dynamic artifacts need XNNPACK on CPU.
* ``nn.LayerNorm`` (LKDN-S ``pixel_norm``) is lowered to a RESHAPE that flattens ``H*W`` into
  a constant; :class:`LayerNormAsConv` takes the channel statistics with 1x1 convolutions
  instead.
* Ops applied to the still-symbolic input itself are lowered wrongly (LKDN-S's
  ``torch.cat([x] * 4, dim=1)`` gave a graph whose output did not depend on the input;
  element-wise ops fail in the JAX bridge). :class:`IdentityConvFront` puts an exact identity
  1x1 convolution first, so every other op sees a trace-shaped tensor.

:func:`dynamic_ready` applies all three rewrites; :func:`convert_dynamic` converts;
:func:`check_dynamic` runs the result at a size other than the trace size against PyTorch,
because the failure mode of this path is a silently frozen shape, not an exception.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .base import NamedIO

#: Side range (LR pixels) declared to ``torch.export``; the same range as ``--input-size``.
#: litert-torch does not write the range into the artifact: LiteRT will try any size.
MIN_SIDE, MAX_SIDE = 8, 4096
#: Size :func:`check_dynamic` runs at: odd on both axes and unlike any default trace size.
CHECK_SIZE = (37, 53)
#: Max-abs difference vs PyTorch (fp32, [0, 1] scale) above which :func:`check_dynamic` fails.
CHECK_MAX_ABS = 1e-3


class PixelShuffleAsConvTranspose(nn.Module):
    """Exact replacement of ``nn.PixelShuffle(r)`` that exports with symbolic ``H``, ``W``.

    Shapes: ``(N, C * r * r, H, W) -> (N, C, H * r, W * r)``, with
    ``out[n, c, h*r + i, w*r + j] = in[n, c*r*r + i*r + j, h, w]`` (PixelShuffle's layout).

    Computed as ``conv_transpose2d(x, weight, stride=r)`` with a ``r x r`` kernel and a fixed
    one-hot ``weight`` buffer of shape ``(C*r*r, C, r, r)``: ``weight[c*r*r + i*r + j, c, i, j]
    = 1``, every other entry 0. Kernel size equals stride, so the output blocks do not overlap
    and each output value is one input value times 1 plus products with 0: bit-exact for finite
    inputs (an inf/NaN input would spill NaN into the other channels of its block).

    Why: PixelShuffle's reshape needs concrete sizes and fails to export for dynamic ``H x W``;
    a transposed convolution does not. The weight is dense (``groups=1``) on purpose:
    litert-torch lowers a grouped transposed convolution into SLICE + one TRANSPOSE_CONV per
    group + CONCATENATION with the slice sizes fixed at trace time, and that artifact kept
    returning the trace-size output after a resize. The dense form costs ``C`` times the MACs
    of the grouped one (2304 per LR pixel for ``C=3, r=4``, small next to the conv before it).

    Args:
        upscale_factor: ``r``.
        out_channels: ``C`` (3 for an RGB head); the input must have ``C * r * r`` channels.
    """

    def __init__(self, upscale_factor: int, out_channels: int = 3):
        super().__init__()
        r, c = int(upscale_factor), int(out_channels)
        if r < 1 or c < 1:
            raise ValueError(f"need upscale_factor >= 1 and out_channels >= 1, got {r}, {c}")
        self.upscale_factor = r
        self.out_channels = c
        weight = torch.zeros(c * r * r, c, r, r)
        for ch in range(c):
            for i in range(r):
                for j in range(r):
                    weight[ch * r * r + i * r + j, ch, i, j] = 1.0
        self.register_buffer("weight", weight)

    def forward(self, x: Tensor) -> Tensor:
        return F.conv_transpose2d(x, self.weight.to(x.dtype), stride=self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}, out_channels={self.out_channels}"


class LayerNormAsConv(nn.Module):
    """``nn.LayerNorm(C)`` on a channels-last ``(N, H, W, C)`` tensor, statistics by 1x1 convs.

    Same function as the LayerNorm it is built from (mean and biased variance over the last
    axis, then ``eps``, weight, bias) up to float rounding: the means are computed as a 1x1
    convolution with weights ``1/C`` instead of ``sum / C``. Why: litert-torch lowers
    LayerNorm with a RESHAPE to ``(1, H*W, C)`` whose shape is a trace-time constant, which
    breaks a resized input; a convolution's output shape always follows its input.

    Shapes: ``(N, H, W, C) -> (N, H, W, C)``.
    """

    is_normalization = True  # kept float by static quantization (pocketsr.convert.quantize.normalization_scopes)

    def __init__(self, norm: nn.LayerNorm):
        super().__init__()
        if len(norm.normalized_shape) != 1:
            raise ValueError(f"only LayerNorm over one axis is supported, got {norm.normalized_shape}")
        c = norm.normalized_shape[0]
        self.eps = float(norm.eps)
        self.weight = norm.weight
        self.bias = norm.bias
        self.register_buffer("mean_kernel", torch.full((1, c, 1, 1), 1.0 / c))

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4:
            raise ValueError(f"LayerNormAsConv expects (N, H, W, C), got shape {tuple(x.shape)}")
        k = self.mean_kernel.to(x.dtype)
        xc = x.permute(0, 3, 1, 2)
        d = xc - F.conv2d(xc, k)
        y = (d * torch.rsqrt(F.conv2d(d * d, k) + self.eps)).permute(0, 2, 3, 1)
        if self.weight is not None:
            y = y * self.weight
        if self.bias is not None:
            y = y + self.bias
        return y


class IdentityConvFront(nn.Module):
    """``model(x)`` with an exact identity 1x1 convolution applied to ``x`` first.

    Shapes: as ``model`` (input ``(N, C, H, W)``). The identity kernel is ``eye(C)``, so each
    value is ``x * 1`` plus products with 0: bit-exact for finite inputs. Why: with a symbolic
    input, litert-torch mis-lowers ops that touch the input directly (see the module notes);
    after a convolution every tensor is typed with the trace-time shape and lowers like the
    fixed-size graph. Keeps ``model.scale`` visible.
    """

    def __init__(self, model: nn.Module, in_channels: int = 3):
        super().__init__()
        self.model = model
        self.register_buffer("eye", torch.eye(in_channels).reshape(in_channels, in_channels, 1, 1))
        if hasattr(model, "scale"):
            self.scale = model.scale

    def forward(self, x: Tensor) -> Tensor:
        return self.model(F.conv2d(x, self.eye.to(x.dtype)))


def _replace(root: nn.Module, name: str, new: nn.Module) -> None:
    parent, _, leaf = name.rpartition(".")
    setattr(root.get_submodule(parent) if parent else root, leaf, new)


def _pixel_shuffle_channels(model: nn.Module, names: List[str], in_channels: int) -> Dict[str, int]:
    """Input channel count of each named PixelShuffle, from one tiny forward pass."""
    seen: Dict[str, int] = {}
    hooks = [model.get_submodule(n).register_forward_pre_hook(
        lambda mod, args, n=n: seen.__setitem__(n, int(args[0].shape[1]))) for n in names]
    try:
        dtype = next((p.dtype for p in model.parameters()), torch.float32)
        with torch.inference_mode():
            model(torch.zeros(1, in_channels, MIN_SIDE, MIN_SIDE, dtype=dtype))
    finally:
        for h in hooks:
            h.remove()
    missing = [n for n in names if n not in seen]
    if missing:
        raise ValueError(f"PixelShuffle module(s) not reached by forward: {', '.join(missing)}")
    return seen


def dynamic_ready(model: nn.Module, in_channels: int = 3) -> nn.Module:
    """A copy of ``model`` (same function) that litert-torch can export for any ``H x W``.

    Every ``nn.PixelShuffle`` (searched recursively; LKDN-S ``body.upsampler.1``, FMEN-S
    ``body.tail.1``) becomes a :class:`PixelShuffleAsConvTranspose` (exact), every
    ``nn.LayerNorm`` a :class:`LayerNormAsConv` (float rounding; LKDN-S ``pixel_norm``), and the
    whole model is wrapped in :class:`IdentityConvFront` (exact). ``model`` is not modified.

    Args:
        model: eval-mode model, input ``(N, in_channels, H, W)``; for the TFLite target the
            deploy model with its pixel range folded.
        in_channels: channels of the model input (3: RGB).

    Returns:
        The rewritten copy, in eval mode, with ``scale`` copied from ``model`` if it has one.
    """
    ready = copy.deepcopy(model).eval()
    shuffles = [n for n, m in ready.named_modules() if isinstance(m, nn.PixelShuffle)]
    if shuffles:
        channels = _pixel_shuffle_channels(ready, shuffles, in_channels)
        for name in shuffles:
            r = ready.get_submodule(name).upscale_factor
            if channels[name] % (r * r):
                raise ValueError(f"{name}: {channels[name]} channels is not a multiple of {r * r}")
            _replace(ready, name, PixelShuffleAsConvTranspose(r, channels[name] // (r * r)))
    for name in [n for n, m in ready.named_modules() if isinstance(m, nn.LayerNorm)]:
        _replace(ready, name, LayerNormAsConv(ready.get_submodule(name)))
    return IdentityConvFront(ready, in_channels).eval()


def dynamic_shapes_spec(input_name: str = "lr", min_side: int = MIN_SIDE,
                        max_side: int = MAX_SIDE) -> Dict[str, Dict[int, object]]:
    """``dynamic_shapes`` for ``litert_torch.convert`` with the one kwarg input ``input_name``
    of shape ``(1, H, W, 3)`` (NHWC, as after ``to_channel_last_io``): ``H`` (axis 1) and ``W``
    (axis 2) symbolic and independent, each in ``[min_side, max_side]``; batch and channels
    stay fixed. The trace example must lie in the range (``torch.export`` checks it)."""
    from torch.export import Dim

    return {input_name: {1: Dim(f"{input_name}_height", min=min_side, max=max_side),
                         2: Dim(f"{input_name}_width", min=min_side, max=max_side)}}


def convert_dynamic(model: nn.Module, trace_size: Tuple[int, int], out_path: Path) -> Dict:
    """Convert ``model`` (NCHW ``(N, 3, H, W)`` in, ``(N, 3, sH, sW)`` out) to a dynamic-size
    fp32 ``.tflite`` at ``out_path``: signature ``serving_default``, input ``lr``
    ``[1, -1, -1, 3]`` NHWC, output ``sr``. ``trace_size`` is the example ``(H, W)`` used for
    tracing (any size in range; the graph's internal shapes are recorded at it).

    Returns:
        Details for the manifest (converter, signature, dynamic range, trace size).
    """
    import litert_torch

    h, w = trace_size
    if not (MIN_SIDE <= h <= MAX_SIDE and MIN_SIDE <= w <= MAX_SIDE):
        raise ValueError(f"trace size {h}x{w} outside {MIN_SIDE}..{MAX_SIDE}")
    nhwc = litert_torch.to_channel_last_io(dynamic_ready(model), args=[0], outputs=[0])
    edge = litert_torch.convert(NamedIO(nhwc).eval(), sample_args=(),
                                sample_kwargs={"lr": torch.rand(1, h, w, 3)},
                                dynamic_shapes=dynamic_shapes_spec("lr"))
    edge.export(str(out_path))
    return {"converter": "litert_torch.convert", "signature": "serving_default",
            "dynamic_size": True, "dynamic_range": [MIN_SIDE, MAX_SIDE], "traced_at": [h, w],
            "dynamic_rewrites": "PixelShuffle -> one-hot ConvTranspose2d (exact), LayerNorm -> "
                                "1x1-conv statistics, identity 1x1 conv on the input (exact)",
            "dynamic_runtime": "resize_tensor_input + allocate_tensors; needs the XNNPACK CPU "
                               "delegate (builtin TRANSPOSE_CONV rejects a resized input)"}


def check_dynamic(path: Path, model: nn.Module, size: Tuple[int, int] = CHECK_SIZE,
                  max_abs: float = CHECK_MAX_ABS) -> Dict:
    """Run the dynamic artifact at ``size`` against ``model`` in PyTorch (deterministic
    smooth input), so a shape frozen at trace time fails here and not in an app.

    Returns:
        ``{"size": [h, w], "max_abs": float}``.

    Raises:
        ValueError: wrong output shape or ``max_abs`` exceeded.
    """
    from pocketsr.runtime.runners import TFLiteRunner

    h, w = size
    yy, xx = np.meshgrid(np.linspace(0.0, 1.0, h), np.linspace(0.0, 1.0, w), indexing="ij")
    x = np.stack([yy, xx, 0.5 + 0.5 * np.sin(6.0 * (yy + xx))])[None].astype(np.float32)
    runner = TFLiteRunner(path, threads=1, scale=getattr(model, "scale", None))
    y = runner(x)
    with torch.inference_mode():
        ref = model.eval()(torch.from_numpy(x)).float().numpy()
    if y.shape != ref.shape:
        raise ValueError(f"dynamic artifact at {h}x{w}: output {y.shape}, expected {ref.shape}")
    err = float(np.abs(y - ref).max())
    if not err <= max_abs:
        raise ValueError(f"dynamic artifact at {h}x{w}: max-abs {err:.3g} vs PyTorch > {max_abs}")
    return {"size": [h, w], "max_abs": err}
