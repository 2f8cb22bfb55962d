"""The one validator every artifact format goes through.

For an artifact (any format with a registered runner) it measures, against the PyTorch
deploy model the artifact was made from:

* **parity on real photographs** — crops at the artifact's input size (centre + random,
  seeded); max-abs, mean-abs, PSNR vs torch, fraction of changed 8-bit values. Uniform
  noise is run as an extra, non-gating robustness probe (it excites rare ranges that
  photographs never reach).
* **benchmark quality** — Y-PSNR/SSIM through the artifact, split into the *conversion
  error* (artifact vs torch on the identical canvas/tiles) and the *canvas cost* (torch on
  that canvas vs torch on the whole image), so the gate sees only what conversion did.

Gates (on conversion error, per precision) are in :data:`GATES`; precisions in
:data:`REPORT_ONLY` are measured but never fail. A runner that computes in float16 and reports
its activations (``runner.report()``, the Core ML runner) adds ``fp16_headroom`` to the
validation, and the artifact fails if an activation overflowed float16 or came within 2x of
its maximum (65504) on the real images (the noise probe is recorded separately).
"""

from __future__ import annotations

import contextlib
import math
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from pocketsr.errors import ArtifactError
from pocketsr.mobile_models import create_model, sha256_file
from pocketsr.mobile_models.model_def import register_record

from pocketsr.datasets.benchmark import evaluate
from pocketsr.runtime.images import crops, to_tensor_array
from pocketsr.datasets.sets import BenchmarkSet, builtin_pairs, load_benchmark, real_photos
from pocketsr.runtime.metrics import parity
from pocketsr.runtime.runners import Runner, TorchRunner, open_artifact
from pocketsr.runtime.tiling import overlap_for, run_batched
from pocketsr.convert.gates import GATES, REPORT_ONLY

CROPS_PER_PHOTO = 2
DYNAMIC_PARITY_SIZE = (180, 320)  # parity crop size for artifacts that take any size


def summarize(items: Sequence[Dict]) -> Dict:
    """Aggregate per-image parity dicts: worst max-abs, mean mean-abs, worst PSNR, mean changed."""
    return {
        "images": len(items),
        "max_abs": max(i["max_abs"] for i in items),
        "mean_abs": float(np.mean([i["mean_abs"] for i in items])),
        "psnr_db": min(i["psnr_db"] for i in items),
        "changed_8bit": float(np.mean([i["changed_8bit"] for i in items])),
    }


