"""Latency and memory benchmark of artifacts beside PyTorch eager and ONNX Runtime on the same input.

Each measurement runs in a fresh Python process (``python -m pocketsr.validate.bench``) so its peak
resident memory (``VmHWM``, see :func:`peak_rss_mb`) belongs to that runtime alone and one runtime's thread pool
cannot slow the next. Latency: ``warmup`` untimed runs, then the median (and min/max) of
``runs`` timed runs of one inference at the artifact's input size, in milliseconds. These
machines are noisy: compare ratios measured in one run, not absolute times across runs.

Runtimes timed per model and input size: the LiteRT artifacts given, PyTorch eager (deploy and
training form) and ONNX Runtime (CPU execution provider) on the deploy model exported by
``torch.onnx.export`` — the graph every target converts (:func:`pocketsr.convert.pipeline.conversion_model`),
i.e. what a desktop user would run instead of LiteRT.

Compute context: every row carries the model's multiply-accumulates per inference
(:func:`pocketsr.mobile_models.count_macs`), the achieved GFLOP/s (2 * MACs / median time; for int8
artifacts an "equivalent fp32" rate, since the MACs are the fp32 graph's) and that rate as a
percentage of this machine's fp32 matmul rate (2048x2048, the fastest of PyTorch, NumPy and
LiteRT/XNNPACK, same thread count).
That reference is what PyTorch's BLAS reaches, not the CPU's theoretical peak: runtimes with
better-tuned kernels (XNNPACK, MLAS) can exceed 100 % (e.g. on AMD Zen, where MKL does not use
AVX-512).
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from pocketsr.errors import ArtifactError, InputError

#: Side of the square fp32 matrices of the matmul peak measurement.
MATMUL_N = 2048
#: Timed (median reported) and untimed runs of the matmul peak measurement.
MATMUL_RUNS, MATMUL_WARMUP = 5, 2


def _status_mb(field: str) -> Optional[float]:
    """``VmHWM``/``VmRSS`` of this process from ``/proc/self/status`` in MiB (None off Linux)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    except (OSError, ValueError, IndexError):
        pass
    return None


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MiB. On Linux ``VmHWM``, the high-water mark of
    this program's own address space: ``ru_maxrss`` is preserved across ``execve``, so a child
    started by a large parent (one that imported torch and exported ONNX) would report the
    parent's peak. Elsewhere ``ru_maxrss`` (bytes on macOS, KiB on other systems)."""
    hwm = _status_mb("VmHWM")
    if hwm is not None:
        return hwm
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1 << 20) if sys.platform == "darwin" else rss / 1024.0


def time_runs(fn, x, runs: int, warmup: int, budget_s: Optional[float] = None) -> Dict:
    """Call ``fn(x)`` ``warmup`` times untimed, then ``runs`` times timed (wall clock); with
    ``budget_s``, timed runs stop once they have taken that many seconds (at least one run:
    a reference-kernel artifact at 9 s per call is not timed 5 times for a context figure).
    With ``budget_s``, a warm-up call that alone takes the whole budget is the one timed run:
    its one-off costs (allocation, weight packing: milliseconds) are lost in seconds, and a
    second call would only double the wait.
    Returns ``{"median_ms", "min_ms", "max_ms", "runs", "warmed_up"}`` in milliseconds (``runs``:
    timed runs done; ``warmed_up``: whether untimed calls preceded them)."""
    for _ in range(warmup):
        t0 = time.perf_counter()
        fn(x)
        ms = (time.perf_counter() - t0) * 1000.0
        if budget_s is not None and ms >= budget_s * 1000.0:
            return {"median_ms": ms, "min_ms": ms, "max_ms": ms, "runs": 1, "warmed_up": False}
    times: List[float] = []
    start = time.perf_counter()
    for _ in range(runs):
        t0 = time.perf_counter()
        fn(x)
        times.append((time.perf_counter() - t0) * 1000.0)
        if budget_s is not None and time.perf_counter() - start >= budget_s:
            break
    return {"median_ms": statistics.median(times), "min_ms": min(times), "max_ms": max(times),
            "runs": len(times), "warmed_up": warmup > 0}


