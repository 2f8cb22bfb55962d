"""Bring your own network: networks pocketsr does not ship, defined here, through the whole job.

Each network is written to a .py file in ``tmp_path`` with weights saved by ``torch.save`` from
a seeded initialisation; the conversions, validations and parity checks are real. Gates run on
the built-in CC0-3 benchmark only (``POCKETSR_DATA_DIR`` points at an empty folder) to keep the
file's runtime down; parity uses the shared photos.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import PHOTOS, assert_one_line_error, run_cli

# Real-ESRGAN's compact net in miniature: conv + PReLU body in a ModuleList, conv to 3*s*s,
# a PixelShuffle of its own and the nearest-upsampled input as residual.
COMPACT = '''
import torch.nn.functional as F
from torch import nn


class CompactSR(nn.Module):
    def __init__(self, channels=24, convs=6, scale=4):
        super().__init__()
        self.scale = scale
        self.body = nn.ModuleList([nn.Conv2d(3, channels, 3, padding=1), nn.PReLU(channels)])
        for _ in range(convs):
            self.body.extend([nn.Conv2d(channels, channels, 3, padding=1), nn.PReLU(channels)])
        self.body.append(nn.Conv2d(channels, 3 * scale * scale, 3, padding=1))
        self.upsampler = nn.PixelShuffle(scale)

    def forward(self, x):
        out = x
        for layer in self.body:
            out = layer(out)
        return self.upsampler(out) + F.interpolate(x, scale_factor=self.scale, mode="nearest")


def helper():
    return 1
'''

# Channel attention from a global average: the output at a pixel depends on the whole image.
ATTENTION = '''
import torch
import torch.nn.functional as F
from torch import nn


class ChannelAttention(nn.Module):
    def __init__(self, channels, reduction=4):
        super().__init__()
        self.down = nn.Conv2d(channels, channels // reduction, 1)
        self.up = nn.Conv2d(channels // reduction, channels, 1)

    def forward(self, x):
        w = F.adaptive_avg_pool2d(x, 1)
        return x * torch.sigmoid(self.up(F.relu(self.down(w))))


class AttentionSR(nn.Module):
    def __init__(self, channels=16, scale=4):
        super().__init__()
        self.head = nn.Conv2d(3, channels, 3, padding=1)
        self.blocks = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(),
                                    ChannelAttention(channels))
        self.tail = nn.Sequential(nn.Conv2d(channels, 3 * scale * scale, 3, padding=1), nn.PixelShuffle(scale))

    def forward(self, x):
        f = self.head(x)
        return self.tail(self.blocks(f) + f)
'''

# A block that declares its fusion: 3x3 + 1x1 + identity -> one 3x3 conv (training form), and
# a model that names its deploy-form twin. Trained on [0, 255] (pixel range folded).
REPNET = '''
import torch
from torch import nn

from pocketsr.mobile_models import RepBlock


class RepConv(RepBlock):
    consumes = ("conv3", "conv1")

    def __init__(self, channels):
        super().__init__()
        self.conv3 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv1 = nn.Conv2d(channels, channels, 1)

    def forward(self, x):
        return self.conv3(x) + self.conv1(x) + x

    def fused_state(self):
        w = self.conv3.weight.clone()
        w[:, :, 1:2, 1:2] += self.conv1.weight
        w[:, :, 1, 1] += torch.eye(w.shape[0])
        return {"conv.weight": w, "conv.bias": self.conv3.bias + self.conv1.bias}


class PlainConv(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x):
        return self.conv(x)


class RepSR(nn.Module):
    def __init__(self, channels=16, blocks=3, scale=4, deploy=False):
        super().__init__()
        self.config = dict(channels=channels, blocks=blocks, scale=scale)
        block = PlainConv if deploy else RepConv
        self.head = nn.Conv2d(3, channels, 3, padding=1)
        self.blocks = nn.Sequential(*[nn.Sequential(block(channels), nn.ReLU()) for _ in range(blocks)])
        self.tail = nn.Sequential(nn.Conv2d(channels, 3 * scale * scale, 3, padding=1), nn.PixelShuffle(scale))

    def forward(self, x):
        f = self.head(x)
        return self.tail(self.blocks(f) + f)

    def deploy_twin(self):
        return RepSR(**self.config, deploy=True)


class NoTwinSR(RepSR):
    deploy_twin = None
'''

# Networks that must be refused, one cause each.
BROKEN = '''
import torch
import torch.nn.functional as F
from torch import nn


class Plain(nn.Module):
    def __init__(self, channels=8, scale=4):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(3, channels, 3, padding=1), nn.ReLU(),
                                 nn.Conv2d(channels, 3 * scale * scale, 3, padding=1), nn.PixelShuffle(scale))

    def forward(self, x):
        return self.net(x)


class LogSR(Plain):
    def forward(self, x):
        return self.net(x) + torch.log(F.interpolate(x, scale_factor=4) - 0.5)


class SigmoidSkipSR(Plain):
    def forward(self, x):
        return self.net(x) + F.interpolate(torch.sigmoid(x), scale_factor=4)


class NotAModule:
    pass


def factory():
    return Plain()
'''

# An op Core ML cannot convert (coremltools 9.0 has no torch.lerp converter; litert-torch has).
LERP = '''
import torch
from torch import nn


class SoftClipSR(nn.Module):
    def __init__(self, channels=8, scale=4):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(3, channels, 3, padding=1), nn.ReLU(),
                                 nn.Conv2d(channels, 3 * scale * scale, 3, padding=1), nn.PixelShuffle(scale))

    def forward(self, x):
        y = self.net(x)
        return torch.lerp(y, y.clamp(0.0, 1.0), 0.75)
'''


def write_net(folder: Path, name: str, source: str, cls: str, seed: int = 0, **args) -> Path:
    """``folder/name.py`` with ``source`` and ``folder/name_<cls>.pt``: the state dict of
    ``cls(**args)`` seeded with ``seed``. Returns the weights path."""
    import importlib.util

    py = folder / f"{name}.py"
    py.write_text(textwrap.dedent(source))
    spec = importlib.util.spec_from_file_location(f"_test_{name}_{seed}", py)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    torch.manual_seed(seed)
    weights = folder / f"{name}_{cls}.pt"
    torch.save(getattr(module, cls)(**args).state_dict(), weights)
    return weights


@pytest.fixture
def gate_on_cc0(tmp_path, monkeypatch):
    """Gate on the built-in CC0-3 benchmark only (no Set5/Set14 folder)."""
    empty = tmp_path / "no-datasets"
    empty.mkdir()
    monkeypatch.setenv("POCKETSR_DATA_DIR", str(empty))
    return empty


def manifest_of(artifact: Path) -> dict:
    return json.loads(artifact.with_name(artifact.name + ".json").read_text())


# -- 1. an SRVGGNetCompact-shaped net through the CLI, then in a fresh process ------------------

def test_compact_net_converts_validates_and_works_in_a_new_process(tmp_path, capfd, gate_on_cc0):
    weights = write_net(tmp_path, "compact", COMPACT, "CompactSR", seed=1)
    out = tmp_path / "artifacts"
    common = ["--model-def", f"{tmp_path / 'compact.py'}:CompactSR", "--weights", weights, "--scale", "4",
              "--input-size", "48x64", "-o", out, "--photos", PHOTOS, "--no-report"]
    code, stdout, err = run_cli(capfd, "convert", *common, "-t", "tflite", "-t", "coreml", "-p", "fp32")
    assert code == 0, err
    code, stdout, err = run_cli(capfd, "convert", *common, "-t", "tflite", "-p", "int8-dynamic")
    assert code == 0, err
    tfl, cml = out / "compactsr_x4_48x64_fp32.tflite", out / "compactsr_x4_48x64_fp32.mlpackage"
    int8 = out / "compactsr_x4_48x64_int8-dynamic.tflite"
    assert tfl.is_file() and cml.is_dir() and int8.is_file()
    for artifact in (tfl, cml, int8):
        m = manifest_of(artifact)
        assert m["validation"]["passed"], (artifact.name, m["validation"]["failures"])
        assert m["validation"]["gated_on"] == ["CC0-3"]
        rec = m["model_def"]
        assert rec["path"] == str(tmp_path / "compact.py") and rec["class"] == "CompactSR"
        assert rec["weights"]["path"] == str(weights) and rec["weights"]["form"] == "deploy"
        assert not rec["training_form"] and not rec["reparameterized"] and rec["pixel_range"] == 1.0
    fp32 = manifest_of(tfl)["validation"]
    assert fp32["parity"]["psnr_db"] > 100 and manifest_of(cml)["validation"]["parity"]["psnr_db"] > 100
    # its PixelShuffle is not fed by a conv inside an nn.Sequential: the GPU rewrite says why it was skipped
    assert manifest_of(tfl)["conversion"]["rewrites_skipped"][0]["rewrite"] == "depth_to_space"

    # a process that never saw the definition: validate, report, bundle, upscale
    script = textwrap.dedent(f"""
        import sys
        from pocketsr.cli import main
        for argv in ({["validate", str(tfl), "--json", "--photos", str(PHOTOS)]!r},
                     {["report", str(out), "--latency-runs", "1", "--images", "1", "--photos", str(PHOTOS)]!r},
                     {["bundle", str(out), "-o", str(tmp_path / "bundle"), "--golden", "1"]!r},
                     {["upscale", str(PHOTOS / "camera.png"), "-o", str(tmp_path / "up.png"), "-a", str(tfl)]!r}):
            try:
                main(argv)
            except SystemExit as exc:
                if exc.code:
                    print("FAILED", argv[0], exc.code, file=sys.stderr)
                    raise
    """)
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600,
                       env={**os.environ, "POCKETSR_DATA_DIR": str(gate_on_cc0)})
    assert r.returncode == 0, r.stderr[-2000:]
    report, _ = json.JSONDecoder().raw_decode(r.stdout)  # validate --json comes first
    assert report[0]["passed"] and report[0]["parity"]["psnr_db"] > 100
    data = json.loads((out / "report.json").read_text())
    assert {a["file"] for a in data["artifacts"]} == {tfl.name, cml.name, int8.name}
    assert "compactsr" in data["torch_latency"]
    bundle = json.loads((tmp_path / "bundle" / "bundle.json").read_text())
    assert {a["model"] for a in bundle["artifacts"]} == {"compactsr"}
    from PIL import Image
    with Image.open(PHOTOS / "camera.png") as a, Image.open(tmp_path / "up.png") as b:
        assert b.size == (a.size[0] * 4, a.size[1] * 4)

    # the definition changes after conversion: the reference cannot be rebuilt, in one line
    (tmp_path / "compact.py").write_text(COMPACT + "\n# edited\n")
    r = subprocess.run([sys.executable, "-m", "pocketsr.cli", "validate", str(tfl)], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    (line,) = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert line.startswith("error: ") and "compact.py changed since compactsr was converted" in line


# -- 2. a network that is not local: tiling is not exact -----------------------------------------

def test_global_attention_net_is_not_tileable_exactly(tmp_path, capfd, gate_on_cc0):
    weights = write_net(tmp_path, "attention", ATTENTION, "AttentionSR", seed=2)
    code, _, err = run_cli(capfd, "convert", "--model-def", f"{tmp_path / 'attention.py'}:AttentionSR",
                           "--weights", weights, "--scale", "4", "-t", "tflite", "-p", "fp32",
                           "--input-size", "48x64", "-o", tmp_path / "out", "--photos", PHOTOS, "--no-report")
    assert code == 0, err
    m = manifest_of(tmp_path / "out" / "attentionsr_x4_48x64_fp32.tflite")
    tiling = m["tiling"]
    assert tiling["exact"] is False and tiling["receptive_field_radius"] is None
    assert "adaptive_avg_pool2d" in tiling["not_local"]
    assert m["validation"]["passed"] and m["validation"]["parity"]["psnr_db"] > 100
    # the deploy form runs as defined (DEPTH_TO_SPACE rewrite applies: conv + shuffle in a Sequential)
    assert [r["rewrite"] for r in m["conversion"]["rewrites"]] == ["depth_to_space"]


# -- 3. a network whose RepBlocks declare their fusion -------------------------------------------

def test_repblock_net_is_reparameterized_and_keeps_its_function(tmp_path, capfd, gate_on_cc0):
    import pocketsr
    from pocketsr.runtime.images import crops, to_tensor_array
    from pocketsr.datasets.sets import real_photos

    weights = write_net(tmp_path, "repnet", REPNET, "RepSR", seed=3)
    name = pocketsr.define_model(f"{tmp_path / 'repnet.py'}:RepSR", weights, 4, pixel_range=255,
                                 model_args='{"channels": 16, "blocks": 3}', name="RepSR-255")
    assert name == "repsr-255"
    training = pocketsr.create_model(name, "training")
    deploy = pocketsr.create_model(name, "deploy")
    assert any(type(m).__name__ == "RepConv" for m in training.modules())
    assert not any(type(m).__name__ == "RepConv" for m in deploy.modules())
    assert sum(p.numel() for p in deploy.parameters()) < sum(p.numel() for p in training.parameters())
    rng = np.random.default_rng(0)
    with torch.no_grad():
        for _, img in real_photos(PHOTOS):
            x = torch.from_numpy(to_tensor_array(crops(img, (48, 64), 1, rng)[0]))
            ref = training.body(x * 255)
            assert ref.abs().max() > 1.0  # a non-trivial output
            assert (ref - deploy.body(x * 255)).abs().max() <= 1e-4 * ref.abs().max()
            # the [0, 255] range folded into the first and last conv computes the same function
            folded = deploy.fold_pixel_range()
            assert (deploy(x) - folded(x)).abs().max() <= 1e-5

    # and the whole job on it: training-form weights in, deploy form converted and gated
    out = tmp_path / "out"
    manifests = pocketsr.convert_models(name, "tflite", "fp32", input_size=(48, 64), output=out, weights=weights,
                                        photos=PHOTOS)
    (m,) = manifests
    assert m["validation"]["passed"] and m["validation"]["parity"]["psnr_db"] > 100
    rec = m["model_def"]
    assert rec["reparameterized"] and rec["weights"]["form"] == "training" and rec["training_form"]
    assert rec["reparameterization_max_rel"] <= 1e-4
    assert (rec["first_conv"], rec["last_conv"]) == ("head", "tail.0") and rec["fold_max_abs"] <= 1e-4
    assert m["pixel_range"] == {"native": 255.0, "folded_into_weights": True, "method": "first/last conv"}


# -- 4. bad input: one line each, exit 2, nothing written -----------------------------------------

@pytest.fixture(scope="module")
def broken(tmp_path_factory):
    folder = tmp_path_factory.mktemp("broken")
    weights = write_net(folder, "broken", BROKEN, "Plain")
    (folder / "raises.py").write_text("import torch\nraise RuntimeError('this network needs CUDA')\n")
    write_net(folder, "repnet", REPNET, "RepSR")
    other = write_net(folder, "wide", BROKEN, "Plain", channels=12)
    return folder, weights, other


def _bad_cases(folder, weights, other):
    py = folder / "broken.py"
    return [
        (["--model-def", f"{folder / 'nope.py'}:Net", "--weights", weights, "--scale", "4"],
         "model definition file not found"),
        (["--model-def", str(py), "--weights", weights, "--scale", "4"], "use PATH.py:ClassName"),
        (["--model-def", f"{py}:Missing", "--weights", weights, "--scale", "4"],
         "class Missing not found in broken.py; its nn.Module classes: Plain, LogSR, SigmoidSkipSR"),
        (["--model-def", f"{py}:NotAModule", "--weights", weights, "--scale", "4"],
         "NotAModule in broken.py is a class, not a torch.nn.Module subclass"),
        (["--model-def", f"{py}:factory", "--weights", weights, "--scale", "4"], "factory in broken.py is a function, not a torch.nn.Module subclass"),
        (["--model-def", f"{folder / 'raises.py'}:Net", "--weights", weights, "--scale", "4"],
         "raises.py raises on import: RuntimeError: this network needs CUDA"),
        (["--model-def", f"{py}:Plain", "--weights", weights, "--scale", "4", "--model-args", "{channels: 8}"],
         "--model-args is not JSON"),
        (["--model-def", f"{py}:Plain", "--weights", weights, "--scale", "4", "--model-args", "[8]"],
         "--model-args must be a JSON object"),
        (["--model-def", f"{py}:Plain", "--weights", weights, "--scale", "4", "--model-args", '{"width": 8}'],
         "rejects the arguments: TypeError"),
        (["--model-def", f"{py}:Plain", "--weights", other, "--scale", "4"],
         "checkpoint does not fit Plain(): 3 shape mismatches (net.0.weight (12, 3, 3, 3)≠(8, 3, 3, 3)"),
        (["--model-def", f"{folder / 'repnet.py'}:RepSR", "--weights", weights, "--scale", "4"],
         "checkpoint does not fit RepSR(): 16 missing keys (head.weight, head.bias, blocks.0.0.conv3.weight, …); "
         "4 unexpected keys (net.0.weight"),
        (["--model-def", f"{py}:Plain", "--weights", folder / "none.pt", "--scale", "4"], "weights file not found"),
        (["--model-def", f"{py}:Plain", "--weights", weights, "--scale", "2"],
         "Plain output is (1, 3, 96, 128) for a (1, 3, 24, 32) input; --scale 2 needs (1, 3, 48, 64)"),
        (["--model-def", f"{py}:LogSR", "--weights", weights, "--scale", "4"],
         "LogSR output is not finite on 4 of 4 real photo crops"),
        (["--model-def", f"{folder / 'repnet.py'}:NoTwinSR", "--weights", folder / "repnet_RepSR.pt", "--scale", "4"],
         "NoTwinSR has RepBlocks (blocks.0.0, blocks.1.0, blocks.2.0) but no deploy_twin()"),
        (["--model-def", f"{py}:SigmoidSkipSR", "--weights", weights, "--scale", "4", "--pixel-range", "255"],
         "cannot fold --pixel-range 255 into SigmoidSkipSR: scaling its first conv (net.0) by 255"),
        (["--model-def", f"{py}:Plain", "--weights", weights, "--scale", "4", "--pixel-range", "100"],
         "bad --pixel-range 100"),
        (["--model-def", f"{py}:Plain", "--weights", weights, "--scale", "4", "--name", "lkdn-s"],
         "name lkdn-s is taken by the built-in model LKDN-S"),
        (["--model-def", f"{py}:Plain", "--weights", weights], "--model-def needs --scale"),
        (["--model-def", f"{py}:Plain", "--scale", "4"], "--model-def needs --weights"),
        (["--model-def", f"{py}:Plain", "--weights", weights, "--scale", "4", "-m", "lkdn-s"],
         "give --model or --model-def, not both"),
        (["-m", "lkdn-s", "--scale", "4"], "--model-args, --scale, --pixel-range and --name are for --model-def"),
    ]


def test_bad_model_definitions_are_one_line(broken, capfd, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder, weights, other = broken
    for args, fragment in _bad_cases(folder, weights, other):
        code, _, err = run_cli(capfd, "convert", *args, "-o", tmp_path / "out")
        assert_one_line_error(code, err, fragment)
        assert not (tmp_path / "out").exists() and not (tmp_path / "artifacts").exists()


def test_an_op_one_target_cannot_convert_keeps_the_other_targets_artifact(tmp_path, capfd, gate_on_cc0):
    weights = write_net(tmp_path, "softclip", LERP, "SoftClipSR", seed=4)
    out = tmp_path / "out"
    code, stdout, err = run_cli(capfd, "convert", "--model-def", f"{tmp_path / 'softclip.py'}:SoftClipSR",
                                "--weights", weights, "--scale", "4", "-t", "coreml", "-t", "tflite", "-p", "fp32",
                                "--input-size", "48x64", "-o", out, "--photos", PHOTOS, "--no-report")
    assert_one_line_error(code, err, "1 of 2 conversion(s) failed", "softclipsr coreml fp32",
                          "coremltools cannot convert op 'lerp'", "1 other artifact(s) written", exit_code=4)
    row = [ln for ln in stdout.splitlines() if "softclipsr" in ln and "coreml" in ln]
    assert row and "NOT CONVERTED" in row[0]  # the summary table says which one failed
    assert sorted(p.name for p in out.iterdir()) == ["index.json", "softclipsr_x4_48x64_fp32.tflite",
                                                     "softclipsr_x4_48x64_fp32.tflite.json"]
    m = manifest_of(out / "softclipsr_x4_48x64_fp32.tflite")
    assert m["validation"]["passed"]
    index = json.loads((out / "index.json").read_text())
    assert [a["file"] for a in index["artifacts"]] == ["softclipsr_x4_48x64_fp32.tflite"]


# -- 5. models an installed package registers ----------------------------------------------------

PLUGIN = '''
from torch import nn

from pocketsr.mobile_models import ModelSpec


class TinySR(nn.Module):
    def __init__(self, scale=2):
        super().__init__()
        self.conv = nn.Conv2d(3, 3 * scale * scale, 3, padding=1)
        self.shuffle = nn.PixelShuffle(scale)

    def forward(self, x):
        return self.shuffle(self.conv(x))


def models():
    return [ModelSpec(name="Tiny-Plugin", title="TinySR (plugin)", paper="a test package", scale=2,
                      pixel_range=1.0, builder=lambda rep: TinySR(), first_conv="conv", last_conv="conv",
                      weights=(), license="MIT", has_training_form=False, default=False)]
'''


def test_installed_package_registers_models_through_entry_points(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "byo_models.py").write_text(textwrap.dedent(PLUGIN))
    dist = site / "byo_models-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: byo-models\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[pocketsr.models]\ntiny = byo_models:models\nbroken = byo_models_gone:models\n")
    torch.manual_seed(5)
    torch.save({"conv.weight": torch.randn(12, 3, 3, 3) * 0.1, "conv.bias": torch.zeros(12)}, tmp_path / "tiny.pt")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    script = textwrap.dedent(f"""
        import pocketsr
        from pocketsr.errors import InputError
        from pocketsr.mobile_models import get_spec
        print(pocketsr.list_models())
        spec = get_spec("tiny-plugin")
        print(spec.title, spec.origin["entry_point"])
        model = pocketsr.create_model("tiny-plugin", weights={str(tmp_path / 'tiny.pt')!r})
        print(tuple(model(__import__("torch").rand(1, 3, 8, 12)).shape))
        try:
            get_spec("no-such-model")
        except InputError as exc:
            print(exc)
    """)
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    names, origin, shape, missing = r.stdout.splitlines()
    assert eval(names)[-1] == "tiny-plugin" and "lkdn-s" in eval(names)
    assert origin.startswith("TinySR (plugin) {'name': 'tiny', 'value': 'byo_models:models', "
                             "'distribution': 'byo-models', 'version': '1.0'}")
    assert shape == "(1, 3, 16, 24)"
    assert ("not loaded: entry point broken = byo_models_gone:models of byo-models 1.0: "
            "ModuleNotFoundError: No module named 'byo_models_gone'") in missing
    # the console script lists it beside the built-in models, and upscales with it
    exe = str(Path(sys.executable).parent / "pocketsr")
    r = subprocess.run([exe, "models"], capture_output=True, text=True, env={**env, "COLUMNS": "250"}, timeout=300)
    assert r.returncode == 0 and "tiny-plugin" in r.stdout and "entry point of byo-models 1.0" in r.stdout
    assert "note: not loaded: entry point broken" in r.stderr
    r = subprocess.run([exe, "upscale", str(PHOTOS / "camera.png"), "-o", str(tmp_path / "x2.png"), "-m", "tiny-plugin",
                        "--weights", str(tmp_path / "tiny.pt")], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    from PIL import Image
    with Image.open(PHOTOS / "camera.png") as a, Image.open(tmp_path / "x2.png") as b:
        assert b.size == (a.size[0] * 2, a.size[1] * 2)
