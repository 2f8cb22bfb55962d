"""GPU-delegate readiness of a TFLite artifact (a static check of the file, not a run).

``gpu_compatibility(path)`` runs LiteRT's model analyzer (``ai_edge_litert``'s
``_pywrap_analyzer_wrapper.ModelAnalyzer``) on the artifact, parses its text dump (operators,
tensor shapes/types, constness, the analyzer's GPU statement) and checks every operator of the
dump against the op/tensor rules of the TFLite GPU delegate (the ``GpuDelegateV2`` model
builder and ``gpu_compatibility`` rules of LiteRT 2.x).

Why both: in ai-edge-litert 2.3 the analyzer's per-operator GPU check is compiled out; with the
GPU flag on it prints "Your model looks compatible with GPU delegate" for any model that loads
(CUMSUM, rank-6 TRANSPOSE or ARG_MAX included). Its verdict is recorded (``analyzer_verdict``,
and any ``GPU COMPATIBILITY WARNING`` it prints is honoured), but the ops it would have flagged
come from the rules below.

Also two model rewrites (the pixel shuffle's rewrite to ``DEPTH_TO_SPACE`` is in
:mod:`pocketsr.convert.depth_to_space`; which ones the converter applies:
:func:`pocketsr.convert.pipeline.gpu_rewrites_`):
``gpu_friendly_gelu_`` (GELU builtin -> LOGISTIC/MUL/ADD, for GPU delegates without GELU;
approximate, measured) and ``gpu_friendly_layernorm_`` (channel LayerNorm without MEAN over
channels, for the OpenGL ES backend; exact up to float rounding).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import torch
from torch import nn

from pocketsr.errors import ArtifactError
from pocketsr.quiet import quiet_native

ANALYZER = "ai_edge_litert ModelAnalyzer"
RULES = "TFLite GPU delegate (GpuDelegateV2) op/tensor rules, LiteRT 2.x, quantized-model support on"

# Builtin ops the GPU delegate has a parser for. QUANTIZE/DEQUANTIZE only with quantized-model
# support, which is the delegate's default (experimental flag ENABLE_QUANT).
GPU_OPS = frozenset("""
ABS ADD ADD_N AVERAGE_POOL_2D BATCH_MATMUL CAST CONCATENATION CONV_2D COS CUMSUM DENSIFY
DEPTHWISE_CONV_2D DEPTH_TO_SPACE DEQUANTIZE DIV ELU EQUAL EXP FLOOR FLOOR_DIV FLOOR_MOD
FULLY_CONNECTED GATHER GELU GREATER GREATER_EQUAL HARD_SWISH LEAKY_RELU LESS LESS_EQUAL LOG
LOGICAL_AND LOGISTIC LSTM MAXIMUM MAX_POOL_2D MEAN MINIMUM MIRROR_PAD MUL NEG NOT_EQUAL ONE_HOT
PACK PAD PADV2 POW PRELU QUANTIZE REDUCE_MAX REDUCE_MIN REDUCE_PROD RELU RELU6 RELU_0_TO_1
RELU_N1_TO_1 RESHAPE RESIZE_BILINEAR RESIZE_NEAREST_NEIGHBOR RSQRT SELECT SELECT_V2 SIGN SIN
SLICE SOFTMAX SPACE_TO_DEPTH SPLIT SPLIT_V SQRT SQUARE SQUARED_DIFFERENCE STRIDED_SLICE SUB SUM
TANH TILE TRANSPOSE TRANSPOSE_CONV UNPACK
""".split())
GPU_CUSTOM_OPS = frozenset({"Convolution2DTransposeBias", "MaxPoolingWithArgmax2D",
                            "MaxUnpooling2D", "Resampler"})

UNARY_OPS = frozenset("ABS COS ELU EXP FLOOR GELU LOG LOGISTIC NEG RSQRT SIGN SIN SQRT SQUARE "
                      "TANH".split())
BINARY_OPS = frozenset("ADD DIV EQUAL FLOOR_DIV FLOOR_MOD GREATER GREATER_EQUAL LESS LESS_EQUAL "
                       "LOGICAL_AND MAXIMUM MINIMUM MUL NOT_EQUAL POW SQUARED_DIFFERENCE SUB".split())
REDUCE_OPS = frozenset("MEAN SUM REDUCE_MAX REDUCE_MIN REDUCE_PROD".split())
LOGICAL_OPS = frozenset("EQUAL NOT_EQUAL GREATER GREATER_EQUAL LESS LESS_EQUAL".split())

# Types a non-constant (runtime) tensor may have; the delegate computes in float16/float32 and
# maps int8/uint8 quantized tensors onto float ones. Per-op additions below.
RUNTIME_TYPES = frozenset({"FLOAT32", "FLOAT16", "INT8", "UINT8"})
EXTRA_IN_TYPES = {"CAST": {"BOOL", "INT32"}, "ONE_HOT": {"INT32"}, "GATHER": {"INT32"},
                  "SELECT": {"BOOL"}, "SELECT_V2": {"BOOL"}, "LOGICAL_AND": {"BOOL"}}
EXTRA_OUT_TYPES = {"CAST": {"BOOL", "INT32"}, "LOGICAL_AND": {"BOOL"},
                   **{op: {"BOOL"} for op in LOGICAL_OPS}}

# Tensor axes as the GPU delegate maps ranks 1-4 (B, BC, BWC, BHWC).
_GPU_AXES = {1: "B", 2: "BC", 3: "BWC", 4: "BHWC"}

_SUBGRAPH = re.compile(r"^Subgraph#(\d+)\s*([^(]*)\((.*)\) -> \[(.*)\]")
_OP = re.compile(r"^\s*Op#(\d+) ([^\s(]+)\((.*)\) -> \[(.*)\]\s*$")
_TENSOR_REF = re.compile(r"T#(-1|\d+(?:_\d+)?)(?:\[([^\]]*)\])?")
_TENSORS_OF = re.compile(r"^Tensors of Subgraph#(\d+)")
_TENSOR = re.compile(r"^\s+T#(\d+(?:_\d+)?)(?:\((.*)\) )?(?:shape_signature|shape):"
                     r"(?:\[([^\]]*)\]|n/a), type:(\w+)(?: RO (\d+) bytes)?")
_GPU_OK = re.compile(r"looks compatib\w* with GPU delegate (?:on|with) TFLite runtime version "
                     r"(\S+?)\.?\s*$", re.M)
_GPU_SUBGRAPH_ISSUES = re.compile(r"GPU COMPATIBILITY WARNING: Subgraph#(\d+) has GPU delegate "
                                  r"compatibility issues at nodes ([\d, ]*)")
_GPU_NODE_WARNING = "GPU COMPATIBILITY WARNING: "


# --------------------------------------------------------------------------- analyzer call

def analyzer_dump(path) -> str:
    """The analyzer's raw text for ``path``: ``ModelAnalyzer(str(path), True, True)``.

    Arguments of the wrapper: model path (or content), ``input_is_filepath``,
    ``check_gpu_compatibility``. It returns the dump as a string (load errors included in the
    text, not raised). Raises :class:`ArtifactError` (one line) if the file is missing or
    unreadable, the analyzer cannot be imported or fails, or the model does not load.
    """
    path = Path(path)
    if not path.exists():
        raise ArtifactError(f"artifact not found: {path}")
    if not path.is_file():
        raise ArtifactError(f"artifact is not a file: {path}")
    if path.stat().st_size == 0:
        raise ArtifactError(f"artifact is empty: {path}")
    with quiet_native(f"LiteRT model analyzer on {path.name}", ArtifactError):
        from ai_edge_litert import _pywrap_analyzer_wrapper as wrapper
        text = wrapper.ModelAnalyzer(str(path), True, True)
    if not isinstance(text, str) or not re.search(r"^Subgraph#\d+", text, re.M):
        head = str(text or "").replace("\n", " ").strip()
        head = re.split(r"Failed to mmap", head)[0].strip() or head
        raise ArtifactError(f"LiteRT model analyzer could not load {path.name}: "
                            f"{head[:200] or 'no output'}")
    return text


# --------------------------------------------------------------------------- text parsing

def _ints(text: Optional[str]) -> Optional[List[int]]:
    """``"1, 57600, 42"`` -> ``[1, 57600, 42]``; None when absent or truncated (``...``)."""
    if text is None or "..." in text:
        return None
    text = text.strip()
    try:
        return [int(v) for v in text.split(",")] if text else []
    except ValueError:
        return None


def parse_dump(text: str) -> Dict:
    """Parse the analyzer text into subgraphs (ops with tensor refs, tensor table) + verdict.

    Returns ``{"subgraphs": [{"index", "name", "ops": [{"index", "op", "inputs", "outputs",
    "data", "warnings"}], "tensors": {id: {"name", "shape", "type", "const"}}}],
    "analyzer_verdict": True/False/None, "runtime_version", "flagged": {subgraph: [nodes]}}``.
    Tensor ids are strings as printed (``"12"``, or ``"1_12"`` in subgraph 1); ``data`` maps an
    input id to the int32 constant values the analyzer prints inline (axes, shapes, perms).
    """
    subgraphs: List[Dict] = []
    by_index: Dict[int, Dict] = {}
    current: Optional[Dict] = None
    tensors: Optional[Dict] = None
    last_op: Optional[Dict] = None
    for line in text.splitlines():
        m = _SUBGRAPH.match(line)
        if m:
            current = {"index": int(m.group(1)), "name": m.group(2).strip(), "ops": [], "tensors": {},
                       "inputs": [r[0] for r in _TENSOR_REF.findall(m.group(3))],
                       "outputs": [r[0] for r in _TENSOR_REF.findall(m.group(4))]}
            subgraphs.append(current)
            by_index[current["index"]] = current
            tensors, last_op = None, None
            continue
        m = _TENSORS_OF.match(line)
        if m:
            sg = by_index.get(int(m.group(1)))
            tensors = sg["tensors"] if sg is not None else None
            last_op = None
            continue
        if tensors is not None:
            m = _TENSOR.match(line)
            if m:
                tid, name, shape, dtype, ro = m.groups()
                tensors[tid] = {"name": name or "", "shape": _ints(shape) if shape is not None else None,
                                "type": dtype, "const": ro is not None, "data_bytes": int(ro or 0)}
                continue
            if not line.strip():
                tensors = None  # a blank line ends the table; other lines inside it are the
            continue            # tails of int8 data dumps whose bytes printed as newlines
        if current is not None and tensors is None:
            m = _OP.match(line)
            if m:
                refs_in = _TENSOR_REF.findall(m.group(3))
                last_op = {"index": int(m.group(1)), "op": m.group(2),
                           "inputs": [r[0] for r in refs_in],
                           "outputs": [r[0] for r in _TENSOR_REF.findall(m.group(4))],
                           "data": {r[0]: _ints(r[1]) for r in refs_in if r[1]},
                           "warnings": []}
                current["ops"].append(last_op)
                continue
            if line.startswith(_GPU_NODE_WARNING) and last_op is not None and "Subgraph#" not in line:
                last_op["warnings"].append(line[len(_GPU_NODE_WARNING):].strip())
                continue
    for sg in subgraphs:
        # The analyzer prints "RO n bytes" only for buffers stored inline; weights stored at a
        # buffer offset (ai-edge-quantizer output) show none. A tensor that no op produces and
        # that is not a subgraph input is a constant either way.
        produced = set(sg["inputs"]) | {t for op in sg["ops"] for t in op["outputs"]}
        for tid, tensor in sg["tensors"].items():
            tensor["const"] = tensor["const"] or tid not in produced
    flagged = {int(sg): [int(n) for n in nodes.replace(" ", "").split(",") if n]
               for sg, nodes in _GPU_SUBGRAPH_ISSUES.findall(text)}
    ok = _GPU_OK.search(text)
    node_warnings = any(op["warnings"] for sg in subgraphs for op in sg["ops"])
    if flagged or node_warnings:
        verdict: Optional[bool] = False
    elif ok:
        verdict = True
    else:
        verdict = None  # no GPU statement at all
    version = ok.group(1) if ok else None
    if version is None:
        m = re.search(r"TFLite runtime version (\S+?)\.?\s*$", text, re.M)
        version = m.group(1) if m else None
    return {"subgraphs": subgraphs, "analyzer_verdict": verdict, "runtime_version": version,
            "flagged": flagged}


# --------------------------------------------------------------------------- GPU rules

def _broadcastable(a: List[int], b: List[int]) -> bool:
    for x, y in zip(reversed(a), reversed(b)):
        if x != y and x != 1 and y != 1:
            return False
    return True


def _batch(shape: Optional[List[int]]) -> Optional[int]:
    """The GPU delegate's batch of a tensor: dim 0 of a rank 1-4 shape (B, BC, BWC, BHWC)."""
    return shape[0] if shape and len(shape) in _GPU_AXES and shape[0] >= 0 else None