def onnx_session(path: Path, threads: int):
    """An ``onnxruntime.InferenceSession`` on the CPU execution provider with
    ``intra_op_num_threads = threads`` and ``inter_op_num_threads = 1``.

    Raises:
        ArtifactError: onnxruntime is not installed or cannot load ``path``.
    """
    try:
        import onnxruntime as ort
    except ImportError:
        raise ArtifactError("no ONNX Runtime: pip install onnxruntime") from None
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
        raise ArtifactError(f"ONNX Runtime cannot load {path}: {str(exc).strip().splitlines()[0]}") from None


def export_onnx(deploy, input_hw: Sequence[int], path: Path) -> Path:
    """Export the conversion graph of a deploy model (:func:`pocketsr.convert.pipeline.conversion_model`:
    pixel range folded, fp16-headroom rescaled — the graph every target converts) to a
    fixed-shape ONNX file.

    Args:
        deploy: a deploy-form :class:`pocketsr.mobile_models.SRNet` (e.g. ``create_model(name, "deploy")``).
        input_hw: LR input ``(h, w)`` in pixels; the file's input ``"input"`` is ``(1, 3, h, w)``
            float32 NCHW RGB in [0, 1], its output ``"output"`` ``(1, 3, h*s, w*s)`` float32 in [0, 1].
        path: the ``.onnx`` file to write (weights embedded, no external-data file).

    Returns:
        ``path``.

    Raises:
        ArtifactError: the export failed (one line with the exporter's message).
    """
    import torch

    from pocketsr.convert.pipeline import conversion_model
    from pocketsr.quiet import quiet_native

    h, w = (int(v) for v in input_hw)
    net, _ = conversion_model(deploy)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The default exporter of torch 2.13 (dynamo=True: torch.export + onnxscript) exports these
    # models without problems (opset 20); passed explicitly so older/newer defaults do not
    # silently switch to the TorchScript exporter. quiet_native keeps its progress lines and
    # logging (e.g. "torchvision is not installed") out of the terminal and of --json output.
    with quiet_native("ONNX export", ArtifactError):
        torch.onnx.export(net, (torch.zeros(1, 3, h, w),), str(path), input_names=["input"],
                          output_names=["output"], dynamo=True, external_data=False, verbose=False)
    return path


def export_matmul_tflite(path: Path) -> Path:
    """A LiteRT model of one fp32 ``MATMUL_N``-square matmul (input ``x``, constant weight), so
    the matmul reference is also measured with XNNPACK's kernels, the ones artifacts use."""
    import torch

    from pocketsr.convert.base import captured_output

    class MatMul(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.rand(MATMUL_N, MATMUL_N, generator=torch.Generator().manual_seed(0)))

        def forward(self, x):
            return torch.matmul(x, self.w)

    with captured_output("litert-torch conversion (matmul reference)"):
        import litert_torch
        litert_torch.convert(MatMul().eval(), (torch.rand(MATMUL_N, MATMUL_N),)).export(str(path))
    return Path(path)


def _matmul_gflops(threads: int, runs: int, warmup: int, tflite: Optional[str] = None) -> Dict:
    """fp32 ``MATMUL_N``-square matmul throughput with ``threads`` threads: the fastest of
    PyTorch's and NumPy's BLAS and (given ``tflite``, :func:`export_matmul_tflite`) LiteRT's
    XNNPACK. A measured reference, not the CPU's theoretical peak."""
    import numpy as np
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(threads)
    gen = torch.Generator().manual_seed(0)
    a = torch.rand(MATMUL_N, MATMUL_N, generator=gen)
    b = torch.rand(MATMUL_N, MATMUL_N, generator=gen)
    with torch.inference_mode():
        by = {"torch": time_runs(lambda _: torch.matmul(a, b), None, runs, warmup)}
    an, bn = a.numpy(), b.numpy()
    with threadpool_limits(limits=threads):
        by["numpy"] = time_runs(lambda _: np.matmul(an, bn), None, runs, warmup)
    if tflite:
        from pocketsr.runtime.runners import _litert_interpreter
        interp = _litert_interpreter()(model_path=tflite, num_threads=threads)
        interp.allocate_tensors()
        idx = interp.get_input_details()[0]["index"]

        def litert(_):
            interp.set_tensor(idx, an)
            interp.invoke()
        by["litert"] = time_runs(litert, None, runs, warmup)
    best = min(by, key=lambda k: by[k]["median_ms"])
    result = {**by[best], "library": best,
              "by_library_gflops": {k: 2.0 * MATMUL_N ** 3 / (v["median_ms"] / 1000.0) / 1e9 for k, v in by.items()}}
    result["gflops"] = result["by_library_gflops"][best]
    return result


