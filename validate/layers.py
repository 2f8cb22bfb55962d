"""Per-layer divergence report: *where* a TFLite artifact departs from the PyTorch model.

:func:`layer_report` runs the artifact with every intermediate tensor preserved and the PyTorch
reference on the same real images, pairs TFLite tensors with the PyTorch values they stand for,
and measures the error of each pair. :func:`layer_table` renders the result for the terminal.

How TFLite tensors are paired with PyTorch values
-------------------------------------------------
litert-torch names every op output after the PyTorch *module scope* the op was traced in. A
name is a ``;``-separated list of MLIR locations; the first one is the op's own scope, e.g.::

    pocketsr.convert.base.NamedIO/litert_torch._convert.to_channel_last_io.ChannelLastIOWrapper_model/
    pocketsr.mobile_models.srnet.SRNet_wrapped/mobile_models.lkdn.LKDNet_body/mobile_models.lkdn.LKDB_B1/
    pocketsr.mobile_models.lkdn.BSConvU_c1_r/torch.nn.modules.conv.Conv2d_dw;2

Each segment is ``<module class path>_<attribute name>``, so attribute names (``B1``, ``c1_r``,
``dw``, ``ERBs`` -> ``ERB_0``) are present. Ops of functional code (``F.leaky_relu``, ``x * a``,
``torch.cat``) carry the scope of the module whose ``forward`` called them; ops without a
location (the final clamp, its transpose) belong to the root model. The trailing ``;N`` only
makes names unique and is not a call counter. ai-edge-quantizer keeps these names and adds
``_quantized`` / ``_dequant`` suffixes to the ops it inserts.

1. *Scope.* The first location is split at ``/``; the segment of the reference model's class
   (``SRNet_...``) is the root, and each following segment is resolved against
   ``named_children()`` (class name and attribute must both agree). ``nn.ModuleList`` items
   appear without their list's segment (FMEN-S: ``FMENet_body/ERB_0`` is ``body.ERBs.0``), so
   list items are searched too. The result is a dotted module path (``body.B1.c1_r.dw``,
   ``""`` = root). Unresolvable or ambiguous names stay unmatched.
2. *PyTorch side.* One forward pass of the reference records every tensor-valued torch
   function call (``conv2d``, ``gelu``, ``leaky_relu``, ``mul``, ``cat``, ``layer_norm``,
   ``clamp`` ...; pure view/layout calls like ``permute`` are skipped) with the module scope it
   ran in (tracked with forward pre-/post-hooks) and its NCHW shape. Forward hooks also note
   which module outputs each recorded value is (e.g. the ``conv2d`` in ``B1.c1_r.dw`` is the
   output of ``B1.c1_r.dw`` and of ``B1.c1_r``).
3. *Op pairing.* Compute ops (everything but TRANSPOSE/RESHAPE/QUANTIZE/DEQUANTIZE/...) are
   grouped by (scope, kind), kinds normalised on both sides (CONV_2D and DEPTHWISE_CONV_2D ->
   ``conv2d``, LOGISTIC -> ``sigmoid``, CONCATENATION -> ``cat``, RELU_0_TO_1 -> ``clamp``).
   Within a group the k-th PyTorch call pairs with the next TFLite op, in execution order,
   whose shape is compatible: identical, or the NHWC transpose of the NCHW PyTorch shape.
4. *Decomposed calls.* A PyTorch call whose kind has no TFLite op in its scope (``layer_norm``
   -> MEAN/RSQRT/..., ``pixel_shuffle`` -> RESHAPE/TRANSPOSE) pairs with the *last* still
   unpaired, shape-compatible tensor of that exact scope (its final result).
5. *Copies.* A QUANTIZE applied to a paired value (a float op's result quantized for the next
   int8 op, or an int8 requantization before a concatenation) adds its own row: it is the same
   value plus one more rounding. Layout-only copies get no row.
6. *Quantized input.* If the artifact's input is int8/int16, the quantized input is a row too,
   compared with the float image.
7. *Own error.* Each stats pass also runs a shadow of every torch call on the artifact's own
   values of its inputs (weights stay float): the value of a paired tensor is substituted
   for the torch value it stands for. The artifact's output against this shadow is the error
   the op adds by itself (``local_snr_db``), free of the error it inherits.

Tensors left over are counted as ``unmatched``; with ``proxy=<fp32 artifact>`` those that are
outputs of compute ops are compared with the same-named tensor of the fp32 artifact instead,
and their rows say ``"reference": "fp32-artifact"`` (a proxy: the fp32 artifact itself matches
PyTorch to >100 dB). ai-edge-quantizer's ``model_validator.compare_model`` does a name-based
float-vs-quantized TFLite comparison too, but never reaches PyTorch, so it is not used here.

Units: tensors are compared as float32 values after dequantization
(``(q - zero_point) * scale``), sums accumulated over all images. ``snr_db = 10 log10(sum ref^2 / sum err^2)``; ``psnr_db`` uses the
peak ``max |ref|`` of that tensor; ``max_abs`` / ``mean_abs`` are in the tensor's own units
(the model works on [0, 1] images, see :meth:`pocketsr.mobile_models.SRNet.fold_pixel_range`).
"""

from __future__ import annotations

import math
import re
import warnings
import weakref
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_map

from pocketsr.errors import ArtifactError, InputError
from pocketsr.quiet import quiet_native

from pocketsr.runtime.runners import _litert_interpreter

JUMP_DB = 6.0
"""A row is a divergence jump when it loses at least this many dB of SNR relative to its inputs
(error amplitude doubled) and its own error explains the loss (see :func:`layer_report`)."""

OWN_SHARE_DB = 3.0
"""Own error "explains" a row's error when ``local_snr_db <= snr_db + OWN_SHARE_DB``, i.e. at
least half of the error power at that row is added by the op itself."""

INPUT_TOLERANCE = 1.0 / 255.0
"""A quantized graph input whose worst error is within one 8-bit step is exact enough for 8-bit
photographs and is never reported as a jump."""

