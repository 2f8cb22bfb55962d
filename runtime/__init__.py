"""Running super-resolution: PyTorch models and converted artifacts behind one runner interface
(LiteRT interpreter, Core ML program executor), exact tiling (``validate/TILING.md``), image and
pixel conversions, quality metrics, and frame-by-frame video upscaling."""
