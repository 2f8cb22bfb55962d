"""Networks pocketsr does not ship: a user's ``torch.nn.Module`` in a .py file, or the models an
installed package registers. Either becomes a :class:`~pocketsr.mobile_models.ModelSpec` in the
one registry, so conversion, validation, the report and the bundle treat it like LKDN-S.

**A .py file** (``pocketsr convert --model-def net.py:Net --weights w.pt --scale 4``):
:func:`define_model` imports the file (``importlib.util.spec_from_file_location``), builds
``Net(**args)``, loads the checkpoint (:func:`~pocketsr.mobile_models.weights.check_fits`: missing /
unexpected keys and shape mismatches with counts) and then decides the deploy form:

* the module contains :class:`~pocketsr.mobile_models.RepBlock` blocks (blocks that declare their
  fusion): the model must have ``deploy_twin()``; a training-form checkpoint is reparameterized
  by :func:`~pocketsr.mobile_models.reparameterize` and both forms are compared on probe images;
* otherwise the model is its own deploy form, taken as it is.

It checks the output is ``scale`` times the input and finite on real photo crops and, for
``pixel_range=255``, finds the first conv that sees the image and the last conv before the output
and proves on probe inputs that folding the range into them keeps the function (else refuses).
The artifact's manifest then carries a ``model_def`` record (:func:`define_model`), from which
any later process rebuilds the reference (:func:`register_record`, called when a manifest is
read); a .py file that changed since (sha256) is reported instead of silently used.

**An installed package** declares an entry point in the group :data:`ENTRY_POINT_GROUP`
(``pocketsr.models``) whose object is a :class:`ModelSpec`, or a callable returning one or an
iterable of them. :func:`load_entry_points` registers them the first time
:func:`~pocketsr.mobile_models.get_spec` meets an unknown name or
:func:`~pocketsr.mobile_models.list_models` is called.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import math
import re
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import nn

from pocketsr.errors import ArtifactError, InputError, PocketsrError, WeightsError

from . import registry as _registry
from .registry import MODELS, ModelSpec, _load_local, register
from .rep import RepBlock
from .srnet import SRNet
from .weights import check_fits, load_state_dict, sha256_file

#: importlib.metadata entry-point group of models registered by installed packages
ENTRY_POINT_GROUP = "pocketsr.models"
#: the values ``--pixel-range`` accepts (white level of the network's native input)
PIXEL_RANGES = (1.0, 255.0)
#: largest relative difference between training and deploy form accepted (of max(1, |output|))
REPARAMETERIZATION_TOLERANCE = 1e-4
#: largest max-abs change (output units, [0, 1]) folding the pixel range may cause
FOLD_TOLERANCE = 1e-4
#: probe size (LR pixels) for shape checks and the fold proof
PROBE_HW = (24, 32)

_MODULES: Dict[Tuple[str, str], object] = {}  # (path, sha256) -> imported module
_entry_points: Optional[List[str]] = None  # problems of the entry points, once loaded


def _first_line(exc: BaseException, limit: int = 200) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else ""
    return (line[:limit] + "…") if len(line) > limit else line


def _why(exc: BaseException) -> str:
    line = _first_line(exc)
    return f"{type(exc).__name__}: {line}" if line else type(exc).__name__


# -- the .py file ---------------------------------------------------------------------------------

def parse_model_def(text: str) -> Tuple[Path, str]:
    """``"path/to/net.py:ClassName"`` -> ``(absolute path, "ClassName")``.

    Raises:
        InputError: no ``:Class`` part, or the file does not exist.
    """
    path_text, sep, cls = str(text).rpartition(":")
    if not sep or not path_text or not cls.isidentifier():
        raise InputError(f"bad --model-def {text!r}: use PATH.py:ClassName, e.g. mynet.py:MyNet")
    path = Path(path_text).expanduser().resolve()
    if not path.is_file():
        raise InputError(f"model definition file not found: {path_text}")
    return path, cls


def parse_model_args(value: Union[None, str, Dict]) -> Dict:
    """``--model-args``: a JSON object of constructor keyword arguments (or a dict already).

    Raises:
        InputError: not JSON, or JSON that is not an object.
    """
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise InputError(f"--model-args is not JSON ({exc.msg} at column {exc.colno}): "
                             f"give an object such as '{{\"channels\": 32}}'") from None
    if not isinstance(value, dict):
        raise InputError(f"--model-args must be a JSON object of constructor arguments, not a "
                         f"{type(value).__name__} ({json.dumps(value)[:60]})")
    try:
        return json.loads(json.dumps(value))  # the form a manifest will hold
    except (TypeError, ValueError) as exc:
        raise InputError(f"model arguments must be JSON values: {_first_line(exc)}") from None


def import_file(path: Path, sha256: str):
    """Import the .py file at ``path`` as a module of its own (its folder is on ``sys.path``
    while it runs, for imports of sibling files); cached per (path, sha256).

    Raises:
        InputError: the file raises on import (the exception named, one line).
    """
    key = (str(path), sha256)
    if key in _MODULES:
        return _MODULES[key]
    name = f"_pocketsr_user_{re.sub(r'[^0-9a-zA-Z_]', '_', path.stem)}_{sha256[:12]}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise InputError(f"cannot import {path}: not a Python source file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses, pickling and torch's source lookups need it
    folder = str(path.parent)
    sys.path.insert(0, folder)
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:  # SyntaxError, ImportError, SystemExit, anything the file raises
        sys.modules.pop(name, None)
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise InputError(f"{path.name} raises on import: {_why(exc)}") from None
    finally:
        try:
            sys.path.remove(folder)
        except ValueError:
            pass
    _MODULES[key] = module
    return module


def module_classes(module) -> List[str]:
    """Names of the ``nn.Module`` subclasses the module itself defines (not those it imports)."""
    return [n for n, obj in vars(module).items()
            if isinstance(obj, type) and issubclass(obj, nn.Module) and obj.__module__ == module.__name__]


def find_class(module, path: Path, cls_name: str) -> type:
    """The ``nn.Module`` subclass ``cls_name`` of ``module``.

    Raises:
        InputError: not defined there (listing the nn.Module classes it does define), or not an
            nn.Module subclass.
    """
    obj = getattr(module, cls_name, None)
    if obj is None:
        have = module_classes(module)
        listed = f"its nn.Module classes: {', '.join(have)}" if have else "it defines no nn.Module class"
        raise InputError(f"class {cls_name} not found in {path.name}; {listed}")
    if not (isinstance(obj, type) and issubclass(obj, nn.Module)):
        kind = "a class" if isinstance(obj, type) else f"a {type(obj).__name__}"
        raise InputError(f"{cls_name} in {path.name} is {kind}, not a torch.nn.Module subclass")
    return obj


def instantiate(cls: type, args: Dict) -> nn.Module:
    """``cls(**args)`` in eval mode.

    Raises:
        InputError: the constructor rejects the arguments (TypeError) or raises.
    """
    try:
        module = cls(**args)
    except TypeError as exc:
        raise InputError(f"{cls.__name__}(**{json.dumps(args)}) rejects the arguments: {_why(exc)}; "
                         "set them with --model-args '{\"name\": value}'") from None
    except Exception as exc:
        raise InputError(f"{cls.__name__}(**{json.dumps(args)}) raised {_why(exc)}") from None
    if not isinstance(module, nn.Module):  # a __new__ returning something else
        raise InputError(f"{cls.__name__}(...) returned {type(module).__name__}, not an nn.Module")
    return module.eval()


def rep_blocks(module: nn.Module) -> List[str]:
    """Paths of the :class:`RepBlock` sub-modules (blocks that declare their fusion)."""
    return [n or "(the model itself)" for n, m in module.named_modules() if isinstance(m, RepBlock)]


def _deploy_builder(cls: type, args: Dict, training_form: bool):
    """``builder(rep)`` of a user network: ``rep=True`` the class as defined (training form),
    ``rep=False`` its ``deploy_twin()`` when it has RepBlocks, else the class itself."""
    def build(rep: bool) -> nn.Module:
        module = instantiate(cls, args)
        if rep or not training_form:
            return module
        try:
            return module.deploy_twin().eval()
        except Exception as exc:
            raise InputError(f"{cls.__name__}.deploy_twin() raised {_why(exc)}") from None
    return build


def _lazy_class(name: str, record: Dict):
    """The user class of a manifest's ``model_def`` record, imported on first use after checking
    the file is still the one converted (sha256)."""
    found: Dict[str, type] = {}

    def get() -> type:
        if "cls" not in found:
            path = Path(record["path"])
            if not path.is_file():
                raise ArtifactError(f"the definition of {name}, {path}, is gone (moved or deleted since "
                                    "conversion); restore it there to rebuild the PyTorch reference")
            sha = sha256_file(path)
            if sha != record["sha256"]:
                raise ArtifactError(f"{path} changed since {name} was converted (sha256 {record['sha256'][:12]}… "
                                    f"then, {sha[:12]}… now); restore it or convert again")
            found["cls"] = find_class(import_file(path, sha), path, record["class"])
        return found["cls"]
    return get


def _spec(name: str, title: str, cls_or_get, args: Dict, record: Dict, training_form: bool) -> ModelSpec:
    if isinstance(cls_or_get, type):
        builder = _deploy_builder(cls_or_get, args, training_form)
    else:
        def builder(rep: bool) -> nn.Module:
            return _deploy_builder(cls_or_get(), args, training_form)(rep)
    return ModelSpec(
        name=name, title=title,
        paper=f"user network {record['class']} ({Path(record['path']).name}, sha256 {record['sha256'][:12]}…)",
        scale=int(record["scale"]), pixel_range=float(record["pixel_range"]), builder=builder,
        first_conv=record.get("first_conv") or "", last_conv=record.get("last_conv") or "",
        weights=(), license="as its owner licenses it", has_training_form=training_form, default=False,
        origin={"model_def": record})


def _same(a: Dict, b: Dict) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


RECORD_KEYS = ("name", "path", "sha256", "class", "args", "scale", "pixel_range", "weights",
               "training_form", "first_conv", "last_conv")


def register_record(name: str, record: Dict) -> ModelSpec:
    """Register the user network a manifest's ``model_def`` record describes, under ``name``
    (idempotent). Nothing is imported until the model is built.

    Raises:
        ArtifactError: a malformed record, or ``name`` already registered as another model
            (a built-in one, or a user network of another definition).
    """
    if not isinstance(record, dict) or any(k not in record for k in RECORD_KEYS):
        raise ArtifactError(f"the manifest's model_def record of {name} is malformed (needs "
                            f"{', '.join(RECORD_KEYS)})")
    key = str(name).lower()
    existing = MODELS.get(key)
    if existing is not None:
        if _same((existing.origin or {}).get("model_def") or {}, record):
            return existing
        theirs = (existing.origin or {}).get("model_def") or {}
        if theirs.get("path") == record["path"]:  # this process defined the file anew since
            raise ArtifactError(f"this artifact of {key} was converted from another version of {record['path']} "
                                f"(sha256 {record['sha256'][:12]}…, now {theirs.get('sha256', '?')[:12]}…); "
                                "convert it again")
        what = "a built-in model" if not existing.origin else theirs.get("path", "another model")
        raise ArtifactError(f"model {key} of this artifact ({record['path']}:{record['class']}) is already "
                            f"registered as {what}; convert it again with another --name")
    title = record.get("title") or record["class"]
    return register(_spec(key, title, _lazy_class(key, record), record["args"], record,
                          bool(record["training_form"])))


def own_weights(spec: ModelSpec) -> Path:
    """The checkpoint a user network was defined with (``create_model(name)`` without
    ``weights``), after checking it is the same file (sha256).

    Raises:
        WeightsError: the spec has no weights of its own, or the file is gone or changed.
    """
    rec = ((spec.origin or {}).get("model_def") or {}).get("weights")
    if not rec:
        raise WeightsError(f"{spec.title} registers no weights of its own: give a checkpoint (--weights)")
    path = Path(rec["path"])
    if not path.is_file():
        raise WeightsError(f"weights of {spec.name} not found: {path} (recorded at conversion)")
    if sha256_file(path) != rec["sha256"]:
        raise WeightsError(f"weights {path} changed since {spec.name} was converted (sha256 differs); "
                           "restore the file or convert again")
    return path


# -- checks of the network's function -------------------------------------------------------------

def _run_body(model: SRNet, x: torch.Tensor, label: str) -> torch.Tensor:
    """The body's unclamped output for a [0, 1] input (its native range inside)."""
    try:
        with torch.no_grad():
            y = model.body(x * model.pixel_range)
    except Exception as exc:
        raise InputError(f"{model.body.__class__.__name__} fails on a {tuple(x.shape)} input ({label}): "
                         f"{_why(exc)}") from None
    if not isinstance(y, torch.Tensor):
        raise InputError(f"{model.body.__class__.__name__} returns a {type(y).__name__}, not a tensor "
                         f"(N, 3, H*scale, W*scale)")
    return y / model.pixel_range