CEILING_DB = 60.0
"""SNR above which a tensor counts as exact: drops among values this accurate are ignored
(fp32 rounding noise shows as 100-150 dB, fp16 storage as 70-90 dB)."""

# Ops that copy a value: only layout, or only (re)quantization of the same value.
_COPY_OPS = {"TRANSPOSE", "RESHAPE", "SQUEEZE", "EXPAND_DIMS", "QUANTIZE", "DEQUANTIZE", "CAST"}

_TFL_KIND = {
    "CONV_2D": "conv2d", "DEPTHWISE_CONV_2D": "conv2d", "TRANSPOSE_CONV": "convtranspose2d",
    "FULLY_CONNECTED": "linear", "LOGISTIC": "sigmoid", "CONCATENATION": "cat",
    "RELU_0_TO_1": "clamp", "RELU_N1_TO_1": "clamp", "MINIMUM": "clamp", "MAXIMUM": "clamp",
    "DEPTH_TO_SPACE": "pixelshuffle", "PADV2": "pad",
}
_TORCH_ALIAS = {
    "truediv": "div", "concat": "cat", "concatenate": "cat", "clip": "clamp", "clampmin": "clamp",
    "clampmax": "clamp", "hardtanh": "clamp", "iadd": "add", "radd": "add", "imul": "mul",
    "rmul": "mul", "isub": "sub", "rsub": "sub", "idiv": "div", "rtruediv": "div",
}
# Torch calls that only view/reshape/copy a tensor (no new values) are not recorded.
_TORCH_SKIP = {
    "permute", "reshape", "view", "viewas", "flatten", "unflatten", "contiguous", "transpose",
    "t", "squeeze", "unsqueeze", "expand", "expandas", "getitem", "get", "set", "detach",
    "clone", "to", "float", "half", "double", "type", "typeas", "split", "chunk", "unbind",
    "narrow", "select", "movedim", "requiresgrad", "cpu",
}


def _norm(name: str) -> str:
    return name.strip("_").replace("_", "").lower()


def _tfl_kind(op: str) -> str:
    return _TFL_KIND.get(op, _norm(op))


def _torch_kind(func) -> Tuple[str, str]:
    name = getattr(func, "__name__", str(func))
    kind = _norm(name)
    return _TORCH_ALIAS.get(kind, kind), name.strip("_")


def _layout(torch_shape: Tuple[int, ...], tfl_shape: Tuple[int, ...]) -> Optional[str]:
    """How a TFLite tensor of ``tfl_shape`` holds a PyTorch value of ``torch_shape``:
    ``"same"``, ``"nhwc"`` (PyTorch NCHW transposed) or ``None`` (incompatible)."""
    if tuple(tfl_shape) == tuple(torch_shape):
        return "same"
    if len(torch_shape) == 4:
        n, c, h, w = torch_shape
        if tuple(tfl_shape) == (n, h, w, c):
            return "nhwc"
    return None


# --------------------------------------------------------------------------- TFLite side

@dataclass
class _Tensor:
    index: int                 # TFLite tensor index
    pos: int                   # position of the producing op in execution order (-1: input)
    op: str                    # producing op ("INPUT" for the graph input)
    inputs: Tuple[int, ...]    # activation tensors the producing op reads
    name: str
    scope: Optional[str]       # resolved torch module path, None if unresolvable
    shape: Tuple[int, ...]
    dtype: str
    scales: Optional[np.ndarray]
    zero_points: Optional[np.ndarray]
    qdim: int


def _primary_location(name: str) -> str:
    return name.split(";", 1)[0]


def _names_segment(segment: str, attr: str, child: torch.nn.Module) -> bool:
    cls = type(child)
    short = f"{cls.__name__}_{attr}"
    return (segment == f"{cls.__module__}.{cls.__qualname__}_{attr}" or segment == short
            or segment.endswith("." + short))


def _child_for(module: torch.nn.Module, segment: str) -> Optional[Tuple[str, torch.nn.Module]]:
    """The child of ``module`` that a name segment ``<pkg.Class>_<attr>`` denotes, if any.

    ``nn.ModuleList`` / ``nn.ModuleDict`` are never called, so they leave no segment: their
    items are looked up too (``ERB_0`` -> ``ERBs.0``). Ambiguous matches resolve to None.
    """
    direct = [(a, c) for a, c in module.named_children() if _names_segment(segment, a, c)]
    if direct:
        return max(direct, key=lambda ac: len(ac[0]))
    nested = [(f"{a}.{i}", c) for a, lst in module.named_children()
              if isinstance(lst, (torch.nn.ModuleList, torch.nn.ModuleDict))
              for i, c in lst.named_children() if _names_segment(segment, i, c)]
    return nested[0] if len(nested) == 1 else None


def _resolve_scope(name: str, model: torch.nn.Module) -> Optional[str]:
    """Dotted torch module path of a TFLite tensor name's own scope ("" = root, None = unknown)."""
    primary = _primary_location(name)
    if not primary or primary.startswith("serving_default_"):
        # ops without a location (final clamp / layout) belong to the root model; so does the
        # signature output when the last op writes it directly (the final clamp after
        # DEPTH_TO_SPACE, with no layout TRANSPOSE behind it)
        return ""
    segments = primary.split("/")
    root = type(model).__name__ + "_"
    start = next((i for i, s in enumerate(segments) if s.rsplit(".", 1)[-1].startswith(root)), None)
    if start is None:  # converted without the wrapper class: look for a direct child instead
        start = next((i - 1 for i, s in enumerate(segments) if _child_for(model, s)), None)
        if start is None:
            return None
    module, path = model, []
    for seg in segments[start + 1:]:
        found = _child_for(module, seg)
        if found is None:
            break
        path.append(found[0])
        module = found[1]
    return ".".join(path)


