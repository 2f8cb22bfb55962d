"""Core ML target: ML Program packages (``.mlpackage``) made with coremltools.

The deploy model is traced (``torch.jit.trace``) and converted with ``coremltools.convert`` to
an ML Program, ``minimum_deployment_target`` iOS17 (iOS18 for the palettized precisions).
Precisions:

* ``fp32`` — float32 weights and compute.
* ``fp16`` — float16 weights and compute (``compute_precision=FLOAT16``), what the GPU and the
  Neural Engine run. Every precision below is this fp16 program with compressed weights.
* ``int8-weights`` — conv weights int8 per output channel, symmetric
  (``coremltools.optimize.coreml.linear_quantize_weights``; ``constexpr_affine_dequantize``).
* ``palettized-6bit`` / ``palettized-4bit`` — conv weights as k-means lookup tables of 64 / 16
  fp16 values per output channel (``palettize_weights``, scikit-learn; ``constexpr_lut_to_dense``,
  iOS18), for convs of at least :data:`PALETTE_MIN_WEIGHTS` weights.
* ``w8a8`` — int8 weights and activations: ``coremltools.optimize.torch``'s ``LinearQuantizer``
  (affine uint8 activations, per-channel symmetric weights, min/max observers) calibrated on the
  shared real-image calibration crops, then traced and converted (``quantize``/``dequantize`` ops
  in the fp16 program). Misses its 0.10 dB gate so far, hence offered but not a default.

``int8-weights`` and ``palettized-6bit`` use the shared quantization plan
(:mod:`pocketsr.convert.quantize`): convs stay fp16 in its sensitivity order until the saved package, run
by the MIL executor on the plan's check crops, reaches the plan's target
(:meth:`pocketsr.convert.quantize.QuantPlan.keep_float_search`, the rule the TFLite target applies).

I/O (``io=``): ``"image"`` (default) — input ``lr`` is an RGB ``ImageType`` (an app passes a
``CVPixelBuffer``; the program scales the 8-bit values by 1/255) and output ``sr`` an RGB
``ImageType`` whose values are the model output times 255; ``"tensor"`` — input ``lr``
``(1, 3, H, W)`` float32 in [0, 1], output ``sr`` ``(1, 3, sH, sW)`` float32 in [0, 1].

The pipeline hands every target a model already rescaled for float16 headroom
(``SRNet.fp16_headroom_rescale_``: LKDN-S's LayerNorm inputs reach ~1e5 on real photos, above
float16's 65504; see CONTRACT.md).
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

from pocketsr.errors import InputError

from .base import ConversionError, ConversionResult, Target, captured_output, register_target

IO_VARIANTS = ("image", "tensor")
DEFAULT_IO = "image"
#: precision -> coremltools minimum deployment target name
#: (per-channel LUTs, ``per_grouped_channel`` palettization, need iOS18)
DEPLOYMENT_TARGET = {"fp32": "iOS17", "fp16": "iOS17", "int8-weights": "iOS17", "palettized-6bit": "iOS18",
                     "palettized-4bit": "iOS18", "w8a8": "iOS17"}
PALETTE_BITS = {"palettized-6bit": 6, "palettized-4bit": 4}
PALETTE_MIN_WEIGHTS = 2048


# -- conversion helpers --------------------------------------------------------------------------

class _ImageOutput(nn.Module):
    """The model function with its output scaled to 0..255 for an image output."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x) * 255.0


def _sanitize(name: str) -> str:
    return re.sub(r"[^0-9a-zA-Z_]", "_", name)


def conv_weight_consts(mlmodel, module_names: Sequence[str]) -> Dict[str, str]:
    """Map torch conv module paths to the names of their weight constants in a converted program
    (coremltools names a parameter ``<path with dots as underscores>_weight``, optionally with a
    wrapper prefix and a ``_to_fp16`` suffix)."""
    import coremltools as ct

    consts = [n for n, meta in ct.optimize.coreml.get_weights_metadata(mlmodel, weight_threshold=0).items()
              if len(meta.val.shape) == 4 and any(c.op_type == "conv" for c in meta.child_ops)]
    found = {}
    for module in module_names:
        want = _sanitize(module) + "_weight"
        hits = [c for c in consts if re.sub(r"_to_fp16$", "", c) == want
                or re.sub(r"_to_fp16$", "", c).endswith("_" + want)]
        if len(hits) == 1:
            found[module] = hits[0]
    return found


