"""The converter interface every target (TFLite now, Core ML later) implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Optional, Tuple

import torch

from pocketsr.errors import InputError, PocketsrError
from pocketsr.quiet import quiet_native


@dataclass
class ConversionResult:
    """What a target reports about one conversion; merged into the manifest.

    ``input``/``output``: tensor descriptions (name, shape, layout, dtype, range, color).
    ``details``: target-specific facts (quantization recipe, ops kept in float, ...).
    """

    input: Dict
    output: Dict
    details: Dict = field(default_factory=dict)


class Target:
    """A conversion target. Subclasses set ``name``, ``suffix``, ``precisions`` and
    ``default_precisions`` and implement :meth:`convert`."""

    name: str = ""
    suffix: str = ""
    precisions: Tuple[str, ...] = ()
    default_precisions: Tuple[str, ...] = ()
    packages: Tuple[str, ...] = ()  # distributions whose versions go into the manifest
    directory: bool = False  # the artifact is a folder (e.g. .mlpackage), not a file
    supports_dynamic_size: bool = False  # can write artifacts that accept any H x W

    def available(self) -> Tuple[bool, str]:
        """Whether this target's converter can run here, and why not."""
        return True, ""

    def plan_precision(self, precision: str) -> Optional[str]:
        """The precision of the shared :class:`pocketsr.convert.quantize.QuantPlan` that ``precision``
        needs (calibration, sensitivity ranking, optional distillation), or ``None``. Default:
        the int8 precisions plan for themselves."""
        return precision if precision.startswith("int8") else None

    def needs_plan(self, precision: str) -> bool:
        return self.plan_precision(precision) is not None

    def conversion_kwargs(self, model_name: str, weights: Dict, **options) -> Dict:
        """Extra keyword arguments for :meth:`convert` (e.g. metadata a format embeds); the
        pipeline passes the registry model name, the manifest's ``weights`` record and the
        user's options for this target (e.g. ``io="tensor"`` for Core ML).

        Raises:
            InputError: an option this target does not know, or a bad value.
        """
        if options:
            raise InputError(f"target {self.name} takes no options ({', '.join(options)})")
        return {}

    def variant(self, **options) -> str:
        """File-name tag of a non-default option choice (``""`` for the defaults), so variants
        never overwrite each other: ``lkdn-s_x4_180x320_fp16<variant>.mlpackage``."""
        return ""

    def inspect(self, path: Path) -> Dict:
        """Static facts about a finished artifact for its manifest (e.g. delegate readiness)."""
        return {}

    def convert(self, model: torch.nn.Module, input_size: Tuple[int, int], precision: str,
                out_path: Path, plan=None) -> ConversionResult:  # pragma: no cover - abstract
        """Convert the deploy model (public interface, pixel range folded, eval mode) for a fixed
        ``input_size = (H, W)`` into ``out_path`` (a temporary path the pipeline renames).
        ``plan`` (:class:`pocketsr.convert.quantize.QuantPlan`) is given for reduced precisions."""
        raise NotImplementedError


TARGETS: Dict[str, Target] = {}


def register_target(target: Target) -> Target:
    TARGETS[target.name] = target
    return target


def get_target(name: str) -> Target:
    """Target by name. Raises :class:`InputError` if unknown."""
    if name not in TARGETS:
        raise InputError(f"unknown target {name!r}; available: {', '.join(TARGETS)}")
    return TARGETS[name]


def parse_size(text: str) -> Tuple[int, int]:
    """``"180x320"`` -> ``(180, 320)`` (height x width, LR pixels).

    Raises:
        InputError: malformed or out of range (8..4096).
    """
    try:
        h, w = (int(v) for v in text.lower().replace("×", "x").split("x"))
    except ValueError:
        raise InputError(f"bad --input-size {text!r}: use HxW, e.g. 180x320") from None
    if not (8 <= h <= 4096 and 8 <= w <= 4096):
        raise InputError(f"bad --input-size {text!r}: each side must be 8..4096 pixels")
    return h, w


class ConversionError(PocketsrError):
    """The converter library failed; message carries the last lines of its log."""


def captured_output(what: str):
    """Silence converter chatter while converting; failures become :class:`ConversionError`."""
    return quiet_native(what, ConversionError)


class NamedIO(torch.nn.Module):
    """Wraps a model so the exported signature has the contract's tensor names: input ``lr``,
    output ``sr`` (``convert/CONTRACT.md``). Shapes and dtypes are the wrapped model's."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, lr: torch.Tensor):
        return {"sr": self.model(lr)}