def short_name(name: str) -> str:
    """Readable TFLite tensor name: the op's own scope with package prefixes and the converter
    wrappers dropped (``LKDB_B1/BSConvU_c1_r/Conv2d_dw;2``)."""
    primary = _primary_location(name)
    tail = name.rsplit(";", 1)[-1] if ";" in name else ""
    segs = [s.rsplit(".", 1)[-1] for s in primary.split("/")] if primary else []
    for i, s in enumerate(segs):  # drop NamedIO / ChannelLastIOWrapper / SRNet wrappers
        if s.startswith("SRNet_"):
            segs = segs[i + 1:]
            break
    text = "/".join(segs) or "(model)"
    return f"{text};{tail}" if tail else text


def _graph(interp, model: torch.nn.Module) -> Tuple[Dict[int, _Tensor], List[int]]:
    """Activation tensors (those computed from the graph input) in execution order."""
    if not hasattr(interp, "_get_ops_details"):
        raise ArtifactError("this LiteRT interpreter does not expose its op list (_get_ops_details)")
    details = {d["index"]: d for d in interp.get_tensor_details()}
    # With a delegate, the delegate's own nodes are appended after the model's ops; the model
    # ops keep their (topologically sorted) execution order.
    ops = [op for op in interp._get_ops_details() if op["op_name"] != "DELEGATE"]
    tensors: Dict[int, _Tensor] = {}
    order: List[int] = []

    def add(index: int, pos: int, op: str, inputs: Tuple[int, ...]) -> None:
        d = details[index]
        q = d.get("quantization_parameters") or {}
        scales = np.asarray(q.get("scales", []), np.float64)
        zps = np.asarray(q.get("zero_points", []), np.float64)
        quantized = scales.size > 0 and np.dtype(d["dtype"]).kind in "iu"
        tensors[index] = _Tensor(index, pos, op, inputs, d["name"], _resolve_scope(d["name"], model),
                                 tuple(int(s) for s in d["shape"]), np.dtype(d["dtype"]).name,
                                 scales if quantized else None, zps if quantized else None,
                                 int(q.get("quantized_dimension", 0)))
        order.append(index)

    for inp in interp.get_input_details():
        add(inp["index"], -1, "INPUT", ())
    for pos, op in enumerate(ops):
        ins = tuple(int(i) for i in op["inputs"] if int(i) in tensors)
        if not ins:
            continue  # constant-only op (e.g. weight DEQUANTIZE): not an activation
        for o in op["outputs"]:
            add(int(o), pos, op["op_name"], ins)
    return tensors, order


def _dequantize(a: np.ndarray, t: _Tensor) -> np.ndarray:
    """float32 value of a tensor: ``(q - zero_point) * scale`` for int8/int16 tensors."""
    x = a.astype(np.float32)
    if t.scales is None:
        return x
    if t.scales.size == 1:
        return (x - np.float32(t.zero_points[0])) * np.float32(t.scales[0])
    shape = [1] * x.ndim
    shape[t.qdim] = -1
    return ((x - t.zero_points.reshape(shape)) * t.scales.reshape(shape)).astype(np.float32)


# --------------------------------------------------------------------------- torch side

@dataclass
class _Record:
    index: int
    scope: str                 # module path the call ran in ("" = root)
    kind: str                  # normalised function kind
    func: str                  # function name as called
    shape: Tuple[int, ...]     # NCHW (as PyTorch returned it)
    outputs_of: List[str] = field(default_factory=list)  # modules whose output this value is


class _Recorder(TorchFunctionMode):
    """Records tensor-valued torch function calls with the module scope they run in.

    With ``substitute`` (stats passes) it also runs a *shadow* of every call: the same function
    on the artifact's values of its tensor arguments where known (weights stay float), which
    is what this op alone would give on the artifact's inputs. ``substitute(i, out, shadow)``
    is called for every recorded call and returns the artifact's value of ``out`` (torch
    layout) to propagate, or None to propagate the shadow.
    """

    def __init__(self, substitute: Optional[Callable] = None):
        super().__init__()
        self.scope = [""]
        self.records: List[_Record] = []
        self._refs: List[weakref.ref] = []
        self.substitute = substitute
        self.shadow: Dict[int, torch.Tensor] = {}

    def set_shadow(self, tensor: torch.Tensor, value: torch.Tensor) -> None:
        key = id(tensor)
        self.shadow[key] = value
        weakref.finalize(tensor, self.shadow.pop, key, None)  # ids are reused after free

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if not isinstance(out, torch.Tensor) or out.dim() < 1:
            return out
        shadow_out = None
        if self.substitute is not None:
            found = []

            def sub(a):
                if isinstance(a, torch.Tensor) and id(a) in self.shadow:
                    found.append(True)
                    return self.shadow[id(a)]
                return a

            sargs, skwargs = tree_map(sub, (args, kwargs))
            shadow_out = func(*sargs, **skwargs) if found else out
        kind, fname = _torch_kind(func)
        replacement = None
        if kind not in _TORCH_SKIP:
            i = len(self.records)
            self.records.append(_Record(i, self.scope[-1], kind, fname, tuple(out.shape)))
            self._refs.append(weakref.ref(out))
            if self.substitute is not None:
                replacement = self.substitute(i, out, shadow_out)
        if replacement is not None:
            self.set_shadow(out, replacement)
        elif shadow_out is not None and shadow_out is not out:
            self.set_shadow(out, shadow_out)
        return out

    def find(self, tensor: torch.Tensor) -> Optional[int]:
        for i in range(len(self._refs) - 1, -1, -1):
            if self._refs[i]() is tensor:
                return i
        return None