def _check_shape(title: str, x: torch.Tensor, y: torch.Tensor, scale: int) -> None:
    want = (x.shape[0], 3, x.shape[2] * scale, x.shape[3] * scale)
    if tuple(y.shape) != want:
        raise InputError(f"{title} output is {tuple(y.shape)} for a {tuple(x.shape)} input; --scale {scale} "
                         f"needs {want}")


def check_output(model: SRNet, scale: int, images: Sequence[np.ndarray]) -> None:
    """The network's output must be ``(N, 3, scale*H, scale*W)`` and finite on ``images``
    (``(1, 3, h, w)`` float32 in [0, 1], real photo crops). The body's output is checked
    before the wrapper's clamp, which would hide an infinity.

    Raises:
        InputError: the output shape (both shapes named) or NaN/inf values (how many images).
    """
    title = model.body.__class__.__name__
    bad = []
    for i, img in enumerate(images):
        x = torch.from_numpy(np.ascontiguousarray(img, dtype=np.float32))
        y = _run_body(model, x, f"real photo crop {i + 1}")
        _check_shape(title, x, y, scale)
        if not torch.isfinite(y).all():
            nan, inf = int(torch.isnan(y).sum()), int(torch.isinf(y).sum())
            bad.append(f"{nan} NaN and {inf} inf values of {y.numel()}")
    if bad:
        raise InputError(f"{title} output is not finite on {len(bad)} of {len(images)} real photo crops "
                         f"(first: {bad[0]}); nothing can be validated against it")