def _op_findings(op: Dict, tensors: Dict, batch: int = 1,
                 weights: frozenset = frozenset()) -> Tuple[List[str], List[str], List[str]]:
    """(incompatibilities, warnings, OpenGL ES blockers) of one operator under the GPU delegate
    rules. ``batch``: the graph's batch (its input's); ``weights``: ids of runtime tensors the
    delegate folds into constants (DEQUANTIZE of a constant). The third list repeats the
    warnings that make the OpenGL ES backend refuse the graph."""
    name = op["op"]
    bad: List[str] = []
    warn: List[str] = []
    gl: List[str] = []
    builtin = name.isupper()
    if builtin and name not in GPU_OPS:
        return [f"{name} is not an op of the TFLite GPU delegate"], warn, gl
    if not builtin and name not in GPU_CUSTOM_OPS:
        return [f"custom op {name} is not supported by the TFLite GPU delegate"], warn, gl

    ins = [(t, tensors.get(t)) for t in op["inputs"] if t != "-1"]
    outs = [(t, tensors.get(t)) for t in op["outputs"] if t != "-1"]
    runtime_in = [(t, d) for t, d in ins if d is not None and not d["const"]]
    const_in = [(t, d) for t, d in ins if d is not None and d["const"]]

    for _, d in ins + outs:
        if d and d["shape"] is not None and len(d["shape"]) > 4:
            bad.append(f"rank-{len(d['shape'])} tensor {d['shape']}: the GPU delegate handles "
                       f"at most 4-D tensors")
            break
    # One batch per graph. The delegate maps every tensor of rank 1-4 to BHWC with dim 0 as the
    # batch (ExtractTensorShape, tflite/delegates/gpu/common/model_builder_helper.cc). Its OpenGL
    # ES backend rejects a graph whose values do not all have the batch of the first one
    # (CheckBatchSizeForAllValues in tflite/delegates/gpu/common/model.cc, called by Compile in
    # gl/api.cc and NewInferenceBuilder in gl/api2.cc): delegate init fails. The OpenCL backend
    # gives such tensors a batch axis (per-tensor layout in common/gpu_model.cc) and runs them.
    # LiteRT at google-ai-edge/LiteRT@f67457790c9c2ab67347d6fe53270e8d3df20868.
    for tid, d in ins + outs:
        b = _batch(d["shape"]) if d and not d["const"] and tid not in weights else None
        if b is not None and b != batch:
            reason = (f"batch-{b} tensor {d['shape']} in a batch-{batch} graph: the GPU delegate "
                      f"reads dim 0 as the batch; the OpenGL ES backend needs one batch for every "
                      f"tensor (delegate init fails), the OpenCL backend runs it")
            warn.append(reason)
            gl.append(reason)
            break
    in_ok = RUNTIME_TYPES | EXTRA_IN_TYPES.get(name, set())
    out_ok = RUNTIME_TYPES | EXTRA_OUT_TYPES.get(name, set())
    types = sorted({d["type"] for _, d in runtime_in if d["type"] not in in_ok}
                   | {d["type"] for _, d in outs if d and not d["const"] and d["type"] not in out_ok})
    if name == "DEQUANTIZE" and ins and ins[0][1] and ins[0][1]["type"] == "INT16":
        bad.append("DEQUANTIZE of int16 is not supported by the GPU delegate")
    elif types:
        what = "int16 activations" if types == ["INT16"] else f"runtime tensor type {'/'.join(types)}"
        bad.append(f"{what}: the GPU delegate runs float16/float32 (int8/uint8 only as quantized "
                   f"tensors)")

    if name in UNARY_OPS and (len(runtime_in) != 1 or const_in):
        bad.append(f"{name} needs exactly one runtime input and no constant input")
    if name in BINARY_OPS:
        if not runtime_in:
            bad.append(f"{name} has no runtime input")
        elif len(ins) != 2:
            bad.append(f"{name} needs two inputs")
        elif name in ("ADD", "MUL"):
            a, b = (d["shape"] if d else None for _, d in ins)
            if a is not None and b is not None:
                if not _broadcastable(a, b):
                    bad.append(f"{name} cannot broadcast {a} with {b}")
                elif name == "MUL" and len(a) == len(b) and any(x < y for x, y in zip(a, b)) \
                        and any(y < x for x, y in zip(a, b)):
                    bad.append(f"MUL of {a} and {b}: neither input covers the other in every "
                               f"dimension")
    if name in ("RESHAPE", "TRANSPOSE", "QUANTIZE", "DEPTH_TO_SPACE", "SPACE_TO_DEPTH", "TILE") \
            and len(runtime_in) != 1:
        bad.append(f"{name} needs exactly one runtime input ({len(runtime_in)} given)")
    if name in REDUCE_OPS and len(ins) > 1:
        axes_id, axes = ins[1]
        if axes is None or not axes["const"] or axes["type"] != "INT32":
            bad.append(f"{name} needs constant int32 axes")
        elif name == "MEAN":
            values = op["data"].get(axes_id)
            src = ins[0][1]
            if values is not None and src and src["shape"] is not None and len(src["shape"]) in _GPU_AXES:
                rank = len(src["shape"])
                dims = {_GPU_AXES[rank][v % rank] for v in values}
                if dims != {"H", "W"}:
                    warn.append(f"MEAN over GPU axes {''.join(sorted(dims, key='BHWC'.index))} of "
                                f"{src['shape']}: the OpenCL backend reduces it, the OpenGL ES "
                                f"backend only averages over height+width (delegate init fails)")
                    gl.append(warn[-1])
    if name == "DEPTHWISE_CONV_2D" and len(ins) >= 2:
        src, flt = ins[0][1], ins[1][1]
        dst = outs[0][1] if outs else None
        shapes = [d["shape"] if d else None for d in (src, flt, dst)]
        if any(s is not None and len(s) != 4 for s in shapes):
            bad.append("DEPTHWISE_CONV_2D needs 4-D input, filter and output")
        elif shapes[0] and shapes[2] and shapes[2][3] != shapes[0][3] and shapes[0][3] != 1:
            bad.append("DEPTHWISE_CONV_2D with depth_multiplier != 1 and more than one input channel")
    if name in ("SLICE", "STRIDED_SLICE") and ins and ins[0][1] and ins[0][1]["shape"] is not None \
            and len(ins[0][1]["shape"]) not in (3, 4):
        bad.append(f"{name} supports 3-D or 4-D tensors only")
    if name in ("PAD", "PADV2", "MIRROR_PAD") and len(ins) > 1 and ins[1][1] \
            and ins[1][1]["shape"] not in ([3, 2], [4, 2]):
        bad.append(f"{name} needs a 3x2 or 4x2 paddings tensor")
    if name == "GELU":
        warn.append("GELU: supported by current LiteRT GPU delegates; older TFLite GPU delegates "
                    "(reports up to 2023) reject it and split the graph between GPU and CPU")
    return bad, warn, gl


