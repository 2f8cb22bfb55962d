"""The gates an artifact must pass, per precision (part of the artifact contract,
``convert/CONTRACT.md``): the converter's mixed-precision search aims at them and the validator
applies them. Parity PSNR is against the PyTorch deploy model on real photographs (dB);
ΔPSNR is the conversion error of Y-PSNR on each gating benchmark (dB)."""

from __future__ import annotations

from typing import Dict, Tuple

#: precision -> (min parity PSNR vs torch on real photos [dB], max |ΔPSNR| on benchmarks [dB])
GATES: Dict[str, Tuple[float, float]] = {
    "fp32": (100.0, 0.001),
    "fp16": (60.0, 0.01),
    # quantized precisions are gated on benchmark quality; the parity floor only catches breakage
    "int8-weights": (40.0, 0.03),
    "int8-dynamic": (40.0, 0.03),
    "int8-full": (35.0, 0.10),
    # Core ML
    "w8a8": (35.0, 0.10),
    "palettized-6bit": (35.0, 0.05),
}
#: precisions measured and recorded but never failed (their would-be failures are listed)
REPORT_ONLY = {"palettized-4bit"}
