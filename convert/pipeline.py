"""The main job: registry model -> deploy form -> artifact + manifest -> validation -> index.

One loop over (model, target, precision); every target plugs in through
:class:`pocketsr.convert.base.Target` and every artifact is checked by the one
:class:`pocketsr.validate.validator.Validator`.
"""

from __future__ import annotations

import copy
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch

from pocketsr.mobile_models import create_model, get_spec, sha256_file
from pocketsr.runtime.mil_executor import UnsupportedOpError
from pocketsr.runtime.tiling import tiling_record

from .base import ConversionError, get_target
from .manifest import (SCHEMA_VERSION, artifact_sha256, artifact_size, atomic_path, manifest_path,
                       tool_versions, update_index, utc_now, write_json)
from pocketsr.errors import InputError, Interrupted


@dataclass
class Job:
    model: str
    target: str
    precision: str


#: precisions that need a fixed input size (static activation ranges)
FIXED_SIZE_ONLY = ("int8-full",)


def _defaults(target, dynamic: bool) -> List[str]:
    """A target's default precisions; with ``dynamic`` those that work at any size."""
    return [p for p in target.default_precisions if not (dynamic and p in FIXED_SIZE_ONLY)]


def plan(models: Sequence[str], targets: Optional[Sequence[str]], precisions: Optional[Sequence[str]],
         dynamic: bool = False) -> List[Job]:
    """Expand the CLI choices into jobs, rejecting impossible combinations before any work.

    ``targets=None`` (no ``-t``): every available target that can do the job — with
    ``dynamic`` only targets that write any-size artifacts, with ``precisions`` only targets
    that offer at least one of them (each target gets the ones it offers). Named targets are
    taken literally: each must be available and offer every requested precision.

    Raises:
        InputError: unknown model/target, an unavailable named target, a precision no chosen
            target offers, or ``dynamic`` with a fixed-size target or ``int8-full``.
    """
    from .base import TARGETS

    for m in models:
        get_spec(m)
    wanted: Dict[str, List[str]] = {}
    if targets:
        for t in targets:
            target = get_target(t)
            ok, why = target.available()
            if not ok:
                raise InputError(f"target {t} unavailable: {why}")
            if dynamic and not target.supports_dynamic_size:
                raise InputError(f"target {t} writes fixed-size artifacts only; drop --dynamic-size "
                                 f"or choose another target")
            chosen = list(precisions) if precisions else _defaults(target, dynamic)
            bad = [p for p in chosen if p not in target.precisions]
            if bad:
                raise InputError(f"target {t} has no precision {', '.join(bad)}; "
                                 f"choose from {', '.join(target.precisions)}")
            wanted[target.name] = chosen
    else:
        usable = [t for t in TARGETS.values() if t.available()[0]
                  and (t.supports_dynamic_size or not dynamic)]
        if not usable:
            raise InputError("no conversion target is available" + (" for --dynamic-size" if dynamic else ""))
        for target in usable:
            chosen = ([p for p in precisions if p in target.precisions] if precisions
                      else _defaults(target, dynamic))
            if chosen:
                wanted[target.name] = chosen
        offered = {p for chosen in wanted.values() for p in chosen}
        missing = [p for p in precisions or () if p not in offered]
        if missing:
            lists = "; ".join(f"{t.name}: {', '.join(t.precisions)}" for t in usable)
            raise InputError(f"no available target offers precision {', '.join(missing)} ({lists})")
    if dynamic and any(p in FIXED_SIZE_ONLY for chosen in wanted.values() for p in chosen):
        raise InputError("int8-full needs a fixed input size (static activation ranges); "
                         "drop --dynamic-size or choose another precision")
    return [Job(get_spec(m).name, t, p) for t, chosen in wanted.items() for m in models for p in chosen]


