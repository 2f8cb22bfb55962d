"""PyTorch model zoo of pocketsr: LKDN-S and FMEN-S (and full LKDN) in training and deploy
form, exact reparameterization, and verified official weights.

Entry points: :func:`create_model`, :func:`reparameterize`, :func:`get_spec`, :data:`MODELS`;
:func:`count_macs` for the compute cost of one forward pass.
"""

from .complexity import count_macs
from .rep import RepBlock, ReparameterizationError, reparameterize
from .registry import MODELS, ModelSpec, WeightsEntry, create_model, get_spec, list_models
from .srnet import SRNet
from . import model_def  # noqa: F401  (plugs user networks and entry points into the registry)
from .weights import load_state_dict, resolve_weights, sha256_file

__all__ = [
    "MODELS", "ModelSpec", "WeightsEntry", "SRNet", "RepBlock", "ReparameterizationError",
    "create_model", "get_spec", "list_models", "reparameterize", "load_state_dict",
    "resolve_weights", "sha256_file", "count_macs",
]
