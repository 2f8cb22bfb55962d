"""Model-independent reparameterization: training form -> deploy form.

A training-form block that can be fused subclasses :class:`RepBlock` and says two things:
which of its own sub-modules the fusion consumes (``consumes``) and what the deploy-form
parameters under its prefix are (:meth:`RepBlock.fused_state`). :func:`reparameterize` walks
any model, collects those, copies every other tensor unchanged and loads the result into the
deploy twin with ``strict=True`` — so a block that forgets a tensor, or fuses into a wrong key,
fails loudly instead of silently producing a different network.
"""

from __future__ import annotations

import copy
from typing import Dict, Tuple

import torch
from torch import Tensor, nn


class RepBlock(nn.Module):
    """Base class of training-form blocks that fuse into plain convolutions.

    Subclasses set ``consumes`` (names of direct sub-modules whose tensors disappear in the
    deploy form) and implement :meth:`fused_state`.
    """

    consumes: Tuple[str, ...] = ()

    def fused_state(self) -> Dict[str, Tensor]:  # pragma: no cover - abstract
        """Deploy-form tensors of this block, keyed relative to the block."""
        raise NotImplementedError


class ReparameterizationError(RuntimeError):
    """The fused tensors do not fit the deploy-form architecture."""


def reparameterize(model: nn.Module) -> nn.Module:
    """Return the deploy form of a training-form model; the input model is not modified.

    The model must implement ``deploy_twin() -> nn.Module`` that builds the deploy-form
    architecture with the same configuration (for the pocketsr wrapper :class:`SRNet`, this
    delegates to the wrapped network). The returned model is in eval mode, same dtype.

    Raises:
        ReparameterizationError: if the fused state does not match the deploy architecture.
    """
    if not hasattr(model, "deploy_twin"):
        raise TypeError(f"{type(model).__name__} has no deploy_twin(); is it a training-form model?")
    model = copy.deepcopy(model).eval()
    state: Dict[str, Tensor] = {}
    consumed = set()
    for name, module in model.named_modules():
        if not isinstance(module, RepBlock):
            continue
        prefix = f"{name}." if name else ""
        with torch.no_grad():
            for key, value in module.fused_state().items():
                state[prefix + key] = value.detach().clone()
        for sub in module.consumes:
            for key in getattr(module, sub).state_dict():
                consumed.add(f"{prefix}{sub}.{key}")
    for key, value in model.state_dict().items():
        if key not in consumed and key not in state:
            state[key] = value.detach().clone()
    deploy = model.deploy_twin()
    deploy = deploy.to(dtype=next(model.parameters()).dtype)
    try:
        deploy.load_state_dict(state, strict=True)
    except RuntimeError as exc:  # shape or key mismatch: a fusion bug
        raise ReparameterizationError(str(exc).splitlines()[0]) from exc
    return deploy.eval()
