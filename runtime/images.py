"""Images in and out of the runtime: files (EXIF orientation applied), tensors, crops.

Images are ``(H, W, 3)`` uint8 RGB numpy arrays. Tensors handed to models and artifacts are
``(1, 3, H, W)`` float32 in [0, 1].
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from pocketsr.errors import InputError

#: the EXIF tag that says how a camera held the sensor (1 = as stored; 6 = rotate 90° clockwise)
EXIF_ORIENTATION = 0x0112
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}


def load_image(path: Path) -> Tuple[np.ndarray, Optional[str]]:
    """Read an image file as RGB uint8.

    Greyscale, palette, alpha and 16-bit images are converted (alpha is dropped, 16-bit values
    are rounded to 8 bits) and an EXIF orientation is applied as image viewers apply it (a
    portrait phone photo, orientation 6, comes out upright); the second return value says what
    was converted, or is None.

    Returns:
        ``((H, W, 3) uint8, note or None)``.

    Raises:
        InputError: missing or unreadable file.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"image not found: {path}")
    try:
        with Image.open(path) as img:
            img.load()
            orientation = img.getexif().get(EXIF_ORIENTATION, 1)
            if orientation not in (1, None):
                img = ImageOps.exif_transpose(img)  # as viewers show it (portrait phone photos: 6)
            mode = img.mode
            if mode in ("I;16", "I;16B", "I;16L", "I"):
                arr = np.asarray(img).astype(np.float64)
                arr = np.clip(np.round(arr / 257.0), 0, 255).astype(np.uint8)
                return np.stack([arr] * 3, axis=-1), f"{mode} 16-bit greyscale converted to 8-bit RGB"
            rgb = np.asarray(img.convert("RGB"))
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise InputError(f"cannot read image {path}: {exc}") from None
    notes = [] if mode == "RGB" else [f"{mode} image converted to RGB" + (
        " (alpha dropped)" if "A" in mode or "transparency" in getattr(img, "info", {}) else "")]
    if orientation not in (1, None):
        notes.append(f"EXIF orientation {orientation} applied")
    return np.ascontiguousarray(rgb), "; ".join(notes) or None


def image_format(path: Path) -> str:
    """Pillow's format name for an output file's suffix (``.png`` -> ``PNG``).

    Raises:
        InputError: a suffix Pillow cannot write.
    """
    fmt = Image.registered_extensions().get(Path(path).suffix.lower())
    if fmt is None or fmt not in Image.SAVE:
        raise InputError(f"unsupported output image type {Path(path).suffix!r}; use .png or .jpg")
    return fmt


def save_image(img: np.ndarray, path: Path) -> None:
    """Write an ``(H, W, 3)`` uint8 image atomically (temp file in the same folder, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        Image.fromarray(img).save(tmp, format=image_format(path))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def to_rgb_array(image) -> np.ndarray:
    """A ``PIL.Image.Image`` (any mode, converted to RGB; EXIF orientation applied) or an ``(H, W, 3)`` uint8 array -> ``(H, W, 3)`` uint8 RGB, C-contiguous.

    Raises:
        InputError: an array of another shape or dtype, or another type.
    """
    if isinstance(image, Image.Image):
        return np.ascontiguousarray(np.asarray(ImageOps.exif_transpose(image).convert("RGB")))
    if isinstance(image, np.ndarray) and image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8:
        return np.ascontiguousarray(image)
    what = f"array {image.shape} {image.dtype}" if isinstance(image, np.ndarray) else type(image).__name__
    raise InputError(f"expected an image file, a PIL image or an (H, W, 3) uint8 RGB array, got {what}")


def to_tensor_array(img: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` uint8 -> ``(1, 3, H, W)`` float32 in [0, 1]."""
    return (img.astype(np.float32) / 255.0).transpose(2, 0, 1)[None].copy()


def from_tensor_array(x: np.ndarray) -> np.ndarray:
    """``(1, 3, H, W)`` float in [0, 1] -> ``(H, W, 3)`` uint8 (clamp, round half to even)."""
    from pocketsr.runtime.metrics import to_uint8
    return to_uint8(x[0].transpose(1, 2, 0))


def crops(img: np.ndarray, size: Tuple[int, int], count: int, rng: np.random.Generator) -> List[np.ndarray]:
    """The centre crop plus ``count - 1`` random crops of ``size = (h, w)``; an image smaller
    than ``size`` is edge-replicated up to it first."""
    h, w = size
    img = pad_replicate(img, max(h, img.shape[0]), max(w, img.shape[1]))
    out = []
    for i in range(count):
        if i == 0:
            y, x = (img.shape[0] - h) // 2, (img.shape[1] - w) // 2
        else:
            y = int(rng.integers(0, img.shape[0] - h + 1))
            x = int(rng.integers(0, img.shape[1] - w + 1))
        out.append(np.ascontiguousarray(img[y:y + h, x:x + w]))
    return out


def pad_replicate(img: np.ndarray, h: int, w: int) -> np.ndarray:
    """Edge-replicate an ``(H, W, C)`` image on the bottom/right up to ``(h, w)``."""
    return np.pad(img, ((0, h - img.shape[0]), (0, w - img.shape[1]), (0, 0)), mode="edge")