def _aggregate(rows: List[Tuple[str, str, int]]) -> List[Dict]:
    grouped: Dict[Tuple[str, str], List[int]] = {}
    for op, reason, node in rows:
        grouped.setdefault((op, reason), []).append(node)
    return [{"op": op, "reason": reason, "count": len(nodes), "nodes": nodes}
            for (op, reason), nodes in grouped.items()]


def gpu_compatibility(path) -> Dict:
    """Static GPU-delegate readiness verdict for a TFLite artifact.

    What is checked (statically, from the file): LiteRT's model analyzer
    (``ModelAnalyzer(path, True, True)``) loads and verifies the flatbuffer and dumps every
    operator and tensor; its own GPU statement is kept as ``analyzer_verdict``. Every operator
    of every subgraph is then checked against the TFLite GPU delegate's rules: op supported by
    the delegate, tensors at most 4-D, runtime tensors float32/float16 (or int8/uint8 quantized;
    int16 activations are not), constant int32 reduction axes, one runtime input where the
    delegate needs it, ADD/MUL broadcasting, depthwise multiplier, slice/pad ranks, one batch
    size (dim 0 of every runtime tensor of rank 1-4 equal to the graph input's). Findings that
    depend on the GPU backend or delegate age (MEAN over non-spatial axes and tensors of another
    batch, both refused by the OpenGL ES backend; GELU on old delegates) are ``warnings``, not
    incompatibilities; ``opengl_es_compatible`` is False when any of them is an OpenGL ES
    blocker (the backend the delegate falls back to on phones without OpenCL).

    What is not checked: nothing runs on a GPU. Not checked are op versions, fused activation
    and other builtin options the dump does not show, precision (fp16 accuracy), GPU memory /
    texture-size limits, per-vendor driver bugs, speed, and whether the delegate's graph
    partitioning leaves CPU islands worth avoiding. ``gpu_compatible`` True means "no known
    static blocker", not "runs on every phone GPU".

    Returns ``{"gpu_compatible": bool, "opengl_es_compatible": bool, "incompatible_ops": [{"op", "reason", "count",
    "nodes"}], "warnings": [same], "analyzer": "ai_edge_litert ModelAnalyzer",
    "analyzer_verdict": bool | None, "runtime_version": str | None, "rules": str,
    "ops": {op: count} (main subgraph), "num_ops": int, "subgraphs": int, "path": str}``.
    Raises :class:`ArtifactError` (one line) when the analyzer cannot load the file.
    """
    path = Path(path)
    verdict = check_dump(analyzer_dump(path), path.name)
    verdict["path"] = str(path)
    return verdict


