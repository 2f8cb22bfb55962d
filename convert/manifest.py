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
import shutil
import tempfile
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

from pocketsr.errors import ArtifactError, InputError

SCHEMA_VERSION = 1
INDEX_NAME = "index.json"
#: the conversion report beside the artifacts (pocketsr.validate.report)
REPORT_HTML, REPORT_JSON = "report.html", "report.json"


def utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def ensure_writable(folder: Path) -> bool:
    """Check, before any work, that files can be created in ``folder`` (made if missing, with
    its parents). Returns whether this call created it (so an interrupted first run can remove
    it again while empty).

    Raises:
        InputError: ``cannot write to FOLDER: reason`` (read-only or immutable folder, a file in
            the way, a path under ``/proc``, no permission).
    """
    folder = Path(folder)
    existed = folder.is_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".pocketsr-write-check.", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        if not existed and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
        raise InputError(f"cannot write to {folder}: {exc.strerror or exc}") from None
    return not existed


@contextmanager
def atomic_path(final: Path, directory: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to ``final``; on success rename it over ``final``.

    ``directory=True`` (folder artifacts such as ``.mlpackage``): the temporary path is an empty
    folder whose name ends with ``final``'s suffix (writers may replace it); its files are
    synced before the rename. A folder cannot be renamed over a non-empty folder, so an existing
    ``final`` is first moved aside and deleted after the new one is in place (a reader can see
    neither for an instant, never a partial one).

    On any exception (including KeyboardInterrupt) the temporary file or folder is removed and
    ``final`` is untouched.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    if directory:
        tmp_path = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp" + final.suffix,
                                         dir=final.parent))
    else:
        fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
        os.close(fd)
        tmp_path = Path(tmp)
    umask = os.umask(0)
    os.umask(umask)
    old = None
    try:
        yield tmp_path
        if tmp_path.is_file():
            with open(tmp_path, "rb+") as f:
                os.fsync(f.fileno())
            os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp makes 0600; artifacts are shared files
        elif tmp_path.is_dir():
            for path in [tmp_path, *sorted(tmp_path.rglob("*"))]:
                if path.is_dir():
                    os.chmod(path, 0o777 & ~umask)  # mkdtemp makes 0700
                elif path.is_file():
                    with open(path, "rb+") as f:
                        os.fsync(f.fileno())
                    os.chmod(path, 0o666 & ~umask)
        if tmp_path.is_dir() and final.is_dir():
            old = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".old", dir=final.parent))
            os.replace(final, old)
        os.replace(tmp_path, final)
    finally:
        for leftover in (tmp_path, old):
            if leftover is not None and leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            elif leftover is not None and leftover.exists():
                leftover.unlink()


def artifact_sha256(path: Path) -> str:
    """Hex sha256 of an artifact: of the file's bytes, or for a folder artifact (``.mlpackage``)
    of every file in it, in sorted relative-path order, each as ``path NUL size NUL bytes`` —
    deterministic, and any renamed, added, removed or changed file changes it."""
    import hashlib

    from pocketsr.mobile_models.weights import sha256_file

    path = Path(path)
    if path.is_file():
        return sha256_file(path)
    if not path.is_dir():
        raise ArtifactError(f"artifact not found: {path}")
    h = hashlib.sha256()
    for f in sorted((p for p in path.rglob("*") if p.is_file()), key=lambda p: p.relative_to(path).as_posix()):
        h.update(f.relative_to(path).as_posix().encode() + b"\0" + str(f.stat().st_size).encode() + b"\0")
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def artifact_size(path: Path) -> int:
    """Bytes of an artifact file, or of all files in a folder artifact."""
    path = Path(path)
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def write_json(path: Path, data: Dict) -> None:
    """Write ``data`` as indented JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=False, allow_nan=True) + "\n")


def input_hw(manifest: Dict) -> Optional[Tuple[int, int]]:
    """The fixed LR input ``(H, W)`` in pixels of an artifact, from its manifest's input shape
    (``NHWC``: ``shape[1:3]``, else ``shape[2:4]``); None for a dynamic-size artifact."""
    shape = manifest["input"]["shape"]
    hw = shape[1:3] if manifest["input"].get("layout", "NHWC") == "NHWC" else shape[2:4]
    return None if min(hw) < 1 else (int(hw[0]), int(hw[1]))


def manifest_path(artifact: Path) -> Path:
    """``foo.tflite`` -> ``foo.tflite.json``."""
    artifact = Path(artifact)
    return artifact.with_name(artifact.name + ".json")


def read_manifest(artifact: Path) -> Dict:
    """Load and sanity-check the manifest of an artifact.

    A manifest with a ``model_def`` record (a user's network, ``pocketsr convert --model-def``)
    registers that network under the manifest's model name
    (:func:`pocketsr.mobile_models.model_def.register_record`), so the PyTorch reference can be
    rebuilt in this process.

    Raises:
        ArtifactError: manifest missing, not JSON, of another schema, or whose sha256 does not
            match the artifact file (the artifact was replaced or damaged); a malformed
            ``model_def`` record or one whose name another model already has.
    """
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
    if artifact.exists() and artifact_sha256(artifact) != data.get("sha256"):
        raise ArtifactError(f"{artifact} does not match its manifest's sha256 (file replaced or damaged)")
    if "model_def" in data:  # a user's network: known to this process from now on (nothing imported yet)
        from pocketsr.mobile_models.model_def import register_record
        register_record(data["model"], data["model_def"])
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
            "sha256": data["sha256"], "validated": bool(val), "passed": val.get("passed"),
        })
    index = {"schema_version": SCHEMA_VERSION, "updated": utc_now(), "artifacts": entries}
    write_json(out_dir / INDEX_NAME, index)
    return out_dir / INDEX_NAME