class CoreMLTarget(Target):
    name = "coreml"
    suffix = ".mlpackage"
    precisions = ("fp32", "fp16", "int8-weights", "palettized-6bit", "palettized-4bit", "w8a8")
    # w8a8 is offered but not default: it misses its 0.10 dB gate (see CONTRACT.md);
    # palettized-4bit is report-only (no gate), so it is not a default either
    default_precisions = ("fp32", "fp16", "int8-weights", "palettized-6bit")
    packages = ("coremltools", "scikit-learn")
    directory = True  # an .mlpackage is a folder

    def available(self) -> Tuple[bool, str]:
        import importlib.util

        missing = [m for m in ("coremltools", "sklearn") if importlib.util.find_spec(m) is None]
        return (False, f"not installed: {', '.join(missing)}") if missing else (True, "")

    def plan_precision(self, precision: str) -> Optional[str]:
        """int8-weights and palettized-6bit use the shared int8 weight plan (its emulated
        sensitivity ranking and target drive mixed precision); w8a8 the static int8 plan
        (calibration crops, optional distillation). palettized-4bit is report-only: plain."""
        return {"int8-weights": "int8-weights", "palettized-6bit": "int8-weights",
                "w8a8": "int8-full"}.get(precision)

    def conversion_kwargs(self, model_name: str, weights: Dict, io: str = DEFAULT_IO, **options) -> Dict:
        """``info`` for the package metadata, and the I/O variant ``io`` (``"image"`` or ``"tensor"``).

        Raises:
            InputError: an unknown option or ``io`` value.
        """
        if options:
            raise InputError(f"target coreml has no option {', '.join(options)} (it takes io)")
        if io not in IO_VARIANTS:
            raise InputError(f"Core ML io must be one of {', '.join(IO_VARIANTS)}, not {io!r}")
        return {"info": {"model": model_name, "weights": weights}, "io": io}

    def variant(self, io: str = DEFAULT_IO, **options) -> str:
        """``""`` for the default image I/O, ``"_tensor"`` for the tensor variant."""
        return "" if io == DEFAULT_IO else f"_{io}"

    # -- conversion ----------------------------------------------------------------------------
    def convert(self, model, input_size, precision, out_path: Path, plan=None, io: str = DEFAULT_IO,
                info: Optional[Dict] = None, dynamic: bool = False) -> ConversionResult:
        """Convert the deploy model for a fixed ``input_size`` into the package ``out_path``.

        Args:
            io: ``"image"`` (ImageType input and output) or ``"tensor"`` (float32 NCHW [0, 1]).
            info: ``{"model": registry name, "weights": manifest weights record}`` for the
                metadata Xcode shows (the pipeline passes it, see :meth:`conversion_kwargs`).
        """
        if precision not in self.precisions:
            raise ValueError(f"coreml precision {precision!r} not in {self.precisions}")
        if io not in IO_VARIANTS:
            raise InputError(f"Core ML io must be one of {', '.join(IO_VARIANTS)}, not {io!r}")
        if dynamic:
            raise InputError("Core ML artifacts have a fixed input size (flexible shapes are not "
                             "implemented); drop --dynamic-size for the coreml target")
        if self.plan_precision(precision) and plan is None:
            raise ValueError(f"{precision} needs a quantization plan")
        h, w = input_size
        scale = model.scale
        out_path = Path(out_path)
        model = copy.deepcopy(plan.model if plan is not None else model).eval()
        details: Dict = {"converter": "coremltools.convert (torch.jit.trace)", "io": io,
                         "minimum_deployment_target": DEPLOYMENT_TARGET[precision],
                         "compute_precision": "float32" if precision == "fp32" else "float16"}
        with captured_output(f"coremltools conversion ({precision})"):
            if precision == "w8a8":
                model, record = self._w8a8_model(model, plan, (h, w))
                details.update(record)
            mlmodel = self._convert(model, (h, w), precision, io)
            if precision in ("int8-weights", "palettized-6bit", "palettized-4bit"):
                details.update(self._compress(mlmodel, precision, out_path, plan, io, info, (h, w), scale))
            else:
                self._save(mlmodel, out_path, precision, io, info, (h, w), scale)
        if plan is not None:
            details.update(plan.record)
        inp, out = self.io_descriptions(io, (h, w), scale)
        return ConversionResult(input=inp, output=out, details=details)

    @staticmethod
    def io_descriptions(io: str, input_size: Tuple[int, int], scale: int) -> Tuple[Dict, Dict]:
        """Manifest ``input``/``output`` entries for an I/O variant (what the runner feeds)."""
        h, w = input_size
        if io == "image":
            def image(name, hh, ww):
                return {"name": name, "shape": [1, 3, hh, ww], "layout": "image (Core ML ImageType)",
                        "dtype": "uint8", "range": [0, 255], "color": "RGB", "width": ww, "height": hh}
            inp = {**image("lr", h, w), "scale_in_graph": 1 / 255,
                   "feed": "8-bit RGB image, e.g. a CVPixelBuffer (kCVPixelFormatType_32BGRA)"}
            out = {**image("sr", h * scale, w * scale),
                   "value": "graph computes clamp(y, 0, 1) * 255 in float; Core ML writes the 8-bit image"}
            return inp, out

        def tensor(name, hh, ww):
            return {"name": name, "shape": [1, 3, hh, ww], "layout": "NCHW", "dtype": "float32",
                    "range": [0.0, 1.0], "color": "RGB"}
        return tensor("lr", h, w), tensor("sr", h * scale, w * scale)

    @staticmethod
    def _convert(model: nn.Module, input_size: Tuple[int, int], precision: str, io: str):
        import coremltools as ct

        h, w = input_size
        example = torch.rand(1, 3, h, w)
        graph = _ImageOutput(model).eval() if io == "image" else model.eval()
        with torch.no_grad():
            traced = torch.jit.trace(graph, example)
        if io == "image":
            inputs = [ct.ImageType(name="lr", shape=(1, 3, h, w), scale=1 / 255.0, bias=[0.0, 0.0, 0.0],
                                   color_layout=ct.colorlayout.RGB)]
            outputs = [ct.ImageType(name="sr", color_layout=ct.colorlayout.RGB)]
        else:
            inputs = [ct.TensorType(name="lr", shape=(1, 3, h, w), dtype=np.float32)]
            outputs = [ct.TensorType(name="sr", dtype=np.float32)]
        return ct.convert(traced, inputs=inputs, outputs=outputs, convert_to="mlprogram",
                          minimum_deployment_target=getattr(ct.target, DEPLOYMENT_TARGET[precision]),
                          compute_precision=ct.precision.FLOAT32 if precision == "fp32" else ct.precision.FLOAT16,
                          compute_units=ct.ComputeUnit.ALL)

    @staticmethod
    def _weight_config(precision: str):
        """coremltools config for the conv weights of a compressed precision."""
        import coremltools as ct

        if precision == "int8-weights":
            return ct.optimize.coreml.OpLinearQuantizerConfig(
                mode="linear_symmetric", dtype="int8", granularity="per_channel", weight_threshold=0)
        # One k-means LUT per output channel (iOS18): a per-tensor LUT (iOS17) lost 8-13 dB more
        # on these models, whose channels differ widely in range. Tensors under 2048 weights
        # (1x1 and depthwise convs of LKDN-S) stay fp16: their per-channel LUTs would be as large
        # as the weights.
        return ct.optimize.coreml.OpPalettizerConfig(
            mode="kmeans", nbits=PALETTE_BITS[precision], granularity="per_grouped_channel",
            group_size=1, weight_threshold=PALETTE_MIN_WEIGHTS)

    def _compress(self, mlmodel, precision: str, out_path: Path, plan, io, info, input_size, scale) -> Dict:
        """Compress the conv weights of the fp16 program and save it. With a plan, mixed
        precision by :meth:`~pocketsr.convert.quantize.QuantPlan.keep_float_search`, measured with the MIL executor on the saved
        package; without one, every eligible conv is compressed."""
        import coremltools as ct

        from pocketsr.runtime.runners import CoreMLRunner

        compress = (ct.optimize.coreml.linear_quantize_weights if precision == "int8-weights"
                    else ct.optimize.coreml.palettize_weights)
        names = conv_weight_consts(mlmodel, plan.ranking) if plan is not None else {}

        history: List[Dict] = []

        def build(keep):
            missing = [m for m in keep if m not in names]
            if missing:
                raise ConversionError(f"cannot find the Core ML weights of conv(s) {', '.join(missing)}")
            cfg = ct.optimize.coreml.OptimizationConfig(op_type_configs={"conv": self._weight_config(precision)},
                                                        op_name_configs={names[m]: None for m in keep})
            self._save(compress(mlmodel, cfg), out_path, precision, io, info, input_size, scale)

        def attempt(keep) -> dict:
            build(keep)
            measured = plan.measure(CoreMLRunner(out_path))
            history.append({"float_layers": len(keep), **measured})
            return measured

        recipe = {"int8-weights": "linear_quantize_weights: int8 per output channel, symmetric "
                                  "(constexpr_affine_dequantize), every conv",
                  "palettized-6bit": "palettize_weights k-means: 64-entry fp16 LUT per output channel "
                                     "(constexpr_lut_to_dense), convs of >= 2048 weights",
                  "palettized-4bit": "palettize_weights k-means: 16-entry fp16 LUT per output channel "
                                     "(constexpr_lut_to_dense), convs of >= 2048 weights"}[precision]
        if plan is None:
            build([])
            return {"compression": recipe, "float_layers": []}
        keep = plan.keep_float_search(attempt)
        return {"compression": recipe + "; float convs stay fp16", "float_layers": keep,
                "float_consts": [names[m] for m in keep], **plan.search_record(history)}

    @staticmethod
    def _w8a8_model(model: nn.Module, plan, input_size) -> Tuple[nn.Module, Dict]:
        """Fake-quantized (observers only) torch model calibrated on the plan's real crops."""
        from coremltools.optimize.torch.quantization import (LinearQuantizer, LinearQuantizerConfig,
                                                             ModuleLinearQuantizerConfig)

        from pocketsr.runtime.images import to_tensor_array

        crops = [torch.from_numpy(to_tensor_array(c)) for c in plan.calibration]
        cfg = LinearQuantizerConfig(global_config=ModuleLinearQuantizerConfig(
            quantization_scheme="affine", activation_observer="min_max", weight_observer="min_max",
            weight_per_channel=True, milestones=[0, 1 << 30, 1 << 30, 1 << 30]))
        quantizer = LinearQuantizer(model, cfg)
        prepared = quantizer.prepare(example_inputs=(crops[0],))
        quantizer.step()  # milestone 0: observers on, fake quantization off while calibrating
        with torch.no_grad():
            for x in crops:
                prepared(x)
        final = quantizer.finalize().eval()
        return final, {"compression": "W8A8: coremltools.optimize.torch LinearQuantizer (affine uint8 "
                                      "activations, per-channel symmetric int8 weights, min/max "
                                      "observers) calibrated on real crops; quantize/dequantize ops",
                       "calibration_crops": len(crops)}

    def _save(self, mlmodel, out_path: Path, precision: str, io: str, info: Optional[Dict],
              input_size: Tuple[int, int], scale: int) -> None:
        """Set the metadata Xcode shows and save the package to ``out_path`` (replacing it)."""
        from pocketsr.mobile_models import get_spec
        from pocketsr.version import __version__

        h, w = input_size
        spec = get_spec(info["model"]) if info and info.get("model") else None
        weights = (info or {}).get("weights") or {}
        title = spec.title if spec else "pocketsr model"
        mlmodel.short_description = (f"{title} x{scale} super-resolution ({precision}): RGB {w}x{h} -> "
                                     f"{w * scale}x{h * scale}. Contract: pocketsr convert/CONTRACT.md")
        mlmodel.version = __version__
        if spec is not None:
            mlmodel.author = f"{spec.paper}. Converted by pocketsr {__version__}."
        if spec is not None and spec.weights:
            src = spec.pretrained_source
            mlmodel.license = (f"Weights: {src.license} ({src.repo} @ {src.commit[:7]})"
                               if weights.get("official", True) else
                               f"Weights: local file {Path(weights.get('path', '?')).name} "
                               f"(architecture {src.repo}, {src.license})")
        elif spec is not None:  # a user network: no published source
            mlmodel.license = f"Weights: local file {Path(weights.get('path', '?')).name} ({spec.license})"
        if io == "image":
            mlmodel.input_description["lr"] = f"Low-resolution RGB image, {w}x{h} (8-bit)."
            mlmodel.output_description["sr"] = (f"Super-resolved RGB image, {w * scale}x{h * scale} "
                                                "(model output clamped to [0, 1], times 255).")
        else:
            mlmodel.input_description["lr"] = f"Low-resolution RGB, float32 (1, 3, {h}, {w}), values in [0, 1]."
            mlmodel.output_description["sr"] = (f"Super-resolved RGB, float32 (1, 3, {h * scale}, {w * scale}), "
                                                "values in [0, 1] (clamped in the graph).")
        meta = {"pocketsr.model": info.get("model", "") if info else "", "pocketsr.scale": str(scale),
                "pocketsr.precision": precision, "pocketsr.io": io, "pocketsr.input_size": f"{h}x{w}",
                "pocketsr.weights_sha256": weights.get("sha256", ""), "pocketsr.version": __version__,
                "pocketsr.contract": "convert/CONTRACT.md"}
        for k, v in meta.items():
            mlmodel.user_defined_metadata[k] = v
        mlmodel.save(str(out_path))  # replaces out_path (the pipeline's temporary .mlpackage folder)

    def inspect(self, path: Path) -> Dict:
        """Static facts of the saved package: opset, op counts, I/O features, weight blob size."""
        from collections import Counter

        from pocketsr.runtime.mil_executor import MILExecutor

        ex = MILExecutor(path)
        blob = sum(f.stat().st_size for f in Path(path).rglob("*.bin"))
        return {"coreml": {"opset": ex.opset, "fp16_compute": ex.fp16, "inputs": ex.inputs, "outputs": ex.outputs,
                           "ops": dict(Counter(o.type for o in ex.ops if o.type != "const")),
                           "weight_blob_bytes": blob}}


register_target(CoreMLTarget())