class Validator:
    """Validates artifacts; caches the PyTorch reference per (model, weights) so fp32 and fp16
    artifacts of one model share the reference runs.

    Every artifact is gated on the always-available benchmark (:data:`pocketsr.datasets.sets.BUILTIN_BENCHMARK`,
    HR/LR pairs of public-domain photographs that ship with the dependencies) and on each
    folder of ``datasets`` in addition.

    Args:
        datasets: extra benchmark folders (Set5/Set14 layout).
        photos: folder of real photos for parity (default: shared photos or scikit-image's).
        threads: CPU threads for the runtimes.
        seed: crop placement seed.
    """

    def __init__(self, datasets: Sequence[Path] = (), photos: Optional[Path] = None,
                 threads: int = 2, seed: int = 0):
        self.datasets = [Path(d) for d in datasets]
        self.photos_dir = photos
        self.threads = threads
        self.seed = seed
        self._models: Dict[Tuple, Runner] = {}
        self._cache: Dict[Tuple, object] = {}
        self._window: Optional[Tuple[int, int]] = None  # (photos, crop side) kept for the report
        #: the report's image comparisons, kept while validating (see :meth:`keep_comparisons`)
        self.comparisons: Dict[Tuple, Dict] = {}

    def keep_comparisons(self, images: int, crop: int) -> None:
        """While validating, keep what the report's image comparisons show of the centre crops
        of the first ``images`` parity photos (the identical inputs): per model the ``crop``-square
        HR window with the most detail (:func:`pocketsr.runtime.metrics.detail_window` of the PyTorch
        output) and that window of PyTorch's output; per artifact that window of its output and
        its parity figures. The report then runs nothing again (a few kB per artifact, where
        whole outputs would be 11 MB each)."""
        self._window = (images, crop)

    # -- reference -------------------------------------------------------------------------
    def reference(self, manifest: Dict) -> TorchRunner:
        """PyTorch deploy model of the artifact's model and weights (unfolded pixel range).

        A user network (manifest ``model_def``) is rebuilt from its recorded .py file and
        checkpoint; a local checkpoint must still be the file converted.

        Raises:
            ArtifactError: the .py file or the local checkpoint changed since conversion
                (sha256) or is gone. WeightsError, InputError: as ``create_model``.
        """
        weights = manifest["weights"]
        key = (manifest["model"], weights.get("sha256"))
        if key not in self._models:
            if "model_def" in manifest:  # normally done by read_manifest; a manifest dict may come directly
                register_record(manifest["model"], manifest["model_def"])
            local = None if weights.get("official", True) else weights.get("path")
            if local is not None and Path(local).is_file() and weights.get("sha256") \
                    and sha256_file(Path(local)) != weights["sha256"]:
                raise ArtifactError(f"weights {local} changed since {manifest['file']} was converted (sha256 "
                                    f"{weights['sha256'][:12]}… then); restore the file or convert again")
            model = create_model(manifest["model"], "deploy", pretrained=True, weights=local)
            self._models[key] = TorchRunner(model, manifest["scale"], self.threads)
        return self._models[key]

    def _cached(self, key, fn):
        if key not in self._cache:
            self._cache[key] = fn()
        return self._cache[key]

    def parity_inputs(self, size: Tuple[int, int]) -> List[Tuple[str, np.ndarray]]:
        """Real-photo crops at ``size`` as ``[(label, (1, 3, h, w) float32)]``, deterministic."""
        def build():
            rng = np.random.default_rng(self.seed)
            out = []
            for name, img in real_photos(self.photos_dir):
                for i, crop in enumerate(crops(img, size, CROPS_PER_PHOTO, rng)):
                    out.append((f"{name}#{i}", to_tensor_array(crop)))
            return out
        return self._cached(("photos", size), build)

    def benchmarks(self, scale: int) -> List[BenchmarkSet]:
        """The gating benchmarks: the built-in one first, then each ``datasets`` folder."""
        return [self._cached(("builtin", scale), lambda: builtin_pairs("gating", scale))] + [
            self._cached(("data", str(folder), scale), lambda folder=folder: load_benchmark(folder, scale))
            for folder in self.datasets]

    def _keep_comparison(self, manifest: Dict, size, label: str, got: np.ndarray, want: np.ndarray,
                         figures: Dict) -> None:
        from pocketsr.runtime.images import from_tensor_array
        from pocketsr.runtime.metrics import detail_window

        crop = self._window[1]
        model_key = (manifest["model"], manifest["weights"].get("sha256"), tuple(size), label)
        if model_key not in self.comparisons:
            y, x = detail_window(from_tensor_array(want), crop)
            self.comparisons[model_key] = {"window": (y, x, crop),
                                           "torch": want[:, :, y:y + crop, x:x + crop].copy()}
        y, x, _ = self.comparisons[model_key]["window"]
        self.comparisons[(manifest["sha256"], tuple(size), label)] = {
            "sr": got[:, :, y:y + crop, x:x + crop].copy(),
            "psnr_db": figures["psnr_db"], "max_abs": figures["max_abs"]}

    # -- validation ------------------------------------------------------------------------
    def validate(self, artifact: Path, manifest: Dict, progress=None) -> Dict:
        """Run all checks on one artifact; returns the ``validation`` section of its manifest."""
        runner = open_artifact(artifact, threads=self.threads)
        ref = self.reference(manifest)
        size = runner.input_size  # None: dynamic-size artifact, benchmarks run on whole images
        crop = size or DYNAMIC_PARITY_SIZE
        ref_key = (manifest["model"], manifest["weights"].get("sha256"), size)
        # benchmark images larger than the tile are tiled as validate/TILING.md specifies,
        # exactly when the tile allows it (the manifest's default overlap)
        overlap = overlap_for(manifest, tile=size)

        per_photo = []
        photos = self.parity_inputs(crop)
        # crop 0 of each photo is its centre crop, the input of the report's comparisons
        keep = set([label for label, _ in photos if label.endswith("#0")][:self._window[0]]) if self._window else set()
        for (label, x), got in zip(photos, run_batched(runner, [x for _, x in photos])):
            want = self._cached(ref_key + ("photo", label), lambda: ref(x))
            per_photo.append({"image": label, **parity(got, want)})
            if label in keep:
                self._keep_comparison(manifest, crop, label, got, want, per_photo[-1])
            if progress:
                progress()
        noise = np.random.default_rng(self.seed).random((1, 3, *crop), dtype=np.float32)
        with (runner.probe() if hasattr(runner, "probe") else contextlib.nullcontext()):
            noise_probe = parity(runner(noise), self._cached(ref_key + ("noise",), lambda: ref(noise)))

        bench = []
        for data in self.benchmarks(manifest["scale"]):
            art = evaluate(runner, data, overlap=overlap, keep_outputs=True)
            canvas = self._cached(ref_key + ("canvas", data.name, overlap),
                                  lambda: evaluate(ref, data, input_size=size, overlap=overlap, keep_outputs=True))
            whole = self._cached(ref_key[:2] + ("whole", data.name), lambda: evaluate(ref, data))
            bench_parity = summarize([parity(art["outputs"][n], canvas["outputs"][n]) for n in art["outputs"]])
            bench.append({
                "dataset": data.name, "images": art["images"], "input": art["input"],
                "psnr_y": art["psnr_y"], "ssim_y": art["ssim_y"],
                "torch_canvas_psnr_y": canvas["psnr_y"], "torch_canvas_ssim_y": canvas["ssim_y"],
                "torch_whole_psnr_y": whole["psnr_y"], "torch_whole_ssim_y": whole["ssim_y"],
                "conversion_delta_db": art["psnr_y"] - canvas["psnr_y"],
                "canvas_cost_db": canvas["psnr_y"] - whole["psnr_y"],
                "parity": bench_parity,
            })
            if progress:
                progress()

        report = {
            "runtime": runner.name,
            "threads": self.threads,
            "input_size": list(size) if size else None,
            "parity": {**summarize(per_photo), "source": "real photos, centre + random crops",
                       "per_image": per_photo},
            "noise_probe": noise_probe,
            "benchmarks": bench,
            "gated_on": [b["dataset"] for b in bench],
        }
        if hasattr(runner, "report"):
            report.update(runner.report())
        report.update(self.gate(manifest["precision"], report))
        return report

    @staticmethod
    def gate(precision: str, report: Dict) -> Dict:
        """Apply :data:`GATES` (and the float16 headroom check when the report has one);
        returns ``{"gate": {...}, "passed": bool, "failures": [...]}``."""
        report_only = precision in REPORT_ONLY
        if precision not in GATES and not report_only:
            return {"gate": None, "passed": None, "failures": [f"no gate defined for {precision}"]}
        failures = []
        if not report_only:
            min_db, max_delta = GATES[precision]
            got = report["parity"]["psnr_db"]
            if not got >= min_db:
                failures.append(f"parity {got:.2f} dB < {min_db:g} dB on real photos")
            for b in report["benchmarks"]:
                d = b["conversion_delta_db"]
                if not (math.isfinite(d) and abs(d) <= max_delta):
                    failures.append(f"{b['dataset']} ΔPSNR {d:+.4f} dB exceeds ±{max_delta:g} dB")
                bp = b["parity"]["psnr_db"]
                if not bp >= min_db:
                    failures.append(f"{b['dataset']} parity {bp:.2f} dB < {min_db:g} dB")
        headroom = report.get("fp16_headroom")
        if headroom and headroom.get("checked") and not headroom.get("passed"):
            ops = headroom["overflow_ops"] or headroom["near_overflow_ops"]
            failures.append(f"float16 headroom: {len(ops)} op(s) overflow or come within 2x of 65504 "
                            f"(largest |activation| {headroom['max_abs']:.4g} at {headroom['max_op']})")
        if report_only:  # no quality thresholds; breakage (float16 overflow) is still listed
            return {"gate": {"report_only": True}, "passed": True, "failures": [],
                    "would_fail": failures}
        return {"gate": {"min_parity_db": min_db, "max_abs_delta_psnr_db": max_delta,
                         **({"fp16_headroom_factor": 2.0} if headroom and headroom.get("checked") else {})},
                "passed": not failures, "failures": failures}
