"""The model registry: one entry per model, carrying everything downstream code needs.

Each :class:`ModelSpec` knows its constructor (training and deploy form), scale, native value
range, the official weight files (repository, pinned commit, path, sha256, licence) and the
reference benchmark figures measured with pocketsr's metric (see ``pocketsr.runtime.metrics``).
``create_model(name, form="deploy", pretrained=True)`` is the single entry point.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Optional, Tuple

from torch import nn

from pocketsr.errors import InputError, WeightsError

from .fmen import FMENet
from .lkdn import LKDNet
from .rlfn import RLFNet
from .rep import reparameterize
from .srnet import SRNet
from .weights import check_fits, load_state_dict, resolve_weights

LKDN_REPO, LKDN_COMMIT = "stella-von/LKDN", "54df78a491142c2503d9738192b767ceced4d1a1"
FMEN_REPO, FMEN_COMMIT = "NJU-Jet/FMEN", "a1def169d0e2c99ecebdb1b08bf567f329c3a566"
RLFN_REPO, RLFN_COMMIT = "bytedance/RLFN", "bccfde91bf8b2de80789ec033a029e6f2a932330"


@dataclass(frozen=True)
class WeightsEntry:
    """One official checkpoint file.

    ``form`` is the architecture form it fits ("training" or "deploy"); ``param_key`` the key
    of the wrapper dict upstream's test config loads (None for a flat state dict).
    """

    filename: str
    form: str
    repo: str
    commit: str
    path: str
    sha256: str
    license: str
    param_key: Optional[str] = None

    @property
    def url(self) -> str:
        """Raw-file download address at the pinned commit."""
        return f"https://raw.githubusercontent.com/{self.repo}/{self.commit}/{self.path}"


@dataclass(frozen=True)
class ModelSpec:
    """Registry entry of one model (think torchvision's ``WeightsEnum`` + timm's registry).

    Attributes:
        name: registry key (lower-case, e.g. ``"lkdn-s"``).
        title, paper: display name and citation.
        scale: upscale factor.
        pixel_range: native white level of the upstream network (1 or 255); the public
            interface is always [0, 1] (see :class:`~pocketsr.mobile_models.SRNet`).
        builder: ``builder(rep: bool) -> nn.Module`` upstream network in training
            (``rep=True``) or deploy form.
        weights: official checkpoints by form; the first entry is the pretrained source.
        reference: ``{dataset: (psnr_y dB, ssim_y)}`` reproduced by the deploy model.
        seam_overlaps: ``{PSNR floor dB: overlap}``: the smallest tile overlap (LR pixels) whose
            tiled output stays at least that close to whole-image inference (worst of the five
            real photographs of ``../shared``, 180x320 tiles, fp32; ``tools/seam_curve.py``).
        default_seam_floor: for a network that is not local (no overlap makes tiling exact):
            the ``seam_overlaps`` floor whose overlap tiling uses by default (the largest floor
            the tile allows when None). Chosen where more overlap stops paying for its compute.
        default: part of the default ``pocketsr convert`` job.
        origin: where a model that pocketsr does not ship came from, written into each
            artifact's manifest: ``{"model_def": {...}}`` for a network defined in a user's .py
            file, ``{"entry_point": {...}}`` for one an installed package registers (see
            :mod:`pocketsr.mobile_models.model_def`); None for the built-in models.
    """

    name: str
    title: str
    paper: str
    scale: int
    pixel_range: float
    builder: Callable[[bool], nn.Module]
    first_conv: str
    last_conv: str
    weights: Tuple[WeightsEntry, ...]
    license: str
    reference: Dict[str, Tuple[float, float]] = field(default_factory=dict)
    seam_overlaps: Dict[int, int] = field(default_factory=dict)
    has_training_form: bool = True
    default: bool = True
    default_seam_floor: Optional[int] = None
    origin: Optional[Dict] = None

    def weights_for(self, form: str) -> Optional[WeightsEntry]:
        return next((w for w in self.weights if w.form == form), None)

    @property
    def pretrained_source(self) -> WeightsEntry:
        return self.weights[0]

    def build(self, form: str) -> SRNet:
        """Randomly initialised model of ``form`` ("training" or "deploy") in the public wrapper."""
        if form not in ("training", "deploy"):
            raise InputError(f"unknown form {form!r}: use 'training' or 'deploy'")
        if form == "training" and not self.has_training_form:
            raise InputError(f"{self.title} has no separate training form")
        body = self.builder(form == "training")
        return SRNet(body, self.scale, self.pixel_range, self.first_conv, self.last_conv)


def _lkdn_weights(filename: str, form: str, sha: str, key: Optional[str]) -> WeightsEntry:
    return WeightsEntry(filename, form, LKDN_REPO, LKDN_COMMIT,
                        f"experiments/pretrained_models/LKDN/{filename}", sha, "MIT", key)


_LKDN_PAPER = ("Xie, Liu, Gu, Chen, Zhang: Large Kernel Distillation Network for Efficient "
               "Single Image Super-Resolution, CVPRW 2023")
_FMEN_PAPER = ("Du, Liu, Zeng, Chen, Zhang, Cheng, Cheng: Fast and Memory-Efficient Network "
               "Towards Efficient Image Super-Resolution, CVPRW 2022")

MODELS: Dict[str, ModelSpec] = {}


def register(spec: ModelSpec) -> ModelSpec:
    """Add a model to the registry (names are case-insensitive)."""
    MODELS[spec.name] = spec
    return spec


register(ModelSpec(
    name="lkdn-s", title="LKDN-S", paper=_LKDN_PAPER, scale=4, pixel_range=1.0,
    builder=lambda rep: LKDNet(num_feat=42, num_block=5, scale=4, rep=rep),
    first_conv="fea_conv.pw", last_conv="upsampler.0",
    weights=(
        _lkdn_weights("LKDN-S_x4.pth", "training",
                      "39ff2c69cdeb40f842c9f93368caee3323a4309c350373edeb2dc9ef3cc05851", "params_ema"),
        _lkdn_weights("LKDN-S_del_rep_x4.pth", "deploy",
                      "b802a3945d7d4f22f836668a78448b37fe5da90d7b08afc564fbddfa594a8cf1", None),
    ),
    license="MIT",
    reference={"Set5": (32.1016, 0.8938), "Set14": (28.6232, 0.7821)},
    seam_overlaps={60: 2, 80: 12, 100: 24},
))

register(ModelSpec(
    name="fmen-s", title="FMEN-S", paper=_FMEN_PAPER, scale=4, pixel_range=255.0,
    builder=lambda rep: FMENet(rep=rep),
    first_conv="head", last_conv="tail.0",
    weights=(
        WeightsEntry("FMEN-S_x4_test_weights.pt", "deploy", FMEN_REPO, FMEN_COMMIT, "test_weights.pt",
                     "d5534eba1feacfdd4043d9175d3bf0730b1ab4c91ba5c3f40a2282cd496fb4a5", "Apache-2.0"),
    ),
    license="Apache-2.0",
    reference={"Set5": (32.1153, 0.8949), "Set14": (28.5698, 0.7814)},
    seam_overlaps={60: 2, 80: 12, 100: 16},
))

for _scale, _sha in ((2, "02b429e795ad0863fdf21c6924c79344e30a39d637c44442d13124193b012e6b"),
                     (3, "52835d49d402683ea2085c13e4afc3aca49f6b806ea29d6ed29b2238cd7874c5"),
                     (4, "f534422583c99dad994fd7df897f6f872637218430cfedf6c2d2a072ea86dbd7")):
    register(ModelSpec(
        name=f"lkdn-x{_scale}", title=f"LKDN x{_scale}", paper=_LKDN_PAPER, scale=_scale, pixel_range=1.0,
        builder=(lambda s: (lambda rep: LKDNet(num_feat=56, num_block=8, scale=s, rep=rep)))(_scale),
        first_conv="fea_conv.pw", last_conv="upsampler.0",
        # Full LKDN is published in its plain (deploy) form only.
        weights=(_lkdn_weights(f"LKDN_x{_scale}.pth", "deploy", _sha, "params_ema"),),
        license="MIT", has_training_form=False, default=False,
    ))


_RLFN_PAPER = ("Kong, Li, Chen, Li, Liu, Tian, Zhou: Residual Local Feature Network for Efficient "
               "Super-Resolution, CVPRW 2022 (NTIRE 2022 Efficient SR, runtime track winner)")

# RLFN publishes its plain network only (no reparameterizable training form). Its ESA attention
# downsamples and resizes back, so it is not exactly tileable (see mobile_models/rlfn.py).
for _name, _title, _file, _sha, _cfg, _ref in (
        ("rlfn", "RLFN", "rlfn_x4.pth",
         "8c7edb57dfc89048bafba29d591d4c27d4099964b4a9e22df23d6dc257a637c0", dict(channels=52, blocks=6),
         {"Set5": (32.2379, 0.8953), "Set14": (28.6240, 0.7815)}),
        ("rlfn-s", "RLFN-S", "rlfn_s_x4.pth",
         "f769c5a88433786b2db0c2b24da6ca6c92a24c62344b9354a390f8a74388e89d", dict(channels=48, blocks=6),
         {"Set5": (32.2395, 0.8954), "Set14": (28.6270, 0.7817)}),
        ("rlfn-ntire", "RLFN (NTIRE 2022 entry)", "rlfn_ntire_x4.pth",
         "3c9be7b9d7a4bece9b68c83a56a1ffb38010f76413d5f215be6b4be842e18fb2",
         dict(channels=46, mid_channels=48, blocks=4),
         {"Set5": (32.0973, 0.8939), "Set14": (28.6031, 0.7815)})):
    register(ModelSpec(
        name=_name, title=_title, paper=_RLFN_PAPER, scale=4, pixel_range=255.0,
        builder=(lambda cfg: (lambda rep: RLFNet(scale=4, **cfg)))(_cfg),
        first_conv="conv_1", last_conv="upsampler.0",
        weights=(WeightsEntry(_file, "deploy", RLFN_REPO, RLFN_COMMIT, f"model_zoo/{_file}", _sha,
                              "Apache-2.0"),),
        license="Apache-2.0", reference=_ref, has_training_form=False, default=False,
        # tools/seam_curve.py --models rlfn --two-by-two --images 3 (worst of 3 photos, 180x320
        # tiles): 46.6 dB at overlap 0, 47.9 at 16, 49.7 at 48, 52.7 at 64. Overlap 16 is the
        # default: tiled Set14 Y-PSNR then equals whole-image within 0.002 dB (README).
        seam_overlaps={45: 0, 47: 16, 49: 40, 52: 64} if _name == "rlfn" else {},
        default_seam_floor=47 if _name == "rlfn" else None,
    ))


def _no_entry_points() -> list:
    return []


def _no_own_weights(spec: "ModelSpec") -> Path:
    raise WeightsError(f"{spec.title} has no published weights: give a checkpoint (--weights)")


#: what :mod:`pocketsr.mobile_models.model_def` plugs in when the package is imported (it builds on
#: this module, so this module calls it through these slots instead of importing it):
#: ``load_entry_points() -> [problem lines]`` and ``own_weights(spec) -> Path``
HOOKS = {"load_entry_points": _no_entry_points, "own_weights": _no_own_weights}


def get_spec(name: str) -> ModelSpec:
    """Registry entry by name (case-insensitive). A name not registered yet is looked up in the
    models installed packages register (entry-point group ``pocketsr.models``, loaded on first
    need). Raises :class:`InputError` if unknown (naming entry points that failed to load)."""
    spec = MODELS.get(name.lower())
    if spec is None:
        problems = HOOKS["load_entry_points"]()
        spec = MODELS.get(name.lower())
        if spec is None:
            broken = f" (not loaded: {'; '.join(problems)})" if problems else ""
            raise InputError(f"unknown model {name!r}; available: {', '.join(MODELS)}{broken}")
    return spec


def list_models(default_only: bool = False) -> list:
    """Registry names in registration order (only the default convert set if asked), including
    those of installed packages' ``pocketsr.models`` entry points."""
    HOOKS["load_entry_points"]()
    return [n for n, s in MODELS.items() if s.default or not default_only]


