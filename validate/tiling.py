"""Running a fixed-input-size artifact on an image of any size.

Rules (per axis, independently):

* image not larger than the tile: edge-replicate the bottom/right up to the tile size (the
  *canvas*), run once, crop the output back. No invented content other than replicated edges.
* image larger than the tile: tiles of exactly the tile size, stepping by ``tile - 2*overlap``;
  the last tile is shifted inward so it ends at the image edge (never padded). Each output
  pixel is taken from the one tile that owns it: neighbouring tiles split their overlap at its
  midpoint, so every owned pixel is at least ``overlap`` input pixels from an inner tile edge.

With ``overlap`` at least the network's receptive-field radius the stitched result equals
whole-image inference up to float rounding.
"""

from __future__ import annotations

from typing import Callable, List, Optional, Tuple

import numpy as np

Span = Tuple[int, int, int, int]  # tile start, tile end, owned start, owned end (input px)


def axis_tiles(n: int, tile: int, overlap: int) -> List[Span]:
    """Tile placement along one axis of length ``n`` (``n > tile``).

    Raises:
        ValueError: if ``tile <= 2 * overlap`` (tiles would not advance).
    """
    if n <= tile:
        return [(0, tile, 0, n)]
    step = tile - 2 * overlap
    if step <= 0:
        raise ValueError(f"overlap {overlap} too large for tile {tile}")
    starts = list(range(0, n - tile, step)) + [n - tile]
    starts = sorted(set(starts))
    spans = []
    for i, s in enumerate(starts):
        own_start = 0 if i == 0 else (starts[i - 1] + tile + s) // 2
        own_end = n if i == len(starts) - 1 else (s + tile + starts[i + 1]) // 2
        spans.append((s, s + tile, own_start, own_end))
    return spans


def run_image(run: Callable[[np.ndarray], np.ndarray], x: np.ndarray, scale: int,
              input_size: Optional[Tuple[int, int]], overlap: int = 16) -> np.ndarray:
    """Upscale ``x`` ``(1, 3, H, W)`` float32 [0, 1] with ``run`` that accepts ``input_size``.

    Returns:
        ``(1, 3, H*scale, W*scale)`` float32.
    """
    if input_size is None:
        return run(x)
    th, tw = input_size
    _, c, h, w = x.shape
    ph, pw = max(h, th), max(w, tw)
    if (ph, pw) != (h, w):
        x = np.pad(x, ((0, 0), (0, 0), (0, ph - h), (0, pw - w)), mode="edge")
    out = np.empty((1, c, h * scale, w * scale), dtype=np.float32)
    for ys, ye, oys, oye in axis_tiles(ph, th, overlap):
        for xs, xe, oxs, oxe in axis_tiles(pw, tw, overlap):
            y = run(np.ascontiguousarray(x[:, :, ys:ye, xs:xe]))
            oye_c, oxe_c = min(oye, h), min(oxe, w)
            out[:, :, oys * scale:oye_c * scale, oxs * scale:oxe_c * scale] = \
                y[:, :, (oys - ys) * scale:(oye_c - ys) * scale, (oxs - xs) * scale:(oxe_c - xs) * scale]
    return out


def describe(shape_hw: Tuple[int, int], input_size: Optional[Tuple[int, int]], overlap: int) -> str:
    """Human-readable note of how an image of ``shape_hw`` is fed to a fixed-size runner."""
    if input_size is None:
        return "whole image"
    h, w = shape_hw
    th, tw = input_size
    if h <= th and w <= tw:
        return f"edge-replicated to a {th}x{tw} canvas, output cropped" if (h, w) != (th, tw) else "exact size"
    return f"tiled {th}x{tw} with overlap {overlap}"