def _run_torch(model: torch.nn.Module, x: np.ndarray, substitute: Optional[Callable] = None,
               x_shadow: Optional[np.ndarray] = None) -> List[_Record]:
    """One forward pass of ``x`` ``(1, 3, H, W)``; returns the recorded calls. ``x_shadow``:
    the artifact's view of the input (the dequantized int8 input), for the shadow pass."""
    rec = _Recorder(substitute)
    handles = []
    for path, module in model.named_modules():
        def pre(mod, args, path=path):
            rec.scope.append(path)

        def post(mod, args, out, path=path):
            rec.scope.pop()
            if isinstance(out, torch.Tensor):
                i = rec.find(out)
                if i is not None:
                    rec.records[i].outputs_of.append(path)

        handles.append(module.register_forward_pre_hook(pre))
        handles.append(module.register_forward_hook(post))
    try:
        dtype = next(model.parameters()).dtype
        xt = torch.from_numpy(x).to(dtype)
        if substitute is not None:
            rec.set_shadow(xt, torch.from_numpy(x if x_shadow is None else x_shadow).to(dtype))
        with torch.inference_mode(), rec:
            model(xt)
    finally:
        for h in handles:
            h.remove()
    return rec.records


# --------------------------------------------------------------------------- matching

@dataclass
class _Row:
    tensor: _Tensor
    record: Optional[_Record]   # None: graph input row or proxy row
    layout: str
    how: str                    # "op", "decomposed", "quantize copy", "input", "proxy"
    reference: str = "torch"
    proxy_index: Optional[int] = None
    inputs: List[int] = field(default_factory=list)
    source: Optional[int] = None  # quantize copies: tensor index of the row they copy
    acc: Optional["_Acc"] = None    # vs PyTorch (accumulated error)
    local: Optional["_Acc"] = None  # vs the torch op on the artifact's own inputs


def _match(records: List[_Record], tensors: Dict[int, _Tensor], order: List[int]) -> Dict[int, _Row]:
    """TFLite tensor index -> row (see the module docstring, steps 3-5)."""
    rows: Dict[int, _Row] = {}
    compute = [tensors[i] for i in order if tensors[i].op not in _COPY_OPS and tensors[i].op != "INPUT"]
    groups: Dict[Tuple[str, str], List[_Tensor]] = defaultdict(list)
    for t in compute:
        if t.scope is not None:
            groups[(t.scope, _tfl_kind(t.op))].append(t)
    # 3. same scope, same kind, in order, shape-compatible
    paired = set()
    by_key: Dict[Tuple[str, str], List[_Record]] = defaultdict(list)
    for r in records:
        by_key[(r.scope, r.kind)].append(r)
    for key, recs in by_key.items():
        cands, j = groups.get(key, []), 0
        for r in recs:
            k = j
            while k < len(cands) and _layout(r.shape, cands[k].shape) is None:
                k += 1
            if k < len(cands):
                rows[cands[k].index] = _Row(cands[k], r, _layout(r.shape, cands[k].shape), "op")
                paired.add(r.index)
                j = k + 1
    # 4. decomposed calls: the last unpaired compatible tensor of the call's own scope
    kinds_in_scope: Dict[str, set] = defaultdict(set)
    for scope, kind in groups:
        kinds_in_scope[scope].add(kind)
    for r in records:
        if r.index in paired or r.kind in kinds_in_scope.get(r.scope, ()):
            continue
        cands = [tensors[i] for i in order if tensors[i].scope == r.scope and i not in rows
                 and tensors[i].op != "INPUT" and _layout(r.shape, tensors[i].shape)]
        if cands:
            t = cands[-1]
            while t.op in ("DEQUANTIZE", "CAST") and t.inputs and t.inputs[0] in {c.index for c in cands}:
                t = tensors[t.inputs[0]]  # report the op's own output, not a float copy of it
            rows[t.index] = _Row(t, r, _layout(r.shape, t.shape), "decomposed")
            paired.add(r.index)
    # 5. QUANTIZE copies of paired values (through layout-only copies)
    consumers: Dict[int, List[_Tensor]] = defaultdict(list)
    for i in order:
        for u in tensors[i].inputs:
            consumers[u].append(tensors[i])
    for src in list(rows.values()):
        stack = [src.tensor.index]
        while stack:
            for c in consumers.get(stack.pop(), []):
                if c.op not in _COPY_OPS or c.index in rows:
                    continue
                lay = _layout(src.record.shape, c.shape)
                if c.op == "QUANTIZE" and lay:
                    rows[c.index] = _Row(c, src.record, lay, "quantize copy", source=src.tensor.index)
                stack.append(c.index)
    return rows


def _link_inputs(rows: Dict[int, _Row], tensors: Dict[int, _Tensor]) -> None:
    """For each row: the nearest rows upstream in the TFLite graph (through unpaired tensors)."""
    memo: Dict[int, set] = {}

    def upstream(i: int) -> set:
        if i in memo:
            return memo[i]
        memo[i] = set()
        found = set()
        for u in tensors[i].inputs:
            found |= {u} if u in rows else upstream(u)
        memo[i] = found
        return found

    for i, row in rows.items():
        row.inputs = sorted(upstream(i))


# --------------------------------------------------------------------------- statistics

class _Acc:
    def __init__(self):
        self.ref2 = self.err2 = self.abs_err = 0.0
        self.max_err = self.peak = 0.0
        self.n = 0

    def add(self, out: np.ndarray, ref: np.ndarray) -> None:
        """Accumulate one image: ``out`` (artifact) against ``ref``, same shape (float32)."""
        ref = np.ascontiguousarray(ref, dtype=np.float32).ravel()
        err = np.ascontiguousarray(out, dtype=np.float32).ravel() - ref
        if not ref.size:
            return
        self.ref2 += float(np.dot(ref, ref))
        self.err2 += float(np.dot(err, err))
        np.abs(err, out=err)
        self.abs_err += float(err.sum(dtype=np.float64))
        self.max_err = max(self.max_err, float(err.max()))
        self.peak = max(self.peak, float(np.abs(ref).max()))
        self.n += ref.size

    def result(self) -> Dict[str, float]:
        mse = self.err2 / max(self.n, 1)
        snr = math.inf if self.err2 == 0 else (
            -math.inf if self.ref2 == 0 else 10 * math.log10(self.ref2 / self.err2))
        psnr = math.inf if mse == 0 else (
            -math.inf if self.peak == 0 else 10 * math.log10(self.peak ** 2 / mse))
        return {"snr_db": snr, "psnr_db": psnr, "max_abs": self.max_err,
                "mean_abs": self.abs_err / max(self.n, 1), "ref_peak": self.peak}