def check_dump(text: str, what: str = "the model") -> Dict:
    """The verdict of :func:`gpu_compatibility` (without ``path``) for an analyzer text dump."""
    parsed = parse_dump(text)
    subgraphs = parsed["subgraphs"]
    if not subgraphs:
        raise ArtifactError(f"LiteRT model analyzer printed no subgraph for {what}")
    bad_rows: List[Tuple[str, str, int]] = []
    warn_rows: List[Tuple[str, str, int]] = []
    gl_blockers = 0
    for sg in subgraphs:
        prefix = "" if sg["index"] == 0 else f"subgraph {sg['index']}: "
        first = sg["tensors"].get(sg["inputs"][0]) if sg["inputs"] else None
        batch = _batch(first["shape"]) if first else None
        weights = frozenset(t for op in sg["ops"] if op["op"] == "DEQUANTIZE"
                            and all(sg["tensors"].get(i, {}).get("const") for i in op["inputs"] if i != "-1")
                            for t in op["outputs"])
        for op in sg["ops"]:
            bad, warn, gl = _op_findings(op, sg["tensors"], 1 if batch is None else batch, weights)
            gl_blockers += len(gl)
            bad_rows += [(op["op"], prefix + r, op["index"]) for r in bad]
            warn_rows += [(op["op"], prefix + r, op["index"]) for r in warn]
            bad_rows += [(op["op"], prefix + "analyzer: " + w, op["index"]) for w in op["warnings"]]
        for node in parsed["flagged"].get(sg["index"], []):
            if not any(op["index"] == node and op["warnings"] for op in sg["ops"]):
                name = next((op["op"] for op in sg["ops"] if op["index"] == node), "?")
                bad_rows.append((name, prefix + "analyzer: GPU compatibility issue", node))
    incompatible = _aggregate(bad_rows)
    main = subgraphs[0]
    compatible = parsed["analyzer_verdict"] is not False and not incompatible
    return {
        "gpu_compatible": compatible,
        "opengl_es_compatible": compatible and not gl_blockers,
        "incompatible_ops": incompatible,
        "warnings": _aggregate(warn_rows),
        "analyzer": ANALYZER,
        "analyzer_verdict": parsed["analyzer_verdict"],
        "runtime_version": parsed["runtime_version"],
        "rules": RULES,
        "ops": dict(Counter(op["op"] for op in main["ops"])),
        "num_ops": len(main["ops"]),
        "subgraphs": len(subgraphs),
    }


