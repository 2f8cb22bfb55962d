"""The ``pocketsr`` command line (typer). Every expected failure is one line on stderr and a
non-zero exit code: 2 bad input/weights/artifact, 3 an artifact failed its gate, 4 a target could
not convert some artifacts (the others were written), 130 Ctrl-C."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import warnings
from pathlib import Path
from typing import List, Optional, Tuple

import typer
from rich.console import Console
from rich.progress import ProgressColumn
from rich.table import Table
from rich.text import Text

from . import interrupts
from .errors import GateError, InputError, Interrupted, PocketsrError

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode="markdown",
                  help="Reparameterize, convert and validate efficient x4 SR models for phones.")
# Tables are wide; when piped (CI logs), do not squeeze them into 80 columns.
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True)


def _quiet_libraries() -> None:
    """Keep TensorFlow/absl/torchao start-up chatter out of the user's terminal."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("GLOG_minloglevel", "3")
    warnings.filterwarnings("ignore")
    for name in ("torchao", "absl", "tensorflow", "litert_torch", "ai_edge_quantizer", "torch._export",
                 "torch.utils._pytree"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _fmt_db(v: Optional[float], digits: int = 2) -> str:
    if v is None:
        return "—"
    return "inf" if v == float("inf") else f"{v:.{digits}f}"


def _size(n: int) -> str:
    return f"{n / 1024:.0f} KiB" if n < 1 << 20 else f"{n / (1 << 20):.2f} MiB"


@app.command()
def models() -> None:
    """List registered models: scale, parameters, value range, weight source, reference PSNR."""
    from pocketsr.mobile_models import get_spec, list_models
    from pocketsr.mobile_models.model_def import load_entry_points

    table = Table(title="pocketsr models")
    for col in ("model", "scale", "params (deploy)", "native range", "official weights", "license",
                "Set5 / Set14 PSNR-Y"):
        table.add_column(col)
    for name in list_models():  # the built-in models, then those of installed packages
        spec = get_spec(name)
        params = sum(p.numel() for p in spec.build("deploy").parameters())
        e = spec.pretrained_source if spec.weights else None
        source = f"{e.repo}@{e.commit[:7]} {e.filename} ({e.form})" if e else "— (give --weights)"
        ep = (spec.origin or {}).get("entry_point")
        if ep:
            source += f"; entry point of {ep['distribution']} {ep['version']}"
        ref = " / ".join(f"{spec.reference[k][0]:.4f}" for k in ("Set5", "Set14") if k in spec.reference) or "—"
        table.add_row(spec.name, f"x{spec.scale}", f"{params:,}", f"[0, {spec.pixel_range:g}]",
                      source, spec.license, ref)
    out.print(table)
    for problem in load_entry_points():
        err.print(f"note: not loaded: {problem}", markup=False, highlight=False, soft_wrap=True)


@app.command("eval")
def eval_cmd(
    data: List[Path] = typer.Option(..., "--data", help="Benchmark folder (HR/ + LR_bicubic/X<scale>/); repeatable."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Registry model (e.g. lkdn-s)."),
    artifact: Optional[Path] = typer.Option(None, "--artifact", "-a", help="Evaluate this artifact instead of PyTorch."),
    weights: Optional[Path] = typer.Option(None, "--weights", help="Local checkpoint instead of the official one."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    threads: int = typer.Option(2, "--threads", min=1),
) -> None:
    """Benchmark PSNR/SSIM (Y channel, MATLAB-compatible) of a model or an artifact."""
    from pocketsr.mobile_models import create_model, get_spec
    from pocketsr.datasets.benchmark import evaluate
    from pocketsr.datasets.sets import load_benchmark
    from pocketsr.runtime.runners import TorchRunner, open_artifact

    if artifact is not None:
        from pocketsr.convert.manifest import read_manifest
        manifest = read_manifest(artifact)
        if model and get_spec(model).name != manifest["model"]:
            raise InputError(f"--model {model} but {artifact.name} is {manifest['model']}")
        model = manifest["model"]
        runner = open_artifact(artifact, threads=threads)
    elif model:
        runner = TorchRunner(create_model(model, "deploy", weights=weights), get_spec(model).scale, threads)
    else:
        raise InputError("give --model or --artifact")
    spec = get_spec(model)
    results = []
    for folder in data:
        r = evaluate(runner, load_benchmark(folder, spec.scale))
        ref = spec.reference.get(r["dataset"])
        r["reference_psnr_y"] = ref[0] if ref else None
        results.append(r)
    if as_json:
        print(json.dumps({"model": spec.name, "runtime": runner.name,
                          "artifact": str(artifact) if artifact else None, "results": results}, indent=2))
        return
    table = Table(title=f"{spec.title} via {runner.name}")
    for col in ("dataset", "images", "PSNR-Y (dB)", "SSIM-Y", "reference PSNR", "input"):
        table.add_column(col)
    for r in results:
        table.add_row(r["dataset"], str(r["images"]), f"{r['psnr_y']:.4f}", f"{r['ssim_y']:.4f}",
                      f"{r['reference_psnr_y']:.4f}" if r["reference_psnr_y"] else "—", r["input"])
    out.print(table)


def _gpu(manifest: dict) -> str:
    from pocketsr.validate.report import gpu_verdict
    return gpu_verdict(manifest) or "—"


def _fp16_peak(validation: dict) -> str:
    """Largest |activation| of a float16 program on the real images (Core ML), vs 65504."""
    h = validation.get("fp16_headroom") or {}
    if not h.get("checked") or h.get("max_abs") is None:
        return "—"
    text = f"{h['max_abs']:.3g} ({100 * h['ratio_to_fp16_max']:.2g}%)"
    return text if h.get("passed") else f"[red]{text} over[/]"


def _summary_table(manifests: List[dict], failures: Optional[List[dict]] = None) -> Table:
    from pocketsr.datasets.sets import BUILTIN_BENCHMARK

    seen = {b["dataset"] for m in manifests for b in (m.get("validation") or {}).get("benchmarks", [])}
    names = [n for n in (BUILTIN_BENCHMARK, "Set5", "Set14") if n in seen] + sorted(
        seen - {BUILTIN_BENCHMARK, "Set5", "Set14"})
    table = Table(title="pocketsr artifacts", caption=(
        "ΔPSNR: artifact minus PyTorch on the identical canvas (Y channel, dB); gated on "
        + ", ".join(names)) if names else None)
    for col in ("model", "target", "precision", "size", "parity dB (min)", "max-abs",
                *(f"ΔPSNR {n}" for n in names), "GPU delegate", "fp16 peak", "result"):
        table.add_column(col)
    for m in manifests:
        v = m.get("validation") or {}
        bench = {b["dataset"]: b for b in v.get("benchmarks", [])}

        def delta(name, key="conversion_delta_db"):
            return f"{bench[name][key]:+.4f}" if name in bench else "—"

        verdict = "—" if not v else ("[green]pass[/]" if v.get("passed") else "[red]FAIL[/]")
        table.add_row(m["model"], m["target"], m["precision"], _size(m["size_bytes"]),
                      _fmt_db(v.get("parity", {}).get("psnr_db")),
                      f"{v['parity']['max_abs']:.1e}" if v else "—",
                      *(delta(n) for n in names), _gpu(m),
                      _fp16_peak(v), verdict)
    for f in failures or ():  # conversions a target could not do (no artifact)
        table.add_row(f["model"], f["target"], f["precision"], "—", "—", "—", *("—" for _ in names), "—", "—",
                      Text(f"NOT CONVERTED: {f['error']}", style="red"))
    return table


def _duration(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    return f"{m}:{s:02d}"


class StepClock:
    """Times the steps of a run and estimates the rest from the steps already done.

    ``plan``: the step keys in order (``(kind, target, precision)``). A step still to come is
    estimated by the mean duration of finished steps with the same key (the same step of an earlier
    model); steps of a kind not yet timed are counted, not guessed (an int8-full conversion takes
    10-20x an fp32 one).
    """

    def __init__(self, plan):
        self.plan = list(plan)
        self.done: List[tuple] = []  # (key, seconds)
        self.current = None
        self.t0 = self.started = time.monotonic()

    def start(self, key) -> bool:
        """A new step begins (``None``: the run ended); True if a previous step just finished."""
        now = time.monotonic()
        finished = self.current is not None
        if finished:
            self.done.append((self.current, now - self.started))
        self.current, self.started = key, now
        return finished

    def estimate(self, key) -> Optional[float]:
        times = [t for k, t in self.done if k == key]
        return sum(times) / len(times) if times else None

    def step_elapsed(self) -> float:
        return time.monotonic() - self.started

    def total(self) -> float:
        return time.monotonic() - self.t0

    def remaining(self) -> Tuple[float, int]:
        """``(estimated seconds left, steps left that have no estimate yet)``; the current step
        counts with what is left of its estimate."""
        if self.current is None:
            return 0.0, 0
        guesses = [self.estimate(k) for k in self.plan[len(self.done):]]
        seconds = sum(g for g in guesses[1:] if g is not None)
        if guesses and guesses[0] is not None:
            seconds += max(0.0, guesses[0] - self.step_elapsed())
        return seconds, sum(g is None for g in guesses)

    def describe_remaining(self) -> str:
        seconds, untimed = self.remaining()
        if self.current is None:
            return "done"
        text = f"~{_duration(seconds)} left (est.)" if seconds else ""
        if untimed:
            text += (" + " if text else "") + f"{untimed} step(s) not timed yet"
        return text


class _StepTimes(ProgressColumn):
    """``step 0:42 · total 3:10 · ~5:20 left (est.) + 4 step(s) not timed yet``."""

    def __init__(self, clock: StepClock):
        super().__init__()
        self.clock = clock

    def render(self, task) -> Text:
        return Text(f"step {_duration(self.clock.step_elapsed())} · total {_duration(self.clock.total())} · "
                    f"{self.clock.describe_remaining()}")


def _gate_outcome(manifests: List[dict]) -> None:
    failed = [m for m in manifests if m.get("validation") and m["validation"].get("passed") is False]
    if failed:
        first = failed[0]
        raise GateError(f"{len(failed)} artifact(s) failed their gate, e.g. {first['file']}: "
                        f"{first['validation']['failures'][0]}")


@app.command()
def convert(
    model: Optional[List[str]] = typer.Option(None, "--model", "-m", help="Model(s); default: lkdn-s and fmen-s."),
    target: Optional[List[str]] = typer.Option(None, "--target", "-t", help="Target(s); default: all available."),
    precision: Optional[List[str]] = typer.Option(None, "--precision", "-p", help="Precision(s); default: each target's defaults."),
    input_size: str = typer.Option("180x320", "--input-size", help="Fixed LR input HxW (180x320 -> 720x1280 at x4)."),
    output: Path = typer.Option(Path("artifacts"), "--output", "-o", help="Output folder."),
    weights: Optional[Path] = typer.Option(None, "--weights", help="Local checkpoint (one model only)."),
    data: Optional[List[Path]] = typer.Option(None, "--data", help="Benchmark folders for validation (default: shared Set5/Set14 if present)."),
    photos: Optional[Path] = typer.Option(None, "--photos", help="Folder of real photos for parity crops."),
    no_validate: bool = typer.Option(False, "--no-validate", help="Convert only."),
    threads: int = typer.Option(2, "--threads", min=1),
    calibration: Optional[Path] = typer.Option(None, "--calibration", help="Folder of real images/videos for int8 calibration (default: shared real_world, else scikit-image photos)."),
    calibration_count: int = typer.Option(32, "--calibration-count", help="Number of random calibration crops."),
    seed: int = typer.Option(0, "--seed", help="Seed for calibration crops and fine-tuning."),
    finetune_steps: int = typer.Option(0, "--finetune-steps", min=0, help="Quantization-aware distillation steps for int8 precisions (0: off)."),
    max_float_layers: int = typer.Option(12, "--max-float-layers", min=0, help="Most convs mixed precision may keep in float (0: quantize all)."),
    dynamic_size: bool = typer.Option(False, "--dynamic-size", help="TFLite artifacts that accept any HxW (PixelShuffle as one-hot transposed conv)."),
    gpu_friendly: bool = typer.Option(True, "--gpu-friendly/--no-gpu-friendly", help="TFLite (fixed size): exact rewrites so the GPU delegate takes the whole graph (PixelShuffle as DEPTH_TO_SPACE, LayerNorm as 1x1 convs). Default on."),
    coreml_io: str = typer.Option("image", "--coreml-io", help="Core ML I/O: image (CVPixelBuffer in and out) or tensor (float32 NCHW [0, 1]; file tagged _tensor)."),
    model_def: Optional[str] = typer.Option(None, "--model-def", help="Your own network instead of --model: PATH.py:ClassName (a torch.nn.Module); needs --weights and --scale."),
    model_args: Optional[str] = typer.Option(None, "--model-args", help="--model-def constructor arguments as a JSON object, e.g. '{\"channels\": 32}'."),
    scale: Optional[int] = typer.Option(None, "--scale", help="--model-def: the network's upscale factor (1..8)."),
    pixel_range: Optional[float] = typer.Option(None, "--pixel-range", help="--model-def: the network's input white level, 1 (default) or 255 (folded into its first and last conv)."),
    name: Optional[str] = typer.Option(None, "--name", help="--model-def: registry name for its artifacts (default: the class name in lower case)."),
    report: bool = typer.Option(True, "--report/--no-report", help="End by writing report.html + report.json for the whole output folder."),
    bundle: Optional[Path] = typer.Option(None, "--bundle", help="End by writing an app bundle (the shipped picks, bundle.json, golden set) to this folder."),
) -> None:
    """The main job: official weights, deploy form, then one artifact per model, target and
    precision, each validated, then a summary table and the conversion report (report.html).

    --model-def PATH.py:Class --weights FILE --scale S runs your own network through the same
    job (see the README's "Bring your own network").

    A target that cannot convert the network (an op it has no conversion for) does not stop the
    others: their artifacts are written and validated, and the run ends with exit code 4 naming
    what failed.

    Ctrl-C stops it (exit 130): finished artifacts stay; one converted but not yet validated stays
    with "validation": null, listed so in index.json, for pocketsr validate to finish.
    """
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn

    from .api import convert_models

    holder = {}
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                  TextColumn("{task.completed}/{task.total}"), TextColumn(""), console=err,
                  transient=True) as progress:

        def on_plan(jobs) -> None:
            clock = StepClock([(kind, j.target, j.precision) for j in jobs
                               for kind in (("convert",) if no_validate else ("convert", "validate"))])
            holder["clock"] = clock
            progress.columns = progress.columns[:-1] + (_StepTimes(clock),)
            holder["task"] = progress.add_task("starting", total=len(clock.plan))

        def step(label: str, key) -> None:
            clock, task = holder["clock"], holder["task"]
            previous = progress.tasks[task].description
            if clock.start(key):
                progress.advance(task)
                if not err.is_terminal:  # logs get one line per finished step instead of a live bar
                    err.print(f"[{len(clock.done)}/{len(clock.plan)}] {previous}: "
                              f"{_duration(clock.done[-1][1])} (total {_duration(clock.total())}; "
                              f"{clock.describe_remaining()})", soft_wrap=True)
            progress.update(task, description=label)

        def failed(failure) -> None:
            # no artifact, so no validation step: drop it from the plan and the bar
            clock, task = holder["clock"], holder["task"]
            key = ("validate", failure["target"], failure["precision"])
            if key in clock.plan[len(clock.done):]:
                rest = clock.plan[len(clock.done):]
                rest.remove(key)
                clock.plan[len(clock.done):] = rest
                progress.update(task, total=len(clock.plan))
            holder.setdefault("failed", []).append(failure)

        def converted(manifests) -> None:
            step("done", None)
            progress.stop()
            failures = holder.get("failed", [])
            note = f" ({len(failures)} conversion(s) failed)" if failures else ""
            err.print(f"converted and validated {len(manifests)} artifact(s) in "
                      f"{_duration(holder['clock'].total())}{note}")
            out.print(_summary_table(manifests, failures))
            out.print(f"artifacts, manifests and index.json in {output}/")

        steps = _ReportSteps(output)
        try:
            manifests = convert_models(
                model or None, target or None, precision or None, input_size=input_size, output=output,
                weights=weights, data=data or None, photos=photos, validate=not no_validate, threads=threads,
                calibration=calibration, calibration_count=calibration_count, seed=seed,
                finetune_steps=finetune_steps, max_float_layers=max_float_layers, dynamic_size=dynamic_size,
                gpu_friendly=gpu_friendly, coreml_io=coreml_io, report=report, bundle=bundle,
                model_def=model_def, model_args=model_args, scale=scale, pixel_range=pixel_range, name=name,
                on_plan=on_plan, on_step=step, on_converted=converted, on_report_step=steps, on_failed=failed)
        except BaseException:
            steps.close(written=False)
            raise
        steps.close(written=True)
    _gate_outcome(manifests)


class _ReportSteps:
    """Progress of the report: a status line (a log line per finished step when stderr is not a
    terminal), started by the first step; :meth:`close` ends it and says where the report is."""

    def __init__(self, folder: Path):
        self.folder, self.status, self.last, self.t0 = folder, None, None, None

    def __call__(self, msg: str) -> None:
        now = time.monotonic()
        if self.status is None:
            self.t0 = now
            self.status = err.status("writing the report")
            self.status.start()
        if not err.is_terminal and self.last is not None:
            err.print(f"report: {self.last[0]}: {_duration(now - self.last[1])} (total {_duration(now - self.t0)})",
                      soft_wrap=True)
        self.last = (msg, now)
        self.status.update(f"report: {msg} · total {_duration(now - self.t0)}")

    def close(self, written: bool) -> None:
        if self.status is None:
            return
        self("written")
        self.status.stop()
        if written:
            out.print(f"report: {self.folder / 'report.html'} (written in {_duration(time.monotonic() - self.t0)})")


@app.command()
def report(
    folder: Path = typer.Argument(Path("artifacts"), help="Artifact folder (with index.json) written by pocketsr convert."),
    photos: Optional[Path] = typer.Option(None, "--photos", help="Folder of real photos for the image comparisons."),
    threads: int = typer.Option(2, "--threads", min=1),
    latency_runs: int = typer.Option(5, "--latency-runs", min=0, help="Timed runs per latency figure (0: no timing)."),
    images: int = typer.Option(2, "--images", min=0, help="Real photos in the image comparisons."),
    seam: bool = typer.Option(True, "--seam/--no-seam", help="Compute the seam-error-vs-overlap curve."),
) -> None:
    """Write report.html (self-contained: matrix, plots, image comparisons, layer divergence of
    failed artifacts) and report.json for an artifact folder."""
    from .api import write_report

    steps = _ReportSteps(folder)
    try:
        write_report(folder, photos=photos, threads=threads, latency_runs=latency_runs, images=images, seam=seam,
                     on_step=steps)
    except BaseException:
        steps.close(written=False)
        raise
    steps.close(written=True)


@app.command("bundle")
def bundle_cmd(
    folder: Path = typer.Argument(..., help="Artifact folder (with index.json) written by pocketsr convert."),
    output: Path = typer.Option(..., "--output", "-o", help="Bundle folder to write (an existing bundle there is replaced)."),
    pick: Optional[List[str]] = typer.Option(None, "--pick", help="ship (default: per model and target the fastest and the smallest passing artifact), all, or artifact file names (repeatable)."),
    golden: int = typer.Option(4, "--golden", min=1, help="Golden crops per model and input size."),
    seed: int = typer.Option(0, "--seed", help="Seed of the golden crops after each photo's most detailed one."),
    photos: Optional[Path] = typer.Option(None, "--photos", help="Folder of real photos for the golden crops (default: the built-in parity photos)."),
    threads: int = typer.Option(2, "--threads", min=1),
) -> None:
    """Write an app bundle: the chosen artifacts with their manifests, bundle.json (everything an
    app needs to feed and judge each artifact) and a golden parity set (validate/PARITY.md)."""
    from .api import write_bundle

    status = err.status("bundling")
    with status:
        path = write_bundle(folder, output, pick=pick or "ship", golden=golden, seed=seed, photos=photos,
                            threads=threads, on_step=lambda msg: status.update(f"bundle: {msg}"))
    data = json.loads(path.read_text())
    for a in data["artifacts"]:
        d = a["desktop_golden_parity"]
        worst = min((f["psnr_db"] for f in d["figures"] if f["psnr_db"] is not None), default=None)
        out.print(f"{a['file']} ({', '.join(a['picked_as'])}): golden parity here "
                  f"{'identical' if worst is None else f'{worst:.2f} dB'} (gate {a['gate']['min_parity_psnr_db']:.0f} dB)",
                  markup=False, highlight=False, soft_wrap=True)
    sets = data["golden_sets"]
    out.print(f"wrote {path} ({len(data['artifacts'])} artifact(s), {sum(len(g['images']) for g in sets.values())} "
              f"golden image(s) in {len(sets)} set(s))", markup=False, highlight=False, soft_wrap=True)


@app.command("device-report")
def device_report_cmd(
    files: List[Path] = typer.Argument(..., help="Device report JSON file(s) exported by the sample apps."),
    into: Path = typer.Option(..., "--into", help="Artifact folder the reports belong to (runs are matched by sha256)."),
) -> None:
    """Add device reports (validated against validate/schemas/device_report.schema.json) to an
    artifact folder; report.html and report.json gain them in their On device section."""
    from .api import ingest_device_reports

    stored = ingest_device_reports(files, into)
    for path in stored:
        data = json.loads(path.read_text())
        d = data["device"]
        passed = sum(r["passed"] for r in data["runs"])
        note = " (FIXTURE: not a measurement)" if data.get("fixture") else ""
        out.print(f"stored {path}: {d['maker']} {d['model']}, {len(data['runs'])} run(s), {passed} passed{note}",
                  markup=False, highlight=False, soft_wrap=True)


@app.command()
def validate(
    artifacts: List[Path] = typer.Argument(..., help="Artifact files (manifest read from <file>.json)."),
    data: Optional[List[Path]] = typer.Option(None, "--data", help="Benchmark folders (default: shared Set5/Set14 if present)."),
    photos: Optional[Path] = typer.Option(None, "--photos", help="Folder of real photos for parity crops."),
    as_json: bool = typer.Option(False, "--json", help="Print the validation reports as JSON."),
    threads: int = typer.Option(2, "--threads", min=1),
    layers: bool = typer.Option(False, "--layers", help="Per-layer divergence vs PyTorch instead (where does it diverge?)."),
    layer_images: int = typer.Option(2, "--layer-images", min=1, help="Real photo crops for --layers."),
) -> None:
    """Parity vs PyTorch on real photos and benchmark quality of existing artifacts; the results are
    written into their manifests and index.json."""
    from .api import validate_artifacts

    if layers:
        from pocketsr.convert.manifest import read_manifest
        manifests = [(a, read_manifest(a)) for a in artifacts]  # fail on any bad one before work
        _layer_reports(manifests, photos, layer_images, as_json, threads)
        return
    status = err.status("validating")
    status.start()
    try:
        done = validate_artifacts(artifacts, data=data or None, photos=photos, threads=threads,
                                  on_artifact=lambda path: status.update(f"validating {path.name}"))
    finally:
        status.stop()
    if as_json:
        print(json.dumps([{"file": m["file"], **m["validation"]} for m in done], indent=2, default=str))
    else:
        out.print(_summary_table(done))
    _gate_outcome(done)


def _layer_reports(manifests, photos, count: int, as_json: bool, threads: int) -> None:
    """``pocketsr validate --layers``: per-layer divergence of each artifact vs PyTorch."""
    from pocketsr.validate.layers import artifact_layer_report, layer_table
    from pocketsr.validate.validator import Validator

    reports = []
    validator = Validator((), photos, threads=threads)  # shares references and crops across artifacts
    for path, manifest in manifests:
        with err.status(f"comparing every layer of {path.name} with PyTorch"):
            report = artifact_layer_report(path, manifest, validator, count, threads)
        reports.append({"file": manifest["file"], **report})
        if not as_json:
            out.print(layer_table(report))
    if as_json:
        print(json.dumps(reports, indent=2, default=str))


@app.command()
def upscale(
    input: Path = typer.Argument(..., help="Image (PNG/JPEG/...; greyscale, RGBA, 16-bit are converted)."),
    output: Path = typer.Option(..., "--output", "-o", help="Output image (.png recommended)."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Registry model run in PyTorch."),
    artifact: Optional[Path] = typer.Option(None, "--artifact", "-a", help="Artifact to run instead."),
    weights: Optional[Path] = typer.Option(None, "--weights", help="Local checkpoint for --model."),
    threads: int = typer.Option(2, "--threads", min=1),
    overlap: Optional[int] = typer.Option(None, "--overlap", min=0, help="Tile overlap in LR pixels (default: exact, the receptive-field radius, if the tile allows it)."),
    tile: Optional[str] = typer.Option(None, "--tile", help="Tile HxW for --model (default 256x256; bounds memory); artifacts use their input size."),
) -> None:
    """Upscale one real image of any size with a model or an artifact, tiled as validate/TILING.md
    specifies (exact at the default overlap); memory is bounded by one tile plus the 8-bit output. A
    JPEG's EXIF orientation is applied first, as image viewers do."""
    from pocketsr.convert.manifest import ensure_writable
    from pocketsr.runtime.images import image_format, load_image, save_image

    from .api import upscale_array

    image_format(output)  # an unwritable type or folder fails before the work, not after it
    ensure_writable(output.parent)
    img, note = load_image(input)
    if note:
        err.print(f"note: {note}")
    status = err.status("loading")
    status.start()
    try:
        sr, info = upscale_array(img, artifact=artifact, model=model, weights=weights, overlap=overlap, tile=tile,
                                 threads=threads, on_start=status.update)
    finally:
        status.stop()
    for note in info["notes"]:
        err.print(f"note: {note}")
    save_image(sr, output)
    out.print(f"wrote {output} ({sr.shape[1]}x{sr.shape[0]}, overlap {info['overlap']}, radius {info['radius']})")


@app.command()
def bench(
    artifacts: List[Path] = typer.Argument(..., help="Artifact files to time."),
    threads: List[int] = typer.Option([1, 2], "--threads", min=1, help="Thread counts (repeatable)."),
    runs: int = typer.Option(10, "--runs", min=3, help="Timed runs (median reported)."),
    warmup: int = typer.Option(3, "--warmup", min=0, help="Untimed runs before timing."),
    training_form: bool = typer.Option(True, "--training-form/--no-training-form",
                                       help="Also time PyTorch's training form (default; the deploy form is always timed)."),
    onnx: bool = typer.Option(True, "--onnx/--no-onnx", help="Also time ONNX Runtime (CPU) on the exported deploy model."),
    as_json: bool = typer.Option(False, "--json", help="Print {machine, matmul_peak_gflops, rows} as JSON."),
) -> None:
    """Median latency (ms), achieved GFLOP/s, peak memory and size of artifacts beside PyTorch eager
    (deploy and training form) and ONNX Runtime, same input, each in its own process."""
    from pocketsr.convert.manifest import read_manifest
    from pocketsr.validate.bench import MATMUL_N
    from pocketsr.validate.bench import bench as run_bench

    for a in artifacts:
        read_manifest(a)  # one-line error on a bad artifact before timing anything
    forms = ("deploy", "training") if training_form else ("deploy",)
    with err.status("benchmarking (each measurement in its own process)"):
        result = run_bench(artifacts, threads, runs, warmup, forms, onnx)
    if as_json:
        print(json.dumps(result, indent=2))
        return
    rows, m, peak = result["rows"], result["machine"], result["matmul_peak_gflops"]
    versions = ", ".join(f"{d} {m[d]}" for d in ("torch", "onnxruntime", "ai-edge-litert") if m.get(d))
    peaks = ", ".join(f"{t} thread{'s' if t != '1' else ''} {g:.0f}" for t, g in peak.items())
    work = "; ".join(sorted({f"{r['model']} {r['form']} {r['input'][0]}x{r['input'][1]}: {r['gmacs']:.2f}"
                             for r in rows}))
    int8 = (" int8 rows: equivalent fp32 GFLOP/s (the fp32 graph's MACs)."
            if any("int8" in str(r["precision"]) for r in rows) else "")
    table = Table(title=f"pocketsr bench (median of {runs} runs after {warmup} warm-up; ratios > 1 = "
                        "faster, same model, input and threads)")
    for col in ("artifact / runtime", "threads", "vs torch deploy", "vs fp32 TFLite", "median ms",
                "min–max ms", "GFLOP/s", "% matmul peak", "peak RSS MB", "size"):
        table.add_column(col, justify="left" if col == "artifact / runtime" else "right")

    def ratio(v):
        return f"{v:.2f}x" if v else "—"
    for r in rows:
        table.add_row(r["name"], str(r["threads"]), ratio(r["vs_torch_deploy"]), ratio(r["vs_fp32_tflite"]),
                      f"{r['median_ms']:.1f}", f"{r['min_ms']:.1f}–{r['max_ms']:.1f}",
                      f"{r['gflops_per_s']:.1f}", f"{r['pct_of_matmul_peak']:.0f}%",
                      f"{r['peak_rss_mb']:.0f}", _size(r["size_bytes"]) if r["size_bytes"] else "—")
    out.print(f"{m['cpu']}, {m['logical_cores']} logical cores ({m['usable_cores']} usable); Python "
              f"{m['python']}, {versions}. Matmul peak (torch.matmul fp32 {MATMUL_N}x{MATMUL_N}; not the "
              f"CPU's theoretical peak) GFLOP/s: {peaks}. "
              f"GMAC per inference: {work}.{int8}", soft_wrap=True,
              markup=False, highlight=False)
    out.print(table)


@app.command()
def video(
    input: Optional[Path] = typer.Argument(None, help="Input video file (omit with --camera)."),
    output: Path = typer.Option(..., "--output", "-o", help="Output video: .mp4, .mkv or .mov (H.264, yuv420p)."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Registry model run in PyTorch."),
    artifact: Optional[Path] = typer.Option(None, "--artifact", "-a", help="Artifact to run instead."),
    weights: Optional[Path] = typer.Option(None, "--weights", help="Local checkpoint for --model."),
    side_by_side: bool = typer.Option(False, "--side-by-side", help="Output [bicubic | SR] side by side, labelled."),
    threads: int = typer.Option(2, "--threads", min=1, help="Threads per inference worker."),
    workers: int = typer.Option(1, "--workers", min=1, help="Inference workers (one runner each), overlapped with decoding and encoding."),
    max_frames: Optional[int] = typer.Option(None, "--max-frames", min=1, help="Stop after this many frames."),
    overlap: Optional[int] = typer.Option(None, "--overlap", min=0, help="Tile overlap in LR pixels (default: the artifact's / model's default, exact when the tile allows it)."),
    tile: Optional[str] = typer.Option(None, "--tile", help="Tile HxW for --model (default 256x256); artifacts use their input size."),
    camera: Optional[int] = typer.Option(None, "--camera", min=0, help="Read webcam N (/dev/videoN via v4l2; avfoundation on macOS) instead of INPUT."),
) -> None:
    """Upscale a video (or a webcam) frame by frame: decoding, inference and encoding overlap in
    threads; frame rate and audio are kept. Interrupted runs keep the frames done as a playable
    file."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from pocketsr.convert.base import parse_size
    from pocketsr.convert.manifest import read_manifest
    from pocketsr.mobile_models import create_model, get_spec
    from pocketsr.runtime.runners import TorchRunner, open_artifact
    from pocketsr.runtime.tiling import DEFAULT_ANY_SIZE_TILE, choose_overlap
    from pocketsr.runtime.video import output_format, upscale_video

    if (input is None) == (camera is None):
        raise InputError("give exactly one of INPUT or --camera")
    if (model is None) == (artifact is None):
        raise InputError("give exactly one of --model or --artifact")
    output_format(output)  # an unknown container or an unwritable folder fails before any work
    from pocketsr.convert.manifest import ensure_writable
    ensure_writable(output.parent)
    if input is not None and not input.is_file():
        raise InputError(f"input video not found: {input}")
    if weights is not None and model is None:
        raise InputError("--weights is for --model")
    manifest = read_manifest(artifact) if artifact is not None else None
    name = manifest["model"] if manifest else get_spec(model).name
    if artifact is not None:
        first = open_artifact(artifact, threads=threads)  # a bad artifact fails here, once
        if tile is not None and first.input_size is not None:
            raise InputError(f"--tile is for --model; {artifact.name} has a fixed input size "
                             f"{first.input_size[0]}x{first.input_size[1]}")
        spare = [first]

        def factory():
            return spare.pop() if spare else open_artifact(artifact, threads=threads)
        size = first.input_size or (parse_size(tile) if tile else DEFAULT_ANY_SIZE_TILE)
    else:
        create_model(name, "deploy", weights=weights)  # bad weights fail before any work

        def factory():
            return TorchRunner(create_model(name, "deploy", weights=weights), get_spec(name).scale, threads)
        size = parse_size(tile) if tile else DEFAULT_ANY_SIZE_TILE
    used, _, note = choose_overlap(overlap, size, manifest, name)
    if note:
        err.print(f"note: {note}")

    notes: List[str] = []
    source = str(input) if input is not None else f"camera {camera}"
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.fields[fps]:.2f} fps"), TimeElapsedColumn(), console=err, transient=True)
    task = bar.add_task(f"upscaling {input.name if input else source}", total=None, fps=0.0)

    def progress(done: int, total: Optional[int], fps: float) -> None:
        if not err.is_terminal:
            return
        if not bar.live.is_started:
            bar.start()  # only once frames flow: input errors stay a single line
        bar.update(task, completed=done, total=total, fps=fps)

    def finish() -> None:
        if bar.live.is_started:
            bar.stop()
        for n in notes:  # e.g. "interrupted after K frames: wrote a playable file with K frames"
            err.print(f"note: {n}", markup=False, highlight=False, soft_wrap=True)

    try:
        stats = upscale_video(input, output, factory, used, side_by_side=side_by_side, workers=workers,
                              max_frames=max_frames, progress=progress, camera=camera, tile=size, notes=notes,
                              sr_label=f"{name} {manifest['precision']}" if manifest else f"{name} (PyTorch)")
    except KeyboardInterrupt:
        finish()  # prints "interrupted after K frames: wrote a playable file ..." when it did
        kept = any(n.startswith("interrupted after") for n in notes)
        raise Interrupted("interrupted" if kept else "interrupted — no output written") from None
    except BaseException:
        finish()
        raise
    finish()
    out.print(f"wrote {output}: {stats['frames']} frames {stats['width']}x{stats['height']} in "
              f"{stats['seconds']:.1f} s, {stats['fps']:.2f} fps (input {stats['fps_in']:.2f} fps), "
              f"inference {stats['infer_ms_mean']:.0f} ms/frame, audio {stats['audio']}",
              markup=False, highlight=False, soft_wrap=True)


def main(argv: Optional[List[str]] = None) -> None:
    """Console-script entry point. Exit codes: 0 done, 2 usage error or bad input/weights/artifact,
    3 an artifact failed its gate, 4 a target could not convert some artifacts (the others were
    written), 130 Ctrl-C, 1 an unexpected error (a bug)."""
    _quiet_libraries()
    interrupts.install()  # Ctrl-C is not lost inside JAX's gc callback
    command = typer.main.get_command(app)
    try:
        # standalone: typer prints usage errors with the usage line (exit 2) and turns Ctrl-C
        # inside a command into exit 130; our own errors pass through to the handlers below
        command.main(args=argv, prog_name="pocketsr", standalone_mode=True)
    except SystemExit as exc:
        if exc.code == 130:
            err.print("interrupted — nothing half-written was kept")
        raise
    except (KeyboardInterrupt, typer.Abort):  # outside a command (e.g. while importing)
        err.print("interrupted — nothing half-written was kept")
        sys.exit(130)
    except Interrupted as exc:
        err.print(str(exc), markup=False, highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except PocketsrError as exc:
        err.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except Exception as exc:  # a bug: still one line, traceback on request
        if os.environ.get("POCKETSR_DEBUG"):
            raise
        err.print(f"internal error: {type(exc).__name__}: {exc} (set POCKETSR_DEBUG=1 for a traceback)",
                  markup=False, highlight=False, soft_wrap=True)
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