def _as_layout(ref: np.ndarray, layout: str) -> np.ndarray:
    """A torch-layout value in the layout a TFLite tensor holds it."""
    return ref.transpose(0, 2, 3, 1) if layout == "nhwc" else ref


def _to_torch(value: np.ndarray, layout: str) -> np.ndarray:
    """A TFLite value back in torch layout."""
    return value.transpose(0, 3, 1, 2) if layout == "nhwc" else value


class _Artifact:
    """An interpreter that keeps every intermediate tensor."""

    def __init__(self, path: Path, threads: int):
        self.path = Path(path)
        if not self.path.exists():
            raise ArtifactError(f"artifact not found: {self.path}")
        with quiet_native(f"LiteRT loading {self.path}", ArtifactError), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "preserve_all_tensors is for debugging" warning
            Interpreter = _litert_interpreter()
            self.interp = Interpreter(model_path=str(self.path), num_threads=threads,
                                      experimental_preserve_all_tensors=True)
            self.interp.allocate_tensors()
        inputs = self.interp.get_input_details()
        if len(inputs) != 1 or len(self.interp.get_output_details()) != 1:
            raise ArtifactError(f"{self.path}: expected one input and one output tensor")
        self.inp = inputs[0]
        _, h, w, _ = (int(v) for v in self.inp["shape"])
        self.input_size = (h, w)

    def run(self, x: np.ndarray) -> None:
        """``x``: ``(1, 3, H, W)`` float32 [0, 1]; fed as NHWC, quantized if the input is."""
        nhwc = x.transpose(0, 2, 3, 1)
        scale, zero = self.inp["quantization"]
        dtype = self.inp["dtype"]
        if np.dtype(dtype).kind in "iu" and scale:
            info = np.iinfo(dtype)
            nhwc = np.clip(np.round(nhwc / scale + zero), info.min, info.max)
        self.interp.set_tensor(self.inp["index"], np.ascontiguousarray(nhwc).astype(dtype))
        with quiet_native(f"LiteRT running {self.path.name}", ArtifactError):
            self.interp.invoke()

    def value(self, t: _Tensor) -> np.ndarray:
        return _dequantize(self.interp.get_tensor(t.index), t)


# --------------------------------------------------------------------------- public API

def _module_label(row: _Row) -> Tuple[str, str]:
    """(module path, torch op) shown for a row."""
    if row.record is None:
        scope = row.tensor.scope
        return ("(input)" if row.how == "input" else
                ("?" if scope is None else scope or "(model)")), (
            "input" if row.how == "input" else _tfl_kind(row.tensor.op))
    r = row.record
    module = r.scope or "(model)"
    op = r.func
    return module, op