# --------------------------------------------------------------------------- rewrites
# Model rewrites applied before conversion: gpu_friendly_layernorm_ by default for fixed-size
# TFLite (pocketsr.convert.pipeline.gpu_rewrites_), gpu_friendly_gelu_ by no converter option.

class SigmoidGELU(nn.Module):
    """``x * sigmoid(x * (a + b * x^2))`` with ``a = 2*sqrt(2/pi)``, ``b = a * 0.044715``.

    Algebraically the tanh approximation of GELU (``0.5 * (1 + tanh(z)) == sigmoid(2z)``), but
    written so the TFLite converter does not fuse it back into the GELU builtin (the literal
    tanh formula is fused): it converts to MUL/ADD/LOGISTIC, ops every GPU delegate runs.
    Differs from exact (erf) GELU by at most 4.73e-4 (at x = +-2.70).
    """

    A = 2.0 * math.sqrt(2.0 / math.pi)
    B = A * 0.044715

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(x * (self.A + self.B * (x * x)))


def gpu_friendly_gelu_(model: nn.Module) -> int:
    """Replace every ``nn.GELU`` submodule of ``model`` in place by :class:`SigmoidGELU`.

    For GPU delegates without the GELU builtin. Returns the number of modules replaced.
    Approximate, not exact: measured on LKDN-S (36 GELU calls) against the erf model, SR output
    max-abs 2.9e-3 on real photo crops (worst 74.3 dB, 3 % of 8-bit values change by one
    level), benchmark PSNR +0.001 dB (Set5) / +0.0004 dB (Set14). An fp32 artifact built from
    it therefore misses the fp32 parity gate (>= 100 dB) against the unmodified model; it is a
    GPU/fp16 option.
    """
    count = 0
    for parent in list(model.modules()):
        for child_name, child in list(parent.named_children()):
            if isinstance(child, nn.GELU):
                setattr(parent, child_name, SigmoidGELU())
                count += 1
    return count


