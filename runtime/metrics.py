"""Image-quality and parity metrics, following the SR field's standard protocol.

Benchmark metric (as BasicSR's ``calculate_psnr``/``calculate_ssim`` with ``test_y_channel``
and MATLAB's ``rgb2ycbcr``): SR output quantized to uint8 (round half to even after clamping
to [0, 1]), ground truth cropped to a multiple of the scale from the top-left, both converted
to the Y channel ``16 + (65.481 R + 128.553 G + 24.966 B) / 255`` on 0-255 values, ``scale``
pixels cropped from each border, then PSNR (peak 255) and SSIM (Wang et al. 2004: 11x11
Gaussian window, sigma 1.5, K1 0.01, K2 0.03, windows fully inside the image).
"""

from __future__ import annotations

import math
from typing import Dict, Tuple

import numpy as np
from skimage.metrics import structural_similarity


def to_uint8(img: np.ndarray) -> np.ndarray:
    """Float image in [0, 1] (any shape) -> uint8 by clamp, *255 and round-half-to-even."""
    return np.clip(np.round(np.clip(img, 0.0, 1.0) * 255.0), 0, 255).astype(np.uint8)


def rgb_to_y(img: np.ndarray) -> np.ndarray:
    """MATLAB ``rgb2ycbcr`` luma of an ``(H, W, 3)`` RGB image with 0-255 values.

    Returns:
        ``(H, W)`` float64 in [16, 235].
    """
    img = img.astype(np.float64)
    return 16.0 + (65.481 * img[..., 0] + 128.553 * img[..., 1] + 24.966 * img[..., 2]) / 255.0


def _crop(img: np.ndarray, border: int) -> np.ndarray:
    return img[border:-border, border:-border] if border > 0 else img


def psnr(a: np.ndarray, b: np.ndarray, peak: float) -> float:
    """PSNR in dB between two equally shaped arrays; ``inf`` when identical."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0.0 else 10.0 * math.log10(peak * peak / mse)


def psnr_ssim_y(sr: np.ndarray, hr: np.ndarray, scale: int) -> Dict[str, float]:
    """Benchmark PSNR/SSIM on the Y channel.

    Args:
        sr: ``(H', W', 3)`` uint8 RGB output (H' >= cropped HR height).
        hr: ``(H, W, 3)`` uint8 RGB ground truth, cropped here to a multiple of ``scale``.
        scale: upscale factor; also the number of border pixels ignored.

    Returns:
        ``{"psnr_y": dB, "ssim_y": [0, 1]}``.

    Raises:
        ValueError: if the SR image is smaller than the cropped ground truth.
    """
    h, w = (hr.shape[0] // scale) * scale, (hr.shape[1] // scale) * scale
    if sr.shape[0] < h or sr.shape[1] < w:
        raise ValueError(f"SR image {sr.shape[:2]} smaller than ground truth {(h, w)}")
    y_sr = _crop(rgb_to_y(sr[:h, :w]), scale)
    y_hr = _crop(rgb_to_y(hr[:h, :w]), scale)
    ssim = structural_similarity(y_sr, y_hr, data_range=255.0, gaussian_weights=True, sigma=1.5,
                                 use_sample_covariance=False, K1=0.01, K2=0.03)
    return {"psnr_y": psnr(y_sr, y_hr, 255.0), "ssim_y": float(ssim)}


def parity(out: np.ndarray, ref: np.ndarray) -> Dict[str, float]:
    """Numeric agreement of an artifact's float output with the PyTorch reference.

    Args:
        out, ref: same shape, float in [0, 1] (layout irrelevant).

    Returns:
        ``max_abs``, ``mean_abs`` (value units, [0, 1] scale), ``psnr_db`` (peak 1.0; ``inf`` if
        identical) and ``changed_8bit`` — fraction of output values whose uint8 rounding differs.
    """
    out = out.astype(np.float64)
    ref = ref.astype(np.float64)
    diff = np.abs(out - ref)
    return {
        "max_abs": float(diff.max()),
        "mean_abs": float(diff.mean()),
        "psnr_db": psnr(out, ref, 1.0),
        "changed_8bit": float(np.mean(to_uint8(out) != to_uint8(ref))),
    }


def detail_window(img: np.ndarray, size) -> Tuple[int, int]:
    """Top-left ``(y, x)`` of the window of ``size`` (``int`` for a square, or ``(h, w)``) of an
    ``(H, W, 3)`` image with the most gradient energy (sum of absolute vertical and horizontal
    differences of the channel mean: where quantization error is easiest to see); ``(0, 0)``
    when the image is smaller than the window."""
    sh, sw = (size, size) if isinstance(size, int) else size
    g = img.astype(np.float32).mean(axis=2)
    e = np.abs(np.diff(g, axis=0))[:, :-1] + np.abs(np.diff(g, axis=1))[:-1, :]
    h, w = e.shape
    if h < sh or w < sw:
        return 0, 0
    c = np.pad(e, ((1, 0), (1, 0))).cumsum(0).cumsum(1)
    sums = c[sh:, sw:] - c[:-sh, sw:] - c[sh:, :-sw] + c[:-sh, :-sw]
    y, x = np.unravel_index(int(np.argmax(sums)), sums.shape)
    return int(y), int(x)


def golden_parity(out: np.ndarray, golden: np.ndarray, eight_bit: bool = False) -> Dict[str, object]:
    """The on-device parity measure of ``validate/PARITY.md`` (version 1): an artifact's output
    window against the golden PyTorch output.

    Args:
        out: ``(h, w, 3)`` (any shape equal to ``golden``'s) output values in [0, 1], any float
            dtype (NaN allowed); for an 8-bit output, its levels divided by 255 in float64
            (``byte / 255`` or ``(q - zero_point) / 255``).
        golden: the golden float16/float32 values in [0, 1].
        eight_bit: the artifact's output holds 8-bit levels only (``output.values == "8bit"``):
            the reference is then the golden rounded to 8 bits.

    Returns:
        ``{"psnr_db": float or None (None: identical or NaN), "identical": bool, "nan": bool,
        "max_abs": float or None, "changed_8bit": float (fraction in [0, 1])}``.

    Raises:
        ValueError: shapes differ.
    """
    if out.shape != golden.shape:
        raise ValueError(f"output window {out.shape} != golden {golden.shape}")
    o = out.astype(np.float64)
    ref = golden.astype(np.float64)
    if eight_bit:
        ref = to_uint8(ref) / 255.0
    nan = np.isnan(o)
    changed = float(np.mean((to_uint8(np.where(nan, 0.0, o)) != to_uint8(ref)) | nan))
    if nan.any():
        return {"psnr_db": None, "identical": False, "nan": True, "max_abs": None, "changed_8bit": changed}
    db = psnr(o, ref, 1.0)
    return {"psnr_db": None if math.isinf(db) else db, "identical": math.isinf(db), "nan": False,
            "max_abs": float(np.abs(o - ref).max()), "changed_8bit": changed}