def artifact_name(model: str, scale: int, size: Optional[Tuple[int, int]], precision: str,
                  suffix: str, variant: str = "") -> str:
    """``lkdn-s_x4_180x320_fp32.tflite``; ``size=None`` (dynamic-size artifact) -> ``anysize``;
    ``variant`` (a target option's tag, e.g. ``_tensor``) goes after the precision."""
    label = "anysize" if size is None else f"{size[0]}x{size[1]}"
    return f"{model}_x{scale}_{label}_{precision}{variant}{suffix}"


def weights_record(model: str, weights: Optional[Path]) -> Dict:
    """Manifest ``weights`` section: the official source (pinned URL + sha256) or a local file."""
    spec = get_spec(model)
    if weights is not None:
        return {"official": False, "path": str(Path(weights).resolve()), "sha256": sha256_file(weights)}
    e = spec.pretrained_source
    return {"official": True, "file": e.filename, "form": e.form, "sha256": e.sha256, "url": e.url,
            "repo": e.repo, "commit": e.commit, "path": e.path, "license": e.license,
            "reparameterized": e.form == "training"}


def conversion_model(deploy) -> Tuple[object, List[Dict]]:
    """The graph every target converts: the deploy model with its pixel range folded
    (:meth:`~pocketsr.mobile_models.SRNet.fold_pixel_range`) and exactly rescaled for float16 headroom
    (:meth:`~pocketsr.mobile_models.SRNet.fp16_headroom_rescale_`, so float16 programs — Core ML, TFLite on a
    GPU delegate — do not overflow). Also the reference of per-layer reports, whose intermediate
    values must be those of the converted graph. Returns ``(model, rescaling records)``.

    Raises:
        ConversionError: the rescaling changed the function.
    """
    from pocketsr.datasets.sets import probe_images

    folded = deploy.fold_pixel_range().eval()
    try:
        headroom = folded.fp16_headroom_rescale_([torch.from_numpy(x) for x in probe_images()])
    except RuntimeError as exc:
        raise ConversionError(str(exc)) from None
    return folded, headroom


#: ids of the exact graph rewrites for GPU delegates, in the order :func:`gpu_rewrites_` applies them
GPU_REWRITES = ("depth_to_space", "layernorm_as_conv")


def gpu_rewrites_(model, only: Optional[Sequence[str]] = None) -> List[Dict]:
    """Rewrite the conversion graph ``model`` in place so the TFLite GPU delegate takes it whole
    (TFLite target only; Core ML converts the unrewritten graph):

    * ``depth_to_space``: every conv + ``nn.PixelShuffle`` becomes the conv with its output
      channels reordered + one ``DEPTH_TO_SPACE`` op
      (:func:`pocketsr.convert.depth_to_space.pixel_shuffle_to_depth_to_space_`; bit-exact).
      Without it litert-torch emits RESHAPE/TRANSPOSE chains through batch-3 tensors, which the
      OpenGL ES backend refuses.
    * ``layernorm_as_conv``: every single-axis ``nn.LayerNorm`` takes its channel statistics by
      1x1 convs (:func:`pocketsr.convert.analyzer.gpu_friendly_layernorm_`; same function up to
      float rounding). Without it: RESHAPE to ``(1, H*W, C)``, MEAN over channels and rank-1
      ``[H*W]`` tensors, which the OpenGL ES backend refuses.

    ``only``: a subset of :data:`GPU_REWRITES` (default: all). Returns the manifest records
    ``[{"rewrite", "modules", "exact", "effect"}]`` of the rewrites that changed something.

    Raises:
        ValueError: an unknown rewrite id, or a pixel shuffle not fed by a conv.
    """
    from .analyzer import gpu_friendly_layernorm_
    from .depth_to_space import pixel_shuffle_to_depth_to_space_

    chosen = list(GPU_REWRITES if only is None else only)
    unknown = [r for r in chosen if r not in GPU_REWRITES]
    if unknown:
        raise ValueError(f"unknown rewrite {', '.join(unknown)}; known: {', '.join(GPU_REWRITES)}")
    records = []
    if "depth_to_space" in chosen:
        names = pixel_shuffle_to_depth_to_space_(model)
        if names:
            records.append({"rewrite": "depth_to_space", "modules": names, "exact": True,
                            "effect": "PixelShuffle -> one DEPTH_TO_SPACE op, the conv before it "
                                      "with its output channels in DCR order (bit-exact)"})
    if "layernorm_as_conv" in chosen:
        names = [n for n, m in model.named_modules()
                 if isinstance(m, torch.nn.LayerNorm) and len(m.normalized_shape) == 1]
        if gpu_friendly_layernorm_(model):
            records.append({"rewrite": "layernorm_as_conv", "modules": names, "exact": False,
                            "effect": "LayerNorm -> channel statistics by 1x1 convs (no MEAN over "
                                      "channels; same function up to float rounding)"})
    return records