def measure(kind: str, what: str, threads: int, runs: int, warmup: int,
            size: Optional[Sequence[int]] = None, form: str = "deploy",
            budget_s: Optional[float] = None) -> Dict:
    """One measurement in this process (``budget_s``: see :func:`time_runs`).

    ``kind``: ``artifact`` (``what`` = artifact path), ``torch`` (``what`` = registry model or an artifact of it,
    ``size`` = LR ``(h, w)``, ``form`` training/deploy), ``onnxruntime`` (``what`` = fixed-shape
    ``.onnx`` path) or ``matmul`` (fp32 ``MATMUL_N`` square matmul by PyTorch and NumPy, and by
    LiteRT when ``what`` is ``"litert"``).

    Returns ``{"median_ms", "min_ms", "max_ms", "runs", "peak_rss_mb", "import_rss_mb",
    "input"}``: times in ms; peak resident memory of this process (:func:`peak_rss_mb`) and its
    resident memory after the runtime's Python imports, before the model is loaded, both in MiB
    (``import_rss_mb`` None off Linux; for artifacts it includes torch, which
    :mod:`pocketsr.runtime.runners` imports); ``input`` = ``[h, w]``. ``matmul`` returns ``{"median_ms",
    "min_ms", "max_ms", "runs", "gflops"}`` instead.
    """
    if kind == "matmul":  # what: "litert" adds XNNPACK (converted here: the child's stdout is not the CLI's)
        if what != "litert":
            return _matmul_gflops(threads, runs, warmup)
        import tempfile
        with tempfile.TemporaryDirectory(prefix="pocketsr-matmul-") as tmp:
            ref = export_matmul_tflite(Path(tmp) / "matmul.tflite")
            return _matmul_gflops(threads, runs, warmup, str(ref))
    if kind == "artifact":
        from pocketsr.runtime.runners import open_artifact  # imports torch too (~190 MB resident)
        import_rss = _status_mb("VmRSS")
        runner = open_artifact(Path(what), threads=threads)
        h, w = runner.input_size or size
    elif kind == "onnxruntime":
        import onnxruntime  # noqa: F401  (imported here so import_rss_mb counts it)
        import_rss = _status_mb("VmRSS")
        session = onnx_session(Path(what), threads)
        inp = session.get_inputs()[0]
        h, w = inp.shape[2:]

        def runner(x):
            return session.run(None, {inp.name: x})[0]
    elif kind == "torch":
        import torch

        from pocketsr.mobile_models import create_model, get_spec
        from pocketsr.runtime.runners import TorchRunner
        import_rss = _status_mb("VmRSS")
        torch.set_num_threads(threads)
        if Path(what).suffix in (".tflite", ".mlpackage"):  # an artifact: its manifest names the model (a user network)
            from pocketsr.convert.manifest import read_manifest
            what = read_manifest(Path(what))["model"]
        # latency does not depend on the weights: a form without official weights runs random ones
        pretrained = form == "deploy" or get_spec(what).weights_for(form) is not None
        runner = TorchRunner(create_model(what, form, pretrained=pretrained), get_spec(what).scale, threads)
        h, w = size
    else:
        raise InputError(f"unknown benchmark kind {kind!r}")
    x = np.random.default_rng(0).random((1, 3, h, w), dtype=np.float32)
    result = time_runs(runner, x, runs, warmup, budget_s)
    result["peak_rss_mb"] = peak_rss_mb()
    result["import_rss_mb"] = import_rss
    result["input"] = [h, w]
    return result