def layer_report(artifact_path, model: torch.nn.Module, images: Sequence[np.ndarray], threads: int = 2,
                 proxy=None, jump_db: float = JUMP_DB, ceiling_db: float = CEILING_DB) -> Dict:
    """Compare every intermediate tensor of a TFLite artifact with the PyTorch reference.

    Args:
        artifact_path: ``.tflite`` file with one ``(1, H, W, 3)`` input (float32, or int8/int16
            with scale/zero point) and one output, converted from ``model``.
        model: the PyTorch reference: the :class:`~pocketsr.mobile_models.SRNet` the artifact was
            converted from, prepared as the pipeline does (:func:`pocketsr.convert.pipeline.conversion_model`:
            pixel range folded, float16 headroom rescaled) and in
            eval mode (module attribute names must be those seen at conversion).
        images: ``(1, 3, H, W)`` float32 RGB arrays in [0, 1] at the artifact's input size (use
            real photo crops: :func:`pocketsr.runtime.images.crops` + :func:`~pocketsr.runtime.images.to_tensor_array`).
        threads: CPU threads for LiteRT and PyTorch.
        proxy: optional fp32 ``.tflite`` of the same model; tensors that cannot be paired with
            PyTorch are then compared with its same-named tensors (rows marked
            ``"reference": "fp32-artifact"``).
        jump_db, ceiling_db: see ``first_jump`` below.

    Returns:
        ``{"artifact", "images", "layers", "first_jump", "most_sensitive", "matched",
        "unmatched", "unmatched_tensors", "torch_unmatched", "definition"}``.

        ``layers``: one dict per compared TFLite tensor, in TFLite execution order:

        * ``index`` (row number, what ``first_jump`` etc. refer to), ``tensor`` (short TFLite
          name, see :func:`short_name`), ``tensor_index``, ``op`` (TFLite op producing it);
        * ``module`` (torch module path the value was computed in, ``"(model)"`` = root,
          ``"(input)"`` = the quantized graph input), ``torch_op`` (torch function, e.g.
          ``conv2d``, ``gelu``, ``leaky_relu``, ``layer_norm``, ``mul``), ``outputs_of``
          (modules whose output this value is, e.g. ``["body.B1.c1_r.dw", "body.B1.c1_r"]``);
        * ``match`` (``op``, ``decomposed``, ``quantize copy``, ``input`` or ``proxy``, see the
          module docstring), ``reference`` (``torch`` or ``fp32-artifact``);
        * ``shape`` (TFLite shape, NHWC for feature maps), ``layout`` (``nhwc``: the NCHW torch
          value transposed; ``same``), ``dtype`` (``int8``, ``int16``, ``float32``...),
          ``quant`` (``[scale, zero_point]`` or None);
        * ``snr_db`` and ``psnr_db`` (peak ``ref_peak`` = max |torch value|) of the artifact
          value against PyTorch, ``max_abs`` / ``mean_abs`` error in the tensor's own units;
        * ``local_snr_db``: the op's *own* error — the artifact value against the torch op
          applied to the artifact's own (dequantized) inputs with float weights; for a
          quantize copy, against the value it copies. Unlike ``snr_db`` it does not inherit
          upstream error, so it ranks ops by sensitivity to the artifact's precision;
        * ``inputs``: rows feeding this row in the TFLite graph; ``drop_db`` =
          ``min(SNR of those rows, ceiling_db) - min(snr_db, ceiling_db)`` (no input rows:
          ``ceiling_db``, i.e. exact).

        ``first_jump``: index of the first row with ``drop_db >= jump_db`` (6 dB: error
        amplitude doubled) whose own error explains the drop (``local_snr_db <= snr_db + 3``:
        at least half the error power there is added by that op; proxy rows have no own
        error and count on the drop alone), or None. The second condition
        keeps ops that merely shrink the signal but pass inherited error through (GELU zeroing
        negatives) from being blamed. A quantized input within ``INPUT_TOLERANCE`` (1/255) of
        the image never counts. ``ceiling_db`` (60) treats more accurate values as exact so
        fp32/fp16 rounding noise never jumps. ``most_sensitive``: the five rows with the lowest
        ``local_snr_db``. ``matched`` / ``unmatched``: outputs of compute ops (not layout or
        quantize copies) paired with PyTorch / not paired (``unmatched_tensors`` names them;
        proxy-compared ones count as unmatched); ``torch_unmatched``: 4-D torch values no
        tensor was paired with.

    Raises:
        ArtifactError: unreadable artifact; InputError: no images or wrong image size.
    """
    if Path(artifact_path).suffix == ".mlpackage":
        if proxy is not None:
            raise InputError("proxy comparison is for TFLite artifacts")
        return coreml_layer_report(artifact_path, model, images, threads, jump_db, ceiling_db)
    art = _Artifact(Path(artifact_path), threads)
    _check_images(images, art.path.name, art.input_size, threads)
    model = model.eval()
    tensors, order = _graph(art.interp, model)
    structure = _run_torch(model, images[0])
    rows = _match(structure, tensors, order)
    in_t = tensors[art.inp["index"]]
    if in_t.scales is not None:
        rows[in_t.index] = _Row(in_t, None, "nhwc", "input")
    _link_inputs(rows, tensors)

    compute = [i for i in order if tensors[i].op not in _COPY_OPS and tensors[i].op != "INPUT"]
    unmatched = [i for i in compute if i not in rows]
    prox = None
    if proxy is not None:
        prox = _Artifact(Path(proxy), threads)
        names: Dict[str, List[dict]] = defaultdict(list)
        for d in prox.interp.get_tensor_details():
            names[d["name"]].append(d)
        for i in unmatched:
            t = tensors[i]
            found = names.get(t.name, [])
            if len(found) == 1 and tuple(int(s) for s in found[0]["shape"]) == t.shape:
                rows[i] = _Row(t, None, "same", "proxy", "fp32-artifact", int(found[0]["index"]))
        _link_inputs(rows, tensors)
        ptensors = {d["index"]: d for d in prox.interp.get_tensor_details()}

    by_record: Dict[int, List[_Row]] = defaultdict(list)
    primary: Dict[int, _Row] = {}  # record -> the row downstream ops read
    for row in rows.values():
        row.acc, row.local = _Acc(), (_Acc() if row.how != "proxy" else None)
        if row.record is not None:
            by_record[row.record.index].append(row)
            if row.how in ("op", "decomposed"):
                primary[row.record.index] = row

    for x in images:
        art.run(x)
        if prox is not None:
            prox.run(x)
        cache: Dict[int, np.ndarray] = {}  # this image's dequantized artifact values

        def value(t: _Tensor, cache=cache) -> np.ndarray:
            if t.index not in cache:
                cache[t.index] = art.value(t)
            return cache[t.index]

        def substitute(i: int, out: torch.Tensor, shadow: torch.Tensor,
                       value=value) -> Optional[torch.Tensor]:
            targets = by_record.get(i)
            if not targets:
                return None
            ref = out.detach().float().numpy()
            own = shadow.detach().float().numpy()
            for row in targets:
                v = value(row.tensor)
                row.acc.add(v, _as_layout(ref, row.layout))
                if row.how == "quantize copy":  # its own error: the requantization alone
                    src = rows[row.source]
                    row.local.add(v, _as_layout(_to_torch(value(src.tensor), src.layout), row.layout))
                else:
                    row.local.add(v, _as_layout(own, row.layout))
            p = primary.get(i)
            if p is None:
                return None
            return torch.from_numpy(np.ascontiguousarray(_to_torch(value(p.tensor), p.layout),
                                                         dtype=np.float32))

        x_art = value(in_t).transpose(0, 3, 1, 2).astype(np.float32)
        records = _run_torch(model, x, substitute, x_shadow=x_art)
        if len(records) != len(structure):
            raise ArtifactError("PyTorch model ran a different sequence of ops on another image")
        for row in rows.values():
            if row.how == "input":
                row.acc.add(value(row.tensor), x.transpose(0, 2, 3, 1))
                row.local.add(value(row.tensor), x.transpose(0, 2, 3, 1))
            elif row.how == "proxy":
                pt = ptensors[row.proxy_index]
                ref = prox.interp.get_tensor(row.proxy_index).astype(np.float64)
                q = pt.get("quantization_parameters") or {}
                if np.dtype(pt["dtype"]).kind in "iu" and len(q.get("scales", [])):
                    ref = (ref - q["zero_points"][0]) * q["scales"][0]
                row.acc.add(value(row.tensor), ref)

    ordered = sorted(rows.values(), key=lambda r: (r.tensor.pos, r.tensor.index))
    position = {r.tensor.index: k for k, r in enumerate(ordered)}
    layers = []
    for k, row in enumerate(ordered):
        module, op = _module_label(row)
        t = row.tensor
        stats = row.acc.result()
        layers.append({
            "index": k, "tensor": short_name(t.name), "tensor_index": t.index, "op": t.op,
            "module": module, "torch_op": op,
            "outputs_of": [p or "(model)" for p in row.record.outputs_of] if row.record else [],
            "match": row.how, "reference": row.reference, "shape": list(t.shape),
            "layout": row.layout, "dtype": t.dtype,
            "quant": [float(t.scales[0]), int(t.zero_points[0])] if t.scales is not None and t.scales.size == 1 else None,
            **stats, "inputs": sorted(position[i] for i in row.inputs),
            "local_snr_db": row.local.result()["snr_db"] if row.local is not None else None,
        })
    paired_records = {r.record.index for r in rows.values() if r.record is not None}
    return {
        "artifact": str(art.path),
        "images": len(images),
        "layers": layers,
        **_summarize(layers, jump_db, ceiling_db),
        "matched": sum(1 for i in compute if i in rows and rows[i].reference == "torch"),
        "unmatched": sum(1 for i in compute if i not in rows or rows[i].reference != "torch"),
        "unmatched_tensors": [f"{tensors[i].op} {short_name(tensors[i].name)}" for i in compute
                              if i not in rows or rows[i].reference != "torch"],
        "torch_unmatched": [f"{r.scope or '(model)'}:{r.func}" for r in structure
                            if r.index not in paired_records and len(r.shape) == 4],
    }


