"""TFLite / LiteRT target: litert-torch conversion, ai-edge-quantizer for reduced precisions.

Graph I/O follows the LiteRT convention: NHWC. One signature ``serving_default`` with input
``lr`` ``(1, H, W, 3)`` float32 RGB [0, 1] and output ``sr`` ``(1, sH, sW, 3)`` float32 RGB [0, 1]
(clamped in-graph). Precisions:

* ``fp32`` — float32 weights and compute.
* ``fp16`` — conv weights stored as float16 (ai-edge-quantizer ``FLOAT_CASTING``), with
  DEQUANTIZE ops in front; CPU kernels compute in float32, GPU delegates in float16. Halves
  the file size.
* ``int8-weights`` — ai-edge-quantizer weight-only int8 (per-channel), float compute.
* ``int8-dynamic`` — ai-edge-quantizer dynamic-range int8: int8 per-channel weights, conv
  inputs quantized at run time.
* ``int8-full`` — ai-edge-quantizer static W8A8, calibrated on real images; input and output
  are int8 with scale 1/255 (zero point -128), i.e. ``uint8 pixel - 128``. Where plain W8A8
  is not accepted by the mixed-precision search, blocks get 16-bit activations (TFLite 16x8) and then convs
  stay float; the manifest lists both.

Reduced precisions take a :class:`~pocketsr.convert.quantize.QuantPlan`: convs it lists as float stay
unquantized (NO_QUANTIZE for their TFLite scope), and the plan's model may be fine-tuned.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path
from typing import Tuple

import numpy as np
import torch

from pocketsr.errors import InputError

from .base import ConversionError, ConversionResult, NamedIO, Target, captured_output, register_target


def _tensor(name: str, shape, dtype: str = "float32") -> dict:
    return {"name": name, "shape": list(shape), "layout": "NHWC", "dtype": dtype,
            "range": [0.0, 1.0], "color": "RGB"}


def _a16w8():
    """ai-edge-quantizer op config: 16-bit activations (symmetric, per tensor), int8 weights
    (per channel) — TFLite's "16x8" integer mode."""
    from ai_edge_quantizer import qtyping as q

    return q.OpQuantizationConfig(
        activation_tensor_config=q.TensorQuantizationConfig(
            num_bits=16, symmetric=True, granularity=q.QuantGranularity.TENSORWISE),
        weight_tensor_config=q.TensorQuantizationConfig(
            num_bits=8, symmetric=True, granularity=q.QuantGranularity.CHANNELWISE),
        compute_precision=q.ComputePrecision.INTEGER, explicit_dequantize=False)


def _recipe(float_path: Path, precision: str, keep_float, model=None, wide=(), float_scopes=()):
    """The ai-edge-quantizer ``Quantizer`` for a reduced ``precision`` of the fp32 artifact at
    ``float_path``, with the ``keep_float`` convs (module paths of ``model``) unquantized and,
    for int8-full, the ``wide`` blocks (:func:`pocketsr.convert.quantize.block_scopes`) at 16-bit
    activations and every op of the ``float_scopes`` modules (normalizations) float."""
    from ai_edge_quantizer import qtyping, quantizer
    from ai_edge_quantizer.algorithm_manager import AlgorithmName

    from .quantize import module_regex, scope_regex

    every = qtyping.TFLOperationName.ALL_SUPPORTED
    qt = quantizer.Quantizer(str(float_path))
    if precision == "fp16":
        qt.add_weight_only_config(regex=".*", operation_name=every, num_bits=16,
                                  algorithm_key=AlgorithmName.FLOAT_CASTING)
    elif precision == "int8-weights":
        qt.add_weight_only_config(regex=".*", operation_name=every, num_bits=8)
    elif precision == "int8-dynamic":
        # CONV_2D only: XNNPACK has no dynamic-range depthwise kernel, and the fallback made
        # LKDN-S's depthwise-heavy graph 1.75x slower than float (measured, see README).
        qt.add_dynamic_config(regex=".*", operation_name=qtyping.TFLOperationName.CONV_2D, num_bits=8)
    else:
        qt.add_static_config(regex=".*", operation_name=every, activation_num_bits=8, weight_num_bits=8)
        for block in wide:  # later entries win
            qt.update_quantization_recipe(scope_regex(block, model), every, _a16w8(),
                                          AlgorithmName.MIN_MAX_UNIFORM_QUANT)
        for scope in float_scopes:
            qt.update_quantization_recipe(module_regex(scope, model, scope=True), every, None,
                                          AlgorithmName.NO_QUANTIZE)
    for name in keep_float:  # these convs stay float
        qt.update_quantization_recipe(module_regex(name, model), every, None, AlgorithmName.NO_QUANTIZE)
    return qt


