"""Latency and memory benchmark of artifacts beside PyTorch eager on the same input.

Each measurement runs in a fresh Python process (``python -m validate.bench``) so its peak
resident memory (``ru_maxrss``) belongs to that runtime alone and one runtime's thread pool
cannot slow the next. Latency: ``warmup`` untimed runs, then the median (and min/max) of
``runs`` timed runs of one inference at the artifact's input size, in milliseconds. These
machines are noisy: compare ratios measured in one run, not absolute times across runs.
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from pocketsr.errors import ArtifactError, InputError


def _time(fn, x, runs: int, warmup: int) -> Dict:
    for _ in range(warmup):
        fn(x)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn(x)
        times.append((time.perf_counter() - t0) * 1000.0)
    return {"median_ms": statistics.median(times), "min_ms": min(times), "max_ms": max(times), "runs": runs}


def measure(kind: str, what: str, threads: int, runs: int, warmup: int,
            size: Optional[Sequence[int]] = None, form: str = "deploy") -> Dict:
    """One measurement in this process. ``kind`` is ``artifact`` (``what`` = path) or ``torch``
    (``what`` = registry model, ``size`` = LR ``(h, w)``, ``form`` training/deploy)."""
    if kind == "artifact":
        from validate.runners import open_artifact
        runner = open_artifact(Path(what), threads=threads)
        h, w = runner.input_size or size
    else:
        import torch

        from mobile_models import create_model, get_spec
        from validate.runners import TorchRunner
        torch.set_num_threads(threads)
        # latency does not depend on the weights: a form without official weights runs random ones
        pretrained = form == "deploy" or get_spec(what).weights_for(form) is not None
        runner = TorchRunner(create_model(what, form, pretrained=pretrained), get_spec(what).scale, threads)
        h, w = size
    x = np.random.default_rng(0).random((1, 3, h, w), dtype=np.float32)
    result = _time(runner, x, runs, warmup)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    result["input"] = [h, w]
    return result


def run_isolated(kind: str, what: str, threads: int, runs: int, warmup: int,
                 size: Optional[Sequence[int]] = None, form: str = "deploy") -> Dict:
    """:func:`measure` in a child process; raises :class:`ArtifactError` with its last line on failure."""
    args = [sys.executable, "-m", "validate.bench", kind, str(what), str(threads), str(runs), str(warmup),
            "x".join(map(str, size)) if size else "-", form]
    proc = subprocess.run(args, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise ArtifactError(f"benchmark of {what} failed: {tail}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def bench(artifacts: Sequence[Path], threads: Sequence[int] = (1, 2), runs: int = 10, warmup: int = 3,
          torch_forms: Sequence[str] = ("deploy",)) -> List[Dict]:
    """Benchmark artifacts and, per model and input size, PyTorch eager (given forms).

    Returns rows ``{"name", "kind", "model", "precision", "size_bytes", "threads", "median_ms",
    "min_ms", "max_ms", "peak_rss_mb", "input"}``.

    Raises:
        InputError: an artifact is not a TFLite file (Core ML packages cannot run here).
    """
    from convert.manifest import read_manifest

    manifests = [read_manifest(p) for p in artifacts]
    for path, manifest in zip(artifacts, manifests):
        if manifest["target"] != "tflite":
            raise InputError(f"{Path(path).name}: only TFLite artifacts can be timed here; Core ML "
                             "runs on Apple hardware only (the Linux MIL executor checks numerics, "
                             "it is not a runtime; time a package with Xcode's performance report)")
    rows: List[Dict] = []
    seen_torch = set()
    for path, manifest in zip(artifacts, manifests):
        shape = manifest["input"]["shape"]
        size = (shape[1], shape[2]) if shape[1] > 0 else (180, 320)
        for t in threads:
            r = run_isolated("artifact", str(path), t, runs, warmup, size)
            rows.append({"name": path.name, "kind": "litert", "model": manifest["model"],
                         "precision": manifest["precision"], "size_bytes": manifest["size_bytes"],
                         "threads": t, **r})
        for form in torch_forms:
            key = (manifest["model"], tuple(size), form)
            if key in seen_torch:
                continue
            seen_torch.add(key)
            for t in threads:
                r = run_isolated("torch", manifest["model"], t, runs, warmup, size, form)
                rows.append({"name": f"{manifest['model']} torch eager ({form})", "kind": "torch",
                             "model": manifest["model"], "precision": f"fp32 {form}", "size_bytes": None,
                             "threads": t, **r})
    return rows


if __name__ == "__main__":  # worker: kind what threads runs warmup size form
    import os
    import warnings

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    warnings.filterwarnings("ignore")
    kind, what, threads, runs, warmup, size, form = sys.argv[1:8]
    size_hw = None if size == "-" else [int(v) for v in size.split("x")]
    print(json.dumps(measure(kind, what, int(threads), int(runs), int(warmup), size_hw, form)))
