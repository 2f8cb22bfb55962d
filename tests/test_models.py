"""Registry, strict loading of the official checkpoints and reparameterization equivalence."""

import copy

import pytest
import torch

from conftest import WEIGHTS
from pocketsr.mobile_models import (MODELS, ReparameterizationError, create_model, get_spec, list_models, load_state_dict, reparameterize)
from pocketsr.errors import InputError, WeightsError


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def test_registry_entries_carry_weights_metadata():
    assert list_models(default_only=True) == ["lkdn-s", "fmen-s"]
    for spec in MODELS.values():
        assert spec.scale in (2, 3, 4)
        for w in spec.weights:
            assert len(w.sha256) == 64 and w.url.startswith("https://raw.githubusercontent.com/")
            assert w.commit in w.url and w.license in ("MIT", "Apache-2.0")
    assert get_spec("LKDN-S").pixel_range == 1.0 and get_spec("fmen-s").pixel_range == 255.0
    with pytest.raises(InputError, match="unknown model"):
        get_spec("edsr")


@pytest.mark.parametrize("name,form,file,tensors,params", [
    ("lkdn-s", "training", "LKDN-S_x4.pth", 196, 172_449),
    ("lkdn-s", "deploy", "LKDN-S_del_rep_x4.pth", 160, 129_177),
    ("fmen-s", "deploy", "FMEN-S_x4_test_weights.pt", 68, 341_066),
    ("lkdn-x4", "deploy", "LKDN_x4.pth", None, 321_992),
])
def test_official_checkpoints_load_strictly(name, form, file, tensors, params):
    state = load_state_dict(WEIGHTS / file, "params_ema")
    model = get_spec(name).build(form)
    model.body.load_state_dict(state, strict=True)  # raises on any key/shape difference
    if tensors:
        assert len(state) == tensors
    assert n_params(model) == params


def test_params_ema_is_preferred_over_params():
    raw = torch.load(WEIGHTS / "LKDN-S_x4.pth", map_location="cpu", weights_only=True)
    state = load_state_dict(WEIGHTS / "LKDN-S_x4.pth")
    k = "B1.c1_r.pw.weight"
    assert torch.equal(state[k], raw["params_ema"][k])
    assert not torch.equal(raw["params"][k], raw["params_ema"][k])


def test_lkdn_s_reparameterization_reproduces_official_deploy_checkpoint():
    deploy = create_model("lkdn-s", "deploy")  # = reparameterize(official training checkpoint)
    ours = deploy.body.state_dict()
    official = load_state_dict(WEIGHTS / "LKDN-S_del_rep_x4.pth")
    assert set(ours) == set(official)
    for key, value in official.items():
        assert ours[key].shape == value.shape, key
        assert torch.allclose(ours[key], value, rtol=0, atol=2e-6), (key, (ours[key] - value).abs().max())


def test_lkdn_s_deploy_equals_training_on_real_images(photo_crops):
    training = create_model("lkdn-s", "training")
    deploy = reparameterize(training)
    worst = 0.0
    with torch.no_grad():
        for x in photo_crops:
            x = torch.from_numpy(x)
            worst = max(worst, (training(x) - deploy(x)).abs().max().item())
    assert worst <= 1e-5
    # float64 separates algebra from rounding: the fused model is the same function.
    t64, d64 = training.double(), reparameterize(training.double())
    with torch.no_grad():
        x = torch.from_numpy(photo_crops[0]).double()
        assert (t64.body(x) - d64.body(x)).abs().max().item() < 1e-11


def _fmen_training_with_bn_statistics(seed=0):
    torch.manual_seed(seed)
    model = create_model("fmen-s", "training", pretrained=False)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.3, 0.3)
    for m in model.modules():  # keep random activations in a sane range
        if isinstance(m, torch.nn.Conv2d):
            m.weight.data.mul_(0.5)
    return model.eval()


def test_fmen_s_training_to_deploy_on_real_images(photo_crops):
    training = _fmen_training_with_bn_statistics()
    deploy = reparameterize(training)
    assert all(not isinstance(m, torch.nn.BatchNorm2d) for m in deploy.modules())
    assert n_params(deploy) == 341_066
    with torch.no_grad():
        for x in photo_crops:
            x = torch.from_numpy(x) * 255.0
            ref = training.body(x)
            assert ref.abs().max() > 1.0  # a non-trivial output, not all zeros
            err = (ref - deploy.body(x)).abs().max().item()
            assert err <= 1e-5 * max(1.0, ref.abs().max().item()), err
        t64, d64 = training.double(), reparameterize(training.double())
        x = torch.from_numpy(photo_crops[0]).double() * 255
        assert (t64.body(x) - d64.body(x)).abs().max().item() < 1e-9


