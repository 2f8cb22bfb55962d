"""Converters from the PyTorch deploy models to on-device artifacts, and the artifact manifest.

Importing the package registers every target (see :data:`pocketsr.convert.base.TARGETS`).
"""

from . import tflite  # noqa: F401  (registers the TFLite target)
from . import coreml  # noqa: F401  (registers the Core ML target)
