"""Quantization that keeps quality, shared by every target.

Three pieces, all on the PyTorch deploy model (pixel range folded):

1. **Emulation** (:func:`emulate`) of what the runtime computes: int8 weights per output
   channel, symmetric, scale ``max|w| / 127`` (ai-edge-quantizer's MIN_MAX CHANNELWISE), and
   for dynamic-range int8 the conv inputs quantized per tensor, asymmetric int8, from the
   tensor's own min/max at run time (XNNPACK's dynamic-range kernels).
2. **Mixed precision**: per-layer sensitivity is ranked in emulation on calibration crops
   (:func:`layer_sensitivity`: quantize one conv, measure output PSNR vs float); the target
   then keeps convs in float in that order until the *real* quantized artifact, run by its
   runtime on the selection pairs (:data:`pocketsr.datasets.sets.SELECTION_SET`, the same images
   on every machine), reaches :data:`TARGET_DB` and loses at most :data:`SELECTION_MARGIN` of the
   gate in ΔPSNR there — never on the gating benchmarks.
3. **Distillation fine-tuning** (:func:`distill`, quantization-aware): the emulated model
   (straight-through estimator) is trained to reproduce the float model's output on random
   crops of the calibration images (L1), so no ground truth is needed.

References: Jacob et al., "Quantization and Training of Neural Networks for Efficient
Integer-Arithmetic-Only Inference", CVPR 2018 (fake quantization, STE); Nagel et al., "A White
Paper on Neural Network Quantization", 2021 (per-channel weights, sensitivity analysis,
mixed precision).
"""

from __future__ import annotations

import copy
import re
from typing import Callable, Iterable, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode

WEIGHT_QMAX = 127.0


def fake_quant_weight(w: Tensor) -> Tensor:
    """Per-output-channel symmetric int8 quantize-dequantize of a conv weight ``(O, I, kh, kw)``."""
    scale = w.detach().abs().amax(dim=(1, 2, 3), keepdim=True).clamp_min(1e-12) / WEIGHT_QMAX
    return (w / scale).round().clamp(-WEIGHT_QMAX, WEIGHT_QMAX) * scale


def fake_quant_dynamic(x: Tensor) -> Tensor:
    """Per-tensor asymmetric int8 quantize-dequantize from the tensor's own range (incl. 0)."""
    return fake_quant_range(x, float(x.detach().amin()), float(x.detach().amax()))


