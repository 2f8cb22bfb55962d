"""The main job: registry model -> deploy form -> artifact + manifest -> validation -> index.

One loop over (model, target, precision); every target plugs in through
:class:`convert.base.Target` and every artifact is checked by the one
:class:`validate.validator.Validator`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from mobile_models import create_model, get_spec, sha256_file

from .base import get_target
from .manifest import (SCHEMA_VERSION, atomic_path, manifest_path, tool_versions, update_index,
                       utc_now, write_json)
from pocketsr.errors import InputError


@dataclass
class Job:
    model: str
    target: str
    precision: str


def plan(models: Sequence[str], targets: Sequence[str], precisions: Optional[Sequence[str]],
         dynamic: bool = False) -> List[Job]:
    """Expand the CLI choices into jobs, rejecting impossible combinations before any work.

    Raises:
        InputError: unknown model/target, or a precision no chosen target offers.
    """
    jobs = []
    for t in targets:
        target = get_target(t)
        ok, why = target.available()
        if not ok:
            raise InputError(f"target {t} unavailable: {why}")
        wanted = list(precisions) if precisions else list(target.default_precisions)
        bad = [p for p in wanted if p not in target.precisions]
        if bad:
            raise InputError(f"target {t} has no precision {', '.join(bad)}; "
                             f"choose from {', '.join(target.precisions)}")
        if dynamic and "int8-full" in wanted:
            raise InputError("int8-full needs a fixed input size (static activation ranges); "
                             "drop --dynamic-size or choose another precision")
        for m in models:
            get_spec(m)
            jobs.extend(Job(get_spec(m).name, t, p) for p in wanted)
    return jobs


def artifact_name(model: str, scale: int, size: Optional[Tuple[int, int]], precision: str,
                  suffix: str) -> str:
    """``lkdn-s_x4_180x320_fp32.tflite``; ``size=None`` (dynamic-size artifact) -> ``anysize``."""
    label = "anysize" if size is None else f"{size[0]}x{size[1]}"
    return f"{model}_x{scale}_{label}_{precision}{suffix}"


def weights_record(model: str, weights: Optional[Path]) -> Dict:
    """Manifest ``weights`` section: the official source (pinned URL + sha256) or a local file."""
    spec = get_spec(model)
    if weights is not None:
        return {"official": False, "path": str(Path(weights).resolve()), "sha256": sha256_file(weights)}
    e = spec.pretrained_source
    return {"official": True, "file": e.filename, "form": e.form, "sha256": e.sha256, "url": e.url,
            "repo": e.repo, "commit": e.commit, "path": e.path, "license": e.license,
            "reparameterized": e.form == "training"}


def build_artifact(model: str, target_name: str, precision: str, input_size: Tuple[int, int],
                   out_dir: Path, weights: Optional[Path] = None, deploy=None,
                   quant_options=None, dynamic: bool = False,
                   gpu_friendly: bool = False) -> Tuple[Path, Dict]:
    """Convert one model to one artifact and write it with its manifest (no validation yet).

    ``deploy``: an already built deploy model to reuse (else built from the registry).
    Returns ``(artifact path, manifest dict)``. Files appear only when complete.
    """
    spec = get_spec(model)
    target = get_target(target_name)
    deploy = deploy if deploy is not None else create_model(model, "deploy", weights=weights)
    folded = deploy.fold_pixel_range().eval()
    rewrites = []
    if gpu_friendly:
        from .analyzer import gpu_friendly_layernorm_
        if gpu_friendly_layernorm_(folded):
            rewrites.append("LayerNorm -> channel statistics by 1x1 convs (no MEAN over channels; "
                            "same function up to float rounding)")
    plan = None
    if precision.startswith("int8"):
        from .quantize import plan_quantization
        plan = plan_quantization(folded, precision, input_size, quant_options)
        folded = plan.model
    out_dir = Path(out_dir)
    path = out_dir / artifact_name(spec.name, spec.scale, None if dynamic else input_size, precision,
                                   target.suffix)
    t0 = time.perf_counter()
    # Both files are written to temporary names and renamed one right after the other (artifact
    # first): an interruption before that leaves the folder exactly as it was.
    with atomic_path(manifest_path(path)) as manifest_tmp:
        with atomic_path(path) as tmp:
            extra = {"dynamic": True} if dynamic else {}
            result = target.convert(folded, input_size, precision, tmp, plan=plan, **extra)
            seconds = time.perf_counter() - t0
            manifest = {
                "schema_version": SCHEMA_VERSION,
                "model": spec.name, "title": spec.title, "paper": spec.paper,
                "scale": spec.scale, "format": target.name, "target": target.name, "precision": precision,
                "file": path.name, "sha256": sha256_file(tmp), "size_bytes": tmp.stat().st_size,
                "input": result.input, "output": result.output,
                "pixel_range": {"native": spec.pixel_range, "folded_into_weights": spec.pixel_range != 1.0,
                                "method": ("internal range rescaling" if hasattr(deploy.body, "rescale_range_")
                                           else "first/last conv") if spec.pixel_range != 1.0 else None},
                "weights": weights_record(spec.name, weights),
                "params": sum(p.numel() for p in deploy.parameters()),
                "tools": tool_versions(list(target.packages)),
                "created": utc_now(),
                "conversion": {"seconds": round(seconds, 2), "rewrites": rewrites, **result.details},
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


def run_jobs(jobs: Sequence[Job], input_size: Tuple[int, int], out_dir: Path, validator,
             weights: Optional[Path] = None, on_step: Optional[Callable[[str], None]] = None,
             quant_options=None, dynamic: bool = False, gpu_friendly: bool = False) -> List[Dict]:
    """Convert and validate every job; returns the manifests (with validation) in job order."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    deploy_models: Dict[str, object] = {}
    manifests = []
    for job in jobs:
        if on_step:
            on_step(f"convert {job.model} → {job.target} {job.precision}")
        if job.model not in deploy_models:
            deploy_models[job.model] = create_model(job.model, "deploy", weights=weights)
        path, manifest = build_artifact(job.model, job.target, job.precision, input_size, out_dir,
                                        weights, deploy=deploy_models[job.model],
                                        quant_options=quant_options, dynamic=dynamic,
                                        gpu_friendly=gpu_friendly)
        if validator is not None:
            if on_step:
                on_step(f"validate {path.name}")
            manifest = record_validation(path, manifest, validator.validate(path, manifest))
        manifests.append(manifest)
        update_index(out_dir)
    return manifests
