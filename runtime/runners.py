"""One runner interface over every runtime pocketsr validates against.

A runner maps ``(1, 3, H, W)`` float32 RGB in [0, 1] to ``(1, 3, H*s, W*s)`` float32 in
[0, 1]. ``input_size`` is ``None`` for runtimes that take any size (PyTorch, dynamic-size
TFLite artifacts) and ``(h, w)`` for fixed-size artifacts; :func:`run_image` adapts any image
to either (see :mod:`pocketsr.runtime.tiling`). New formats register a class in :data:`RUNNERS` by
file suffix (an artifact may be a folder, e.g. a Core ML ``.mlpackage``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Dict, List, Optional, Tuple, Type

import numpy as np

if TYPE_CHECKING:
    import torch

from pocketsr.errors import ArtifactError, InputError
from pocketsr.quiet import quiet_native


class Runner:
    """Base class. Subclasses set ``name``, ``input_size``, ``scale`` and implement ``__call__``.

    ``batch_pixels``: a runner that also maps ``(N, 3, H, W)`` batches sets the most LR pixels
    (``N * H * W``) one call may take; tiling then runs many small tiles per call (0: one image
    per call, e.g. fixed-shape artifacts).
    """

    name = "runner"
    input_size: Optional[Tuple[int, int]] = None
    scale: int = 4
    batch_pixels: int = 0

    def __call__(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError


class TorchRunner(Runner):
    """PyTorch eager model (the reference). Any input size."""

    name = "torch"
    batch_pixels = 180 * 320 * 2  # ~0.5 GB of float32 activations for LKDN-S/FMEN-S

    def __init__(self, model: torch.nn.Module, scale: int, threads: Optional[int] = None):
        self.model = model.eval()
        self.scale = scale
        self.threads = threads

    def __call__(self, x: np.ndarray) -> np.ndarray:
        import torch  # imported where used: LiteRT-only processes (bench workers) stay torch-free

        if self.threads:
            torch.set_num_threads(self.threads)
        dtype = next(self.model.parameters()).dtype
        with torch.inference_mode():
            return self.model(torch.from_numpy(x).to(dtype)).float().numpy()


def _litert_interpreter():
    try:
        from ai_edge_litert.interpreter import Interpreter
        return Interpreter
    except ImportError:
        try:
            from tflite_runtime.interpreter import Interpreter  # legacy package name
            return Interpreter
        except ImportError:
            raise ArtifactError("no TFLite runtime: pip install ai-edge-litert") from None


class TFLiteRunner(Runner):
    """A ``.tflite`` artifact run by the LiteRT interpreter (XNNPACK CPU delegate).

    The artifact contract is NHWC RGB float32 [0, 1] in and out (see ``convert/CONTRACT.md``);
    this runner transposes from/to NCHW. uint8/int8 I/O is (de)quantized with the tensor's
    recorded scale and zero point.

    Dynamic-size artifacts (input shape signature ``[1, -1, -1, 3]``, see
    :mod:`pocketsr.convert.dynamic`) get ``input_size = None``; each call with a new ``H x W`` resizes
    the input tensor and re-allocates. Their ``scale`` is the ``scale`` argument, or else read
    from the output shape of a probe resize; every output's shape is checked against it.

    Artifacts with 16-bit activation tensors (int8-full's 16x8 blocks) run on LiteRT's
    single-threaded reference kernels; for them a batch ``(N, 3, h, w)`` is spread over
    ``threads`` interpreters in parallel threads (the interpreter releases the GIL while it
    computes: 1.64x for two 180x320 LKDN-S int8-full calls on 2 cores, measured), and
    ``batch_pixels`` tells tiling and validation to send such batches.
    """

    name = "litert"

    def __init__(self, path: Path, threads: int = 2, scale: Optional[int] = None):
        self.path = Path(path)
        with quiet_native(f"LiteRT loading {self.path}", ArtifactError):
            Interpreter = _litert_interpreter()
            self.interp = Interpreter(model_path=str(self.path), num_threads=threads)
            self.interp.allocate_tensors()
        self._threads = threads
        self._pool: List = []  # extra interpreters for parallel batches (created on first use)
        inputs, outputs = self.interp.get_input_details(), self.interp.get_output_details()
        if len(inputs) != 1 or len(outputs) != 1:
            raise ArtifactError(f"{self.path}: expected one input and one output tensor")
        self.inp, self.out = inputs[0], outputs[0]
        signature = self.inp.get("shape_signature", self.inp["shape"])
        if len(signature) == 4 and (signature[1] == -1 or signature[2] == -1):
            if int(signature[0]) != 1 or int(signature[3]) != 3:
                raise ArtifactError(f"{self.path}: input shape {list(signature)} is not (1, H, W, 3)")
            self.input_size = None
            self._hw: Optional[Tuple[int, int]] = None
            self.scale = int(scale) if scale else self._probe_scale()
            return
        n, h, w, c = (int(v) for v in self.inp["shape"])
        if n != 1 or c != 3:
            raise ArtifactError(f"{self.path}: input shape {self.inp['shape']} is not (1, H, W, 3)")
        self.input_size = (h, w)
        self.scale = int(self.out["shape"][1]) // h
        reference_kernels = any(t["dtype"] == np.int16 for t in self.interp.get_tensor_details())
        self.batch_pixels = threads * h * w if reference_kernels and threads > 1 else 0

    _PROBE = (17, 23)  # odd, unequal sides: a frozen or transposed output shape shows up

    def _resize(self, h: int, w: int) -> None:
        """Dynamic artifacts: set the input to ``(1, h, w, 3)`` (no-op if it already is)."""
        if self._hw == (h, w):
            return
        with quiet_native(f"LiteRT resizing {self.path.name} to {h}x{w}", ArtifactError):
            self.interp.resize_tensor_input(self.inp["index"], [1, h, w, 3], strict=True)
            self.interp.allocate_tensors()
        self._hw = (h, w)

    def _probe_scale(self) -> int:
        h, w = self._PROBE
        self._resize(h, w)
        out = [int(v) for v in self.interp.get_output_details()[0]["shape"]]
        if len(out) != 4 or out[1] % h or out[1] // h < 1 or out[2] != w * (out[1] // h):
            raise ArtifactError(f"{self.path.name}: a {h}x{w} input gives output shape {out}, "
                                f"not an integer upscale")
        return out[1] // h

    def _quant(self, x: np.ndarray, detail: dict) -> np.ndarray:
        scale, zero = detail["quantization"]
        if detail["dtype"] == np.float32 or scale == 0:
            return x.astype(detail["dtype"])
        info = np.iinfo(detail["dtype"])
        return np.clip(np.round(x / scale + zero), info.min, info.max).astype(detail["dtype"])

    def _dequant(self, y: np.ndarray, detail: dict) -> np.ndarray:
        scale, zero = detail["quantization"]
        if detail["dtype"] == np.float32 or scale == 0:
            return y.astype(np.float32)
        return ((y.astype(np.float32) - zero) * scale).astype(np.float32)

    def _parallel(self, x: np.ndarray) -> np.ndarray:
        """A fixed-size batch ``(N, 3, h, w)``, one image per interpreter of the pool."""
        from concurrent.futures import ThreadPoolExecutor

        workers = min(self._threads, len(x))
        while len(self._pool) < workers - 1:
            with quiet_native(f"LiteRT loading {self.path}", ArtifactError):
                extra = _litert_interpreter()(model_path=str(self.path), num_threads=1)
                extra.allocate_tensors()
            self._pool.append(extra)
        interps = [self.interp] + self._pool[:workers - 1]

        def work(i: int):
            interp, out = interps[i], []
            for j in range(i, len(x), workers):
                interp.set_tensor(self.inp["index"], self._quant(x[j:j + 1].transpose(0, 2, 3, 1), self.inp))
                interp.invoke()
                out.append((j, self._dequant(interp.get_tensor(self.out["index"]), self.out)))
            return out

        with ThreadPoolExecutor(workers) as ex:
            results = dict(pair for part in ex.map(work, range(workers)) for pair in part)
        return np.ascontiguousarray(np.concatenate([results[j] for j in range(len(x))]).transpose(0, 3, 1, 2))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """``(1, 3, h, w)`` float32 [0, 1] -> ``(1, 3, h*s, w*s)``; a fixed-size artifact also
        takes ``(N, 3, h, w)`` (in parallel where ``batch_pixels`` is set, else in turn).

        Raises:
            InputError: wrong input shape.
        """
        if self.input_size is not None and x.ndim == 4 and len(x) > 1:
            if tuple(x.shape[2:]) != self.input_size:
                raise InputError(f"{self.path.name} takes {self.input_size}, got {tuple(x.shape[2:])}")
            if self.batch_pixels:
                return self._parallel(x)
            return np.concatenate([self(x[i:i + 1]) for i in range(len(x))])
        if self.input_size is None:
            if x.ndim != 4 or x.shape[:2] != (1, 3):
                raise InputError(f"{self.path.name} takes (1, 3, H, W), got {tuple(x.shape)}")
            h, w = (int(v) for v in x.shape[2:])
            self._resize(h, w)
        elif tuple(x.shape[2:]) != self.input_size:
            raise InputError(f"{self.path.name} takes {self.input_size}, got {tuple(x.shape[2:])}")
        self.interp.set_tensor(self.inp["index"], self._quant(x.transpose(0, 2, 3, 1), self.inp))
        self.interp.invoke()
        y = self._dequant(self.interp.get_tensor(self.out["index"]), self.out)
        if self.input_size is None and y.shape != (1, h * self.scale, w * self.scale, 3):
            raise ArtifactError(f"{self.path.name}: a {h}x{w} input gave output {y.shape}, expected "
                                f"{(1, h * self.scale, w * self.scale, 3)} (shape frozen at trace size?)")
        return np.ascontiguousarray(y.transpose(0, 3, 1, 2))


class CoreMLRunner(Runner):
    """A Core ML ``.mlpackage`` (a folder) run by :class:`pocketsr.runtime.mil_executor.MILExecutor`,
    pocketsr's executor of the saved ML Program (PyTorch, float16 rounding emulated). Works on
    any OS; on macOS (``sys.platform == "darwin"``) every call also runs Core ML itself
    (``MLModel.predict`` with compute units ALL and CPU_ONLY) and records how far each is from
    the executor (:meth:`report`); the executor's output is what this runner returns.

    Image I/O artifacts get the input as 8-bit pixels (``round(x * 255)``, exact for 8-bit
    images) and return the program's output value divided by 255 (before Core ML's own 8-bit
    conversion of an image output). Tensor artifacts take and return NCHW float [0, 1].

    :meth:`report` gives the float16 headroom (largest ``|activation|`` per op); calls made
    inside :meth:`probe` (the validator's noise probe) are recorded separately.
    """

    name = "coreml-mil"

    def __init__(self, path: Path, threads: int = 2):
        import sys

        from pocketsr.runtime.mil_executor import HeadroomStats, MILExecutor

        self.path = Path(path)
        self.threads = threads
        self.executor = MILExecutor(self.path)
        if len(self.executor.inputs) != 1 or len(self.executor.outputs) != 1:
            raise ArtifactError(f"{self.path.name}: expected one input and one output")
        self.inp, self.out = self.executor.inputs[0], self.executor.outputs[0]
        n, c, h, w = self.inp["shape"]
        if n != 1 or c != 3:
            raise ArtifactError(f"{self.path.name}: input shape {self.inp['shape']} is not (1, 3, H, W)")
        self.input_size = (h, w)
        self.scale = int(self.out["shape"][2]) // h
        self.image_input = self.inp["kind"] == "image"
        self.image_output = self.out["kind"] == "image"
        if (self.image_input and self.inp["color"] != "RGB") or (self.image_output and self.out["color"] != "RGB"):
            raise ArtifactError(f"{self.path.name}: only RGB image features are supported")
        self._stats = {"real": HeadroomStats(), "probe": HeadroomStats()}
        self.executor.stats = self._stats["real"]
        self._predict: Dict[str, Dict] = {}
        self._apple = None
        if sys.platform == "darwin":  # pragma: no cover - Core ML runs only on Apple platforms
            self._apple = self._load_apple()

    def _load_apple(self):  # pragma: no cover - macOS only
        import coremltools as ct

        with quiet_native(f"Core ML loading {self.path}", ArtifactError):
            return {unit: ct.models.MLModel(str(self.path), compute_units=getattr(ct.ComputeUnit, unit))
                    for unit in ("ALL", "CPU_ONLY")}

    def _feed(self, x: np.ndarray) -> np.ndarray:
        if self.image_input:
            return np.round(np.clip(x, 0.0, 1.0) * 255.0).astype(np.float32)
        return x.astype(np.float32)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if tuple(x.shape) != (1, 3, *self.input_size):
            raise InputError(f"{self.path.name} takes (1, 3, {self.input_size[0]}, {self.input_size[1]}), "
                             f"got {tuple(x.shape)}")
        if self.threads:
            import torch
            torch.set_num_threads(self.threads)
        feed = self._feed(x)
        y = self.executor.run({self.inp["name"]: feed})[self.out["name"]]
        if self.image_output:
            y = y / 255.0
        if self._apple is not None:  # pragma: no cover - macOS only
            self._compare_apple(feed, y)
        return np.ascontiguousarray(y, dtype=np.float32)

    def _compare_apple(self, feed: np.ndarray, y: np.ndarray) -> None:  # pragma: no cover - macOS only
        from PIL import Image

        from pocketsr.runtime.metrics import parity

        if self.image_input:
            data = {self.inp["name"]: Image.fromarray(feed[0].transpose(1, 2, 0).astype(np.uint8), "RGB")}
        else:
            data = {self.inp["name"]: feed}
        for unit, model in self._apple.items():
            got = model.predict(data)[self.out["name"]]
            if self.image_output:
                got = np.asarray(got.convert("RGB"), dtype=np.float32).transpose(2, 0, 1)[None] / 255.0
            p = parity(np.asarray(got, dtype=np.float32), y)
            prev = self._predict.get(unit)
            if prev is None or p["psnr_db"] < prev["psnr_db_vs_executor"]:
                self._predict[unit] = {"psnr_db_vs_executor": p["psnr_db"], "max_abs_vs_executor": p["max_abs"]}

    def probe(self):
        """Context manager: calls inside it count towards the probe headroom only."""
        from contextlib import contextmanager

        @contextmanager
        def scope():
            self.executor.stats = self._stats["probe"]
            try:
                yield self
            finally:
                self.executor.stats = self._stats["real"]
        return scope()

    def report(self) -> Dict:
        """``{"fp16_headroom": {...}, "fp16_headroom_noise_probe": {...}, "coreml_predict": ...}``
        (see :meth:`pocketsr.runtime.mil_executor.MILExecutor.headroom`)."""
        out = {"fp16_headroom": self.executor.headroom(self._stats["real"])}
        if self._stats["probe"].runs:
            probe = self.executor.headroom(self._stats["probe"])
            out["fp16_headroom_noise_probe"] = {k: v for k, v in probe.items() if k != "per_op"}
        if self._predict:  # pragma: no cover - macOS only
            out["coreml_predict"] = dict(self._predict)
        return out


RUNNERS: Dict[str, Type[Runner]] = {".tflite": TFLiteRunner, ".mlpackage": CoreMLRunner}


def open_artifact(path: Path, threads: int = 2) -> Runner:
    """Runner for an artifact file, chosen by its suffix.

    Raises:
        ArtifactError: missing file or a format with no registered runner.
    """
    path = Path(path)
    if not path.exists():
        raise ArtifactError(f"artifact not found: {path}")
    cls = RUNNERS.get(path.suffix.lower())
    if cls is None:
        raise ArtifactError(f"no runner for {path.suffix or path.name!r} artifacts "
                            f"(known: {', '.join(RUNNERS)})")
    return cls(path, threads=threads)