def fake_quant_range(x: Tensor, lo: float, hi: float) -> Tensor:
    """Per-tensor asymmetric int8 quantize-dequantize with a fixed (calibrated) range ``[lo, hi]``
    widened to include 0, as TFLite static int8 stores every activation tensor."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    scale = max((hi - lo) / 255.0, 1e-12)
    zero = round(-128.0 - lo / scale)
    return ((x / scale + zero).round().clamp(-128, 127) - zero) * scale


def _ste(x: Tensor, fn) -> Tensor:
    """Straight-through estimator: forward ``fn(x)``, gradient of the identity."""
    return x + (fn(x) - x).detach()


class EmulatedConv(nn.Module):
    """A conv whose weight (and, for dynamic int8, input) pass through fake quantization.

    Keeps the wrapped conv as ``conv`` so its parameters stay trainable and exportable.
    """

    def __init__(self, conv: nn.Conv2d, dynamic: bool):
        super().__init__()
        self.conv = conv
        self.dynamic = dynamic
        self.enabled = True  # False: behave as the float conv (used by the sensitivity sweep)

    def forward(self, x: Tensor) -> Tensor:
        if not self.enabled:
            return self.conv(x)
        if self.dynamic:
            x = _ste(x, fake_quant_dynamic)
        c = self.conv
        return F.conv2d(x, _ste(c.weight, fake_quant_weight), c.bias, c.stride, c.padding,
                        c.dilation, c.groups)


class StaticInt8Emulation(TorchFunctionMode):
    """Emulates static W8A8 (what ``int8-full`` artifacts compute) around any model's forward.

    Inside the mode every conv weight is fake-quantized per output channel and the output of
    every op that TFLite stores as an int8 tensor (conv, activations, elementwise mul/add,
    concat, LayerNorm, clamp) is fake-quantized per tensor with a fixed range, so the model's
    own code needs no changes. Ranges are per call site (the n-th such op of a forward pass):
    the first ``observe`` passes record min/max on calibration crops (what the converter's
    calibration does), later passes quantize with them (straight-through gradients).
    Sigmoid outputs use the fixed range [0, 1] (TFLite's LOGISTIC output is 1/256-scaled).

    Approximations: LayerNorm is quantized at its output only (TFLite decomposes it into
    several int8 ops), and fused conv+activation pairs are not merged. Used to fine-tune, not
    to measure: the real artifact is always measured in its runtime.
    """

    CONV = (F.conv2d, torch.conv2d)
    FIXED = {torch.sigmoid: (0.0, 1.0), Tensor.sigmoid: (0.0, 1.0), F.sigmoid: (0.0, 1.0)}
    ACT = (F.leaky_relu, F.gelu, F.layer_norm, F.relu, torch.cat, torch.clamp, Tensor.clamp,
           torch.mul, Tensor.mul, Tensor.__mul__, Tensor.__rmul__,
           torch.add, Tensor.add, Tensor.__add__, Tensor.__radd__)

    def __init__(self):
        super().__init__()
        self.ranges: List[List[float]] = []
        self.observing = True
        self._i = 0

    def start(self) -> "StaticInt8Emulation":
        """Call before each forward pass (call sites are counted from here)."""
        self._i = 0
        return self

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in self.CONV and len(args) > 1:
            args = (args[0], _ste(args[1], fake_quant_weight), *args[2:])
        out = func(*args, **kwargs)
        fixed = self.FIXED.get(func)
        if (fixed is None and func not in self.CONV and func not in self.ACT) \
                or not isinstance(out, Tensor) or not out.is_floating_point():
            return out
        i, self._i = self._i, self._i + 1
        if self.observing:
            lo, hi = fixed or (float(out.detach().amin()), float(out.detach().amax()))
            if i == len(self.ranges):
                self.ranges.append([lo, hi])
            else:
                self.ranges[i] = [min(self.ranges[i][0], lo), max(self.ranges[i][1], hi)]
            return out
        lo, hi = self.ranges[i]
        return _ste(out, lambda t: fake_quant_range(t, lo, hi))


def static_int8_forward(model: nn.Module, mode: StaticInt8Emulation, x: Tensor) -> Tensor:
    """``model(x)`` with static W8A8 emulation (input quantized to the 8-bit grid of [0, 1])."""
    with mode.start():
        return model(_ste(x, lambda t: fake_quant_range(t, 0.0, 1.0)))


#: precision -> (weights quantized, conv inputs quantized dynamically)
EMULATION = {"int8-weights": (True, False), "int8-dynamic": (True, True), "int8-full": (True, True)}


def conv_names(model: nn.Module) -> List[str]:
    """Dotted names of every ``nn.Conv2d`` in graph-definition order."""
    return [n for n, m in model.named_modules() if isinstance(m, nn.Conv2d)]


def emulate(model: nn.Module, precision: str, keep_float: Iterable[str] = ()) -> nn.Module:
    """Copy of ``model`` with every conv not in ``keep_float`` replaced by :class:`EmulatedConv`.

    ``int8-full`` is emulated like ``int8-dynamic`` (calibrated static ranges are close to the
    per-image ranges on real images); its artifact is still measured in the real runtime.
    ``int8-dynamic`` leaves depthwise convs float, as the TFLite target does.
    """
    _, dynamic = EMULATION[precision]
    keep = set(keep_float)
    model = copy.deepcopy(model)
    for parent_name, parent in list(model.named_modules()):
        for child_name, child in list(parent.named_children()):
            full = f"{parent_name}.{child_name}" if parent_name else child_name
            if not isinstance(child, nn.Conv2d) or full in keep:
                continue
            if precision == "int8-dynamic" and child.groups > 1:
                continue
            setattr(parent, child_name, EmulatedConv(child, dynamic))
    return model


def unwrap(model: nn.Module) -> nn.Module:
    """Copy of an emulated model with plain convs again (trained float weights kept)."""
    model = copy.deepcopy(model)
    for parent in list(model.modules()):
        for child_name, child in list(parent.named_children()):
            if isinstance(child, EmulatedConv):
                setattr(parent, child_name, child.conv)
    return model


def _psnr(a: Tensor, b: Tensor) -> float:
    mse = F.mse_loss(a.double(), b.double()).item()
    return float("inf") if mse == 0 else 10 * np.log10(1.0 / mse)


def _emulated_layers(model: nn.Module) -> List[Tuple[str, EmulatedConv]]:
    return [(n[: -len(".conv")] if n.endswith(".conv") else n, m) for n, m in model.named_modules()
            if isinstance(m, EmulatedConv)]


@torch.no_grad()
def layer_sensitivity(model: nn.Module, precision: str, images: Tensor) -> List[Tuple[str, float]]:
    """Output PSNR (dB, vs float) when only one conv is quantized, for every conv.

    Args:
        images: ``(N, 3, h, w)`` float32 [0, 1] calibration crops.

    Returns:
        ``[(conv name, PSNR dB)]`` sorted from most to least sensitive.
    """
    ref = model.eval()(images)
    emulated = emulate(model, precision).eval()
    layers = _emulated_layers(emulated)
    for _, layer in layers:
        layer.enabled = False
    scores = []
    for name, layer in layers:
        layer.enabled = True
        scores.append((name, _psnr(emulated(images), ref)))
        layer.enabled = False
    return sorted(scores, key=lambda s: s[1])


def distill(model: nn.Module, precision: str, keep_float: Sequence[str], frames: Sequence[np.ndarray],
            steps: int, crop: int = 64, batch: int = 8, lr: float = 5e-6, seed: int = 0,
            progress=None) -> nn.Module:
    """Quantization-aware fine-tuning by distillation from the float model.

    Args:
        model: float deploy model (public interface, pixel range folded); not modified.
        frames: calibration crops ``(h, w, 3)`` uint8; random ``crop x crop`` patches are drawn
            (keep ``crop`` above the receptive field, ~34 px for FMEN-S, or borders dominate).
        steps: optimizer steps (Adam, L1 to the float model's output).

    ``int8-full`` trains under :class:`StaticInt8Emulation` (weights and every activation
    fake-quantized with ranges observed on ``frames``); the other precisions under
    :func:`emulate`. ``keep_float`` applies to the latter.

    Returns:
        A plain float model (same architecture) whose int8-quantized weights reproduce the
        float teacher better than the teacher's own quantized weights.
    """
    from pocketsr.runtime.images import crops as random_crops, to_tensor_array

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    teacher = model.eval()
    if precision == "int8-full":  # static W8A8: ranges observed on the calibration frames
        student = copy.deepcopy(model).train()
        mode = StaticInt8Emulation()
        with torch.no_grad():
            for frame in frames:
                static_int8_forward(student, mode, torch.from_numpy(to_tensor_array(frame)))
        mode.observing = False
        forward = lambda x: static_int8_forward(student, mode, x)  # noqa: E731
    else:
        student = emulate(model, precision, keep_float).train()
        forward = student
    for p in student.parameters():
        p.requires_grad_(True)
    opt = torch.optim.Adam(student.parameters(), lr=lr)
    for step in range(steps):
        x = torch.from_numpy(np.concatenate([
            to_tensor_array(random_crops(frames[int(rng.integers(len(frames)))], (crop, crop), 2, rng)[1])
            for _ in range(batch)]))
        with torch.no_grad():
            y = teacher(x)
        loss = F.l1_loss(forward(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if progress:
            progress(step, loss.item())
    return unwrap(student).eval()


def module_regex(module_path: str, model: Optional[nn.Module] = None, scope: bool = False) -> str:
    """Regex matching the TFLite tensors litert-torch names after a torch module.

    litert-torch names op outputs by the module path as ``<Class>_<attribute>`` segments, e.g.
    ``body.upsampler.0`` -> ``…LKDNet_body/…Sequential_upsampler/…Conv2d_0;3``. An
    ``nn.ModuleList`` adds no segment of its own (``body.ERBs.0`` -> ``…FMENet_body/…ERB_0/``),
    so with ``model`` given, list containers are left out of the pattern.

    ``scope=False`` matches the ops of the module itself (a conv); ``scope=True`` also every op
    of its submodules (a whole block).
    """
    parts = module_path.split(".")
    segments = []
    for i, part in enumerate(parts):
        if model is None:
            segments.append(f"[^/;]*_{re.escape(part)}")
            continue
        module = model.get_submodule(".".join(parts[: i + 1]))
        if isinstance(module, nn.ModuleList):
            continue
        segments.append(f"[^/;]*[.]{re.escape(type(module).__name__)}_{re.escape(part)}")
    return "/".join(segments) + ("[;/]" if scope else ";")


def normalization_scopes(model: nn.Module) -> List[str]:
    """Module paths of the normalization layers (``nn.LayerNorm``/``GroupNorm``/``InstanceNorm``
    and rewrites that set ``is_normalization = True``), in definition order.

    Static integer quantization keeps these float (:attr:`QuantPlan.float_scopes`): a
    normalization divides by ``sqrt(variance + eps)``, and the variance's dynamic range is the
    square of its input's, so on a uniform integer grid a single high-contrast calibration
    image coarsens the step until low-variance pixels (flat regions) round to 0 and the
    reciprocal square root explodes. Measured on LKDN-S ``int8-full`` at 64x64 with the CC0
    fallback calibration set: 24.2 dB plain W8A8 and 33.2 dB with every block at 16-bit
    activations (its SQUARED_DIFFERENCE stays int8), vs 37.2 / 48.5 dB with the LayerNorms
    float.
    """
    kinds = (nn.LayerNorm, nn.GroupNorm, nn.InstanceNorm1d, nn.InstanceNorm2d)
    return [n for n, m in model.named_modules()
            if n and (isinstance(m, kinds) or getattr(m, "is_normalization", False))]


def block_scopes(model: nn.Module) -> List[str]:
    """The blocks mixed precision may widen as a whole: the body's children (items of a
    ``ModuleList`` separately) in definition order, then ``"body"`` itself for the ops written
    in the body's ``forward`` (the global residual add, concatenations); see
    :func:`scope_regex`."""
    body = model.get_submodule("body")
    out = []
    for name, child in body.named_children():
        if isinstance(child, nn.ModuleList):
            out.extend(f"body.{name}.{i}" for i in range(len(child)))
        else:
            out.append(f"body.{name}")
    return out + ["body"]


def scope_regex(block: str, model: nn.Module) -> str:
    """TFLite tensor regex of a :func:`block_scopes` entry: a child block with all its ops, or
    for ``"body"`` only the ops directly in the body's ``forward``."""
    return module_regex(block, model, scope=block != "body")


# -- the plan every target receives -------------------------------------------------------------

#: precision -> target mean output PSNR (dB, peak 1) of the real quantized artifact vs the float
#: model on the selection pairs (whole SR outputs of china and flower). On these images, not on
#: the calibration crops: the calibration set differs between machines (built-in photos, plus
#: ``../shared``'s video frames when present, or the user's ``--calibration``), and an absolute
#: PSNR target on it was unreachable on one and easy on another (int8-dynamic's 67 dB: 66.4 /
#: 65.5 dB at 12 float convs on the built-in photos, LKDN-S / FMEN-S). Measured with the
#: built-in calibration (``tools/selection_study.py``, README "Mixed precision"): the first
#: candidate reaching 54 dB with its selection ΔPSNR within the margin lost -0.0198 / -0.0240 /
#: -0.0145 / -0.0250 dB on Set5 (LKDN-S int8-weights / int8-dynamic, FMEN-S int8-weights /
#: int8-dynamic; gate 0.03); candidates below 54 dB lost up to -0.0384 / -0.0478. int8-full
#: (gate 0.10), every block 16-bit: 45.76 / 46.52 dB with no float conv (Set5 -0.0721 / -0.0572),
#: 48.25 / 47.02 dB with one (Set5 -0.0576 / -0.0442): 47 dB keeps one.
TARGET_DB = {"int8-weights": 54.0, "int8-dynamic": 54.0, "int8-full": 47.0}


class QuantOptions:
    """User choices for reduced-precision conversion (CLI flags of ``pocketsr convert``).

    Args:
        calibration: folder of images/videos (None: default real images, see
            :mod:`pocketsr.convert.calibration`).
        count: number of calibration crops; seed: crop placement and fine-tuning seed.
        finetune_steps: distillation steps (0 disables fine-tuning).
        max_float_layers: upper bound on convs kept in float by mixed precision (0 disables).
    """

    def __init__(self, calibration=None, count: int = 32, seed: int = 0, finetune_steps: int = 0,
                 max_float_layers: int = 12):
        self.calibration = calibration
        self.count = count
        self.seed = seed
        self.finetune_steps = finetune_steps
        self.max_float_layers = max_float_layers


#: the mixed-precision search accepts a candidate only if its ΔPSNR on the selection pairs is
#: within this fraction of the precision's gate (the gating benchmarks are other images). Half:
#: Set5 lost 0.7-3.8x what the selection pairs lost (TFLite int8-dynamic, 5-12 float convs).
SELECTION_MARGIN = 0.5
#: a search more than :data:`HOPELESS_MARGIN_DB` below its target whose last few steps,
#: extrapolated over its remaining budget, cannot reach the target stops there (it would
#: otherwise spend every candidate for nothing)
HOPELESS_WINDOW = 3
HOPELESS_MARGIN_DB = 3.0


class QuantPlan:
    """What the shared quantization step prepared for one model and precision.

    Attributes:
        model: the model to convert (fine-tuned if distillation ran), float, eval.
        ranking: conv module paths, most sensitive first (emulated, on calibration crops).
        calibration: ``(h, w, 3)`` uint8 crops at the artifact input size (int8 ranges).
        selection: HR/LR pairs (:func:`pocketsr.datasets.sets.builtin_pairs` ``"selection"``) on
            which a candidate is measured (:meth:`measure`); never a gating benchmark.
            ``overlap``: the tiling overlap used there (LR pixels).
        gate_delta_db: the precision's ΔPSNR gate (dB); a candidate is accepted when its
            selection output PSNR reaches :attr:`target_db` and its selection ΔPSNR is within
            :data:`SELECTION_MARGIN` of the gate.
        blocks: :func:`block_scopes` of the model (int8-full may give them 16-bit activations).
        float_scopes: :func:`normalization_scopes` of the model, kept float (every op inside)
            by static integer quantization.
        target_db, max_float_layers: the mixed-precision stopping rule.
        record: facts for the manifest.
    """

    def __init__(self, model, ranking, calibration, target_db, max_float_layers, record, selection,
                 overlap: int = 0, gate_delta_db: float = float("inf")):
        self.model = model
        self.ranking = list(ranking)
        self.calibration = calibration
        self.target_db = target_db
        self.max_float_layers = max_float_layers
        self.record = record
        self.selection = selection
        self.overlap = overlap
        self.gate_delta_db = gate_delta_db
        self.blocks = block_scopes(model) if hasattr(model, "body") else []
        self.float_scopes = normalization_scopes(model)
        self.stopped: Optional[str] = None
        self._selection_ref = {}
        #: the accepted search results of this plan's artifacts so far (shared by the copies
        #: :meth:`for_gate` makes): ``[{"artifact", "precision", "float_convs"}]``, where the
        #: next search of the same precision starts
        self.accepted: List[dict] = []
        self.label: Optional[str] = None
        self.precision: Optional[str] = None
        self.warm_start: Optional[dict] = None

    def measure(self, runner) -> dict:
        """Score a written candidate artifact through its runtime ``runner`` on the selection
        pairs (each image fed as the validator feeds benchmarks: one canvas or exact tiles).

        Returns:
            ``{"selection_psnr_db"}``: mean over the pairs of the SR output's PSNR vs the float
            model's (dB, peak 1, RGB); ``"selection_delta_db"``: mean Y-PSNR vs HR of the artifact
            minus the float model's on the identical canvas (dB; negative = worse).
        """
        from pocketsr.datasets.benchmark import evaluate
        from pocketsr.runtime.metrics import parity
        from pocketsr.runtime.runners import TorchRunner

        size = runner.input_size
        if size not in self._selection_ref:
            ref = TorchRunner(self.model, self.selection.scale)
            self._selection_ref[size] = evaluate(ref, self.selection, input_size=size, overlap=self.overlap,
                                                 keep_outputs=True)
        ref = self._selection_ref[size]
        got = evaluate(runner, self.selection, overlap=self.overlap, keep_outputs=True)
        psnr = float(np.mean([parity(got["outputs"][n], ref["outputs"][n])["psnr_db"] for n in ref["outputs"]]))
        return {"selection_psnr_db": round(psnr, 2),
                "selection_delta_db": round(got["psnr_y"] - ref["psnr_y"], 4)}

    def for_gate(self, precision: str, label: Optional[str] = None) -> "QuantPlan":
        """This plan for one artifact of ``precision`` (its own ΔPSNR gate, a fresh search
        state); calibration, ranking, model, selection reference and the searches accepted so
        far are shared, not copied. ``label``: the artifact's name in later warm starts."""
        from pocketsr.convert.gates import GATES

        plan = copy.copy(self)
        plan.gate_delta_db = GATES[precision][1]
        plan.stopped = None
        plan.warm_start = None
        plan.label = label or precision
        plan.precision = precision
        return plan

    def search_record(self, history: List[dict]) -> dict:
        """The manifest's record of a finished search (``history``: one :meth:`measure` result
        per candidate, with the target's own keys)."""
        sel = self.selection
        return {"selection_psnr_db": history[-1]["selection_psnr_db"],
                "selection_delta_db": history[-1]["selection_delta_db"],
                "target_selection_psnr_db": self.target_db,
                "selection": {"set": sel.name, "images": [i.name for i in sel.images],
                              "max_abs_delta_db": SELECTION_MARGIN * self.gate_delta_db},
                "search_stopped": self.stopped, "warm_start": self.warm_start,
                "mixed_precision_search": history, **self.record}

    def accepts(self, m: dict) -> bool:
        """Whether a :meth:`measure` result is good enough to stop the search."""
        return (m["selection_psnr_db"] >= self.target_db
                and abs(m["selection_delta_db"]) <= SELECTION_MARGIN * self.gate_delta_db)

    def keep_float_search(self, attempt: Callable[[List[str]], dict],
                          first: Optional[dict] = None) -> List[str]:
        """The mixed-precision rule every target applies: keep convs float, one by one in this
        plan's sensitivity order, until the *real* artifact is accepted (:meth:`accepts`), or
        :attr:`max_float_layers` convs are float, or the target is out of reach (more than
        :data:`HOPELESS_MARGIN_DB` below it, and the mean gain of the last
        :data:`HOPELESS_WINDOW` steps times the steps left falls short). Unaccepted,
        :attr:`stopped` says why (the manifest's ``search_stopped``); the gates then decide.

        Warm start: when another artifact of the same plan and precision was accepted with
        ``k`` float convs (TFLite int8-weights before Core ML int8-weights: the same per-channel
        int8 weights), the search starts at ``k``: accepted there, it steps down while the
        smaller set is still accepted (and rewrites the smallest accepted one); rejected, it
        steps up as usual. Recorded as :attr:`warm_start`. Not used when ``first`` is given (the
        target already wrote a start), nor across precisions (palettes err unlike int8: a hint
        from int8-weights cost Core ML palettized-6bit more candidates than a cold search).

        Args:
            attempt: ``attempt(keep)`` writes the artifact with the ``keep`` convs (module
                paths) float and returns its :meth:`measure` (the target records its own history).
            first: the measure of the artifact already written with no float convs, if any.

        Returns:
            The convs kept float (the artifact of the last ``attempt`` call is the result).
        """
        budget = min(self.max_float_layers, len(self.ranking))
        same = [a for a in self.accepted if a["precision"] == self.precision]
        start = same[-1] if same and first is None else None
        keep: List[str] = []
        if start is not None and 0 < start["float_convs"] <= budget:
            self.warm_start = dict(start)
            k = start["float_convs"]
            m = attempt(self.ranking[:k])
            if self.accepts(m):
                while k > 0:
                    smaller = attempt(self.ranking[:k - 1])
                    if not self.accepts(smaller):
                        m = attempt(self.ranking[:k])  # the artifact left behind is the accepted one
                        break
                    k, m = k - 1, smaller
                keep = self.ranking[:k]
                self._accepted(keep)
                return list(keep)
            keep = self.ranking[:k]
        else:
            m = first if first is not None else attempt(keep)
        psnrs = [m["selection_psnr_db"]]
        while not self.accepts(m) and len(keep) < budget:
            keep.append(self.ranking[len(keep)])
            m = attempt(list(keep))
            psnrs.append(m["selection_psnr_db"])
            # Only the output PSNR is extrapolated: it rises steadily with float convs, while a
            # ΔPSNR on a few images moves by image-specific effects of either sign.
            if len(psnrs) > HOPELESS_WINDOW and psnrs[-1] < self.target_db - HOPELESS_MARGIN_DB:
                gain = max(0.0, (psnrs[-1] - psnrs[-1 - HOPELESS_WINDOW]) / HOPELESS_WINDOW)
                if psnrs[-1] + gain * (budget - len(keep)) < self.target_db:
                    self.stopped = (f"selection target {self.target_db:g} dB out of reach: "
                                    f"{psnrs[-1]:.2f} dB after {len(keep)} float convs, "
                                    f"+{gain:.2f} dB per conv lately (selection ΔPSNR "
                                    f"{m['selection_delta_db']:+.4f} dB, limit "
                                    f"±{SELECTION_MARGIN * self.gate_delta_db:.4f})")
                    break
        if not self.accepts(m) and self.stopped is None:
            self.stopped = f"not accepted after {len(keep)} float convs (the cap): {m}"
        if self.stopped is None:
            self._accepted(keep)
        return keep

    def _accepted(self, keep: List[str]) -> None:
        self.accepted.append({"artifact": self.label, "precision": self.precision, "float_convs": len(keep)})


def plan_quantization(model: nn.Module, precision: str, input_size: Tuple[int, int],
                      options: Optional[QuantOptions] = None, progress=None,
                      gate_precision: Optional[str] = None) -> QuantPlan:
    """Calibration set, sensitivity ranking, selection pairs and optional distillation for one
    precision. ``gate_precision``: the artifact's own precision when it differs from the plan's
    (its gate decides acceptance; e.g. Core ML palettized-6bit uses the int8-weights plan).

    Raises:
        pocketsr.errors.InputError: bad calibration input (before any conversion work).
    """
    from pocketsr.runtime.images import to_tensor_array

    from .calibration import calibration_set

    from pocketsr.datasets.sets import builtin_pairs
    from pocketsr.runtime.tiling import (UnboundedReceptiveField, default_overlap, nonlocal_overlap,
                                         receptive_field_radius)
    from pocketsr.convert.gates import GATES

    options = options or QuantOptions()
    calib, source = calibration_set(options.calibration, input_size, options.count, options.seed)
    selection = builtin_pairs("selection", model.scale)
    try:
        overlap = default_overlap(receptive_field_radius(model, model.scale), tuple(input_size))
    except UnboundedReceptiveField:  # not local: no exact overlap exists
        overlap = nonlocal_overlap(tuple(input_size))
    small = torch.from_numpy(np.concatenate([to_tensor_array(c[:64, :96]) for c in calib[:6]]))
    ranking = layer_sensitivity(model, precision, small) if options.max_float_layers > 0 else []
    if options.finetune_steps > 0:
        model = distill(model, precision, [], calib, options.finetune_steps, seed=options.seed,
                        progress=progress)
    record = {
        "calibration": source,
        "most_sensitive_emulated": [{"layer": n, "psnr_db": round(db, 2)} for n, db in ranking[:5]],
        "finetune_steps": options.finetune_steps,
    }
    return QuantPlan(model, [n for n, _ in ranking], calib, TARGET_DB[precision],
                     options.max_float_layers, record, selection=selection, overlap=overlap,
                     gate_delta_db=GATES[gate_precision or precision][1])
