"""The package layout: one import package (``pocketsr``) whose rooms are the repository's
top-level folders, imports pointing only downward, no import cycles, and a wheel that installs
beside configobj (which owns the top-level name ``validate``)."""

import ast
import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: room -> layer; a module may import its own room and rooms of a lower layer only (the
#: layer-0 modules import nothing above the standard library but each other)
LAYERS = {
    "pocketsr.errors": 0, "pocketsr.interrupts": 0, "pocketsr.quiet": 0, "pocketsr.version": 0,
    "pocketsr.mobile_models": 1,
    "pocketsr.runtime": 2,
    "pocketsr.datasets": 3,
    "pocketsr.convert": 4,
    "pocketsr.validate": 5,
    "pocketsr": 6,  # the package itself and its API (pocketsr.api)
    "pocketsr.cli": 7,
}
#: the generic names the wheel must not install at top level
FOREIGN = {"convert", "validate", "mobile_models", "runtime", "datasets"}


def _package_dirs():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]


def _modules():
    """``{dotted name: source path}`` of every module the wheel installs."""
    found = {}
    for package, folder in _package_dirs().items():
        for path in sorted((ROOT / folder).glob("*.py")):
            name = package if path.stem == "__init__" else f"{package}.{path.stem}"
            found[name] = path
    return found


def _imports(name, path):
    """Every project module ``name`` imports, at module level or inside functions."""
    is_package = path.stem == "__init__"
    base = name.split(".") if is_package else name.split(".")[:-1]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parent = base[: len(base) - node.level + 1]
                mod = ".".join(parent + ([node.module] if node.module else []))
            else:
                mod = node.module
            out.add(mod)
            out.update(f"{mod}.{a.name}" for a in node.names)  # `from pkg import submodule`
    return out


def _room(module):
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in LAYERS:
            return ".".join(parts[:n])
    raise AssertionError(f"{module} belongs to no room of LAYERS")


def test_no_generic_top_level_imports_and_imports_point_down():
    modules = _modules()
    assert {"pocketsr.convert.pipeline", "pocketsr.runtime.runners", "pocketsr.datasets.sets",
            "pocketsr.validate.validator", "pocketsr.mobile_models.registry"} <= set(modules)
    wrong = []
    for name, path in modules.items():
        for target in _imports(name, path):
            top = target.split(".")[0]
            if top in FOREIGN:
                wrong.append(f"{name} imports the top-level {target}")
            if top != "pocketsr" or target not in modules and target.rsplit(".", 1)[0] not in modules:
                continue
            target = target if target in modules else target.rsplit(".", 1)[0]
            src, dst = _room(name), _room(target)
            if src != dst and LAYERS[dst] >= LAYERS[src] and LAYERS[src] > 0:
                wrong.append(f"{name} (layer {LAYERS[src]}) imports {target} (layer {LAYERS[dst]})")
    assert not wrong, "\n".join(wrong)


def test_no_import_cycles():
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        targets = set()
        for t in _imports(name, path):
            t = t if t in modules else t.rsplit(".", 1)[0]
            if t in modules and t != name:
                targets.add(t)
        graph[name] = targets
    # a package's __init__ importing its own submodules (registration) is not a cycle of
    # dependencies: the submodules do not need the package's namespace
    for name in graph:
        graph[name] = {t for t in graph[name] if not (t == name.rsplit(".", 1)[0] and t in _package_dirs())}
    index, low, stack, on, cycles, counter = {}, {}, [], set(), [], [0]

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"


def test_convert_does_not_import_validate_and_nothing_imports_the_cli():
    modules = _modules()
    for name, path in modules.items():
        imports = _imports(name, path)
        if name.startswith("pocketsr.convert"):
            assert not {i for i in imports if i.startswith("pocketsr.validate")}, name
        if name != "pocketsr.cli":
            assert not {i for i in imports if i.startswith("pocketsr.cli")}, name


@pytest.mark.slow
def test_wheel_installs_beside_configobj_and_converts_from_anywhere(tmp_path):
    """``pip wheel .`` -> a wheel whose only top-level package is ``pocketsr``; installed (not
    editable) into a new venv together with configobj, it converts and validates from an
    unrelated folder while ``import validate`` still gives configobj's module.

    The new venv reaches the heavy dependencies (torch, LiteRT, coremltools) through a ``.pth``
    line naming this environment's site-packages, which Python appends *after* the venv's own
    site-packages: ``pocketsr`` and ``validate`` resolve to what was installed into the new venv,
    and no second copy of torch is downloaded. This environment's editable ``pocketsr`` finder is
    not active there (``.pth`` files of an appended folder are not run)."""
    import sysconfig

    wheels = tmp_path / "wheels"
    run = dict(capture_output=True, text=True, timeout=900)
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(ROOT)], **run)
    assert r.returncode == 0, r.stderr[-2000:]
    (wheel,) = wheels.glob("pocketsr-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"pocketsr"}, tops
    for data in ("pocketsr/convert/CONTRACT.md", "pocketsr/validate/TILING.md",
                 "pocketsr/validate/templates/report.html.j2", "pocketsr/validate/vectors/tiling.json"):
        assert data in names, data

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    purelib = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             **run).stdout.strip()
    ours = [p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir()]
    assert sysconfig.get_paths()["purelib"] in ours
    Path(purelib, "zz_pocketsr_test_deps.pth").write_text("".join(p + "\n" for p in ours))
    pip = [sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps"]
    r = subprocess.run(pip + [str(wheel), "configobj==5.0.9"], **run)
    assert r.returncode == 0, r.stderr[-2000:]

    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["POCKETSR_SHARED_DATASETS"] = "none"  # an installed wheel has no ../shared; be explicit
    probe = ("import validate, pocketsr, pocketsr.validate.validator as v; "
             "print(validate.__file__); print(pocketsr.__file__); print(v.__file__)")
    r = subprocess.run([str(py), "-c", probe], cwd=work, env=env, **run)
    assert r.returncode == 0, r.stderr[-2000:]
    configobj_validate, package, validator = r.stdout.split()
    assert configobj_validate.startswith(purelib) and "pocketsr" not in configobj_validate
    assert package.startswith(purelib) and validator.startswith(purelib), r.stdout
    pocketsr_cli = venv / "bin" / "pocketsr"
    r = subprocess.run([str(pocketsr_cli), "convert", "-m", "lkdn-s", "-t", "tflite", "-p", "fp32",
                        "--input-size", "64x64", "-o", "out", "--no-report"], cwd=work, env=env, **run)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert (work / "out" / "lkdn-s_x4_64x64_fp32.tflite").is_file()
    assert "pass" in r.stdout