def run_isolated(kind: str, what: str, threads: int, runs: int, warmup: int,
                 size: Optional[Sequence[int]] = None, form: str = "deploy",
                 budget_s: Optional[float] = None) -> Dict:
    """:func:`measure` in a child process (same arguments and result).

    Raises:
        ArtifactError: the child failed; the message carries its last stderr line.
    """
    args = [sys.executable, "-m", "pocketsr.validate.bench", kind, str(what), str(threads), str(runs), str(warmup),
            "x".join(map(str, size)) if size else "-", form, "-" if budget_s is None else str(budget_s)]
    proc = subprocess.run(args, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise ArtifactError(f"benchmark of {what} failed: {tail}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _version(dist: str) -> Optional[str]:
    from importlib import metadata
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def machine() -> Dict:
    """This machine: ``{"cpu", "logical_cores", "usable_cores", "os", "python", "torch",
    "onnxruntime", "ai-edge-litert"}`` (CPU model from ``/proc/cpuinfo``, else ``platform``;
    a package that is not installed has version ``None``)."""
    cpu = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS
        usable = os.cpu_count()
    return {"cpu": cpu or platform.processor() or platform.machine(), "logical_cores": os.cpu_count(),
            "usable_cores": usable, "os": platform.platform(), "python": platform.python_version(),
            **{d: _version(d) for d in ("torch", "onnxruntime", "ai-edge-litert")}}


def _add_ratios(rows: List[Dict]) -> None:
    """``vs_torch_deploy`` / ``vs_fp32_tflite``: reference median / row median (same model,
    input size and threads; > 1 = faster than the reference), ``None`` without a reference."""
    def key(r):
        return r["model"], tuple(r["input"]), r["threads"]
    torch_deploy = {key(r): r["median_ms"] for r in rows if r["kind"] == "torch" and r["form"] == "deploy"}
    fp32 = {key(r): r["median_ms"] for r in rows if r["kind"] == "litert" and r["precision"] == "fp32"}
    for r in rows:
        for name, ref in (("vs_torch_deploy", torch_deploy), ("vs_fp32_tflite", fp32)):
            base = ref.get(key(r))
            r[name] = base / r["median_ms"] if base else None


def bench(artifacts: Sequence[Path], threads: Sequence[int] = (1, 2), runs: int = 10, warmup: int = 3,
          torch_forms: Sequence[str] = ("deploy", "training"), onnx: bool = True) -> Dict:
    """Benchmark artifacts and, per model and input size, PyTorch eager (given forms; models
    without a training form skip it) and ONNX Runtime on the deploy model (``onnx=True``).

    Returns ``{"machine": machine(), "matmul_peak_gflops": {"<threads>": GFLOP/s},
    "matmul_by_library_gflops": {"<threads>": {"torch"|"numpy"|"litert": GFLOP/s}}, "rows": [...]}``,
    rows ``{"name", "kind" ("litert" | "torch" | "onnxruntime"), "model", "precision", "form",
    "size_bytes" (None for non-artifacts), "threads", "median_ms", "min_ms", "max_ms", "runs",
    "peak_rss_mb", "import_rss_mb", "input" ([h, w]), "gmacs" (per inference), "gflops_per_s" (2 * MACs / median),
    "pct_of_matmul_peak", "vs_torch_deploy", "vs_fp32_tflite"}`` (ratios: reference median / row
    median, same model, input and threads, > 1 = faster; None without the reference row).
    ``gmacs`` is the deploy model's for artifacts and ONNX Runtime (the graph they run), the
    timed form's for PyTorch.

    Raises:
        InputError: an artifact is not a TFLite file (Core ML packages cannot run here).
        ArtifactError: a manifest is bad, a measurement or the ONNX export failed.
    """
    import tempfile

    from pocketsr.convert.manifest import read_manifest
    from pocketsr.mobile_models import count_macs, create_model, get_spec

    artifacts = [Path(p) for p in artifacts]
    manifests = [read_manifest(p) for p in artifacts]
    for path, manifest in zip(artifacts, manifests):
        if manifest["target"] != "tflite":
            raise InputError(f"{Path(path).name}: only TFLite artifacts can be timed here; Core ML "
                             "runs on Apple hardware only (the Linux MIL executor checks numerics, "
                             "it is not a runtime; time a package with Xcode's performance report)")
    matmul = {str(t): run_isolated("matmul", "litert", t, MATMUL_RUNS, MATMUL_WARMUP) for t in threads}
    peak = {t: m["gflops"] for t, m in matmul.items()}
    macs: Dict[Tuple[str, str, Tuple[int, int]], int] = {}

    def gmacs(model: str, form: str, size: Tuple[int, int]) -> float:
        if (model, form, size) not in macs:  # the cost does not depend on the weights
            macs[(model, form, size)] = count_macs(create_model(model, form, pretrained=False), size)
        return macs[(model, form, size)] / 1e9

    rows: List[Dict] = []
    seen = set()
    with tempfile.TemporaryDirectory(prefix="pocketsr-bench-") as tmp:
        for path, manifest in zip(artifacts, manifests):
            model = manifest["model"]
            shape = manifest["input"]["shape"]
            size = (shape[1], shape[2]) if shape[1] > 0 else (180, 320)
            for t in threads:
                r = run_isolated("artifact", str(path), t, runs, warmup, size)
                rows.append({"name": path.name, "kind": "litert", "model": model,
                             "precision": manifest["precision"], "form": "deploy",
                             "size_bytes": manifest["size_bytes"], "threads": t, **r,
                             "gmacs": gmacs(model, "deploy", tuple(r["input"]))})
            title = get_spec(model).title
            for form in torch_forms:
                if (model, size, form) in seen or (form == "training" and not get_spec(model).has_training_form):
                    continue
                seen.add((model, size, form))
                for t in threads:
                    r = run_isolated("torch", model, t, runs, warmup, size, form)
                    rows.append({"name": f"{title} torch eager ({form})", "kind": "torch", "model": model,
                                 "precision": f"fp32 {form}", "form": form, "size_bytes": None,
                                 "threads": t, **r, "gmacs": gmacs(model, form, size)})
            if onnx and (model, size, "onnxruntime") not in seen:
                seen.add((model, size, "onnxruntime"))
                onnx_path = export_onnx(create_model(model, "deploy"), size,
                                        Path(tmp) / f"{model}_{size[0]}x{size[1]}.onnx")
                for t in threads:
                    r = run_isolated("onnxruntime", str(onnx_path), t, runs, warmup)
                    rows.append({"name": f"{title} ONNX Runtime (deploy)", "kind": "onnxruntime",
                                 "model": model, "precision": "fp32 deploy", "form": "deploy",
                                 "size_bytes": None, "threads": t, **r, "gmacs": gmacs(model, "deploy", size)})
    for r in rows:
        r["gflops_per_s"] = 2.0 * r["gmacs"] / (r["median_ms"] / 1000.0)
        r["pct_of_matmul_peak"] = 100.0 * r["gflops_per_s"] / peak[str(r["threads"])]
    _add_ratios(rows)
    return {"machine": machine(), "matmul_peak_gflops": peak,
            "matmul_by_library_gflops": {t: m["by_library_gflops"] for t, m in matmul.items()}, "rows": rows}


if __name__ == "__main__":  # worker: kind what threads runs warmup size form
    import warnings

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    warnings.filterwarnings("ignore")
    kind, what, threads, runs, warmup, size, form = sys.argv[1:8]
    budget = sys.argv[8] if len(sys.argv) > 8 else "-"
    size_hw = None if size == "-" else [int(v) for v in size.split("x")]
    print(json.dumps(measure(kind, what, int(threads), int(runs), int(warmup), size_hw, form,
                             None if budget == "-" else float(budget))))