def recorded_rewrites_(model, manifest: Dict) -> List[Dict]:
    """Apply to ``model`` (a :func:`conversion_model`) the rewrites ``manifest`` records in
    ``conversion.rewrites``, so per-layer comparisons see the graph that was converted.
    Manifests written before rewrites were recorded as dicts apply none."""
    ids = [r["rewrite"] for r in (manifest.get("conversion") or {}).get("rewrites") or []
           if isinstance(r, dict) and r.get("rewrite") in GPU_REWRITES]
    return gpu_rewrites_(model, ids) if ids else []


def build_artifact(model: str, target_name: str, precision: str, input_size: Tuple[int, int],
                   out_dir: Path, weights: Optional[Path] = None, deploy=None,
                   quant_options=None, dynamic: bool = False,
                   gpu_friendly: bool = True, target_options: Optional[Dict[str, Dict]] = None,
                   cache: Optional[Dict] = None) -> Tuple[Path, Dict]:
    """Convert one model to one artifact and write it with its manifest (no validation yet).

    ``deploy``: an already built deploy model to reuse (else built from the registry).
    ``gpu_friendly``: apply :func:`gpu_rewrites_` to fixed-size TFLite graphs (the default: exact,
    the GPU delegate then takes the whole graph on every backend; False: litert-torch's own
    lowering of PixelShuffle and LayerNorm). Recorded in ``conversion.rewrites``.
    ``target_options``: per target name, options for it (``{"coreml": {"io": "tensor"}}``).
    ``cache``: a dict shared by the jobs of one run, so the conversion graph (with its float16
    headroom probe) and each quantization plan (calibration, sensitivity ranking, selection
    reference) are built once per model, not once per artifact.
    Returns ``(artifact path, manifest dict)``. Files appear only when complete.
    """
    t0 = time.perf_counter()
    cache = {} if cache is None else cache
    spec = get_spec(model)
    target = get_target(target_name)
    options = dict((target_options or {}).get(target.name, {}))
    weights_rec = weights_record(spec.name, weights)
    extra = target.conversion_kwargs(spec.name, weights_rec, **options)  # bad options fail first
    deploy = deploy if deploy is not None else create_model(model, "deploy", weights=weights)
    key = ("conversion", spec.name, id(deploy))
    if key not in cache:
        cache[key] = conversion_model(deploy)
    folded, headroom = copy.deepcopy(cache[key][0]), cache[key][1]
    # Dynamic-size artifacts have their own rewrites (convert/dynamic.py), Core ML none.
    rewrite = gpu_friendly and target.name == "tflite" and not dynamic
    rewrites, skipped = [], []
    if rewrite:
        try:
            rewrites = gpu_rewrites_(folded)
        except ValueError as exc:  # a pixel shuffle not fed by a conv in an nn.Sequential (user networks)
            folded = copy.deepcopy(cache[key][0])
            skipped = [{"rewrite": "depth_to_space", "reason": str(exc)}]
            rewrites = gpu_rewrites_(folded, [r for r in GPU_REWRITES if r != "depth_to_space"])
    plan = None
    if target.needs_plan(precision):
        from .quantize import plan_quantization
        key = ("plan", spec.name, id(deploy), target.plan_precision(precision), tuple(input_size), rewrite)
        if key not in cache:
            cache[key] = plan_quantization(folded, target.plan_precision(precision), input_size, quant_options)
        plan = cache[key].for_gate(precision, label=f"{target.name} {precision}")
        folded = plan.model
    out_dir = Path(out_dir)
    path = out_dir / artifact_name(spec.name, spec.scale, None if dynamic else input_size, precision,
                                   target.suffix, target.variant(**options))
    # Both files are written to temporary names and renamed one right after the other (artifact
    # first): an interruption before that leaves the folder exactly as it was.
    with atomic_path(manifest_path(path)) as manifest_tmp:
        with atomic_path(path, directory=target.directory) as tmp:
            if dynamic:
                extra["dynamic"] = True
            result = target.convert(folded, input_size, precision, tmp, plan=plan, **extra)
            seconds = time.perf_counter() - t0
            manifest = {
                "schema_version": SCHEMA_VERSION,
                "model": spec.name, "title": spec.title, "paper": spec.paper,
                "scale": spec.scale, "format": target.name, "target": target.name, "precision": precision,
                "file": path.name, "sha256": artifact_sha256(tmp), "size_bytes": artifact_size(tmp),
                "input": result.input, "output": result.output,
                "pixel_range": {"native": spec.pixel_range, "folded_into_weights": spec.pixel_range != 1.0,
                                "method": ("internal range rescaling" if hasattr(deploy.body, "rescale_range_")
                                           else "first/last conv") if spec.pixel_range != 1.0 else None},
                "weights": weights_rec,
                **(spec.origin or {}),  # a user network: model_def (or entry_point) record
                "params": sum(p.numel() for p in deploy.parameters()),
                "tools": tool_versions(list(target.packages)),
                "created": utc_now(),
                "conversion": {"seconds": round(seconds, 2), "rewrites": rewrites,
                               **({"rewrites_skipped": skipped} if skipped else {}),
                               "fp16_headroom_rescaling": headroom, **result.details},
                "tiling": tiling_record(folded, spec.scale, None if dynamic else tuple(input_size),
                                        spec.seam_overlaps, spec.default_seam_floor),
                **target.inspect(tmp),
                "contract": "convert/CONTRACT.md",
                "validation": None,
            }
            manifest_tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    return path, manifest


