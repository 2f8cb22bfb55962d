"""The pocketsr version (one place; the wheel metadata, manifests and Core ML packages read it)."""

__version__ = "0.1.0"