def test_bn_batch_statistics_are_not_silently_folded():
    # In train mode BN uses batch statistics: deploy must differ, proving the test can fail.
    training = _fmen_training_with_bn_statistics().train()
    deploy = reparameterize(training)
    x = torch.rand(2, 3, 24, 24) * 255
    with torch.no_grad():
        assert (training.body(x) - deploy.body(x)).abs().max() > 1e-3


def test_fmen_range_rescaling_is_exact(photo_crops):
    model = create_model("fmen-s")
    folded = model.fold_pixel_range()
    assert folded.pixel_range == 1.0 and model.pixel_range == 255.0
    with torch.no_grad():
        for x in photo_crops:
            x = torch.from_numpy(x)
            assert (model(x) - folded(x)).abs().max().item() <= 1e-5
    # float64: algebraically identical
    m64, f64 = model.double(), model.double().fold_pixel_range()
    x = torch.from_numpy(photo_crops[1]).double()
    with torch.no_grad():
        assert (m64(x) - f64(x)).abs().max().item() < 1e-12
    # excitate weights moved out of float16's subnormal range
    for hfab in (folded.body.warmup[1], *folded.body.HFABs):
        assert hfab.excitate.weight.abs().max().item() > 1e-3
    with pytest.raises(ValueError):
        copy.deepcopy(_fmen_training_with_bn_statistics().body).rescale_range_(255.0)


def test_public_interface_and_clamp(photo_crops):
    for name in ("lkdn-s", "fmen-s"):
        model = create_model(name)
        x = torch.from_numpy(photo_crops[0])
        with torch.no_grad():
            y = model(x)
        assert y.shape == (1, 3, x.shape[2] * 4, x.shape[3] * 4) and y.dtype == torch.float32
        assert y.min() >= 0 and y.max() <= 1


def test_training_form_of_deploy_only_weights_is_refused():
    with pytest.raises(WeightsError, match="no official training-form weights"):
        create_model("fmen-s", "training")


def test_reparameterize_rejects_mismatched_fusion(monkeypatch):
    from pocketsr.mobile_models.lkdn import BSConvURep
    original = BSConvURep.fused_state
    monkeypatch.setattr(BSConvURep, "fused_state", lambda self: {**original(self), "dw.extra": torch.zeros(1)})
    with pytest.raises(ReparameterizationError):
        reparameterize(create_model("lkdn-s", "training", pretrained=False))


def test_fmen_fp16_weights_need_internal_rescaling(photo_crops):
    """Why FMEN-S's range is rescaled inside the network: with the first/last-conv fold its
    BN-folded attention weights (~1e-8..1e-6) underflow in float16 and the output breaks."""
    from pocketsr.validate.emulate import with_fp16_weights
    from pocketsr.runtime.metrics import parity
    model = create_model("fmen-s")
    naive = with_fp16_weights(model.fold_pixel_range(internal=False))
    rescaled = with_fp16_weights(model.fold_pixel_range())
    with torch.no_grad():
        for x in photo_crops:
            x = torch.from_numpy(x)
            ref = model(x).numpy()
            assert parity(naive(x).numpy(), ref)["psnr_db"] < 55
            assert parity(rescaled(x).numpy(), ref)["psnr_db"] > 70


def test_lkdn_fp16_headroom_rescaling_is_exact_and_needed(photo_crops):
    """LKDN-S's LayerNorm inputs overflow float16 on real photos; the exact power-of-two
    rescaling (SRNet.fp16_headroom_rescale_, chosen on probe images, not these crops) keeps the
    float32 function and makes a float16 run finite and close."""
    from pocketsr.datasets.sets import probe_images
    from pocketsr.runtime.metrics import parity
    model = create_model("lkdn-s").fold_pixel_range().eval()
    rescaled = copy.deepcopy(model)
    records = rescaled.fp16_headroom_rescale_([torch.from_numpy(x) for x in probe_images()])
    assert len(records) == 5 and all(r["layernorm_input_scale"] <= 1 for r in records)
    assert min(r["layernorm_input_scale"] for r in records) < 2 ** -10  # a real rescale happened
    assert create_model("fmen-s").fold_pixel_range().fp16_headroom_rescale_([]) == []  # no-op
    peaks = []
    hooks = [getattr(rescaled.body, f"B{i}").c6.register_forward_hook(
        lambda m, i, o: peaks.append(float(o.abs().max()))) for i in range(1, 6)]
    naive_broken = 0
    half, naive_half = copy.deepcopy(rescaled).half(), copy.deepcopy(model).half()
    with torch.no_grad():
        for x in map(torch.from_numpy, photo_crops):
            ref = model(x)
            assert (rescaled(x) - ref).abs().max().item() <= 1e-5
            y16 = half(x.half()).float()
            assert torch.isfinite(y16).all() and parity(y16.numpy(), ref.numpy())["psnr_db"] > 60
            naive_broken += not torch.isfinite(naive_half(x.half())).all().item()
    for h in hooks:
        h.remove()
    assert max(peaks) < 65504 / 8
    assert naive_broken >= 1  # without it, float16 overflows to inf/NaN on real photos
