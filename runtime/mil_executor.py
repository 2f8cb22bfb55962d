"""An executor for saved Core ML ML Programs (``.mlpackage``) that runs on Linux.

Core ML itself only runs on Apple platforms (``MLModel.predict`` raises "Model prediction is
only supported on macOS" elsewhere). To validate Core ML artifacts anywhere, this module
reads the **saved** package — the ML Program protobuf and its weight blob, exactly what a
phone loads — and computes the program op by op with PyTorch:

* every op is looked up in :data:`OPS`; an op type without an implementation raises
  :class:`UnsupportedOpError` naming it (never a silent skip);
* constants and weight-decompression ops (``constexpr_affine_dequantize``,
  ``constexpr_lut_to_dense``, ``constexpr_blockwise_shift_scale``) are decoded from the blob
  with this module's own unpacking, once per executor;
* **float16 is emulated**: an op's result is computed in float32 and rounded to float16 when the
  program types that tensor as fp16 (so overflow becomes ``inf`` as on device);
* an ``ImageType`` input receives the 8-bit pixel values (0..255) as Core ML delivers them; the
  program's own ops apply the input scale/bias (coremltools writes an image input's scale and
  bias into the program as ``mul``/``add`` ops for ML Programs);
* every op's largest ``|output|`` is tracked across runs (:meth:`MILExecutor.headroom`), the
  float16 headroom figure.

What this checks: the graph, op attributes, stored weights and their decompression, the
float16 rounding of every fp16-typed tensor. What it cannot check: Apple's kernels (e.g.
accumulation order or reduced-precision accumulation inside a conv on the GPU/Neural Engine),
op fusions Core ML applies at load time, and anything compute-unit specific.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from pocketsr.errors import ArtifactError

FP16_MAX = 65504.0
#: fail when an fp16 activation comes within this factor of FP16_MAX
HEADROOM_FACTOR = 2.0


class UnsupportedOpError(ArtifactError):
    """The program uses an op (or an op variant) this executor does not implement."""


# -- MIL data types ------------------------------------------------------------------------------

# MIL_pb2.DataType numbers (stable protobuf enum values)
_DTYPES = {
    1: ("bool", np.bool_, 1), 2: ("string", None, 0),
    10: ("fp16", np.float16, 16), 11: ("fp32", np.float32, 32), 12: ("fp64", np.float64, 64),
    13: ("bf16", None, 16),
    21: ("int8", np.int8, 8), 22: ("int16", np.int16, 16), 23: ("int32", np.int32, 32),
    24: ("int64", np.int64, 64), 25: ("int4", np.int8, 4),
    31: ("uint8", np.uint8, 8), 32: ("uint16", np.uint16, 16), 33: ("uint32", np.uint32, 32),
    34: ("uint64", np.uint64, 64), 35: ("uint4", np.uint8, 4), 36: ("uint2", np.uint8, 2),
    37: ("uint1", np.uint8, 1), 38: ("uint6", np.uint8, 6), 39: ("uint3", np.uint8, 3),
}
_BITS = {name: bits for name, _, bits in _DTYPES.values()}
_FLOAT_NAMES = {"fp16", "fp32", "fp64"}
_INT_RANGE = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767),
              "uint16": (0, 65535), "int32": (-2 ** 31, 2 ** 31 - 1), "int4": (-8, 7),
              "uint4": (0, 15)}


def _dtype_name(code: int) -> str:
    if code not in _DTYPES:
        raise UnsupportedOpError(f"unknown MIL data type {code}")
    return _DTYPES[code][0]


def _unpack_bits(packed: np.ndarray, nbits: int, count: int, signed: bool) -> np.ndarray:
    """Sub-byte values stored back to back, least significant bit first (the ML Program
    storage layout): element ``i`` is bits ``[i*nbits, (i+1)*nbits)`` of the byte stream."""
    bits = np.unpackbits(np.asarray(packed, dtype=np.uint8).reshape(-1), bitorder="little")
    if bits.size < count * nbits:
        raise ArtifactError(f"packed {nbits}-bit data holds {bits.size // nbits} values, expected {count}")
    bits = bits[: count * nbits].reshape(count, nbits).astype(np.int64)
    values = (bits << np.arange(nbits, dtype=np.int64)).sum(axis=1)
    if signed:
        values = np.where(values >= 1 << (nbits - 1), values - (1 << nbits), values)
    return values


class _Blobs:
    """Reads tensors from the package's weight blob(s) (``@model_path/weights/*.bin``)."""

    def __init__(self, weights_dir: Optional[Path]):
        self.weights_dir = Path(weights_dir) if weights_dir else None
        self._readers: Dict[str, object] = {}

    def read(self, file_name: str, offset: int, dtype: str, shape: Tuple[int, ...]) -> np.ndarray:
        from coremltools.libmilstoragepython import _BlobStorageReader

        if self.weights_dir is None:
            raise ArtifactError("program references a weight blob but the package has no weights folder")
        path = self.weights_dir / file_name.split("/")[-1]
        if str(path) not in self._readers:
            if not path.is_file():
                raise ArtifactError(f"weight blob missing: {path}")
            self._readers[str(path)] = _BlobStorageReader(str(path))
        reader = self._readers[str(path)]
        readers = {"fp16": "read_fp16_data", "fp32": "read_float_data", "int8": "read_int8_data",
                   "uint8": "read_uint8_data", "int16": "read_int16_data", "uint16": "read_uint16_data",
                   "int32": "read_int32_data", "uint32": "read_uint32_data", "int4": "read_int4_data",
                   "uint4": "read_uint4_data", "uint6": "read_uint6_data", "uint3": "read_uint3_data",
                   "uint2": "read_uint2_data", "uint1": "read_uint1_data"}
        if dtype not in readers:
            raise UnsupportedOpError(f"weight blob of type {dtype} not supported")
        raw = np.asarray(getattr(reader, readers[dtype])(offset))
        count = int(np.prod(shape)) if shape else 1
        if dtype == "fp16":
            raw = np.frombuffer(raw.astype(np.uint16).tobytes(), np.float16)
        nbits = _BITS[dtype]
        if nbits < 8 and raw.size != count:  # still packed
            raw = _unpack_bits(raw, nbits, count, dtype.startswith("int"))
        if raw.size != count:
            raise ArtifactError(f"blob {file_name}@{offset}: {raw.size} values of {dtype}, expected {count}")
        return raw.reshape(shape)