def record_validation(path: Path, manifest: Dict, validation: Dict) -> Dict:
    """Store validation results in the artifact's manifest (atomic rewrite)."""
    manifest = {**manifest, "validation": {**validation, "validated": utc_now()}}
    write_json(manifest_path(path), manifest)
    return manifest


class ConversionFailed(ConversionError):
    """Some jobs could not be converted (e.g. a network op a target has no conversion for); every
    other job's artifact was written, validated and listed in ``index.json``. Exit code 4.

    Attributes:
        failures: ``[{"model", "target", "precision", "error"}]`` in job order (``error``: one line).
        manifests: the manifests of the artifacts that were written, in job order.
    """

    exit_code = 4

    def __init__(self, failures: List[Dict], manifests: List[Dict], total: int, note: str = ""):
        self.failures, self.manifests, self.total = failures, manifests, total
        groups: Dict[Tuple[str, str, str], List[str]] = {}
        for f in failures:
            groups.setdefault((f["model"], f["target"], f["error"]), []).append(f["precision"])
        what = "; ".join(f"{model} {target} {', '.join(precisions)}: {error}"
                         for (model, target, error), precisions in groups.items())
        kept = total - len(failures)
        super().__init__(f"{len(failures)} of {total} conversion(s) failed — {what} "
                         f"({kept} other artifact(s) written{note})")


