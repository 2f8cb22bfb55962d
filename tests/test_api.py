"""The Python API: the README's example runs as written, and the CLI's help reads as paragraphs."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _readme_example() -> str:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Python API"):]
    section = section[: section.index("\n## ", 4)]
    (code,) = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    return code


def test_readme_python_api_example_runs(tmp_path):
    """The example, verbatim, in a fresh interpreter in an empty folder on the fresh-machine path
    (no ../shared: gated on the built-in CC0-3 benchmark)."""
    env = {**os.environ, "POCKETSR_SHARED_DATASETS": "none"}
    r = subprocess.run([sys.executable, "-c", _readme_example()], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    lines = r.stdout.splitlines()
    assert lines[0] == "['lkdn-s', 'fmen-s', 'lkdn-x2', 'lkdn-x3', 'lkdn-x4', 'rlfn', 'rlfn-s', 'rlfn-ntire']"
    name, passed, psnr, gated_on = lines[1].split(" ", 3)
    assert name == "lkdn-s_x4_64x64_fp32.tflite" and passed == "True" and float(psnr) > 100
    assert gated_on == "['CC0-3']"
    assert lines[2] == "(640, 384)"
    from PIL import Image
    assert Image.open(tmp_path / "astronaut_x4.png").size == (640, 384)
    assert (tmp_path / "artifacts" / "index.json").is_file()


def test_import_pocketsr_is_light():
    """``import pocketsr`` (and reading its version) loads no heavy library."""
    code = ("import sys, pocketsr; print(pocketsr.__version__); "
            "print(sorted(m for m in ('torch', 'numpy', 'ai_edge_litert', 'coremltools') if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    version, heavy = r.stdout.splitlines()
    assert re.fullmatch(r"\d+\.\d+\.\d+", version) and heavy == "[]"


def test_api_errors_are_exceptions_not_exits():
    import pytest

    import pocketsr
    from pocketsr.errors import InputError

    with pytest.raises(InputError, match="unknown model"):
        pocketsr.create_model("nope")
    with pytest.raises(InputError, match="exactly one of"):
        pocketsr.upscale(Path("x.png"))


def _help(*args):
    env = {**os.environ, "COLUMNS": "250", "TERM": "dumb"}
    r = subprocess.run([str(Path(sys.executable).parent / "pocketsr"), *args, "--help"], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_help_renders_paragraphs():
    """Docstrings are wrapped in the source; ``--help`` must reflow them, not break sentences
    where the source lines happen to end."""
    top = _help()
    assert ("artifacts beside PyTorch eager (deploy and training form) and ONNX Runtime, same input, "
            "each in its own process.") in top
    assert "decoding, inference and encoding overlap in threads; frame rate and audio are kept." in top
    conv = _help("convert")
    assert ("The main job: official weights, deploy form, then one artifact per model, target and precision, "
            "each validated, then a summary table and the conversion report (report.html).") in conv
    assert "Ctrl-C stops it (exit 130)" in conv
