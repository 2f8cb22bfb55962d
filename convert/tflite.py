"""TFLite / LiteRT target: litert-torch conversion, ai-edge-quantizer for reduced precisions.

Graph I/O follows the LiteRT convention: NHWC. One signature ``serving_default`` with input
``lr`` ``(1, H, W, 3)`` float32 RGB [0, 1] and output ``sr`` ``(1, sH, sW, 3)`` float32 RGB [0, 1]
(clamped in-graph). Precisions:

* ``fp32`` — float32 weights and compute.
* ``fp16`` — conv weights stored as float16 (ai-edge-quantizer ``FLOAT_CASTING``), with
  DEQUANTIZE ops in front; CPU kernels compute in float32, GPU delegates in float16. Halves
  the file size.
"""

from __future__ import annotations

from pathlib import Path
from typing import Tuple

import torch

from .base import ConversionResult, Target, captured_output, register_target


class _NamedIO(torch.nn.Module):
    """Gives the exported signature the contract's tensor names (``lr`` -> ``sr``)."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, lr: torch.Tensor):
        return {"sr": self.model(lr)}


def _tensor(name: str, shape, dtype: str = "float32") -> dict:
    return {"name": name, "shape": list(shape), "layout": "NHWC", "dtype": dtype,
            "range": [0.0, 1.0], "color": "RGB"}


class TFLiteTarget(Target):
    name = "tflite"
    suffix = ".tflite"
    precisions = ("fp32", "fp16")
    default_precisions = ("fp32", "fp16")
    packages = ("litert-torch", "ai-edge-litert", "ai-edge-quantizer")

    def available(self) -> Tuple[bool, str]:
        import importlib.util  # find, do not import: importing litert_torch loads TensorFlow

        missing = [m for m in ("litert_torch", "ai_edge_quantizer") if importlib.util.find_spec(m) is None]
        return (False, f"not installed: {', '.join(missing)}") if missing else (True, "")

    def convert(self, model, input_size, precision, out_path: Path) -> ConversionResult:
        if precision not in self.precisions:
            raise ValueError(f"tflite precision {precision!r} not in {self.precisions}")
        h, w = input_size
        scale = model.scale
        sample = torch.rand(1, h, w, 3)
        with captured_output(f"litert-torch conversion ({precision})"):
            import litert_torch  # noisy import (TensorFlow/absl logs) inside the capture

            nhwc = litert_torch.to_channel_last_io(model.eval(), args=[0], outputs=[0])
            edge = litert_torch.convert(_NamedIO(nhwc).eval(), sample_args=(), sample_kwargs={"lr": sample})
            edge.export(str(out_path))
            details = {"converter": "litert_torch.convert", "signature": "serving_default"}
            if precision == "fp16":
                details.update(self._cast_fp16(out_path))
        return ConversionResult(input=_tensor("lr", (1, h, w, 3)),
                                output=_tensor("sr", (1, h * scale, w * scale, 3)),
                                details=details)

    @staticmethod
    def _cast_fp16(path: Path) -> dict:
        from ai_edge_quantizer import qtyping, quantizer
        from ai_edge_quantizer.algorithm_manager import AlgorithmName

        qt = quantizer.Quantizer(str(path))
        qt.add_weight_only_config(regex=".*", operation_name=qtyping.TFLOperationName.ALL_SUPPORTED,
                                  num_bits=16, algorithm_key=AlgorithmName.FLOAT_CASTING)
        qt.quantize().export_model(str(path), overwrite=True)
        return {"quantization": "ai-edge-quantizer weight-only FLOAT_CASTING to float16 "
                                "(conv/depthwise weights); activations float32"}


register_target(TFLiteTarget())