def gpu_friendly_layernorm_(model: nn.Module) -> int:
    """Replace every single-axis ``nn.LayerNorm`` of ``model`` in place by
    :class:`pocketsr.convert.dynamic.LayerNormAsConv` (channel statistics by 1x1 convs: the TFLite graph
    then has no RESHAPE to ``(1, H*W, C)`` + MEAN over channels, which the GPU delegate's
    OpenGL ES backend cannot run — its MEAN only averages over height and width).

    Meant for LKDN's ``pixel_norm`` (LayerNorm over channels of the NHWC-permuted features).
    Returns the number replaced. Measured on LKDN-S at 32x48: TFLite ops MEAN 10 -> 0,
    RESHAPE 28 -> 3, SQUARED_DIFFERENCE 5 -> 0, CONV_2D 54 -> 64 (2 x 42 MACs per LR pixel per
    block), no extra TRANSPOSE; artifact vs the unmodified torch model max-abs 4.4e-6.
    """
    from .dynamic import LayerNormAsConv

    count = 0
    for parent in list(model.modules()):
        for child_name, child in list(parent.named_children()):
            if isinstance(child, nn.LayerNorm) and len(child.normalized_shape) == 1:
                setattr(parent, child_name, LayerNormAsConv(child))
                count += 1
    return count