def _tensor_shape(value_type) -> Tuple[int, ...]:
    t = value_type.tensorType
    dims = []
    for d in t.dimensions:
        if d.WhichOneof("dimension") != "constant":
            raise UnsupportedOpError("symbolic (flexible) tensor dimensions are not supported")
        dims.append(int(d.constant.size))
    return tuple(dims)


def _decode_value(value, blobs: _Blobs):
    """A ``MIL_pb2.Value`` -> numpy array (scalars as 0-d arrays) or str / list of str."""
    kind = value.type.WhichOneof("type")
    if kind != "tensorType":
        raise UnsupportedOpError(f"constant of kind {kind} not supported")
    dtype = _dtype_name(value.type.tensorType.dataType)
    shape = _tensor_shape(value.type)
    count = int(np.prod(shape)) if shape else 1
    if value.WhichOneof("value") == "blobFileValue":
        return blobs.read(value.blobFileValue.fileName, int(value.blobFileValue.offset), dtype, shape)
    tv = value.immediateValue.tensor
    field = tv.WhichOneof("value")
    if dtype == "string":
        strings = list(tv.strings.values)
        return strings[0] if not shape else strings
    if field == "bytes":
        data = tv.bytes.values
        np_dtype = _DTYPES[value.type.tensorType.dataType][1]
        nbits = _DTYPES[value.type.tensorType.dataType][2]
        if nbits < 8:
            arr = _unpack_bits(np.frombuffer(data, np.uint8), nbits, count, dtype.startswith("int"))
        else:
            arr = np.frombuffer(data, np_dtype)
    elif field == "floats":
        arr = np.asarray(tv.floats.values, np.float32)
    elif field == "doubles":
        arr = np.asarray(tv.doubles.values, np.float64)
    elif field == "ints":
        arr = np.asarray(tv.ints.values, np.int64)
    elif field == "longInts":
        arr = np.asarray(tv.longInts.values, np.int64)
    elif field == "bools":
        arr = np.asarray(tv.bools.values, np.bool_)
    elif field is None and count == 0:
        arr = np.zeros(0)
    else:
        raise UnsupportedOpError(f"immediate value field {field} for {dtype} not supported")
    if arr.size == 1 and count != 1:
        arr = np.full(count, arr.reshape(-1)[0])
    if arr.size != count:
        raise ArtifactError(f"immediate value has {arr.size} elements, shape {shape} needs {count}")
    return arr.reshape(shape)


# -- runtime values ------------------------------------------------------------------------------

def _f(v) -> torch.Tensor:
    """A value as a float32 torch tensor."""
    if isinstance(v, torch.Tensor):
        return v.float()
    return torch.as_tensor(np.asarray(v, dtype=np.float32))


def _ints(v) -> List[int]:
    if isinstance(v, torch.Tensor):
        v = v.detach().cpu().numpy()
    return [int(x) for x in np.asarray(v).reshape(-1)]


def _int(v) -> int:
    return _ints(v)[0]