def compare_forms(training: SRNet, deploy: SRNet, images: Sequence[np.ndarray]) -> float:
    """Largest ``|training - deploy|`` of the bodies' outputs on ``images`` relative to
    ``max(1, |training output|)``.

    Raises:
        InputError: above :data:`REPARAMETERIZATION_TOLERANCE` (the fusion is wrong).
    """
    worst = 0.0
    for img in images:
        x = torch.from_numpy(np.ascontiguousarray(img, dtype=np.float32))
        a, b = _run_body(training, x, "training form"), _run_body(deploy, x, "deploy form")
        worst = max(worst, float((a - b).abs().max()) / max(1.0, float(a.abs().max())))
    if not worst <= REPARAMETERIZATION_TOLERANCE:
        raise InputError(f"reparameterized {training.body.__class__.__name__} does not compute its training "
                         f"form's function (relative max-abs {worst:.2e} > {REPARAMETERIZATION_TOLERANCE:g} "
                         "on real photo crops): check the fused_state() of its RepBlocks")
    return worst


def _conv_order(model: SRNet, x: torch.Tensor) -> Tuple[List[str], List[str]]:
    """``(convs that read the body's input tensor itself, every conv in call order)``."""
    names = {m: n for n, m in model.body.named_modules() if isinstance(m, nn.Conv2d)}
    readers, order, handles = [], [], []
    inp = x * model.pixel_range

    def hook(module, args):
        order.append(names[module])
        if args and args[0] is inp:
            readers.append(names[module])
    for module in names:
        handles.append(module.register_forward_pre_hook(hook))
    try:
        with torch.no_grad():
            model.body(inp)
    finally:
        for h in handles:
            h.remove()
    return list(dict.fromkeys(readers)), order