def create_model(name: str, form: str = "deploy", pretrained: bool = True,
                 weights: Optional[Path] = None) -> SRNet:
    """Build a model by registry name, optionally with weights, in eval mode.

    Args:
        name: registry name, e.g. ``"lkdn-s"``, ``"fmen-s"``.
        form: ``"deploy"`` (default) or ``"training"``.
        pretrained: load the official weights (verified by sha256; see
            :func:`pocketsr.mobile_models.weights.resolve_weights`). For ``form="deploy"`` a model whose
            official source is a training-form checkpoint is loaded in training form and
            reparameterized, so the deploy model is what this package computes, not a copy.
        weights: a local checkpoint instead of the official one; its form (training or deploy)
            is detected from its keys. A user network (:mod:`pocketsr.mobile_models.model_def`)
            defaults to the checkpoint it was defined with (sha256-checked).

    Returns:
        :class:`SRNet` — input ``(N, 3, H, W)`` float in [0, 1], output
        ``(N, 3, H*scale, W*scale)`` float in [0, 1].

    Raises:
        InputError: unknown name or form. WeightsError: missing, corrupt, mismatched or
        foreign weights (one-line message naming missing/unexpected keys).
    """
    spec = get_spec(name)
    if weights is None and pretrained and not spec.weights:
        weights = HOOKS["own_weights"](spec)  # a user network: the checkpoint it was defined with
    if weights is not None:
        return _load_local(spec, Path(weights), form)
    if not pretrained:
        return spec.build(form).eval()
    entry = spec.weights_for(form) if form == "training" else spec.pretrained_source
    if entry is None:
        raise WeightsError(f"{spec.title} has no official {form}-form weights "
                           f"(upstream publishes {spec.pretrained_source.form} weights only)")
    model = spec.build(entry.form)
    state = load_state_dict(resolve_weights(entry), entry.param_key)
    check_fits(model.body, state, f"{spec.title} ({entry.form} form)", _guess_model(state))
    model.body.load_state_dict(state, strict=True)
    model.eval()
    if entry.form != form:
        model = reparameterize(model)
    return model