def _float(v) -> float:
    if isinstance(v, torch.Tensor):
        return float(v.reshape(-1)[0])
    return float(np.asarray(v).reshape(-1)[0])


def _bool(v) -> bool:
    if isinstance(v, torch.Tensor):
        return bool(v.reshape(-1)[0])
    return bool(np.asarray(v).reshape(-1)[0])


def _axis(axis: int, rank: int) -> int:
    return axis + rank if axis < 0 else axis


def _round_to(x: torch.Tensor, dtype: str) -> torch.Tensor:
    """Represent ``x`` as a value of MIL type ``dtype`` (kept as a float32/int64 torch tensor)."""
    if dtype == "fp16":
        return x.float().half().float()
    if dtype == "fp32":
        return x.float()
    if dtype in _INT_RANGE:
        lo, hi = _INT_RANGE[dtype]
        if hi - lo < 1 << 24:  # every value exact in float32: stay float (fast)
            return torch.round(x.float()).clamp_(lo, hi)
        return torch.round(x.double()).clamp(lo, hi).to(torch.int64)
    if dtype == "bool":
        return x.bool()
    return x


# -- op implementations --------------------------------------------------------------------------

OpFn = Callable[[Dict[str, object], "Op"], torch.Tensor]
OPS: Dict[str, OpFn] = {}


def op(*names: str):
    def register(fn: OpFn) -> OpFn:
        for n in names:
            OPS[n] = fn
        return fn
    return register


def _broadcast_axis(v: torch.Tensor, axis: int, rank: int) -> torch.Tensor:
    """A per-channel vector ``(C,)`` shaped to broadcast along ``axis`` of a rank-``rank`` tensor."""
    if v.dim() == 0 or v.numel() == 1:
        return v.reshape(())
    shape = [1] * rank
    shape[_axis(axis, rank)] = -1
    return v.reshape(shape)


@op("const")
def _const(a, o):
    return a["val"]


@op("constexpr_affine_dequantize")
def _affine_dequantize(a, o):
    q = _f(a["quantized_data"])
    axis = _int(a["axis"])
    zp = _broadcast_axis(_f(a["zero_point"]), axis, q.dim())
    scale = _broadcast_axis(_f(a["scale"]), axis, q.dim())
    return (q - zp) * scale


