"""The artifact manifest (``<artifact>.json`` beside every artifact) and the folder index.

Schema (version 1) — see ``convert/CONTRACT.md`` for the meaning of each field:

``schema_version, model, title, scale, format, target, precision, file, sha256, size_bytes,
input{name, shape, layout, dtype, range, color}, output{...}, pixel_range_folded,
weights{file, form, sha256, source, license}, tools{...}, created, conversion{...},
validation{...} | null``.

All writes are atomic (temp file in the same folder, fsync, rename), so a crash or Ctrl-C
leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import tempfile
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Dict, Iterator, List

from pocketsr.errors import ArtifactError

SCHEMA_VERSION = 1
INDEX_NAME = "index.json"


def utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


@contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """Yield a temporary path next to ``final``; on success rename it over ``final``.

    On any exception (including KeyboardInterrupt) the temporary file or folder is removed and
    ``final`` is untouched.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if tmp_path.is_file():
            with open(tmp_path, "rb+") as f:
                os.fsync(f.fileno())
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp makes 0600; artifacts are shared files
        os.replace(tmp_path, final)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_json(path: Path, data: Dict) -> None:
    """Write ``data`` as indented JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=False, allow_nan=True) + "\n")


def manifest_path(artifact: Path) -> Path:
    """``foo.tflite`` -> ``foo.tflite.json``."""
    artifact = Path(artifact)
    return artifact.with_name(artifact.name + ".json")


def read_manifest(artifact: Path) -> Dict:
    """Load and sanity-check the manifest of an artifact.

    Raises:
        ArtifactError: manifest missing, not JSON, of another schema, or whose sha256 does not
            match the artifact file (the artifact was replaced or damaged).
    """
    from mobile_models.weights import sha256_file
    artifact = Path(artifact)
    path = manifest_path(artifact)
    if not path.is_file():
        raise ArtifactError(f"no manifest for {artifact} (expected {path.name} beside it)")
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"unreadable manifest {path}: {exc}") from None
    if data.get("schema_version") != SCHEMA_VERSION:
        raise ArtifactError(f"{path}: schema_version {data.get('schema_version')!r}, expected {SCHEMA_VERSION}")
    if artifact.is_file() and sha256_file(artifact) != data.get("sha256"):
        raise ArtifactError(f"{artifact} does not match its manifest's sha256 (file replaced or damaged)")
    return data


def tool_versions(extra: List[str] = ()) -> Dict[str, str]:
    """Installed versions of the packages that shape an artifact."""
    out = {}
    for dist in ["pocketsr", "torch", "numpy", *extra]:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return out


def update_index(out_dir: Path) -> Path:
    """Rewrite ``<out_dir>/index.json`` listing every artifact manifest in the folder."""
    out_dir = Path(out_dir)
    entries = []
    for path in sorted(out_dir.glob("*.json")):
        if path.name == INDEX_NAME:
            continue
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if data.get("schema_version") != SCHEMA_VERSION or "file" not in data:
            continue
        if not (out_dir / data["file"]).exists():  # orphan manifest of an interrupted run
            continue
        val = data.get("validation") or {}
        entries.append({
            "file": data["file"], "manifest": path.name, "model": data["model"],
            "target": data["target"], "precision": data["precision"],
            "input_shape": data["input"]["shape"], "size_bytes": data["size_bytes"],
            "sha256": data["sha256"], "passed": val.get("passed"),
        })
    index = {"schema_version": SCHEMA_VERSION, "updated": utc_now(), "artifacts": entries}
    write_json(out_dir / INDEX_NAME, index)
    return out_dir / INDEX_NAME