def _guess_model(state) -> Optional[str]:
    """Name the registered model and form whose architecture ``state`` fits, if any."""
    keys = {k: tuple(v.shape) for k, v in state.items()}
    for spec in MODELS.values():
        if spec.origin:  # not a published architecture (and a user's file may be gone)
            continue
        for form in ("training", "deploy") if spec.has_training_form else ("deploy",):
            own = spec.build(form).body.state_dict()
            if keys == {k: tuple(v.shape) for k, v in own.items()}:
                return f"it looks like {spec.title} {form}-form weights"
    return None


def _load_local(spec: ModelSpec, path: Path, form: str) -> SRNet:
    """Load a user checkpoint, detecting whether it is training- or deploy-form."""
    state = load_state_dict(path)
    forms = ("training", "deploy") if spec.has_training_form else ("deploy",)
    for candidate in forms:
        model = spec.build(candidate)
        own = model.body.state_dict()
        if set(own) != set(state):
            continue
        # same key names, other shapes: e.g. RLFN-S weights given to RLFN -> name what it fits
        check_fits(model.body, state, f"{spec.title} ({candidate} form)", _guess_model(state))
        model.body.load_state_dict(state, strict=True)
        model.eval()
        if candidate == "training" and form == "deploy":
            return reparameterize(model)
        if candidate == "deploy" and form == "training":
            raise WeightsError(f"{path} holds {spec.title} deploy-form weights; the training form "
                               "cannot be recovered from them")
        return model
    wanted = form if form in forms else forms[-1]
    check_fits(spec.build(wanted).body, state, f"{spec.title} ({wanted} form)", _guess_model(state))
    raise WeightsError(f"{path} does not fit {spec.title}")  # pragma: no cover