def _expand_blocks(v: torch.Tensor, shape: Sequence[int]) -> torch.Tensor:
    """Repeat each element of a block-wise parameter over its block (``shape[i] / v.shape[i]``)."""
    if v.dim() != len(shape):
        raise UnsupportedOpError(f"block-wise parameter of rank {v.dim()} for data of rank {len(shape)}")
    for i, (n, m) in enumerate(zip(shape, v.shape)):
        if n % m:
            raise ArtifactError(f"block size along axis {i}: {n} is not a multiple of {m}")
        v = v.repeat_interleave(n // m, dim=i)
    return v


@op("constexpr_blockwise_shift_scale")
def _blockwise_shift_scale(a, o):
    data = _f(a["data"])
    scale = _expand_blocks(_f(a["scale"]), data.shape)
    if "offset" in a:
        data = data - _expand_blocks(_f(a["offset"]), data.shape)
    return data * scale


@op("constexpr_lut_to_dense")
def _lut_to_dense(a, o):
    lut = _f(a["lut"])
    if "shape" in a:  # iOS16/17 form: one LUT for the tensor, indices packed as uint8 bytes
        shape = _ints(a["shape"])
        nbits = int(round(math.log2(lut.numel())))
        count = int(np.prod(shape))
        idx = np.asarray(a["indices"])
        if idx.size != count:
            idx = _unpack_bits(idx, nbits, count, signed=False)
        return lut.reshape(-1)[torch.as_tensor(idx.reshape(-1), dtype=torch.long)].reshape(shape)
    # iOS18 form: indices have the output shape; lut (*blocks, 2**n, vector_size)
    idx = torch.as_tensor(np.asarray(a["indices"]).astype(np.int64))
    if lut.shape[-1] != 1:
        raise UnsupportedOpError("constexpr_lut_to_dense with vector palettization (vector size "
                                 f"{lut.shape[-1]}) is not supported")
    table = lut[..., 0]  # (*blocks, 2**n)
    k = idx.dim()
    if table.dim() != k + 1:
        raise ArtifactError(f"lut rank {lut.dim()} does not fit indices of rank {k}")
    # gather each element's LUT: expand block tables to the full shape, then pick by index
    expanded = table
    for i in range(k):
        expanded = expanded.repeat_interleave(idx.shape[i] // table.shape[i], dim=i)
    return torch.gather(expanded, k, idx.unsqueeze(-1)).squeeze(-1)


def _pads(a, x: torch.Tensor, k: Sequence[int], strides: Sequence[int]) -> List[int]:
    """``[top, bottom, left, right]`` padding of a 2-D conv/pool op from its ``pad_type``
    ("valid", "custom" with ``pad``, "same", "same_lower"; MIL semantics)."""
    pad_type = str(a.get("pad_type", "valid")).lower()
    if pad_type == "valid":
        return [0, 0, 0, 0]
    if pad_type == "custom":
        return _ints(a["pad"])  # [top, bottom, left, right]
    if pad_type in ("same", "same_lower"):
        pads = []
        for i in range(2):
            n = x.shape[2 + i]
            total = max((math.ceil(n / strides[i]) - 1) * strides[i] + k[i] - n, 0)
            small, big = total // 2, total - total // 2
            pads += [big, small] if pad_type == "same_lower" else [small, big]
        return pads
    raise UnsupportedOpError(f"pad_type {pad_type!r} is not supported")


@op("max_pool")
def _max_pool(a, o):
    x = _f(a["x"])
    if x.dim() != 4:
        raise UnsupportedOpError(f"max_pool on rank {x.dim()} is not supported (2-D only)")
    k = _ints(a["kernel_sizes"])
    strides = _ints(a["strides"]) if "strides" in a else [1, 1]
    pads = _pads(a, x, k, strides)
    if any(pads):  # padded positions never win a max
        x = F.pad(x, (pads[2], pads[3], pads[0], pads[1]), value=float("-inf"))
    ceil = _bool(a["ceil_mode"]) if "ceil_mode" in a else False
    return F.max_pool2d(x, k, strides, ceil_mode=ceil)


def _bilinear(x: torch.Tensor, out_hw: Sequence[int], align_corners: bool, half_pixel: bool) -> torch.Tensor:
    """Bilinear resampling of the last two axes to ``out_hw`` on MIL's sampling grid: with
    ``align_corners`` point ``i`` samples ``i * (X_in - 1) / (X_out - 1)``; otherwise
    ``i * s + 0.5 * s - 0.5`` with ``s = X_in / X_out`` (half-pixel centres) or ``i * s``;
    clamped to ``[0, X_in - 1]``. Computed in float64 coordinates, float32 values."""
    out = x
    for axis, n_out in zip((-2, -1), out_hw):
        n_in = out.shape[axis]
        i = torch.arange(n_out, dtype=torch.float64)
        if align_corners:
            grid = i * ((n_in - 1) / (n_out - 1) if n_out > 1 else 0.0)
        else:
            step = n_in / n_out
            grid = i * step + (0.5 * step - 0.5 if half_pixel else 0.0)
        grid = grid.clamp(0, n_in - 1)
        lo = grid.floor().long()
        hi = (lo + 1).clamp(max=n_in - 1)
        w = (grid - lo).float()
        shape = [1] * out.dim()
        shape[axis] = n_out
        w = w.reshape(shape)
        out = out.index_select(axis, lo) * (1 - w) + out.index_select(axis, hi) * w
    return out


@op("upsample_bilinear")
def _upsample_bilinear(a, o):
    x = _f(a["x"])
    # output size floor(H * scale), as the program declares it (the scale is stored rounded)
    shape = o.output_shapes[0]
    if shape is None or any(not isinstance(d, int) or d < 0 for d in shape[-2:]):
        out_hw = [int(math.floor(x.shape[-2] * _float(a.get("scale_factor_height", 1.0)))),
                  int(math.floor(x.shape[-1] * _float(a.get("scale_factor_width", 1.0))))]
    else:
        out_hw = [int(d) for d in shape[-2:]]
    align = _bool(a["align_corners"]) if "align_corners" in a else True
    half = _bool(a["half_pixel_centers"]) if "half_pixel_centers" in a else not align
    return _bilinear(x, out_hw, align, half)


@op("upsample_nearest_neighbor")
def _upsample_nearest(a, o):
    x = _f(a["x"])
    # MIL: out[i] = in[floor(i / scale)] on each axis, output size floor(H * scale)
    out = x
    for axis, key in ((-2, "scale_factor_height"), (-1, "scale_factor_width")):
        scale = _float(a.get(key, 1))
        n_in = out.shape[axis]
        n_out = int(math.floor(n_in * scale))
        idx = torch.div(torch.arange(n_out, dtype=torch.float64), scale, rounding_mode="floor").long()
        out = out.index_select(axis, idx.clamp(max=n_in - 1))
    return out


@op("resize_bilinear")
def _resize_bilinear(a, o):
    x = _f(a["x"])
    out_hw = [_int(a.get("target_size_height", 1)), _int(a.get("target_size_width", 1))]
    mode = str(a.get("sampling_mode", "DEFAULT")).upper()
    if mode in ("STRICT_ALIGN_CORNERS", "ALIGN_CORNERS"):
        if mode == "ALIGN_CORNERS" and 1 in out_hw:
            raise UnsupportedOpError("resize_bilinear ALIGN_CORNERS to size 1 is not supported")
        return _bilinear(x, out_hw, True, False)
    if mode in ("UNALIGN_CORNERS", "DEFAULT"):
        return _bilinear(x, out_hw, False, mode == "UNALIGN_CORNERS")
    raise UnsupportedOpError(f"resize_bilinear sampling_mode {mode!r} is not supported")


@op("conv")
def _conv(a, o):
    x, w = _f(a["x"]), _f(a["weight"])
    spatial = x.dim() - 2
    if spatial != 2:
        raise UnsupportedOpError(f"conv with {spatial} spatial dims is not supported (2-D only)")
    strides = _ints(a["strides"]) if "strides" in a else [1, 1]
    dil = _ints(a["dilations"]) if "dilations" in a else [1, 1]
    groups = _int(a["groups"]) if "groups" in a else 1
    k = [(w.shape[2 + i] - 1) * dil[i] + 1 for i in range(2)]
    pads = _pads(a, x, k, strides)
    padding = (0, 0)
    if pads[0] == pads[1] and pads[2] == pads[3]:
        padding = (pads[0], pads[2])
    elif any(pads):
        x = F.pad(x, (pads[2], pads[3], pads[0], pads[1]))
    b = _f(a["bias"]) if "bias" in a else None
    return F.conv2d(x, w, b, stride=strides, padding=padding, dilation=dil, groups=groups)


def _binary(fn):
    return lambda a, o: fn(_f(a["x"]), _f(a["y"]))


OPS["add"] = _binary(torch.add)
OPS["sub"] = _binary(torch.sub)
OPS["mul"] = _binary(torch.mul)
OPS["real_div"] = _binary(torch.div)
OPS["maximum"] = _binary(torch.maximum)
OPS["minimum"] = _binary(torch.minimum)
OPS["pow"] = _binary(torch.pow)


@op("gelu")
def _gelu(a, o):
    mode = str(a.get("mode", "EXACT")).upper()
    x = _f(a["x"])
    if mode == "EXACT":
        return F.gelu(x)
    if mode == "TANH_APPROXIMATION":
        return F.gelu(x, approximate="tanh")
    if mode == "SIGMOID_APPROXIMATION":
        return x * torch.sigmoid(1.702 * x)
    raise UnsupportedOpError(f"gelu mode {mode!r} is not supported")


OPS["sigmoid"] = lambda a, o: torch.sigmoid(_f(a["x"]))
OPS["relu"] = lambda a, o: torch.relu(_f(a["x"]))
OPS["tanh"] = lambda a, o: torch.tanh(_f(a["x"]))
OPS["sqrt"] = lambda a, o: torch.sqrt(_f(a["x"]))
OPS["leaky_relu"] = lambda a, o: F.leaky_relu(_f(a["x"]), _float(a.get("alpha", 0.01)))


@op("prelu")
def _prelu(a, o):
    x, alpha = _f(a["x"]), _f(a["alpha"])
    return torch.where(x >= 0, x, x * _broadcast_axis(alpha, 1, x.dim()))  # alpha per channel (axis 1)


@op("rsqrt")
def _rsqrt(a, o):
    return torch.rsqrt(_f(a["x"]) + _float(a.get("epsilon", 1e-12)))


@op("clip")
def _clip(a, o):
    return _f(a["x"]).clamp(_float(a["alpha"]), _float(a["beta"]))


@op("concat")
def _concat(a, o):
    values = [_f(v) for v in a["values"]]
    axis = _axis(_int(a["axis"]), values[0].dim())
    if "interleave" in a and _bool(a["interleave"]):
        return torch.stack(values, dim=axis + 1).flatten(axis, axis + 1)
    return torch.cat(values, dim=axis)


@op("transpose")
def _transpose(a, o):
    return _f(a["x"]).permute(*_ints(a["perm"]))


@op("reshape")
def _reshape(a, o):
    return _f(a["x"]).reshape(_ints(a["shape"]))


@op("layer_norm")
def _layer_norm(a, o):
    x = _f(a["x"])
    axes = sorted(_axis(i, x.dim()) for i in _ints(a["axes"])) if "axes" in a else list(range(x.dim()))
    eps = _float(a.get("epsilon", 1e-5))
    mean = x.mean(dim=axes, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=axes, keepdim=True)
    y = (x - mean) / torch.sqrt(var + eps)
    shape = [x.shape[i] if i in axes else 1 for i in range(x.dim())]
    if "gamma" in a:
        y = y * _f(a["gamma"]).reshape(shape)
    if "beta" in a:
        y = y + _f(a["beta"]).reshape(shape)
    return y


@op("batch_norm")
def _batch_norm(a, o):
    x = _f(a["x"])  # channel axis 1 (MIL batch_norm)
    per_channel = lambda v: _f(v).reshape([1, -1] + [1] * (x.dim() - 2))  # noqa: E731
    y = (x - per_channel(a["mean"])) / torch.sqrt(per_channel(a["variance"]) + _float(a.get("epsilon", 1e-5)))
    if "gamma" in a:
        y = y * per_channel(a["gamma"])
    if "beta" in a:
        y = y + per_channel(a["beta"])
    return y


@op("reduce_mean")
def _reduce_mean(a, o):
    x = _f(a["x"])
    axes = [_axis(i, x.dim()) for i in _ints(a["axes"])] if "axes" in a else list(range(x.dim()))
    return x.mean(dim=axes, keepdim=_bool(a.get("keep_dims", False)))


@op("pixel_shuffle")
def _pixel_shuffle(a, o):
    return F.pixel_shuffle(_f(a["x"]), _int(a["upscale_factor"]))


@op("cast")
def _cast(a, o):
    # the rounding to the output type happens for every op (see MILExecutor.run); float->int
    # casts (truncation rules) never occur in pocketsr's fixed-shape graphs and are refused
    if o.output_types[0] not in _FLOAT_NAMES:
        raise UnsupportedOpError(f"cast to {o.output_types[0]} is not supported")
    return _f(a["x"])


def _affine_params(a, x: torch.Tensor) -> Tuple[torch.Tensor, object]:
    """``(scale, zero_point)`` of a quantize/dequantize op, broadcast along its ``axis``."""
    axis = _int(a["axis"]) if "axis" in a else 0
    scale = _broadcast_axis(_f(a["scale"]), axis, x.dim())
    zp = _broadcast_axis(_f(a["zero_point"]), axis, x.dim()) if "zero_point" in a else 0.0
    return scale, zp


@op("quantize")
def _quantize(a, o):
    x = _f(a["input"])
    scale, zp = _affine_params(a, x)
    # round half to even, then saturate to the output type (done by the output dtype rounding)
    return torch.round(x / scale) + zp


@op("dequantize")
def _dequantize(a, o):
    q = _f(a["input"])
    scale, zp = _affine_params(a, q)
    return (q - zp) * scale


# -- the program ---------------------------------------------------------------------------------

class Op:
    """One operation of the program: type, named inputs (names of values or decoded
    immediates), output names and their declared types."""

    def __init__(self, proto, blobs: _Blobs):
        self.type = proto.type
        self.inputs: Dict[str, object] = {}
        for key, arg in proto.inputs.items():
            bindings = []
            for b in arg.arguments:
                if b.WhichOneof("binding") == "name":
                    bindings.append(("ref", b.name))
                else:
                    bindings.append(("val", _decode_value(b.value, blobs)))
            self.inputs[key] = bindings
        self.attributes = {k: _decode_value(v, blobs) for k, v in proto.attributes.items() if k != "name"}
        self.outputs = [o.name for o in proto.outputs]
        self.output_types = []
        for o in proto.outputs:
            kind = o.type.WhichOneof("type")
            self.output_types.append(_dtype_name(o.type.tensorType.dataType) if kind == "tensorType" else kind)
        self.output_shapes = [_tensor_shape(o.type) if o.type.WhichOneof("type") == "tensorType" else None
                              for o in proto.outputs]
        self.name = self.outputs[0] if self.outputs else self.type
        self.constexpr = self.type == "const" or self.type.startswith("constexpr_")
        self.has_blocks = len(proto.blocks) > 0


class HeadroomStats:
    """Per-op largest ``|value|`` (and whether a non-finite value appeared) over several runs."""

    def __init__(self):
        self.max_abs: Dict[str, float] = {}
        self.nonfinite: Dict[str, bool] = {}
        self.runs = 0

    def track(self, name: str, out: torch.Tensor) -> None:
        if not out.numel():
            return
        lo, hi = torch.aminmax(out)  # one pass; nan propagates, inf shows as an extreme
        m = max(-float(lo), float(hi))
        if not math.isfinite(m):
            self.nonfinite[name] = True
            finite = out[torch.isfinite(out)]
            m = float(finite.abs().max()) if finite.numel() else 0.0
        if m > self.max_abs.get(name, -1.0):
            self.max_abs[name] = m


class MILExecutor:
    """Loads a saved ``.mlpackage`` and computes its ``main`` function with PyTorch.

    Args:
        path: the package folder.

    Attributes:
        inputs / outputs: ``[{"name", "kind" ("image" | "tensor"), "dtype", "shape", ...}]`` from
            the model description (an image input takes pixel values 0..255 as ``(1, C, H, W)``).
        ops: the program's operations in order; opset: e.g. ``CoreML7`` (iOS17).
        fp16: whether any op computes in float16.
        values: after ``run(..., keep=True)``, every op output by name.
    """

    def __init__(self, path: Path):
        import coremltools as ct

        self.path = Path(path)
        if not self.path.is_dir():
            raise ArtifactError(f"not an .mlpackage folder: {self.path}")
        try:
            model = ct.models.MLModel(str(self.path), skip_model_load=True)
            spec = model.get_spec()
        except Exception as exc:  # coremltools raises assorted errors for damaged packages
            raise ArtifactError(f"cannot read Core ML package {self.path}: {exc}") from None
        if spec.WhichOneof("Type") != "mlProgram":
            raise ArtifactError(f"{self.path.name} is not an ML Program ({spec.WhichOneof('Type')})")
        self.spec = spec
        self.metadata = dict(spec.description.metadata.userDefined)
        functions = spec.mlProgram.functions
        if "main" not in functions:
            raise ArtifactError(f"{self.path.name}: no 'main' function")
        fn = functions["main"]
        self.opset = fn.opset
        block = fn.block_specializations[fn.opset]
        blobs = _Blobs(Path(model.weights_dir) if model.weights_dir else None)
        self.ops = [Op(p, blobs) for p in block.operations]
        for o in self.ops:  # refuse unknown ops at load time, naming them
            if o.type not in OPS:
                raise UnsupportedOpError(f"MIL executor: unsupported op {o.type!r} (output {o.name!r})")
            if o.has_blocks:
                raise UnsupportedOpError(f"MIL executor: control-flow op {o.type!r} is not supported")
            if len(o.outputs) != 1:
                raise UnsupportedOpError(f"MIL executor: op {o.type!r} with {len(o.outputs)} outputs")
        self.block_outputs = list(block.outputs)
        self.program_inputs = {i.name: (_dtype_name(i.type.tensorType.dataType), _tensor_shape(i.type))
                               for i in fn.inputs}
        self.inputs = [self._describe(f) for f in spec.description.input]
        self.outputs = [self._describe(f) for f in spec.description.output]
        self.fp16 = any(t == "fp16" for o in self.ops if not o.constexpr for t in o.output_types)
        self.values: Dict[str, torch.Tensor] = {}
        # constants and weight decompression: computed once
        self._consts: Dict[str, object] = {}
        for o in self.ops:
            if o.constexpr:
                self._consts[o.name] = self._typed_const(self._compute(o, self._consts), o.output_types[0])
        self._last_use: Dict[str, int] = {}
        for i, o in enumerate(self.ops):
            for bindings in o.inputs.values():
                for kind, v in bindings:
                    if kind == "ref":
                        self._last_use[v] = i
        self.reset_headroom()

    def _describe(self, feature) -> Dict:
        kind = feature.type.WhichOneof("Type")
        if kind == "imageType":
            t = feature.type.imageType
            color = {10: "GRAYSCALE", 20: "RGB", 30: "BGR", 40: "GRAYSCALE_FLOAT16"}.get(t.colorSpace, str(t.colorSpace))
            return {"name": feature.name, "kind": "image", "color": color, "dtype": "uint8",
                    "shape": [1, 1 if color.startswith("GRAY") else 3, int(t.height), int(t.width)]}
        if kind == "multiArrayType":
            t = feature.type.multiArrayType
            dtype = {65568: "fp32", 65552: "fp16", 65600: "fp64", 131104: "int32"}.get(t.dataType, str(t.dataType))
            return {"name": feature.name, "kind": "tensor", "shape": [int(s) for s in t.shape], "dtype": dtype}
        raise ArtifactError(f"{self.path.name}: feature {feature.name} of type {kind} not supported")

    # -- headroom ------------------------------------------------------------------------------
    def reset_headroom(self) -> None:
        """Start a fresh :class:`HeadroomStats` for the following runs."""
        self.stats = HeadroomStats()

    def headroom(self, stats: Optional["HeadroomStats"] = None, top: Optional[int] = None) -> Dict:
        """Largest ``|activation|`` per op over the runs recorded in ``stats`` (default: the
        current :attr:`stats`), and the verdict.

        fp16-typed op outputs are gated: the program fails if one overflowed (``inf``/``nan``
        after rounding to float16) or reached ``FP16_MAX / HEADROOM_FACTOR``. Programs without
        float16 report their figures with ``checked: false``. ``per_op`` lists every computed op
        in graph order as ``[name, type, max_abs]`` (``top``: only the ``top`` largest, largest
        first).
        """
        stats = stats or self.stats
        per_op = [(o.name, o.type, o.output_types[0], stats.max_abs[o.name], stats.nonfinite.get(o.name, False))
                  for o in self.ops if o.name in stats.max_abs]
        gated = [p for p in per_op if p[2] == "fp16"] if self.fp16 else per_op
        worst = max(gated, key=lambda p: (p[4], p[3]), default=None)
        limit = FP16_MAX / HEADROOM_FACTOR
        overflow = [p[0] for p in gated if p[4]]
        near = [p[0] for p in gated if not p[4] and p[3] >= limit]
        listed = sorted(per_op, key=lambda p: -p[3])[:top] if top else per_op
        return {
            "checked": self.fp16, "runs": stats.runs, "fp16_max": FP16_MAX, "limit": limit,
            "max_abs": worst[3] if worst else None, "max_op": worst[0] if worst else None,
            "max_op_type": worst[1] if worst else None,
            "ratio_to_fp16_max": worst[3] / FP16_MAX if worst else None,
            "overflow_ops": overflow, "near_overflow_ops": near,
            "passed": not (self.fp16 and (overflow or near)),
            "per_op": [[p[0], p[1], p[3]] for p in listed],
        }

    # -- running -------------------------------------------------------------------------------
    @staticmethod
    def _compute(o: Op, env: Dict[str, object]):
        args: Dict[str, object] = {}
        for key, bindings in o.inputs.items():
            vals = []
            for kind, v in bindings:
                if kind == "val":
                    vals.append(v)
                elif v in env:
                    vals.append(env[v])
                else:
                    raise ArtifactError(f"MIL executor: {o.type} ({o.name}) reads {v!r} before it is defined")
            args[key] = vals if key == "values" or len(vals) > 1 else vals[0]
        args.update(o.attributes)
        try:
            return OPS[o.type](args, o)
        except (UnsupportedOpError, ArtifactError):
            raise
        except Exception as exc:
            raise ArtifactError(f"MIL executor: op {o.type} ({o.name}) failed: {exc}") from exc

    @staticmethod
    def _typed_const(value, dtype: str):
        if isinstance(value, (str, list)):
            return value
        if dtype in _FLOAT_NAMES:
            return _round_to(_f(value), dtype)
        return value

    def run(self, feeds: Dict[str, np.ndarray], keep: bool = False,
            on_op: Optional[Callable[[Op, torch.Tensor], None]] = None) -> Dict[str, np.ndarray]:
        """Compute the program on ``feeds`` (numpy arrays by program input name; an image input
        gets its pixel values 0..255 as ``(1, C, H, W)``). Returns the outputs as float32 numpy.

        ``keep=True`` keeps every intermediate in :attr:`values`; otherwise a value is dropped
        after its last use. ``on_op(op, value)`` is called for every computed op.
        """
        env: Dict[str, object] = dict(self._consts)
        for name, (dtype, shape) in self.program_inputs.items():
            if name not in feeds:
                raise ArtifactError(f"missing input {name!r}")
            x = torch.as_tensor(np.asarray(feeds[name], dtype=np.float32))
            if tuple(x.shape) != tuple(shape):
                raise ArtifactError(f"input {name!r}: shape {tuple(x.shape)}, program expects {shape}")
            env[name] = _round_to(x, dtype)
        keep_names = set(self.block_outputs)
        kept: Dict[str, torch.Tensor] = {}
        for i, o in enumerate(self.ops):
            if o.constexpr:
                continue
            out = _round_to(_f(self._compute(o, env)), o.output_types[0])
            shape = o.output_shapes[0]
            if shape is not None and tuple(out.shape) != tuple(shape):
                raise ArtifactError(f"MIL executor: {o.type} ({o.name}) gave shape {tuple(out.shape)}, "
                                    f"the program declares {shape}")
            if o.output_types[0] in _FLOAT_NAMES:
                self.stats.track(o.name, out)
            env[o.name] = out
            if on_op:
                on_op(o, out)
            if keep:
                kept[o.name] = out
                continue
            for bindings in o.inputs.values():
                for kind, v in bindings:
                    if (kind == "ref" and self._last_use.get(v) == i and v not in keep_names
                            and v not in self._consts):
                        env.pop(v, None)
        self.stats.runs += 1
        if keep:
            self.values = kept
        return {name: _f(env[name]).numpy().astype(np.float32) for name in self.block_outputs}

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """One input, one output: feed ``x`` to the input, return the output (program values)."""
        if len(self.program_inputs) != 1 or len(self.block_outputs) != 1:
            raise ArtifactError(f"{self.path.name}: expected one input and one output")
        return self.run({next(iter(self.program_inputs)): x})[self.block_outputs[0]]