def find_fold_convs(model: SRNet, probes: Sequence[np.ndarray]) -> Tuple[str, str, float]:
    """For a body on ``[0, pixel_range]``: the first conv that sees the image and the last conv
    before the output, and the proof that scaling them (:meth:`SRNet.fold_pixel_range`) keeps
    the function — the largest change on ``probes`` (real crops and noise) and a random input.

    Returns:
        ``(first_conv, last_conv, max-abs change)`` (module paths inside the body; both empty
        when the body folds its own range through ``rescale_range_``).

    Raises:
        InputError: no single conv reads the image, or folding changes the output (the image
            reaches the output around those convs through a path that is not linear in it).
    """
    title = model.body.__class__.__name__
    x0 = torch.rand(1, 3, *PROBE_HW, generator=torch.Generator().manual_seed(0))
    first = last = ""
    if not hasattr(model.body, "rescale_range_"):
        readers, order = _conv_order(model, x0)
        if len(readers) != 1:
            what = (f"{len(readers)} convs read the image ({', '.join(readers)})" if readers
                    else "no nn.Conv2d reads the image directly")
            raise InputError(f"cannot fold --pixel-range {model.pixel_range:g} into {title}: {what}; "
                             "give it a network trained on [0, 1] (--pixel-range 1) or a body method "
                             "rescale_range_(pixel_range)")
        first, last = readers[0], order[-1]
    candidate = SRNet(model.body, model.scale, model.pixel_range, first, last)
    try:
        folded = candidate.fold_pixel_range()
    except Exception as exc:
        raise InputError(f"cannot fold --pixel-range {model.pixel_range:g} into {title} "
                         f"(convs {first or '-'} / {last or '-'}): {_why(exc)}") from None
    worst = 0.0
    for img in [x0.numpy(), *probes]:
        x = torch.from_numpy(np.ascontiguousarray(img, dtype=np.float32))
        a, b = _run_body(candidate, x, "pixel-range fold"), _run_body(folded, x, "pixel-range fold")
        worst = max(worst, float((a - b).abs().max()))
    if not worst <= FOLD_TOLERANCE:
        raise InputError(f"cannot fold --pixel-range {model.pixel_range:g} into {title}: scaling its first conv "
                         f"({first}) by {model.pixel_range:g} and its last conv ({last}) by 1/{model.pixel_range:g} "
                         f"changes the output by up to {worst:.3g} (the image reaches the output around them); "
                         "give it a network trained on [0, 1] (--pixel-range 1)")
    return first, last, worst