def _calibrate_min_max(qt, data, workers: int = 2) -> dict:
    """Calibrate with the running min/max over all samples.

    ai-edge-quantizer's ``Quantizer.calibrate`` merges samples with a moving average of the
    per-sample min/max, which clips every activation whose extremes occur in few images (and the
    I/O ranges, so the input would not hold [0, 1]). Its ``Calibrator`` takes the merge rule as a
    parameter; the true min/max is the standard post-training choice.

    On Linux the samples are split between ``workers`` calibrators, the others in forked
    processes, and their statistics merged by the same rule: min/max is order-independent, so
    the result is exactly the sequential one (12 crops of 180x320, LKDN-S: 42.2 s in one
    process, 28.4 s in two). The calibrator spends most of its time in Python, per op and
    sample, so threads do not help (measured: slower than one). A child that has not answered
    after 60 s + 5x the parent's own share is killed and its share calibrated here.

    Raises:
        ConversionError: a calibration process failed.
    """
    import multiprocessing as mp

    from ai_edge_quantizer.utils import qsv_utils

    parts = [part for part in (data[i::workers] for i in range(max(1, workers))) if part]
    if len(parts) < 2 or not sys.platform.startswith("linux"):  # macOS: fork unsafe with Apple frameworks
        return _calibrate_part(qt, data, threads=2)
    ctx = mp.get_context("fork")  # the child inherits the model and recipe: nothing to pickle
    children = []
    for part in parts[1:]:
        receive, send = ctx.Pipe(duplex=False)

        def child(part=part, send=send):
            try:
                send.send(("ok", _calibrate_part(qt, part)))
            except BaseException as exc:  # reported by the parent, which raises
                send.send(("error", f"{type(exc).__name__}: {exc}"))
            finally:
                send.close()

        proc = ctx.Process(target=child, daemon=True)
        with warnings.catch_warnings():
            # Python warns that threads (JAX's, loaded by litert-torch) do not survive a fork; the
            # child only runs the LiteRT interpreter and NumPy, and is replaced if it hangs.
            warnings.simplefilter("ignore", RuntimeWarning)
            proc.start()
        send.close()
        children.append((proc, receive))
    try:
        t0 = time.perf_counter()
        merged = dict(_calibrate_part(qt, parts[0]))
        patience = 60.0 + 5.0 * (time.perf_counter() - t0)
        for (proc, receive), part in zip(children, parts[1:]):
            try:
                status, result = receive.recv() if receive.poll(patience) else ("late", None)
            except EOFError:
                status, result = "error", f"calibration process exited with code {proc.exitcode}"
            if status == "late":  # a forked child stuck on a lock it inherited: do its share here
                proc.kill()
                status, result = "ok", _calibrate_part(qt, part)
            if status != "ok":
                raise ConversionError(f"int8 calibration failed: {result}")
            for name, qsv in result.items():
                merged[name] = qsv_utils.min_max_update(merged.get(name, {}), qsv)
    finally:
        for proc, _ in children:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
    return merged


def _calibrate_part(qt, data, threads: int = 1) -> dict:
    from ai_edge_quantizer import calibrator
    from ai_edge_quantizer.utils import qsv_utils

    calib = calibrator.Calibrator(qt._float_model_buffer, num_threads=threads,  # noqa: SLF001
                                  qsv_update_func=qsv_utils.min_max_update)
    calib.calibrate({"serving_default": data}, qt._recipe_manager)  # noqa: SLF001
    return calib.get_model_qsvs()


def _io_quantization(path: Path, inp: dict, out: dict):
    """Read the quantized I/O tensors' dtype, scale and zero point from the artifact."""
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=str(path))
    described = []
    for desc, detail in ((inp, interp.get_input_details()[0]), (out, interp.get_output_details()[0])):
        scale, zero = detail["quantization"]
        described.append({**desc, "dtype": np.dtype(detail["dtype"]).name,
                          "quantization": {"scale": float(scale), "zero_point": int(zero),
                                           "real_value": "scale * (q - zero_point)"}})
    return described[0], described[1]