def failure_reason(exc: BaseException) -> str:
    """One line saying why a target could not make an artifact: the op it has no conversion for
    when its converter names one (coremltools, litert-torch) or the op pocketsr's Core ML executor
    cannot run (the package could be neither inspected nor validated), else the error's own line."""
    text = str(exc)
    m = re.search(r"convert function for op '([^']+)' not implemented", text)
    if m:
        return f"coremltools cannot convert op '{m.group(1)}'"
    m = re.search(r"Lowering not found: aten\.([\w]+)", text)
    if m:
        return f"litert-torch cannot convert op '{m.group(1)}' (no lowering for aten.{m.group(1)})"
    m = re.search(r"MIL executor: unsupported op '([^']+)'", text)
    if m:  # raised while inspecting the package, before it is written
        return (f"converted, but pocketsr's Core ML executor (how the package is checked on Linux) cannot "
                f"run its op '{m.group(1)}', so it was not kept")
    return text if len(text) <= 300 else text[:300] + "…"


def run_jobs(jobs: Sequence[Job], input_size: Tuple[int, int], out_dir: Path, validator,
             weights: Optional[Path] = None, on_step: Optional[Callable[[str, Tuple[str, str, str]], None]] = None,
             quant_options=None, dynamic: bool = False, gpu_friendly: bool = True,
             target_options: Optional[Dict[str, Dict]] = None,
             on_failed: Optional[Callable[[Dict], None]] = None) -> List[Dict]:
    """Convert and validate every job; returns the manifests (with validation) in job order.

    ``on_step(label, key)`` is called as each step starts: ``key`` is ``("convert" | "validate",
    target, precision)``, so a caller can time steps and estimate the remaining ones.
    A job whose conversion fails (:class:`ConversionError`, e.g. an op the target cannot
    convert) does not stop the others: ``on_failed({"model", "target", "precision", "error"})``
    is called, nothing of that artifact is written, and the run ends with
    :class:`ConversionFailed` once every other job is done.

    Raises:
        ConversionFailed: one or more jobs could not be converted (the rest are done).
        Interrupted: Ctrl-C during a validation (the artifact stays, with ``"validation": null``,
            and ``index.json`` is updated). Ctrl-C during a conversion propagates as
            ``KeyboardInterrupt`` and leaves nothing of that artifact (atomic writes).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    deploy_models: Dict[str, object] = {}
    cache: Dict = {}
    manifests: List[Dict] = []
    failures: List[Dict] = []
    for job in jobs:
        if on_step:
            on_step(f"convert {job.model} → {job.target} {job.precision}", ("convert", job.target, job.precision))
        if job.model not in deploy_models:
            deploy_models[job.model] = create_model(job.model, "deploy", weights=weights)
        try:
            path, manifest = build_artifact(job.model, job.target, job.precision, input_size, out_dir,
                                            weights, deploy=deploy_models[job.model],
                                            quant_options=quant_options, dynamic=dynamic,
                                            gpu_friendly=gpu_friendly, target_options=target_options,
                                            cache=cache)
        except (ConversionError, UnsupportedOpError) as exc:  # this target cannot make it; the others go on
            failures.append({"model": job.model, "target": job.target, "precision": job.precision,
                             "error": failure_reason(exc)})
            if on_failed:
                on_failed(failures[-1])
            continue
        if validator is not None:
            t0 = time.perf_counter()
            try:
                # inside the try: from here on a Ctrl-C keeps the finished artifact (the step line
                # announcing the validation is printed first, and a signal may land while it is)
                if on_step:
                    on_step(f"validate {path.name}", ("validate", job.target, job.precision))
                validation = validator.validate(path, manifest)
            except KeyboardInterrupt:
                # The artifact is complete; only its check is missing. Keep it, listed as
                # unvalidated, rather than throw away minutes of conversion.
                update_index(out_dir)
                raise Interrupted(f"interrupted while validating {path.name}: the artifact is kept with "
                                  f"\"validation\": null (index.json lists it as not validated); finish "
                                  f"with: pocketsr validate {path}") from None
            validation["seconds"] = round(time.perf_counter() - t0, 2)
            manifest = record_validation(path, manifest, validation)
        manifests.append(manifest)
        update_index(out_dir)
    if failures:
        raise ConversionFailed(failures, manifests, len(jobs))
    return manifests