# -- defining a user network ----------------------------------------------------------------------

def _name_for(cls_name: str, name: Optional[str]) -> str:
    if name is None:
        return re.sub(r"[^a-z0-9]+", "-", cls_name.lower()).strip("-") or "user-net"
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", name):
        raise InputError(f"bad --name {name!r}: letters, digits, '.', '_' and '-' (it names the artifact files)")
    return name.lower()


def define_model(model_def: str, weights: Union[str, Path], scale: int, pixel_range: float = 1.0,
                 args: Union[None, str, Dict] = None, name: Optional[str] = None,
                 images: Sequence[np.ndarray] = ()) -> ModelSpec:
    """Make a user's network a registry entry (see the module docstring) and return its spec.

    Args:
        model_def: ``"PATH.py:ClassName"``; the class must be a ``torch.nn.Module`` whose forward
            maps ``(N, 3, H, W)`` float32 in ``[0, pixel_range]`` to ``(N, 3, scale*H, scale*W)``.
        weights: its checkpoint (state dict, or BasicSR's ``params``/``params_ema`` wrapper), in
            training form (reparameterized here) or deploy form.
        scale: upscale factor (1..8). pixel_range: 1 or 255, the network's native white level.
        args: constructor keyword arguments (a dict or a JSON object string).
        name: registry name (default: the class name in lower case, ``-`` for other characters).
        images: real photo crops ``(1, 3, h, w)`` float32 in [0, 1] for the output checks, the
            training/deploy comparison and the fold proof (e.g.
            :func:`pocketsr.datasets.sets.probe_images`).

    Returns:
        The registered :class:`ModelSpec`: ``origin = {"model_def": record}`` with ``name``,
        ``title``, ``path`` (absolute), ``sha256`` (of the .py), ``class``, ``args``, ``scale``,
        ``pixel_range``, ``weights`` (``path``, ``sha256``, ``form``), ``training_form`` (has
        RepBlocks), ``reparameterized``, ``reparameterization_max_rel``, ``first_conv``,
        ``last_conv``, ``fold_max_abs``.

    Raises:
        InputError: file not found, import error, class missing or not an nn.Module, rejected
            arguments, RepBlocks without ``deploy_twin()``, a wrong output shape, NaN/inf
            outputs, a wrong fusion, an unfoldable pixel range, a name taken by another model.
        WeightsError: unreadable or non-matching weights (key and shape counts).
    """
    path, cls_name = parse_model_def(model_def)
    args = parse_model_args(args)
    if not isinstance(scale, int) or isinstance(scale, bool) or not 1 <= scale <= 8:
        raise InputError(f"bad --scale {scale!r}: an integer upscale factor 1..8")
    if float(pixel_range) not in PIXEL_RANGES:
        raise InputError(f"bad --pixel-range {pixel_range:g}: 1 (inputs in [0, 1]) or 255 (in [0, 255])")
    pixel_range = float(pixel_range)
    weights = Path(weights).expanduser().resolve()
    if not weights.is_file():
        raise WeightsError(f"weights file not found: {weights}")
    sha = sha256_file(path)
    cls = find_class(import_file(path, sha), path, cls_name)
    key = _name_for(cls_name, name)
    load_entry_points()
    taken = MODELS.get(key)
    if taken is not None and not ((taken.origin or {}).get("model_def") or {}).get("path") == str(path):
        raise InputError(f"name {key} is taken by {'the built-in model' if not taken.origin else 'the model'} "
                         f"{taken.title}; choose another with --name")
    blocks = rep_blocks(instantiate(cls, args))
    if blocks and not callable(getattr(cls, "deploy_twin", None)):
        raise InputError(f"{cls_name} has RepBlocks ({', '.join(blocks[:3])}{', …' if len(blocks) > 3 else ''}) "
                         "but no deploy_twin() returning its deploy-form architecture, so it cannot be "
                         "reparameterized")
    record = {"name": key, "title": name or cls_name, "path": str(path), "sha256": sha, "class": cls_name,
              "args": args, "scale": scale, "pixel_range": pixel_range,
              "weights": {"path": str(weights), "sha256": sha256_file(weights)},
              "training_form": bool(blocks), "first_conv": "", "last_conv": ""}
    spec = _spec(key, record["title"], cls, args, record, bool(blocks))

    # which form the checkpoint is: the class as defined, or (with RepBlocks) its deploy twin
    state = load_state_dict(weights)
    label = f"{cls_name}({', '.join(f'{k}={v!r}' for k, v in args.items())})"
    defined = spec.build("training" if blocks else "deploy").body
    twin = spec.build("deploy").body if blocks else None
    if twin is not None and set(state) == set(twin.state_dict()) != set(defined.state_dict()):
        form = "deploy"
        check_fits(twin, state, f"{label}.deploy_twin()")
    else:  # names missing / unexpected keys and shape mismatches, with counts
        form = "training" if blocks else "deploy"
        check_fits(defined, state, label)
    try:
        deploy = _load_local(spec, weights, "deploy")  # shapes checked, reparameterized if training form
        training = _load_local(spec, weights, "training") if form == "training" else None
    except PocketsrError:
        raise
    except Exception as exc:  # a fused_state() that raises, a fusion that does not fit deploy_twin()
        raise InputError(f"reparameterizing {cls_name} failed: {_why(exc)}") from None
    probe = torch.rand(1, 3, *PROBE_HW, generator=torch.Generator().manual_seed(0))
    _check_shape(cls_name, probe, _run_body(deploy, probe, "a random probe"), scale)  # cheap, named first
    check_output(deploy, scale, images)
    probe = probe.numpy()
    record["weights"]["form"] = form
    record["reparameterized"] = training is not None
    record["reparameterization_max_rel"] = compare_forms(training, deploy, images or [probe]) if training else None
    if pixel_range != 1.0:
        first, last, err = find_fold_convs(deploy, images)
        record.update(first_conv=first, last_conv=last, fold_max_abs=err)
        spec = _spec(key, record["title"], cls, args, record, bool(blocks))
    record = json.loads(json.dumps(record))
    return register(dataclasses.replace(spec, origin={"model_def": record}))


