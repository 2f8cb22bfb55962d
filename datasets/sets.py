"""Where images come from: benchmark sets (Set5/Set14 layout), the development data folder,
and the CC0 photographs every installation has, each with one role (parity, calibration,
selection, gating).

Images are ``(H, W, 3)`` uint8 RGB numpy arrays; tensors ``(1, 3, H, W)`` float32 in [0, 1].
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np
from PIL import Image

from pocketsr.errors import InputError
from pocketsr.runtime.images import IMAGE_SUFFIXES, load_image, to_tensor_array


@dataclass
class BenchmarkImage:
    name: str
    lr: np.ndarray  # (h, w, 3) uint8
    hr: np.ndarray  # (H, W, 3) uint8, not cropped


@dataclass
class BenchmarkSet:
    """A folder ``<DIR>/HR/<name>.png`` + ``<DIR>/LR_bicubic/X<scale>/<name>x<scale>.png``."""

    name: str
    scale: int
    images: List[BenchmarkImage]


def load_benchmark(root: Path, scale: int) -> BenchmarkSet:
    """Load a benchmark dataset folder (Set5/Set14 layout). Greyscale images become RGB.

    Raises:
        InputError: folder missing, no HR images, or an HR image without its LR counterpart.
    """
    root = Path(root)
    hr_dir, lr_dir = root / "HR", root / "LR_bicubic" / f"X{scale}"
    if not hr_dir.is_dir() or not lr_dir.is_dir():
        raise InputError(f"{root} is not a benchmark folder: expected {hr_dir.name}/ and "
                         f"LR_bicubic/X{scale}/ inside")
    hr_files = sorted(p for p in hr_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not hr_files:
        raise InputError(f"no HR images in {hr_dir}")
    images = []
    for hr_path in hr_files:
        lr_path = lr_dir / f"{hr_path.stem}x{scale}{hr_path.suffix}"
        if not lr_path.is_file():
            raise InputError(f"missing LR image for {hr_path.name}: {lr_path}")
        images.append(BenchmarkImage(hr_path.stem, load_image(lr_path)[0], load_image(hr_path)[0]))
    return BenchmarkSet(root.name, scale, images)


def shared_datasets_dir() -> Optional[Path]:
    """The development data folder beside a source checkout (``../shared/datasets``), or None.

    ``POCKETSR_SHARED_DATASETS`` overrides it: a folder, or ``none`` to behave exactly as a
    user's machine without it (the fresh-machine path CI exercises). An installed wheel has no
    such folder and always returns None.
    """
    env = os.environ.get("POCKETSR_SHARED_DATASETS")
    if env is not None:
        return None if env.strip().lower() in ("", "none") else Path(env)
    here = Path(__file__).resolve().parents[2] / "shared" / "datasets"
    return here if here.is_dir() else None


def env_or_shared(variable: str, sub: str) -> Optional[Path]:
    """The folder named by environment ``variable`` if set, else ``sub`` inside
    :func:`shared_datasets_dir` if that exists, else None."""
    env = os.environ.get(variable)
    if env:
        return Path(env)
    shared = shared_datasets_dir()
    here = shared / sub if shared else None
    return here if here is not None and here.is_dir() else None


def default_photo_dir() -> Optional[Path]:
    """``POCKETSR_PHOTOS_DIR``, else the shared real photos (``real_world/photos`` of
    :func:`shared_datasets_dir`) if present."""
    return env_or_shared("POCKETSR_PHOTOS_DIR", "real_world/photos")


# -- images every installation has, and what each one is for --------------------------------
#
# Public-domain / CC0 / CC BY photographs shipped inside dependencies (scikit-image's
# ``skimage.data``, scikit-learn's sample images, matplotlib's sample data), so a machine with no
# data folder still calibrates, selects, checks parity and gates on real images. Each image
# serves exactly one role: nothing the converter tunes on (calibration ranges, sensitivity
# ranking, mixed-precision selection) is used to check or gate it. Licences: the docstrings of
# ``skimage.data.<name>`` (astronaut, rocket, hubble_deep_field: NASA/SpaceX public domain;
# chelsea, coffee, retina, gravel: CC0; immunohistochemistry, coins: no known copyright
# restrictions), scikit-learn's ``datasets/images/README.txt`` (china: Daniel Buechele, flower:
# vultilion, both on Flickr under CC BY 2.0) and matplotlib's ``sample_data/README.txt``
# (grace_hopper: US Navy, public domain). Excluded (never used, also when a data folder has an
# image of that name): scikit-image's ``brick`` texture, on which every FMEN-S int8 artifact
# scores +0.9 dB *above* fp32 (an image-specific effect that would dominate any mean ΔPSNR;
# measured, see README), and ``grass`` / ``camera``, the selection pairs until 2026-12-04: a
# texture and a greyscale photo whose ΔPSNR stayed near 0 while Set5 lost 0.03-0.04 dB.
ROLES: Dict[str, Tuple[str, ...]] = {
    "parity": ("astronaut", "chelsea", "coffee", "rocket"),
    "calibration": ("hubble_deep_field", "immunohistochemistry", "retina"),
    "selection": ("china", "flower"),
    "gating": ("grace_hopper", "gravel", "coins"),
}
#: images no role uses (see above)
EXCLUDED: Tuple[str, ...] = ("brick", "grass", "camera")
#: name of the always-available gating benchmark (HR/LR pairs of ``ROLES["gating"]``)
BUILTIN_BENCHMARK = "CC0-3"
#: name of the mixed-precision selection pairs (``ROLES["selection"]``)
SELECTION_SET = "select-2"


def builtin_image(name: str) -> np.ndarray:
    """One of the images of :data:`ROLES` as ``(H, W, 3)`` uint8 RGB (greyscale is repeated).

    Raises:
        KeyError: unknown name.
    """
    if name == "grace_hopper":
        from matplotlib import cbook
        with cbook.get_sample_data("grace_hopper.jpg") as f:
            img = np.asarray(Image.open(f).convert("RGB"))
    elif name in ("china", "flower"):
        import sklearn.datasets
        folder = Path(sklearn.datasets.__file__).parent / "images"
        img = np.asarray(Image.open(folder / f"{name}.jpg").convert("RGB"))
    else:
        from skimage import data
        if name not in {n for names in ROLES.values() for n in names}:
            raise KeyError(name)
        img = np.asarray(getattr(data, name)())
    if img.ndim == 2:
        img = np.stack([img] * 3, axis=-1)
    return np.ascontiguousarray(img[..., :3])


def bicubic_downscale(hr: np.ndarray, scale: int) -> np.ndarray:
    """The standard SR degradation: MATLAB ``imresize(modcrop(HR, scale), 1/scale, 'bicubic')``.

    Args:
        hr: ``(H, W, C)`` uint8.
        scale: integer factor >= 2.

    Returns:
        ``(H // scale, W // scale, C)`` uint8.

    Done with Pillow's antialiased bicubic (a = -0.5, kernel stretched by ``scale``), made
    MATLAB-compatible the way MATLAB computes it: symmetric edge padding (padding by a multiple
    of ``scale`` keeps the sample grid), height first, the intermediate rounded to uint8, then
    width. On Set5's bit-exact MATLAB LR images this differs by one 8-bit level on < 0.2 % of
    values and nowhere by more (``tests/test_benchmark.py``).
    """
    h, w = hr.shape[0] - hr.shape[0] % scale, hr.shape[1] - hr.shape[1] % scale
    pad = 3 * scale  # > the kernel's reach (2 * scale HR pixels)
    x = np.pad(hr[:h, :w].astype(np.float32), ((pad, pad), (pad, pad), (0, 0)), mode="symmetric")

    def resize(a: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
        planes = [Image.fromarray(np.ascontiguousarray(a[..., c]), mode="F").resize(size, Image.BICUBIC)
                  for c in range(a.shape[2])]
        return np.clip(np.round(np.stack([np.asarray(p) for p in planes], axis=-1)), 0, 255)

    y = resize(x, (x.shape[1], x.shape[0] // scale))
    y = resize(y, (x.shape[1] // scale, x.shape[0] // scale))
    p = pad // scale
    return y[p:-p, p:-p].astype(np.uint8)


def builtin_pairs(role: str, scale: int) -> "BenchmarkSet":
    """HR/LR pairs (LR by :func:`bicubic_downscale`) of a :data:`ROLES` entry: ``"gating"``
    (:data:`BUILTIN_BENCHMARK`, gates every artifact on every machine) or ``"selection"``
    (:data:`SELECTION_SET`, what mixed precision decides on). HR is cropped to a multiple of
    ``scale`` (modcrop)."""
    names = ROLES[role]
    images = []
    for name in names:
        hr = builtin_image(name)
        hr = hr[: hr.shape[0] - hr.shape[0] % scale, : hr.shape[1] - hr.shape[1] % scale]
        images.append(BenchmarkImage(name, bicubic_downscale(hr, scale), np.ascontiguousarray(hr)))
    label = {"gating": BUILTIN_BENCHMARK, "selection": SELECTION_SET}[role]
    return BenchmarkSet(label, scale, images)


def real_photos(folder: Optional[Path] = None) -> List[Tuple[str, np.ndarray]]:
    """Real photographs for parity checks, as ``[(name, (H, W, 3) uint8)]``.

    Uses every image of ``folder``; else of ``POCKETSR_PHOTOS_DIR`` / ``real_world/photos`` of
    :func:`shared_datasets_dir` minus images named like another role's (:data:`ROLES`) or
    :data:`EXCLUDED`; else the parity photographs of :data:`ROLES` (astronaut, chelsea, coffee,
    rocket), so parity always runs on real images.

    Raises:
        InputError: a folder without images.
    """
    if folder is None:
        folder = default_photo_dir()
        # the default folder may hold images that serve another role or is excluded (shared: camera)
        other = {n for role, names in ROLES.items() if role != "parity" for n in names} | set(EXCLUDED)
    else:
        other = set()
    if folder is not None:
        files = sorted(p for p in Path(folder).iterdir()
                       if p.suffix.lower() in IMAGE_SUFFIXES and p.stem not in other)
        if not files:
            raise InputError(f"no images in {folder}")
        return [(p.stem, load_image(p)[0]) for p in files]
    return [(n, builtin_image(n)) for n in ROLES["parity"]]


def probe_images(size: Tuple[int, int] = (96, 128)) -> List[np.ndarray]:
    """Deterministic probe inputs present on every machine, ``(1, 3, h, w)`` float32 in [0, 1]:
    centre crops of four CC0 photographs scikit-image ships (astronaut, chelsea, coffee, rocket)
    plus two uniform-noise images (noise drives LKDN-S's attention far higher than photos do).
    Used to choose exact activation rescaling factors (see ``SRNet.fp16_headroom_rescale_``)."""
    from skimage import data as skdata

    h, w = size
    images = []
    for name in ("astronaut", "chelsea", "coffee", "rocket"):
        img = getattr(skdata, name)()
        top, left = (img.shape[0] - h) // 2, (img.shape[1] - w) // 2
        images.append(to_tensor_array(img[top:top + h, left:left + w]))
    rng = np.random.default_rng(0)
    images += [rng.random((1, 3, h, w), dtype=np.float32) for _ in range(2)]
    return images