def _check_images(images: Sequence[np.ndarray], name: str, size: Tuple[int, int], threads: int) -> None:
    """At least one ``(1, 3, h, w)`` image at the artifact's input size (else InputError)."""
    if not images:
        raise InputError("layer_report needs at least one image")
    for x in images:
        if x.ndim != 4 or x.shape[:2] != (1, 3) or tuple(x.shape[2:]) != tuple(size):
            raise InputError(f"{name} takes (1, 3, {size[0]}, {size[1]}) images, got {tuple(x.shape)}")
    torch.set_num_threads(threads)


def _summarize(layers: List[Dict], jump_db: float, ceiling_db: float) -> Dict:
    """Fill each row's ``drop_db`` and pick ``first_jump`` / ``most_sensitive`` (the rules are
    in :func:`layer_report`'s docstring); shared by the TFLite and Core ML reports."""
    for row in layers:
        ins = [layers[i]["snr_db"] for i in row["inputs"]]
        before = min(min(ins), ceiling_db) if ins else ceiling_db
        row["drop_db"] = before - min(row["snr_db"], ceiling_db)

    def is_jump(r: Dict) -> bool:
        if r["drop_db"] < jump_db:
            return False
        if r["match"] == "input" and r["max_abs"] <= INPUT_TOLERANCE:
            return False
        return r["local_snr_db"] is None or r["local_snr_db"] <= r["snr_db"] + OWN_SHARE_DB

    own = [r for r in layers if r["local_snr_db"] is not None and r["local_snr_db"] < ceiling_db]
    return {
        "first_jump": next((r["index"] for r in layers if is_jump(r)), None),
        "most_sensitive": [r["index"] for r in sorted(own, key=lambda r: r["local_snr_db"])[:5]],
        "definition": (f"drop = min(SNR of inputs, {ceiling_db:g}) - min(SNR, {ceiling_db:g}); "
                       f"first jump = first row with drop >= {jump_db:g} dB whose own error "
                       f"explains it (own SNR <= SNR + {OWN_SHARE_DB:g} dB)"),
    }


_WEIGHT_SUFFIX = re.compile(r"(_to_fp16)?(_quantized|_palettized|_dequantized)?$")


def artifact_layer_report(path, manifest: Dict, validator, count: int = 2, threads: int = 2) -> Dict:
    """:func:`layer_report` of an artifact against the PyTorch model its manifest names, on the
    first ``count`` real-photo parity crops of ``validator`` (:class:`pocketsr.validate.validator.Validator`,
    which caches reference models and crops across artifacts) at the artifact's input size."""
    from pocketsr.convert.pipeline import conversion_model, recorded_rewrites_

    from pocketsr.runtime.runners import open_artifact
    from pocketsr.validate.validator import DYNAMIC_PARITY_SIZE

    size = open_artifact(path, threads=threads).input_size or DYNAMIC_PARITY_SIZE
    images = [x for _, x in validator.parity_inputs(size)][:count]
    model, _ = conversion_model(validator.reference(manifest).model)
    recorded_rewrites_(model, manifest)  # the graph the artifact was converted from
    return layer_report(path, model, images, threads=threads)