# -- installed packages ---------------------------------------------------------------------------

def load_entry_points(reload: bool = False) -> List[str]:
    """Register the models of installed packages (entry-point group :data:`ENTRY_POINT_GROUP`),
    once per process (``reload``: scan again, e.g. after installing a package).

    An entry point's object is a :class:`ModelSpec`, or a callable returning a spec or an
    iterable of specs. Each spec is registered with ``origin = {"entry_point": {"name", "value",
    "distribution", "version"}}`` unless it sets its own. An entry point that fails to load,
    returns something else or reuses a registered name is skipped.

    Returns:
        One line per skipped entry point or spec (``get_spec`` quotes them for an unknown name).
    """
    global _entry_points
    if _entry_points is not None and not reload:
        return _entry_points
    from importlib.metadata import entry_points

    problems: List[str] = []
    _entry_points = problems
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep, "dist", None)
        where = f"entry point {ep.name} = {ep.value}" + (f" of {dist.name} {dist.version}" if dist else "")
        try:
            obj = ep.load()
            found = obj() if callable(obj) and not isinstance(obj, (ModelSpec, type)) else obj
            specs = [found] if isinstance(found, ModelSpec) else list(found)
        except Exception as exc:
            problems.append(f"{where}: {_why(exc)}")
            continue
        for spec in specs:
            if not isinstance(spec, ModelSpec):
                problems.append(f"{where}: gave a {type(spec).__name__}, not a pocketsr ModelSpec")
                continue
            key = spec.name.lower()
            mine = {"name": ep.name, "value": ep.value, "distribution": dist.name if dist else None,
                    "version": dist.version if dist else None}
            existing = MODELS.get(key)
            if existing is not None:
                if (existing.origin or {}).get("entry_point") != mine:  # not this entry point's, loaded before
                    problems.append(f"{where}: model {key} is already registered")
                continue
            origin = {**(spec.origin or {}), "entry_point": mine}
            register(dataclasses.replace(spec, name=key, origin=origin))
    return problems


__all__ = ["ENTRY_POINT_GROUP", "define_model", "register_record", "load_entry_points", "own_weights",
           "check_output", "compare_forms", "find_fold_convs", "parse_model_def", "parse_model_args"]


# The registry calls these through its hook slots (it must not import this module: a cycle).
_registry.HOOKS.update(load_entry_points=load_entry_points, own_weights=own_weights)
