"""Running an SR network or a fixed-input-size artifact on an image of any size, exactly.

The written specification is ``validate/TILING.md`` (the artifact contract points to it); the
shared test vectors in ``validate/vectors/`` pin it down for the Android and iOS code. Summary,
per axis independently, for an image axis of ``n`` LR pixels, tile size ``t`` and overlap ``o``
(context pixels kept on each inner side of a tile):

* ``n <= t``: one tile; the image is edge-replicated on the bottom/right up to ``t`` (the
  *canvas*), run once, and the output cropped back.
* ``n > t``: tiles of exactly ``t`` pixels start at ``0, t - 2o, 2(t - 2o), ...``; the last
  one is shifted inward to end at the image edge (never padded). Neighbouring tiles split the
  pixels they share at the midpoint ``(start_next + end_prev) // 2``: each output pixel comes
  from exactly one tile, at least ``o`` input pixels from any inner tile edge. Requires
  ``t > 2o``.

With ``o`` at least the network's receptive-field radius (:func:`receptive_field_radius`) every
owned output pixel sees exactly what it sees in whole-image inference, so the stitched result
equals whole-image inference up to float rounding (no blending needed). Output pixel ``(Y, X)``
of an ``s``-times upscaler belongs to LR pixel ``(Y // s, X // s)``.

Memory: :func:`upscale_uint8` writes each tile's owned pixels straight into the 8-bit output,
so no full-resolution float array is ever allocated (only one tile's float output).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_flatten

Span = Tuple[int, int, int, int]  # tile start, tile end, owned start, owned end (LR px)

#: tile used for runners that accept any size (PyTorch): bounds memory, not needed for accuracy
DEFAULT_ANY_SIZE_TILE = (256, 256)


def axis_tiles(n: int, tile: int, overlap: int) -> List[Span]:
    """Tile placement along one axis of ``n`` LR pixels: ``[(start, end, own_start, own_end)]``.

    ``n <= tile``: one tile ``(0, tile, 0, n)`` (the caller edge-replicates to ``tile``).

    Raises:
        ValueError: ``n``/``tile`` < 1, ``overlap`` < 0, or ``tile <= 2 * overlap`` when more
            than one tile is needed (tiles would not advance).
    """
    if n < 1 or tile < 1 or overlap < 0:
        raise ValueError(f"bad tiling: length {n}, tile {tile}, overlap {overlap}")
    if n <= tile:
        return [(0, tile, 0, n)]
    step = tile - 2 * overlap
    if step <= 0:
        raise ValueError(f"overlap {overlap} too large for tile {tile} (needs tile > 2 * overlap)")
    starts = sorted(set(list(range(0, n - tile, step)) + [n - tile]))
    spans = []
    for i, s in enumerate(starts):
        own_start = 0 if i == 0 else (starts[i - 1] + tile + s) // 2
        own_end = n if i == len(starts) - 1 else (s + tile + starts[i + 1]) // 2
        spans.append((s, s + tile, own_start, own_end))
    return spans


@dataclass(frozen=True)
class Tile:
    """One tile: the LR input rectangle ``[y0, y1) x [x0, x1)`` (in canvas coordinates: may
    extend past the image only when the image is smaller than the tile on that axis) and the
    LR rectangle of the image it owns, ``[own_y0, own_y1) x [own_x0, own_x1)``; outputs are
    these times the scale."""

    y0: int
    y1: int
    x0: int
    x1: int
    own_y0: int
    own_y1: int
    own_x0: int
    own_x1: int


def plan_tiles(height: int, width: int, tile: Tuple[int, int], overlap: int) -> List[Tile]:
    """All tiles of an ``height x width`` LR image, row-major (see the module docstring).

    Raises:
        ValueError: as :func:`axis_tiles`.
    """
    th, tw = tile
    rows, cols = axis_tiles(height, th, overlap), axis_tiles(width, tw, overlap)
    return [Tile(ys, ye, xs, xe, oys, oye, oxs, oxe) for ys, ye, oys, oye in rows for xs, xe, oxs, oxe in cols]


def _tile_input(img: np.ndarray, t: Tile) -> np.ndarray:
    """``(H, W, C)`` image -> the tile's ``(y1-y0, x1-x0, C)`` input, edge-replicated past the
    bottom/right border (only when the image is smaller than the tile on that axis)."""
    h, w = img.shape[:2]
    crop = img[t.y0:min(t.y1, h), t.x0:min(t.x1, w)]
    pad_y, pad_x = (t.y1 - t.y0) - crop.shape[0], (t.x1 - t.x0) - crop.shape[1]
    if pad_y or pad_x:
        crop = np.pad(crop, ((0, pad_y), (0, pad_x), (0, 0)), mode="edge")
    return crop


def _tiles_for(runner, shape_hw: Tuple[int, int], overlap: int,
               tile: Optional[Tuple[int, int]]) -> List[Tile]:
    """Fixed-size runners: their input size. Any-size runners: ``tile`` (default
    :data:`DEFAULT_ANY_SIZE_TILE`) shrunk to the image on each axis, so no canvas padding
    is needed and the result is whole-image inference (exact with overlap >= radius)."""
    fixed = getattr(runner, "input_size", None)
    if fixed is not None:
        size = fixed
    else:
        th, tw = tile or DEFAULT_ANY_SIZE_TILE
        size = (min(th, shape_hw[0]), min(tw, shape_hw[1]))
    return plan_tiles(shape_hw[0], shape_hw[1], size, overlap)


def upscale_uint8(runner: Callable[[np.ndarray], np.ndarray], img: np.ndarray, overlap: int,
                  tile: Optional[Tuple[int, int]] = None,
                  out: Optional[np.ndarray] = None) -> np.ndarray:
    """Upscale an ``(H, W, 3)`` uint8 RGB image tile by tile into ``(H*s, W*s, 3)`` uint8.

    Args:
        runner: a :class:`pocketsr.runtime.runners.Runner` (``scale``; ``input_size`` ``(h, w)`` for a
            fixed-size artifact or None) taking ``(1, 3, h, w)`` float32 in [0, 1].
        overlap: context LR pixels per inner tile side (use the model's receptive-field radius
            for an exact result).
        tile: for any-size runners (PyTorch), the largest tile (default
            :data:`DEFAULT_ANY_SIZE_TILE`; memory stays bounded by one tile); ignored for
            fixed-size runners, which use their input size.
        out: optional preallocated output array (reused across video frames).

    Rounding: ``clamp(y, 0, 1) * 255`` rounded half to even (:func:`pocketsr.runtime.metrics.to_uint8`).

    Raises:
        ValueError: bad image shape or tiling parameters.
    """
    from pocketsr.runtime.metrics import to_uint8

    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise ValueError(f"expected (H, W, 3) uint8, got {img.shape} {img.dtype}")
    h, w = img.shape[:2]
    s = runner.scale
    if out is None:
        out = np.empty((h * s, w * s, 3), dtype=np.uint8)
    for t in _tiles_for(runner, (h, w), overlap, tile):
        x = (_tile_input(img, t).astype(np.float32) / 255.0).transpose(2, 0, 1)[None]
        y = runner(np.ascontiguousarray(x))[0]
        oy, ox = t.own_y0 - t.y0, t.own_x0 - t.x0
        part = y[:, oy * s:(oy + t.own_y1 - t.own_y0) * s, ox * s:(ox + t.own_x1 - t.own_x0) * s]
        out[t.own_y0 * s:t.own_y1 * s, t.own_x0 * s:t.own_x1 * s] = to_uint8(part.transpose(1, 2, 0))
    return out


def run_batched(run: Callable[[np.ndarray], np.ndarray], xs: Sequence[np.ndarray]) -> List[np.ndarray]:
    """``[run(x) for x in xs]`` for same-shape ``(1, 3, h, w)`` inputs, as few calls as the
    runner's ``batch_pixels`` allows (see :class:`pocketsr.runtime.runners.Runner`); same results."""
    if not xs:
        return []
    per_call = max(1, getattr(run, "batch_pixels", 0) // (xs[0].shape[2] * xs[0].shape[3]))
    out: List[np.ndarray] = []
    for start in range(0, len(xs), per_call):
        group = xs[start:start + per_call]
        ys = run(np.ascontiguousarray(np.concatenate(group), dtype=np.float32)) if len(group) > 1 else run(group[0])
        out.extend(ys[i:i + 1] for i in range(len(group)))
    return out


def run_images(run: Callable[[np.ndarray], np.ndarray], xs: Sequence[np.ndarray], scale: int,
               input_size: Optional[Tuple[int, int]], overlap: int) -> List[np.ndarray]:
    """:func:`run_image` of several images, their tiles batched together (across images too)
    for runners with ``batch_pixels``: small tiles and many small images cost time in
    proportion to their pixels, and parallel runners get work for every worker."""
    if input_size is None:
        return [run(x) for x in xs]
    outs, jobs = [], []
    for x in xs:
        _, c, h, w = x.shape
        outs.append(np.empty((1, c, h * scale, w * scale), dtype=np.float32))
        img = x[0].transpose(1, 2, 0)
        jobs += [(len(outs) - 1, img, t) for t in plan_tiles(h, w, input_size, overlap)]
    inputs = [np.ascontiguousarray(_tile_input(img, t).transpose(2, 0, 1)[None], dtype=np.float32)
              for _, img, t in jobs]
    for (k, _, t), y in zip(jobs, run_batched(run, inputs)):
        oy, ox = t.own_y0 - t.y0, t.own_x0 - t.x0
        outs[k][0, :, t.own_y0 * scale:t.own_y1 * scale, t.own_x0 * scale:t.own_x1 * scale] = \
            y[0, :, oy * scale:(oy + t.own_y1 - t.own_y0) * scale, ox * scale:(ox + t.own_x1 - t.own_x0) * scale]
    return outs


def run_image(run: Callable[[np.ndarray], np.ndarray], x: np.ndarray, scale: int,
              input_size: Optional[Tuple[int, int]], overlap: int) -> np.ndarray:
    """Float variant used by the benchmark: ``(1, 3, H, W)`` float32 [0, 1] -> ``(1, 3, H*s,
    W*s)`` float32 (a full-resolution float array: benchmark images are small). ``input_size``
    None runs the whole image at once. A runner with ``batch_pixels`` (see
    :class:`pocketsr.runtime.runners.Runner`) gets as many tiles per call as that allows, so small tiles
    cost time in proportion to their pixels rather than their number; the result is the same."""
    return run_images(run, [x], scale, input_size, overlap)[0]


def describe(shape_hw: Tuple[int, int], input_size: Optional[Tuple[int, int]], overlap: int) -> str:
    """Human-readable note of how an image of ``shape_hw`` is fed to a fixed-size runner."""
    if input_size is None:
        return "whole image"
    h, w = shape_hw
    th, tw = input_size
    if h <= th and w <= tw:
        return f"edge-replicated to a {th}x{tw} canvas, output cropped" if (h, w) != (th, tw) else "exact size"
    n = len(plan_tiles(h, w, input_size, overlap))
    return f"tiled {th}x{tw} with overlap {overlap} ({n} tiles)"


def tiling_plan_record(height: int, width: int, tile: Tuple[int, int], overlap: int, scale: int) -> Dict:
    """The JSON form of a tiling used by the shared test vectors: inputs, canvas, tiles (LR
    rectangles, each with its owned LR and HR rectangles)."""
    tiles = plan_tiles(height, width, tile, overlap)
    return {"image": [height, width], "tile": list(tile), "overlap": overlap, "scale": scale,
            "canvas": [max(height, tile[0]), max(width, tile[1])],
            "tiles": [{**asdict(t), "hr_own": [t.own_y0 * scale, t.own_y1 * scale, t.own_x0 * scale, t.own_x1 * scale]}
                      for t in tiles]}


# -- receptive field ------------------------------------------------------------------------------

class UnboundedReceptiveField(ValueError):
    """The network mixes information across the whole image (e.g. global pooling), so no finite
    overlap makes tiling exact."""


class _RadiusMode(TorchFunctionMode):
    """Propagates, for every tensor, how far (in input pixels of the current resolution) its
    values can depend on input pixels, through the torch calls of one forward pass."""

    #: calls that move information across space in ways the rules below do not cover
    GLOBAL = {"adaptive_avg_pool2d", "adaptive_max_pool2d", "avg_pool2d", "max_pool2d", "interpolate",
              "upsample", "grid_sample", "roll", "flip"}

    def __init__(self):
        super().__init__()
        self.radius: Dict[int, float] = {}  # id(tensor) -> radius; tensors kept alive below
        self.alive: List[torch.Tensor] = []

    def _r(self, t) -> float:
        return self.radius.get(id(t), 0.0) if isinstance(t, torch.Tensor) else 0.0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        name = getattr(func, "__name__", str(func)).strip("_")
        leaves = [t for t in tree_flatten((args, kwargs))[0] if isinstance(t, torch.Tensor)]
        r_in = max((self._r(t) for t in leaves), default=0.0)
        if func in (F.conv2d, torch.conv2d):
            weight = args[1] if len(args) > 1 else kwargs["weight"]
            stride = _pair(_arg(args, kwargs, 3, "stride", 1))
            dilation = _pair(_arg(args, kwargs, 5, "dilation", 1))
            if stride != (1, 1):
                raise UnboundedReceptiveField("strided conv: not covered by the radius rules")
            k = max(d * (s - 1) // 2 + d * (s - 1) % 2 for d, s in zip(dilation, weight.shape[2:]))
            r_out = self._r(args[0]) + k
        elif func in (F.conv_transpose2d, torch.conv_transpose2d):
            raise UnboundedReceptiveField("transposed conv: not covered by the radius rules")
        elif name == "pixel_shuffle" or str(func) == "pocketsr.depth_to_space":  # convert/depth_to_space.py
            factor = int(_arg(args, kwargs, 1, "upscale_factor", 0) or _arg(args, kwargs, 1, "block_size", 1))
            r_out = r_in * factor  # in pixels of the finer grid
        elif name in ("layer_norm",):
            shape = _arg(args, kwargs, 1, "normalized_shape", None)
            if shape is not None and len(tuple(shape)) > 1:
                raise UnboundedReceptiveField("layer_norm over spatial dims")
            r_out = r_in
        elif name == "interpolate" and (factor := _integer_upscale(args, kwargs, out)) is not None:
            # nearest / bilinear by an integer factor f: an output pixel reads input pixels within
            # one of its source pixel, on an f-times finer grid (like pixel shuffle)
            r_out = (r_in + 1) * factor
        elif name in self.GLOBAL or (name in ("mean", "sum", "amax", "std", "var") and _spatial_reduce(args, kwargs)):
            raise UnboundedReceptiveField(f"{name} mixes pixels across the image")
        else:
            r_out = r_in  # pointwise / channel-wise / layout calls
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor):
                self.radius[id(t)] = max(self.radius.get(id(t), 0.0), r_out)
                self.alive.append(t)
        return out


def _arg(args, kwargs, index, name, default):
    return args[index] if len(args) > index else kwargs.get(name, default)


def _pair(v) -> Tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _integer_upscale(args, kwargs, out) -> Optional[int]:
    """The factor of an ``interpolate`` call that upsamples H and W by the same integer with
    mode nearest or bilinear (``align_corners`` False); None for anything else (then the
    call counts as global)."""
    x = args[0] if args else kwargs.get("input")
    mode = _arg(args, kwargs, 3, "mode", "nearest")
    if mode not in ("nearest", "bilinear") or _arg(args, kwargs, 4, "align_corners", None):
        return None
    if not isinstance(x, torch.Tensor) or not isinstance(out, torch.Tensor) or x.dim() != 4:
        return None
    (h, w), (oh, ow) = x.shape[2:], out.shape[2:]
    if oh % h or ow % w or oh // h != ow // w or oh // h < 1:
        return None
    return oh // h


def _spatial_reduce(args, kwargs) -> bool:
    dim = _arg(args, kwargs, 1, "dim", None)
    if dim is None:
        return True
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    return any(d in (-1, -2, 2, 3) for d in dims)


@torch.no_grad()
def receptive_field_radius(model: torch.nn.Module, scale: int, probe_hw: Tuple[int, int] = (24, 24)) -> int:
    """The receptive-field radius of an SR network in LR pixels, from its layers.

    One forward pass on a small probe propagates, per tensor, the largest distance its values
    can depend on: a conv adds ``dilation * (kernel - 1) / 2`` (rounded up, per axis, largest
    axis), elementwise/channel ops (activations, adds, products, concat, LayerNorm over
    channels) take the largest radius of their inputs, ``pixel_shuffle(r)`` (and pocketsr's
    DEPTH_TO_SPACE op) multiplies the radius by ``r`` (finer grid). The output radius in HR pixels is converted back to LR pixels
    (``ceil(radius / scale)``). Every branch is covered because every call is seen.

    Returns:
        the radius ``R``: an output pixel depends only on LR pixels within ``R`` (Chebyshev
        distance) of the LR pixel it belongs to.

    Raises:
        UnboundedReceptiveField: global pooling, spatial reductions, resampling or strided /
            transposed convs (then no overlap makes tiling exact).
    """
    model = model.eval()
    x = torch.rand(1, 3, *probe_hw)
    mode = _RadiusMode()
    with mode:
        y = model(x)
    r_hr = mode.radius.get(id(y), 0.0)
    return int(math.ceil(r_hr / scale))


def usable_overlap(overlap: int, tile: Optional[Tuple[int, int]]) -> int:
    """``overlap`` capped to what a tile allows (``t > 2o`` on both axes): the largest overlap
    a tiling with this tile can use. ``tile`` None (any-size runner): ``overlap``."""
    return overlap if tile is None else max(0, min(overlap, (min(tile) - 1) // 2))


def default_overlap(radius: int, tile: Optional[Tuple[int, int]]) -> int:
    """The overlap used unless the user chooses one: the receptive-field radius (exact tiling)
    when the tile allows it (``2R < min(h, w)``, or any-size runner); otherwise tiling cannot be
    exact and the overlap is capped at a quarter of the shorter tile side, so tiles still
    advance by at least half a tile (the seam table in the README gives the error)."""
    if tile is None or 2 * radius < min(tile):
        return radius
    return min(usable_overlap(radius, tile), min(tile) // 4)


def nonlocal_default_overlap(seam_overlaps: Optional[Dict[int, int]], tile: Optional[Tuple[int, int]],
                             default_floor: Optional[int] = None) -> int:
    """Default overlap of a network that is not local: the overlap of the largest measured seam
    floor the tile allows, not above ``default_floor`` (the registry's choice); without usable
    floors :func:`nonlocal_overlap`."""
    floors = {db: o for db, o in usable_floors(seam_overlaps, tile).items()
              if default_floor is None or db <= default_floor}
    return floors[max(floors)] if floors else nonlocal_overlap(tile)


def usable_floors(seam_overlaps: Optional[Dict[int, int]], tile: Optional[Tuple[int, int]]) -> Dict[int, int]:
    """The measured ``{seam PSNR floor dB: overlap}`` pairs whose overlap ``tile`` allows, by floor."""
    return {db: o for db, o in sorted((seam_overlaps or {}).items()) if o == usable_overlap(o, tile)}


def tiling_record(model, scale: int, tile: Optional[Tuple[int, int]],
                  seam_overlaps: Optional[Dict[int, int]] = None, default_floor: Optional[int] = None) -> Dict:
    """The manifest's ``tiling`` section for an artifact of ``tile`` input size (None: any size):
    receptive-field radius, the default overlap (:func:`default_overlap`), whether that is
    exact, the faster overlaps for a seam tolerance (``overlap_for_psnr_db``, from the
    registry's measured ``seam_overlaps``, only those the tile allows) and the specification.

    A network that is not local (:class:`UnboundedReceptiveField`: global pooling, strided
    convs, resampling — e.g. RLFN's ESA blocks) gets ``receptive_field_radius: None``,
    ``exact: False``, ``not_local`` (why), and the overlap of :func:`nonlocal_default_overlap`
    (``default_floor``: the registry's choice) with its seam error measured now by
    :func:`measure_seam` (``seam_psnr_db``: tiled vs whole image, fp32 PyTorch, worst case
    of 2x2 tiles on a photograph every machine has).
    """
    faster = {str(db): o for db, o in usable_floors(seam_overlaps, tile).items()}
    try:
        radius = receptive_field_radius(model, scale)
    except UnboundedReceptiveField as exc:
        overlap = nonlocal_default_overlap(seam_overlaps, tile, default_floor)
        return {"receptive_field_radius": None, "default_overlap": overlap, "exact": False,
                "not_local": str(exc), "seam_psnr_db": measure_seam(model, scale, tile, overlap),
                "overlap_for_psnr_db": faster, "units": "LR pixels", "spec": "validate/TILING.md"}
    overlap = default_overlap(radius, tile)
    return {"receptive_field_radius": radius, "default_overlap": overlap, "exact": overlap >= radius,
            "overlap_for_psnr_db": faster, "units": "LR pixels", "spec": "validate/TILING.md"}


#: tile assumed for a non-local any-size artifact's seam measurement (the default input size)
SEAM_TILE = (180, 320)


def nonlocal_overlap(tile: Optional[Tuple[int, int]]) -> int:
    """Overlap for a non-local network without measured seam floors: a quarter of the shorter
    tile side (tiles still advance by half a tile), 32 LR pixels for any-size artifacts."""
    return usable_overlap(32, tile) if tile is None else max(0, min(tile) // 4)


@torch.no_grad()
def measure_seam(model, scale: int, tile: Optional[Tuple[int, int]], overlap: int) -> Optional[float]:
    """Seam error of tiling ``model`` (float32, ``(1, 3, H, W)`` [0, 1] in and out) with ``tile``
    (None: :data:`SEAM_TILE`) and ``overlap``: worst-case PSNR (dB, peak 1) of the 2x2-tile
    tiling against whole-image inference of the centre of scikit-image's "rocket" photograph
    (CC0, on every machine; edge-replicated where the tiles need more). None: identical."""
    from skimage import data as skdata

    from pocketsr.runtime.images import to_tensor_array

    model = model.eval()

    def run(x: np.ndarray) -> np.ndarray:
        return model(torch.from_numpy(x)).numpy()

    row = seam_curve(run, scale, [to_tensor_array(skdata.rocket())], tile or SEAM_TILE, [overlap],
                     two_by_two=True)[0]
    return None if row["psnr_db"] is None else round(row["psnr_db"], 2)


def overlap_for(manifest: Optional[Dict] = None, model_name: Optional[str] = None,
                tile: Optional[Tuple[int, int]] = None) -> int:
    """The default overlap for an artifact (its manifest's ``tiling.default_overlap``) or a
    registry model tiled with ``tile`` (:func:`default_overlap` of its receptive-field radius)."""
    tiling = (manifest or {}).get("tiling") or {}
    if "default_overlap" in tiling:
        return int(tiling["default_overlap"])
    radius = model_radius(model_name or (manifest or {}).get("model"))
    if radius is None:
        from pocketsr.mobile_models import get_spec

        spec = get_spec(model_name or manifest["model"])
        return nonlocal_default_overlap(spec.seam_overlaps, tile, spec.default_seam_floor)
    return default_overlap(radius, tile)


def choose_overlap(requested: Optional[int], tile: Tuple[int, int], manifest: Optional[Dict] = None,
                   model_name: Optional[str] = None,
                   image_hw: Optional[Tuple[int, int]] = None) -> Tuple[int, int, Optional[str]]:
    """The overlap a command uses: ``requested`` if given, else :func:`overlap_for`.

    Args:
        tile: the (largest) tile size; image_hw: the image size if known (an image that fits in
            one tile needs no overlap check and no note); None: frames of unknown size.

    Returns:
        ``(overlap, receptive-field radius, note or None)``; the note says seams are
        approximate when the overlap is below the radius.

    Raises:
        InputError: ``requested`` larger than the tile allows.
    """
    from pocketsr.errors import InputError

    tiled = image_hw is None or image_hw[0] > tile[0] or image_hw[1] > tile[1]
    most = usable_overlap(10 ** 6, tile)
    if requested is not None and requested > most and tiled:
        raise InputError(f"--overlap {requested} too large for {tile[0]}x{tile[1]} tiles (at most {most})")
    used = requested if requested is not None else overlap_for(manifest, model_name, tile=tile)
    recorded = (manifest or {}).get("tiling") or {}
    radius = (recorded["receptive_field_radius"] if "receptive_field_radius" in recorded
              else model_radius(model_name or (manifest or {}).get("model")))
    if radius is None:
        seam, why = recorded.get("seam_psnr_db"), recorded.get("not_local")
        note = (f"{model_name or manifest.get('model')} is not local"
                + (f" ({why})" if why else "") + ": tile seams are approximate at any overlap"
                + (f" ({seam} dB at overlap {used}, tiled vs whole image)"
                   if seam is not None and requested is None else "")) if tiled else None
        return used, radius, note
    note = (f"overlap {used} < receptive-field radius {radius}: tile seams are approximate "
            "(see the README's seam table)") if used < radius and tiled else None
    return used, radius, note


def model_radius(name: Optional[str]) -> Optional[int]:
    """Receptive-field radius (LR pixels) of a registry model's deploy form; None if the
    network is not local (:class:`UnboundedReceptiveField`)."""
    from pocketsr.mobile_models import create_model, get_spec

    if name is None:
        raise ValueError("a model name is needed")
    spec = get_spec(name)
    try:
        return receptive_field_radius(create_model(spec.name, "deploy", pretrained=False).fold_pixel_range(),
                                      spec.scale)
    except UnboundedReceptiveField:
        return None


def seam_curve(run: Callable[[np.ndarray], np.ndarray], scale: int, images, tile: Tuple[int, int],
               overlaps, two_by_two: bool = False) -> List[Dict]:
    """Seam error vs overlap: for each overlap (LR pixels, capped by :func:`usable_overlap`), the
    tiled output of ``run`` with ``tile``-sized tiles against its whole-image output.

    Args:
        run: any-size runner, ``(1, 3, H, W)`` float32 [0, 1] -> ``(1, 3, H*s, W*s)``.
        images: ``(1, 3, H, W)`` float32 [0, 1] arrays (real photos).
        two_by_two: instead of the whole images, their centre ``(2t_h - 2o) x (2t_w - 2o)``
            region for each overlap ``o`` (edge-replicated if the photo is smaller): exactly
            2x2 tiles whose seams see exactly ``o`` pixels of context — the worst case of a
            tiling, at a cost of a few tile inferences per overlap whatever the tile size.

    Returns:
        ``[{"overlap", "psnr_db", "max_abs", "changed_8bit"}]`` with the worst value over the
        images (PSNR of float outputs, peak 1; ``None`` when tiled and whole are identical;
        ``changed_8bit`` a fraction).
    """
    from pocketsr.runtime.metrics import parity

    def region(x: np.ndarray, o: int) -> np.ndarray:
        h, w = 2 * tile[0] - 2 * o, 2 * tile[1] - 2 * o
        x = np.pad(x, ((0, 0), (0, 0), (0, max(0, h - x.shape[2])), (0, max(0, w - x.shape[3]))), mode="edge")
        y0, x0 = (x.shape[2] - h) // 2, (x.shape[3] - w) // 2
        return np.ascontiguousarray(x[:, :, y0:y0 + h, x0:x0 + w])

    wholes = None if two_by_two else [(x, run(x)) for x in images]
    rows = []
    for o in overlaps:
        o = usable_overlap(o, tile)
        pairs = wholes or [(r, run(r)) for r in (region(x, o) for x in images)]
        ps = [parity(run_image(run, x, scale, tile, o), whole) for x, whole in pairs]
        worst = min(p["psnr_db"] for p in ps)
        rows.append({"overlap": o, "psnr_db": worst if math.isfinite(worst) else None,
                     "max_abs": max(p["max_abs"] for p in ps), "changed_8bit": max(p["changed_8bit"] for p in ps)})
    return rows