def coreml_layer_report(artifact_path, model: torch.nn.Module, images: Sequence[np.ndarray],
                        threads: int = 2, jump_db: float = JUMP_DB, ceiling_db: float = CEILING_DB) -> Dict:
    """:func:`layer_report` for a Core ML package, run by :class:`pocketsr.runtime.mil_executor.MILExecutor`
    (float16 rounding emulated, compressed weights decoded), which keeps every intermediate.

    Pairing: coremltools names a conv's weight constant after the PyTorch module path
    (``body.B1.c1_r.dw`` -> ``..._body_B1_c1_r_dw_weight`` plus ``_to_fp16`` and
    ``_quantized``/``_palettized`` suffixes), so every ``conv`` op is paired with its
    ``nn.Conv2d`` (forward hook on the reference), and the program output with the model
    output. ``local_snr_db`` of a conv: the program's output against the float32 conv applied
    to the program's own input value. ``inputs``: nearest paired rows upstream in the program.
    Values are NCHW, so ``layout`` is ``same``. Arguments and result as :func:`layer_report`
    (``op`` is the MIL op type, ``tensor`` the MIL value name).

    Raises:
        ArtifactError: unreadable package; InputError: no images or wrong image size.
    """
    from pocketsr.runtime.runners import CoreMLRunner

    runner = CoreMLRunner(Path(artifact_path), threads=threads)
    ex = runner.executor
    _check_images(images, runner.path.name, runner.input_size, threads)
    model = model.eval()
    convs = {n: m for n, m in model.named_modules() if isinstance(m, torch.nn.Conv2d)}
    keys = {re.sub(r"[^0-9a-zA-Z_]", "_", n) + "_weight": n for n in convs}

    def module_of(op) -> Optional[str]:
        ref = dict(op.inputs.get("weight", [])).get("ref")
        if ref is None:
            return None
        name = _WEIGHT_SUFFIX.sub("", ref)
        hits = [k for k in keys if name == k or name.endswith("_" + k)]
        return keys[max(hits, key=len)] if hits else None

    computed = [o for o in ex.ops if not o.constexpr]
    out_name = ex.block_outputs[0]
    rows = {}  # op name -> (op, module path or "(model)")
    for o in computed:
        if o.type == "conv" and module_of(o) is not None:
            rows[o.name] = (o, module_of(o))
    unmatched = [f"conv {o.name}" for o in computed if o.type == "conv" and o.name not in rows]
    rows[out_name] = (next(o for o in computed if o.name == out_name), "(model)")
    order = [o.name for o in computed if o.name in rows]
    producers = {o.name: o for o in computed}

    def upstream(name: str) -> List[str]:
        found, stack, seen = set(), [r for _, r in _refs(producers[name])], set()
        while stack:
            v = stack.pop()
            if v in seen or v not in producers:
                continue
            seen.add(v)
            if v in rows:
                found.add(v)
            else:
                stack.extend(r for _, r in _refs(producers[v]))
        return sorted(found, key=order.index)

    acc = {n: _Acc() for n in order}
    own = {n: _Acc() for n in order if rows[n][1] != "(model)"}
    for x in images:
        outputs: Dict[str, torch.Tensor] = {}
        hooks = [m.register_forward_hook(lambda _m, _i, y, n=n: outputs.setdefault(n, y.detach()))
                 for n, m in convs.items()]
        try:
            with torch.no_grad():
                ref_out = model(torch.from_numpy(x))
        finally:
            for h in hooks:
                h.remove()
        feed = runner._feed(x)  # runner(x) would drop the intermediates
        ex.run({runner.inp["name"]: feed}, keep=True)
        factor = 255.0 if runner.image_output else 1.0
        for n in order:
            o, module = rows[n]
            value = ex.values[n].float()
            if module == "(model)":
                acc[n].add(value.numpy() / factor, ref_out.numpy())
                continue
            if module not in outputs:
                continue
            acc[n].add(value.numpy(), outputs[module].numpy())
            x_in = ex.values[dict(o.inputs["x"])["ref"]].float()
            with torch.no_grad():
                own[n].add(value.numpy(), convs[module](x_in).numpy())
    ex.values = {}
    layers = []
    for k, n in enumerate(order):
        o, module = rows[n]
        layers.append({
            "index": k, "tensor": n, "tensor_index": k, "op": o.type, "module": module,
            "torch_op": "conv2d" if module != "(model)" else "output",
            "outputs_of": [module], "match": "op", "reference": "torch",
            "shape": list(o.output_shapes[0] or ()), "layout": "same", "dtype": o.output_types[0],
            "quant": None, **acc[n].result(), "inputs": [order.index(u) for u in upstream(n)],
            "local_snr_db": own[n].result()["snr_db"] if n in own else None,
        })
    return {
        "artifact": str(runner.path), "images": len(images), "layers": layers,
        **_summarize(layers, jump_db, ceiling_db),
        "matched": len(order), "unmatched": len(unmatched), "unmatched_tensors": unmatched,
        "torch_unmatched": [n for n in convs if n not in {m for _, m in rows.values()}],
    }


def _refs(op):
    return [(k, v) for bindings in op.inputs.values() for k, v in bindings if k == "ref"]


def _db(v: float) -> str:
    return "inf" if v == math.inf else ("-inf" if v == -math.inf else f"{v:.1f}")


def layer_table(report: Dict):
    """A :class:`rich.table.Table` of a :func:`layer_report` result: one row per compared tensor
    in execution order, "SNR" against PyTorch and "own" = ``local_snr_db`` (dB), ``max |Δ|`` in
    the tensor's units. The ``first_jump`` row is bold red and marked, the ``most_sensitive``
    rows are yellow, proxy rows (reference = fp32 artifact) are dim and marked ``fp32*``."""
    from rich.table import Table

    first, sensitive = report.get("first_jump"), set(report.get("most_sensitive", []))
    n = report["images"]
    table = Table(title=f"per-layer divergence: {Path(report['artifact']).name} vs PyTorch "
                        f"({n} image{'s' if n != 1 else ''})",
                  caption=f"{report['matched']} compute tensors paired with PyTorch, "
                          f"{report['unmatched']} not. {report['definition']}.")
    for col, right in (("#", True), ("TFLite op", False), ("torch module", False),
                       ("torch op", False), ("shape", False), ("dtype", False), ("SNR dB", True),
                       ("own dB", True), ("PSNR dB", True), ("max |Δ|", True), ("drop dB", True),
                       ("ref", False)):
        table.add_column(col, justify="right" if right else "left")
    for r in report["layers"]:
        style, mark = None, ""
        if r["index"] == first:
            style, mark = "bold red", "  ◀ first jump"
        elif r["index"] in sensitive:
            style = "yellow"
        elif r["reference"] != "torch":
            style = "dim"
        op = r["op"] + (" (copy)" if r["match"] == "quantize copy" else "")
        own = "" if r["local_snr_db"] is None else _db(r["local_snr_db"])
        table.add_row(str(r["index"]), op, r["module"] + mark, r["torch_op"],
                      "×".join(str(v) for v in r["shape"]), r["dtype"], _db(r["snr_db"]), own,
                      _db(r["psnr_db"]), f"{r['max_abs']:.3g}", f"{r['drop_db']:+.1f}",
                      "torch" if r["reference"] == "torch" else "fp32*", style=style)
    return table
