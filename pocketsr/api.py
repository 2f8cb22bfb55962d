"""pocketsr's Python API: the command line's operations as functions that return data.

Each function does what the ``pocketsr`` command of the same job does (the CLI calls these), but
returns manifests, validation dicts and images instead of printing tables, and raises
:class:`pocketsr.errors.PocketsrError` subclasses (one-line messages) instead of exiting.

Names differ from the CLI's where a subpackage owns the name: ``pocketsr.convert`` and
``pocketsr.validate`` are the converter and validator packages, so the functions are
:func:`convert_models` and :func:`validate_artifact`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Sequence, Tuple, Union

from .errors import InputError, Interrupted

if TYPE_CHECKING:  # names for the annotations only; importing them here would load numpy and Pillow
    import numpy
    import PIL.Image

#: an image argument: a file path, a ``PIL.Image.Image`` or an ``(H, W, 3)`` uint8 RGB array
ImageLike = Union[str, Path, "PIL.Image.Image", "numpy.ndarray"]


def list_models(default_only: bool = False) -> List[str]:
    """Registry names (``["lkdn-s", "fmen-s", ...]``); ``default_only``: those ``convert`` makes
    when no model is named."""
    from .mobile_models import list_models as names
    return names(default_only)


def create_model(name: str, form: str = "deploy", pretrained: bool = True, weights: Optional[Path] = None):
    """A registry model in eval mode, official weights verified by sha256 (see
    :func:`pocketsr.mobile_models.create_model`): ``(N, 3, H, W)`` float32 in [0, 1] ->
    ``(N, 3, H*scale, W*scale)`` in [0, 1].

    Raises:
        InputError: unknown name or form. WeightsError: missing, corrupt or foreign weights.
    """
    from .mobile_models import create_model as build
    return build(name, form, pretrained, weights)


def define_model(model_def: str, weights: Union[str, Path], scale: int, *, pixel_range: float = 1.0,
                 model_args: Union[None, str, Dict] = None, name: Optional[str] = None) -> str:
    """Register a network pocketsr does not ship — a ``torch.nn.Module`` class in a .py file —
    so every function here takes it by name (``pocketsr convert --model-def``; the README's
    "Bring your own network").

    The file is imported, ``Class(**model_args)`` built and ``weights`` loaded (a training-form
    checkpoint of a network with :class:`~pocketsr.mobile_models.RepBlock` blocks is
    reparameterized and compared with its deploy form); the output must be ``scale`` times the
    input and finite on real photo crops, and ``pixel_range=255`` must fold exactly into the
    first and last conv (:mod:`pocketsr.mobile_models.model_def`).

    Args:
        model_def: ``"PATH.py:ClassName"``. The forward maps ``(N, 3, H, W)`` float32 RGB in
            ``[0, pixel_range]`` to ``(N, 3, scale*H, scale*W)``.
        weights: the checkpoint (``torch.save`` of a state dict).
        scale: upscale factor, 1..8. pixel_range: 1 or 255 (the network's white level).
        model_args: constructor keyword arguments, a dict or a JSON object string.
        name: registry name (default: the class name, lower case).

    Returns:
        The registry name (artifacts are named ``<name>_x<scale>_<H>x<W>_<precision>``).

    Raises:
        InputError: one line naming the cause (file or class not found, import error, rejected
            arguments, wrong output shape, NaN/inf output, unfoldable pixel range, ...).
        WeightsError: the checkpoint does not fit (missing/unexpected keys, shapes, with counts).
    """
    from .datasets.sets import probe_images
    from .mobile_models.model_def import define_model as define

    photos = probe_images()[:4]  # the four real photo crops (the last two are noise)
    return define(model_def, weights, scale, pixel_range, model_args, name, images=photos).name


def default_datasets(scale: int = 4) -> List[Path]:
    """Set5 and Set14 of the development data folder (``../shared/datasets`` beside a source
    checkout, or ``POCKETSR_DATA_DIR``) when present; empty on a user's machine, where the
    built-in CC0-3 benchmark gates alone."""
    from .datasets.sets import shared_datasets_dir
    base = os.environ.get("POCKETSR_DATA_DIR") or shared_datasets_dir()
    if base is None:
        return []
    base = Path(base)
    return [base / n for n in ("Set5", "Set14") if (base / n / "LR_bicubic" / f"X{scale}").is_dir()]


def _validation_inputs(data: Optional[Sequence[Path]], photos: Optional[Path]) -> List[Path]:
    """The gating benchmark folders (``data``, else :func:`default_datasets`), after checking
    that they and ``photos`` exist. Raises InputError."""
    datasets = list(data) if data else default_datasets()
    for d in datasets:
        if not Path(d).is_dir():
            raise InputError(f"--data folder not found: {d}")
    if photos is not None and not Path(photos).is_dir():
        raise InputError(f"--photos folder not found: {photos}")
    return datasets


def _size(value: Union[str, Sequence[int]]) -> Tuple[int, int]:
    from .convert.base import parse_size
    if isinstance(value, str):
        return parse_size(value)
    h, w = (int(v) for v in value)
    return parse_size(f"{h}x{w}")


def _names(value: Union[None, str, Sequence[str]]) -> Optional[List[str]]:
    if value is None:
        return None
    return [value] if isinstance(value, str) else list(value)


def convert_models(models: Union[None, str, Sequence[str]] = None,
                   targets: Union[None, str, Sequence[str]] = None,
                   precisions: Union[None, str, Sequence[str]] = None, *,
                   input_size: Union[str, Sequence[int]] = (180, 320), output: Union[str, Path] = "artifacts",
                   weights: Optional[Path] = None, data: Optional[Sequence[Path]] = None,
                   photos: Optional[Path] = None, validate: bool = True, threads: int = 2,
                   calibration: Optional[Path] = None, calibration_count: int = 32, seed: int = 0,
                   finetune_steps: int = 0, max_float_layers: int = 12, dynamic_size: bool = False,
                   gpu_friendly: bool = True, coreml_io: str = "image", report: bool = False,
                   bundle: Optional[Union[str, Path]] = None,
                   model_def: Optional[str] = None, model_args: Union[None, str, Dict] = None,
                   scale: Optional[int] = None, pixel_range: Optional[float] = None, name: Optional[str] = None,
                   on_plan: Optional[Callable[[list], None]] = None,
                   on_step: Optional[Callable[[str, tuple], None]] = None,
                   on_converted: Optional[Callable[[List[Dict]], None]] = None,
                   on_report_step: Optional[Callable[[str], None]] = None,
                   on_failed: Optional[Callable[[Dict], None]] = None) -> List[Dict]:
    """Official weights -> deploy form -> one artifact per (model, target, precision), each
    with its manifest and (by default) validated; the same job as ``pocketsr convert``.

    Args:
        models: registry names (default: the default set, LKDN-S and FMEN-S).
        model_def: instead of ``models``, a network of your own, ``"PATH.py:ClassName"``, with
            ``weights`` (required), ``scale`` (required), ``pixel_range`` (1 or 255, default 1),
            ``model_args`` (constructor arguments, dict or JSON) and ``name``; see
            :func:`define_model`. Its manifests carry a ``model_def`` record.
        targets: ``"tflite"``, ``"coreml"`` (default: every available target).
        precisions: e.g. ``"fp32"``, ``"int8-full"`` (default: each target's defaults).
        input_size: fixed LR input ``(H, W)`` or ``"HxW"`` in pixels (HR is 4x).
        output: folder for artifacts, manifests (``<artifact>.json``) and ``index.json``.
        validate: parity vs PyTorch on real photos and ΔPSNR gates on the built-in CC0-3
            benchmark (+ ``data`` folders, default Set5/Set14 when present).
        report: also write ``report.html`` + ``report.json`` into ``output``.
        bundle: also write an app bundle of the shipped picks there (:func:`write_bundle`).
        on_plan / on_step / on_converted / on_report_step / on_failed: progress callbacks (the
            job list before any work; ``(label, (kind, target, precision))`` as each step starts;
            the manifests when every artifact is done; each report step's label;
            ``{"model", "target", "precision", "error"}`` of a conversion that failed).
        gpu_friendly: exact TFLite graph rewrites so the GPU delegate takes the whole graph
            (PixelShuffle as DEPTH_TO_SPACE, LayerNorm as 1x1 convs; fixed-size TFLite only;
            default on, False: ``--no-gpu-friendly``).
        The other arguments are the CLI options of the same names.

    Returns:
        One manifest dict per artifact, in job order (``convert/CONTRACT.md``); with
        ``validate``, ``manifest["validation"]["passed"]`` says whether it met its gate. A
        failed gate is data here (the CLI turns it into exit code 3).

    Raises:
        InputError: bad names, sizes, folders or an output folder that cannot be written, or a
            ``model_def`` that cannot be used — before any work. WeightsError: during the work.
        ConversionFailed (:class:`pocketsr.convert.pipeline.ConversionFailed`, exit code 4 in
            the CLI): a target could not convert some jobs (e.g. an op it has no conversion
            for); raised at the end, after every other job's artifact, the report and the
            bundle were written; its ``failures`` and ``manifests`` say which.
        Interrupted: Ctrl-C; artifacts already written stay; one converted but not yet
            validated is kept with ``"validation": null`` and listed so in ``index.json``
            (``pocketsr validate`` finishes it).
    """
    from .convert.calibration import collect_frames
    from .convert.base import get_target
    from .convert.manifest import ensure_writable
    from .convert.pipeline import ConversionFailed, plan, run_jobs
    from .convert.quantize import QuantOptions
    from .validate.validator import Validator

    size = _size(input_size)
    if model_def is not None:
        if models:
            raise InputError("give --model or --model-def, not both")
        if weights is None:
            raise InputError("--model-def needs --weights: the checkpoint of your network")
        if scale is None:
            raise InputError("--model-def needs --scale: the network's upscale factor")
        models = [define_model(model_def, weights, scale, pixel_range=1.0 if pixel_range is None else pixel_range,
                               model_args=model_args, name=name)]
    elif any(v is not None for v in (model_args, scale, pixel_range, name)):
        raise InputError("--model-args, --scale, --pixel-range and --name are for --model-def")
    models_ = _names(models) or list_models(default_only=True)
    if weights is not None and len(models_) != 1:
        raise InputError("--weights needs exactly one --model")
    if weights is not None and not Path(weights).is_file():
        raise InputError(f"weights file not found: {weights}")
    jobs = plan(models_, _names(targets), _names(precisions), dynamic=dynamic_size)
    target_options = {"coreml": {"io": coreml_io}} if coreml_io != "image" else {}
    for name, opts in target_options.items():
        get_target(name).conversion_kwargs(models_[0], {}, **opts)  # a bad value fails before any work
    quant = QuantOptions(calibration, calibration_count, seed, finetune_steps, max_float_layers)
    if any(get_target(j.target).needs_plan(j.precision) for j in jobs):
        if calibration_count < 1:
            raise InputError("--calibration-count must be at least 1")
        collect_frames(calibration)  # bad calibration input fails here, before any conversion
    datasets = _validation_inputs(data, photos)
    output = Path(output)
    created = ensure_writable(output)  # "cannot write to ..." now, not after the work
    if bundle is not None:
        from .validate.bundle import check_output
        check_output(Path(bundle), output)
    validator = Validator(datasets, photos, threads=threads) if validate else None
    if report and validator is not None:
        from .validate.report import CROP, IMAGES
        validator.keep_comparisons(IMAGES, CROP)  # the report then re-runs no artifact for them
    if on_plan:
        on_plan(jobs)
    failed = None
    try:
        manifests = run_jobs(jobs, size, output, validator, weights=weights, on_step=on_step,
                             quant_options=quant, dynamic=dynamic_size, gpu_friendly=gpu_friendly,
                             target_options=target_options, on_failed=on_failed)
    except ConversionFailed as exc:  # the other jobs are done: report and bundle them, then say so
        manifests, failed = exc.manifests, exc
    except BaseException:
        if created and output.is_dir() and not any(output.iterdir()):
            output.rmdir()  # an interrupted first run leaves no empty folder behind
        raise
    if on_converted:
        on_converted(manifests)
    if report and manifests:
        write_report(output, photos=photos, threads=threads, validator=validator, on_step=on_report_step)
    if bundle is not None and manifests:
        write_bundle(output, bundle, pick="ship" if validate else "all", seed=seed, threads=threads,
                     on_step=on_report_step)
    if failed is not None:
        if not manifests and created and output.is_dir() and not any(output.iterdir()):
            output.rmdir()
        gate = sum(1 for m in manifests if (m.get("validation") or {}).get("passed") is False)
        raise ConversionFailed(failed.failures, manifests, failed.total,
                               f", {gate} of them failed their gate" if gate else "")
    return manifests


def validate_artifact(artifact: Union[str, Path], *, data: Optional[Sequence[Path]] = None,
                      photos: Optional[Path] = None, threads: int = 2, record: bool = True) -> Dict:
    """Validate one artifact against its PyTorch deploy model (``pocketsr validate``).

    Returns:
        The validation dict (``convert/CONTRACT.md``: ``passed``, ``failures``, ``parity``,
        ``benchmarks`` with ΔPSNR per gating set, ``gated_on``, ...). With ``record`` it is also
        written into the artifact's manifest and the folder's ``index.json``.

    Raises:
        ArtifactError: missing/damaged artifact or manifest. InputError: bad folders.
    """
    return validate_artifacts([artifact], data=data, photos=photos, threads=threads, record=record)[0]["validation"]


def validate_artifacts(artifacts: Sequence[Union[str, Path]], *, data: Optional[Sequence[Path]] = None,
                       photos: Optional[Path] = None, threads: int = 2, record: bool = True,
                       on_artifact: Optional[Callable[[Path], None]] = None) -> List[Dict]:
    """:func:`validate_artifact` for several artifacts sharing one validator (PyTorch references
    and photo crops are computed once). Every manifest is read before any work. Returns the
    manifests with their ``validation``, in order; ``on_artifact(path)`` is called as each starts."""
    from .convert.manifest import read_manifest, update_index
    from .convert.pipeline import record_validation
    from .validate.validator import Validator

    datasets = _validation_inputs(data, photos)
    manifests = [(Path(a), read_manifest(Path(a))) for a in artifacts]
    validator = Validator(datasets, photos, threads=threads)
    done = []
    for path, manifest in manifests:
        if on_artifact:
            on_artifact(path)
        validation = validator.validate(path, manifest)
        if record:
            manifest = record_validation(path, manifest, validation)
            update_index(path.parent)
        else:
            manifest = {**manifest, "validation": validation}
        done.append(manifest)
    return done


def upscale(image: ImageLike, *, artifact: Optional[Union[str, Path]] = None, model: Optional[str] = None,
            weights: Optional[Path] = None, overlap: Optional[int] = None,
            tile: Optional[Union[str, Sequence[int]]] = None, threads: int = 2):
    """Upscale one image of any size with an artifact or a registry model (PyTorch), tiled as
    ``validate/TILING.md`` specifies (exact at the default overlap) — ``pocketsr upscale``.

    Args:
        image: a file (EXIF orientation applied), a ``PIL.Image.Image`` or an ``(H, W, 3)``
            uint8 RGB array.
        artifact / model: exactly one; ``weights`` a local checkpoint for ``model``.
        overlap: tile overlap in LR pixels (default: the receptive-field radius when the tile
            allows it). tile: ``(H, W)`` for a model (default 256x256); artifacts use their own.

    Returns:
        ``PIL.Image.Image``, RGB, ``scale`` times the input's width and height.

    Raises:
        InputError: neither or both of artifact/model, unreadable image, bad tile.
        ArtifactError: a damaged artifact.
    """
    from PIL import Image

    from .runtime.images import load_image, to_rgb_array

    if (model is None) == (artifact is None):
        raise InputError("give exactly one of --model or --artifact")
    img = load_image(Path(image))[0] if isinstance(image, (str, Path)) else to_rgb_array(image)
    sr, _ = upscale_array(img, artifact=artifact, model=model, weights=weights, overlap=overlap, tile=tile,
                          threads=threads)
    return Image.fromarray(sr)


def upscale_array(img, *, artifact=None, model=None, weights=None, overlap=None, tile=None, threads: int = 2,
                  on_start: Optional[Callable[[str], None]] = None):
    """:func:`upscale` on an ``(H, W, 3)`` uint8 RGB array; returns ``(SR array (sH, sW, 3) uint8,
    info)`` where ``info`` has ``overlap`` and ``radius`` (LR pixels) and ``notes`` (e.g. why
    the overlap is not exact). ``on_start(description)`` is called when the tiles start."""
    import numpy as np

    from .convert.manifest import read_manifest
    from .mobile_models import get_spec
    from .runtime.runners import TorchRunner, open_artifact
    from .runtime.tiling import DEFAULT_ANY_SIZE_TILE, choose_overlap, describe, upscale_uint8

    if (model is None) == (artifact is None):
        raise InputError("give exactly one of --model or --artifact")
    manifest = read_manifest(Path(artifact)) if artifact is not None else None
    if model is not None:
        get_spec(model)
    runner = (open_artifact(Path(artifact), threads=threads) if artifact is not None
              else TorchRunner(create_model(model, "deploy", weights=weights), get_spec(model).scale, threads))
    if runner.input_size is not None and tile is not None:
        raise InputError(f"--tile is for --model; {Path(artifact).name} has a fixed input size "
                         f"{runner.input_size[0]}x{runner.input_size[1]}")
    size = runner.input_size or (_size(tile) if tile is not None else DEFAULT_ANY_SIZE_TILE)
    used, radius, note = choose_overlap(overlap, size, manifest, model, img.shape[:2])
    if on_start:
        on_start(f"upscaling {img.shape[1]}x{img.shape[0]} ({describe(img.shape[:2], size, used)})")
    sr = np.ascontiguousarray(upscale_uint8(runner, img, used, tile=size))
    return sr, {"overlap": used, "radius": radius, "notes": [note] if note else []}


def write_report(folder: Union[str, Path] = "artifacts", *, photos: Optional[Path] = None, threads: int = 2,
                 latency_runs: int = 5, images: int = 2, seam: bool = True, validator=None,
                 on_step: Optional[Callable[[str], None]] = None) -> Path:
    """Write ``report.html`` (self-contained) and ``report.json`` for an artifact folder
    (``pocketsr report``). Returns the HTML file's path.

    Raises:
        InputError: folder missing or without an ``index.json``.
    """
    from .validate.report import write_report as write

    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"artifact folder not found: {folder}")
    if photos is not None and not Path(photos).is_dir():
        raise InputError(f"--photos folder not found: {photos}")
    html, _ = write(folder, photos=photos, threads=threads, latency_runs=latency_runs, images=images, seam=seam,
                    validator=validator, step=on_step or (lambda msg: None))
    return html


def write_bundle(folder: Union[str, Path] = "artifacts", output: Union[str, Path] = "bundle", *,
                 pick: Union[str, Sequence[str]] = "ship", golden: int = 4, seed: int = 0,
                 photos: Optional[Path] = None, threads: int = 2,
                 on_step: Optional[Callable[[str], None]] = None) -> Path:
    """Write an app bundle (``pocketsr bundle``): the picked artifacts with their manifests,
    ``bundle.json`` and a golden parity set per model and input size
    (:mod:`pocketsr.validate.bundle`). Returns the path of ``bundle.json``.

    Args:
        pick: ``"ship"`` (per model and target the fastest and the smallest passing artifact),
            ``"all"``, or artifact file names.
        golden: golden crops per model and input size (LR PNG + PyTorch output window as .npy).

    Raises:
        InputError: bad folder, pick or output. ArtifactError: a manifest missing or not matching
            its artifact's sha256.
    """
    from .validate.bundle import write_bundle as write

    if photos is not None and not Path(photos).is_dir():
        raise InputError(f"--photos folder not found: {photos}")
    return write(Path(folder), Path(output), pick=[pick] if isinstance(pick, str) else list(pick), golden=golden,
                 seed=seed, photos=photos, threads=threads, step=on_step)


def ingest_device_reports(files: Sequence[Union[str, Path]], folder: Union[str, Path] = "artifacts") -> List[Path]:
    """Validate device reports written by the sample apps (JSON Schema
    ``validate/schemas/device_report.schema.json``), store them in ``folder/device_reports/``
    and refresh the report's On device section (``pocketsr device-report``). Returns the
    stored paths.

    Raises:
        InputError: a malformed file (naming the file and field), a run of an unknown artifact
            (sha256), or ``folder`` not an artifact folder; nothing is stored then.
    """
    from .validate.device_report import ingest

    return ingest([Path(f) for f in files], Path(folder))


__all__ = ["list_models", "create_model", "define_model", "convert_models", "validate_artifact", "validate_artifacts", "upscale", "upscale_array", "write_report",
           "write_bundle", "ingest_device_reports", "default_datasets", "Interrupted"]
