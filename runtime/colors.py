"""Pixel conversions of the artifact contract (reference implementation for the apps).

Camera frames arrive as YUV 4:2:0 (Android ``ImageFormat.NV21`` / ``YUV_420_888``, iOS
``kCVPixelFormatType_420YpCbCr8BiPlanar*``); models take RGB float in [0, 1] and give RGB float
in [0, 1]. The rules below are specified in ``validate/TILING.md`` (section "Pixels") and
pinned by ``validate/vectors/pixels.json``; the Kotlin and Swift code must reproduce them.

* uint8 -> float: ``v / 255`` (float32).
* float -> uint8: ``round_half_to_even(clamp(x, 0, 1) * 255)``, computed in float32.
* YUV 4:2:0 -> RGB: BT.601 (Kr = 0.299, Kb = 0.114), full range (JPEG: Y, Cb, Cr in 0..255,
  chroma centred at 128) or video range (Y in 16..235, Cb/Cr in 16..240); chroma is
  upsampled by replication (pixel ``(y, x)`` uses chroma sample ``(y // 2, x // 2)``; odd
  sizes have ``ceil`` chroma dimensions); the result, computed in float64, is rounded half to
  even and clamped to 0..255.
"""

from __future__ import annotations

from typing import Tuple

import numpy as np

KR, KB = 0.299, 0.114
KG = 1.0 - KR - KB
RANGES = ("full", "video")


def uint8_to_float(v: np.ndarray) -> np.ndarray:
    """uint8 values -> float32 in [0, 1] (``v / 255``)."""
    return np.asarray(v, dtype=np.uint8).astype(np.float32) / np.float32(255.0)


def float_to_uint8(x: np.ndarray) -> np.ndarray:
    """float values -> uint8: clamp to [0, 1], times 255, round half to even (float32 math)."""
    x = np.clip(np.asarray(x, dtype=np.float32), np.float32(0.0), np.float32(1.0)) * np.float32(255.0)
    return np.rint(x).astype(np.uint8)


def yuv_to_rgb_matrix(color_range: str) -> Tuple[np.ndarray, np.ndarray]:
    """``(M, offset)`` with ``rgb = M @ ([Y, Cb, Cr] - offset)`` for BT.601 in ``color_range``
    (``"full"`` or ``"video"``); ``rgb`` in 0..255 before rounding.

    Raises:
        ValueError: unknown range.
    """
    if color_range not in RANGES:
        raise ValueError(f"color range must be one of {RANGES}, not {color_range!r}")
    # full-range inverse of Y = Kr R + Kg G + Kb B, Cb = (B - Y) / (2 (1 - Kb)), Cr = (R - Y) / (2 (1 - Kr))
    m = np.array([[1.0, 0.0, 2 * (1 - KR)],
                  [1.0, -2 * (1 - KB) * KB / KG, -2 * (1 - KR) * KR / KG],
                  [1.0, 2 * (1 - KB), 0.0]])
    if color_range == "full":
        return m, np.array([0.0, 128.0, 128.0])
    return m @ np.diag([255.0 / 219.0, 255.0 / 224.0, 255.0 / 224.0]), np.array([16.0, 128.0, 128.0])


def yuv420_to_rgb(y: np.ndarray, u: np.ndarray, v: np.ndarray, color_range: str = "full") -> np.ndarray:
    """Planar YUV 4:2:0 -> ``(H, W, 3)`` uint8 RGB.

    Args:
        y: ``(H, W)`` uint8; u (Cb), v (Cr): ``(ceil(H/2), ceil(W/2))`` uint8.
        color_range: ``"full"`` (JPEG / camera) or ``"video"`` (16..235).

    Raises:
        ValueError: wrong plane shapes or range.
    """
    y, u, v = (np.asarray(p, dtype=np.uint8) for p in (y, u, v))
    h, w = y.shape
    ch = ((h + 1) // 2, (w + 1) // 2)
    if u.shape != ch or v.shape != ch:
        raise ValueError(f"chroma planes must be {ch} for a {h}x{w} luma plane, got {u.shape} and {v.shape}")
    m, offset = yuv_to_rgb_matrix(color_range)
    up = lambda p: np.repeat(np.repeat(p, 2, axis=0), 2, axis=1)[:h, :w]  # noqa: E731
    yuv = np.stack([y, up(u), up(v)], axis=-1).astype(np.float64) - offset
    rgb = yuv @ m.T
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def _split(buf: np.ndarray, h: int, w: int) -> Tuple[np.ndarray, np.ndarray]:
    buf = np.asarray(buf, dtype=np.uint8).ravel()
    ch, cw = (h + 1) // 2, (w + 1) // 2
    if buf.size != h * w + 2 * ch * cw:
        raise ValueError(f"a {h}x{w} YUV 4:2:0 buffer has {h * w + 2 * ch * cw} bytes, got {buf.size}")
    return buf[:h * w].reshape(h, w), buf[h * w:]


def nv21_to_rgb(buf: np.ndarray, h: int, w: int, color_range: str = "full") -> np.ndarray:
    """NV21 (Android camera): ``H*W`` luma bytes, then interleaved ``V, U`` pairs for each
    chroma sample -> ``(H, W, 3)`` uint8 RGB (see :func:`yuv420_to_rgb`)."""
    y, rest = _split(buf, h, w)
    vu = rest.reshape((h + 1) // 2, (w + 1) // 2, 2)
    return yuv420_to_rgb(y, vu[..., 1], vu[..., 0], color_range)


def i420_to_rgb(buf: np.ndarray, h: int, w: int, color_range: str = "full") -> np.ndarray:
    """I420: ``H*W`` luma bytes, then the U (Cb) plane, then the V (Cr) plane ->
    ``(H, W, 3)`` uint8 RGB (see :func:`yuv420_to_rgb`)."""
    y, rest = _split(buf, h, w)
    ch, cw = (h + 1) // 2, (w + 1) // 2
    return yuv420_to_rgb(y, rest[:ch * cw].reshape(ch, cw), rest[ch * cw:].reshape(ch, cw), color_range)
