"""Finding, downloading, verifying and reading checkpoint files.

Where a registry weights entry comes from, in order:

1. ``POCKETSR_WEIGHTS_DIR`` — a directory holding the files under their registry file names
   (for offline machines; ``../shared/weights`` in this repository's tests). sha256 is checked.
2. the user cache ``$POCKETSR_CACHE_DIR`` (default ``~/.cache/pocketsr/weights``), filled by
   downloading the pinned upstream raw file with ``torch.hub.download_url_to_file`` and its
   sha256 check (it writes to a temporary file and renames, so no half file is left).
   ``POCKETSR_WEIGHTS_URL`` replaces the upstream address by ``<base>/<file name>`` (a mirror).

A local file given with ``--weights`` is read as-is (its form is detected from its keys).
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
from pathlib import Path
from typing import Dict, Optional

import torch
from torch import Tensor, nn

from pocketsr.errors import WeightsError

CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def cache_dir() -> Path:
    """Directory downloaded weights are kept in (created on demand)."""
    base = os.environ.get("POCKETSR_CACHE_DIR")
    return Path(base) if base else Path.home() / ".cache" / "pocketsr" / "weights"


def _verify(path: Path, sha256: str, origin: str) -> Path:
    actual = sha256_file(path)
    if actual != sha256:
        raise WeightsError(f"sha256 mismatch for {path} ({origin}): expected {sha256[:16]}…, "
                           f"got {actual[:16]}… — the file is corrupt, truncated or a different version")
    return path


def resolve_weights(entry, progress: bool = True) -> Path:
    """Local path of a verified copy of a registry :class:`WeightsEntry`, downloading if needed.

    Raises:
        WeightsError: file missing from ``POCKETSR_WEIGHTS_DIR``, sha256 mismatch, or download
            failure (HTTP error, network error, truncated transfer).
    """
    local_dir = os.environ.get("POCKETSR_WEIGHTS_DIR")
    if local_dir:
        path = Path(local_dir) / entry.filename
        if not path.is_file():
            raise WeightsError(f"{entry.filename} not found in POCKETSR_WEIGHTS_DIR={local_dir}")
        return _verify(path, entry.sha256, "POCKETSR_WEIGHTS_DIR")
    target = cache_dir() / entry.filename
    if target.is_file():
        if sha256_file(target) == entry.sha256:
            return target
        target.unlink()  # stale or corrupt cache entry: fetch again
    return download(entry, target, progress=progress)


def download(entry, target: Path, progress: bool = True) -> Path:
    """Download ``entry`` to ``target`` with sha256 verification (atomic: temp file + rename)."""
    mirror = os.environ.get("POCKETSR_WEIGHTS_URL")
    url = f"{mirror.rstrip('/')}/{entry.filename}" if mirror else entry.url
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        torch.hub.download_url_to_file(url, str(target), hash_prefix=entry.sha256, progress=progress)
    except urllib.error.HTTPError as exc:
        raise WeightsError(f"download of {entry.filename} failed: HTTP {exc.code} from {url}") from None
    except urllib.error.URLError as exc:
        raise WeightsError(f"download of {entry.filename} failed: {exc.reason} ({url}); "
                           "offline? set POCKETSR_WEIGHTS_DIR to a folder with the file") from None
    except RuntimeError as exc:
        if "invalid hash value" in str(exc):
            raise WeightsError(f"download of {entry.filename} from {url} has the wrong sha256 "
                               f"(expected {entry.sha256[:16]}…): truncated transfer or a different "
                               "file; nothing was kept") from None
        raise WeightsError(f"download of {entry.filename} failed: {exc}") from None
    except OSError as exc:  # IncompleteRead and friends: the transfer ended early
        raise WeightsError(f"download of {entry.filename} failed: {type(exc).__name__}: {exc} ({url})") from None
    if not target.is_file():
        raise WeightsError(f"download of {entry.filename} produced no file")
    return target


def load_state_dict(path: Path, param_key: Optional[str] = None) -> Dict[str, Tensor]:
    """Read a checkpoint into a flat ``{name: tensor}`` dict (CPU, ``weights_only=True``).

    Accepts a flat state dict or BasicSR's ``{'params', 'params_ema'}`` wrapper (``params_ema``
    preferred, as upstream's test configs load), and strips a DataParallel ``module.`` prefix.

    Raises:
        WeightsError: missing file, not a PyTorch checkpoint, truncated archive, or no tensors.
    """
    path = Path(path)
    if not path.exists():
        raise WeightsError(f"weights file not found: {path}")
    if not path.is_file():
        raise WeightsError(f"weights path is not a file: {path}")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises RuntimeError/UnpicklingError/EOFError/ValueError...
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise WeightsError(f"cannot read {path} as a PyTorch checkpoint (truncated or not a "
                           f"checkpoint): {first[:160]}") from None
    if isinstance(obj, dict):
        for key in ([param_key] if param_key else []) + ["params_ema", "params", "state_dict", "model"]:
            if key in obj and isinstance(obj[key], dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not obj or not all(torch.is_tensor(v) for v in obj.values()):
        raise WeightsError(f"{path} is not a state dict of tensors")
    return {k[7:] if k.startswith("module.") else k: v for k, v in obj.items()}


def check_fits(module: nn.Module, state: Dict[str, Tensor], label: str,
               hint: Optional[str] = None) -> None:
    """Check that ``state`` loads into ``module`` with ``strict=True``; one-line error otherwise.

    Raises:
        WeightsError: naming the number and first few missing / unexpected / mis-shaped keys,
            plus ``hint`` (e.g. which other registered model the checkpoint fits).
    """
    own = module.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [f"{k} {tuple(state[k].shape)}≠{tuple(own[k].shape)}" for k in own
              if k in state and state[k].shape != own[k].shape]
    if not (missing or unexpected or shapes):
        return

    def few(keys):
        return ", ".join(keys[:3]) + (", …" if len(keys) > 3 else "")

    parts = []
    if missing:
        parts.append(f"{len(missing)} missing keys ({few(missing)})")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected keys ({few(unexpected)})")
    if shapes:
        parts.append(f"{len(shapes)} shape mismatches ({few(shapes)})")
    msg = f"checkpoint does not fit {label}: " + "; ".join(parts)
    if hint:
        msg += f" — {hint}"
    raise WeightsError(msg)