class TFLiteTarget(Target):
    name = "tflite"
    suffix = ".tflite"
    precisions = ("fp32", "fp16", "int8-weights", "int8-dynamic", "int8-full")
    default_precisions = ("fp32", "fp16", "int8-weights", "int8-dynamic", "int8-full")
    packages = ("litert-torch", "ai-edge-litert", "ai-edge-quantizer")
    supports_dynamic_size = True

    def available(self) -> Tuple[bool, str]:
        import importlib.util  # find, do not import: importing litert_torch loads TensorFlow

        missing = [m for m in ("litert_torch", "ai_edge_quantizer") if importlib.util.find_spec(m) is None]
        return (False, f"not installed: {', '.join(missing)}") if missing else (True, "")

    def convert(self, model, input_size, precision, out_path: Path, plan=None,
                dynamic: bool = False) -> ConversionResult:
        """Fixed-size conversion at ``input_size``; with ``dynamic=True`` an artifact that takes
        any ``H x W`` (input ``[1, -1, -1, 3]``, traced at ``input_size``; see
        :mod:`pocketsr.convert.dynamic`)."""
        if precision not in self.precisions:
            raise ValueError(f"tflite precision {precision!r} not in {self.precisions}")
        if dynamic:
            return self._convert_dynamic(model, input_size, precision, out_path, plan)
        h, w = input_size
        scale = model.scale
        sample = torch.rand(1, h, w, 3)
        with captured_output(f"litert-torch conversion ({precision})"):
            import litert_torch  # noisy import (TensorFlow/absl logs) inside the capture

            from .depth_to_space import register_tflite_lowering
            register_tflite_lowering()  # DepthToSpace modules (pipeline.gpu_rewrites_) -> DEPTH_TO_SPACE
            nhwc = litert_torch.to_channel_last_io(model.eval(), args=[0], outputs=[0])
            edge = litert_torch.convert(NamedIO(nhwc).eval(), sample_args=(), sample_kwargs={"lr": sample})
            edge.export(str(out_path))
            details = {"converter": "litert_torch.convert", "signature": "serving_default",
                       **self._reduce_precision(out_path, precision, plan)}
        inp, out = _tensor("lr", (1, h, w, 3)), _tensor("sr", (1, h * scale, w * scale, 3))
        if precision == "int8-full":
            inp, out = _io_quantization(out_path, inp, out)
        return ConversionResult(input=inp, output=out, details=details)

    def inspect(self, path: Path) -> dict:
        """GPU-delegate readiness (LiteRT model analyzer + delegate op rules, see
        :func:`pocketsr.convert.analyzer.gpu_compatibility`), condensed for the manifest."""
        from .analyzer import gpu_compatibility

        verdict = gpu_compatibility(path)
        brief = lambda rows: [{k: r[k] for k in ("op", "reason", "count")} for r in rows]  # noqa: E731
        return {"gpu_delegate": {"compatible": verdict["gpu_compatible"],
                                 "opengl_es_compatible": verdict["opengl_es_compatible"],
                                 "incompatible_ops": brief(verdict["incompatible_ops"]),
                                 "warnings": brief(verdict["warnings"]),
                                 "checked_with": verdict["analyzer"], "ops": verdict["ops"]}}

    @staticmethod
    def _quantize_int8(path: Path, precision: str, plan) -> dict:
        """Quantize the fp32 artifact at ``path`` in place with ai-edge-quantizer.

        Mixed precision is decided on the real artifact, run by LiteRT on the plan's selection
        pairs (output PSNR and ΔPSNR vs the float model), until the plan accepts it
        (:meth:`pocketsr.convert.quantize.QuantPlan.accepts`):

        1. ``int8-full`` only: every block (:func:`pocketsr.convert.quantize.block_scopes`) gets 16-bit
           activations (TFLite 16x8; the artifact's input and output stay int8);
        2. convs are kept float one by one in the plan's sensitivity order (at most
           ``plan.max_float_layers``).

        Narrowing blocks back to 8 bits while a 50 dB target on calibration crops held was tried
        and rejected: FMEN-S kept 6 of 13 blocks wide at 50.2 dB on the calibration crops yet lost
        0.13 dB on Set5 (the error of these graphs is set by their weakest tensors, which the
        crops under-sample).

        Static ranges are calibrated once and reused for every candidate.
        """
        import shutil

        from pocketsr.runtime.runners import TFLiteRunner

        from .quantize import module_regex, scope_regex

        if plan is None:
            raise ValueError(f"{precision} needs a quantization plan")
        float_path = path.with_name(path.name + ".float")
        shutil.copyfile(path, float_path)
        history = []

        float_scopes = plan.float_scopes if precision == "int8-full" else []

        def attempt(wide, keep) -> dict:
            qt = _recipe(float_path, precision, keep, plan.model, wide, float_scopes)
            result = qt.quantize(calibration, enable_progress_bar=False, enable_progress_report=False)
            result.export_model(str(path), overwrite=True)
            measured = plan.measure(TFLiteRunner(path))
            history.append({"wide_blocks": len(wide), "float_layers": len(keep), **measured})
            return measured

        try:
            calibration = None
            if precision == "int8-full":
                # Black and white frames pin the input and output ranges to exactly [0, 1], so
                # the int8 I/O scale is 1/255: an app feeds uint8 - 128, reads q + 128.
                frames = list(plan.calibration) + [np.zeros_like(plan.calibration[0]),
                                                   np.full_like(plan.calibration[0], 255)]
                data = [{"lr": (f.astype(np.float32) / 255.0)[None]} for f in frames]
                calibration = _calibrate_min_max(_recipe(float_path, precision, []), data)
            wide: list = []
            measured = attempt(wide, [])
            if precision == "int8-full" and not plan.accepts(measured):
                wide = list(plan.blocks)
                measured = attempt(wide, [])
            keep = plan.keep_float_search(lambda keep: attempt(wide, keep), measured)
        finally:
            float_path.unlink(missing_ok=True)
        recipe = {"int8-weights": "weight-only int8 (per-channel), float compute",
                  "int8-dynamic": "dynamic-range int8 on CONV_2D (int8 per-channel weights, inputs "
                                  "quantized at run time); depthwise convs float",
                  "int8-full": "static int8 weights (per-channel) and activations, min/max calibrated"}[precision]
        details = {"quantization": f"ai-edge-quantizer {recipe}", "float_layers": keep,
                   "float_regexes": [module_regex(n, plan.model) for n in keep]}
        if precision == "int8-full":
            details.update({
                "activations_16bit_blocks": wide,
                "activations_16bit_regexes": [scope_regex(b, plan.model) for b in wide],
                "float_normalizations": float_scopes,
                "float_normalization_regexes": [module_regex(n, plan.model, scope=True) for n in float_scopes],
            })
        return {**details, **plan.search_record(history)}

    def _convert_dynamic(self, model, input_size, precision, out_path: Path, plan=None) -> ConversionResult:
        from .dynamic import check_dynamic, convert_dynamic

        with captured_output(f"litert-torch dynamic-size conversion ({precision})"):
            details = convert_dynamic(model.eval(), input_size, out_path)
            details["dynamic_check"] = check_dynamic(out_path, model)  # fp32 graph, before casting
            details.update(self._reduce_precision(out_path, precision, plan, dynamic=True))
        return ConversionResult(input=_tensor("lr", (1, -1, -1, 3)), output=_tensor("sr", (1, -1, -1, 3)),
                                details=details)

    def _reduce_precision(self, path: Path, precision: str, plan, dynamic: bool = False) -> dict:
        """Turn the fp32 artifact at ``path`` into ``precision`` in place (fixed or dynamic graph)."""
        if precision == "fp16":
            _recipe(path, precision, []).quantize().export_model(str(path), overwrite=True)
            return {"quantization": "ai-edge-quantizer weight-only FLOAT_CASTING to float16 "
                                    "(conv/depthwise weights); activations float32"}
        if precision == "int8-full" and dynamic:
            raise InputError("int8-full needs a fixed input size (static activation ranges "
                             "are calibrated per tensor shape); drop --dynamic-size")
        if precision.startswith("int8"):
            return self._quantize_int8(path, precision, plan)
        return {}


register_target(TFLiteTarget())
