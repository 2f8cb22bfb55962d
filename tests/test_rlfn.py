"""RLFN (bytedance/RLFN): official checkpoints, reference quality, the non-local ESA block
through tiling, both targets and the Linux Core ML executor's resampling ops."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from conftest import PHOTOS, SET5, WEIGHTS
from pocketsr.mobile_models import create_model, get_spec, load_state_dict


@pytest.mark.parametrize("name,file,params", [
    ("rlfn", "rlfn_x4.pth", 543_740),
    ("rlfn-s", "rlfn_s_x4.pth", 470_208),
    ("rlfn-ntire", "rlfn_ntire_x4.pth", 317_218),
])
def test_official_rlfn_checkpoints_load_strictly(name, file, params):
    spec = get_spec(name)
    assert spec.pixel_range == 255.0 and not spec.has_training_form and not spec.default
    assert spec.pretrained_source.filename == file and spec.pretrained_source.commit.startswith("bccfde9")
    model = spec.build("deploy")
    model.body.load_state_dict(load_state_dict(WEIGHTS / file), strict=True)
    assert sum(p.numel() for p in model.parameters()) == params


def test_rlfn_checkpoints_are_not_confused():
    """Each variant's file fits only its own architecture; the error names the one it fits."""
    from pocketsr.errors import WeightsError
    with pytest.raises(WeightsError, match="RLFN-S deploy-form"):
        create_model("rlfn", weights=WEIGHTS / "rlfn_s_x4.pth")


def test_rlfn_reproduces_its_reference_on_set5():
    from pocketsr.datasets.benchmark import evaluate
    from pocketsr.datasets.sets import load_benchmark
    from pocketsr.runtime.runners import TorchRunner
    r = evaluate(TorchRunner(create_model("rlfn"), 4, 2), load_benchmark(SET5, 4))
    psnr, ssim = get_spec("rlfn").reference["Set5"]
    assert abs(r["psnr_y"] - psnr) < 1e-3 and abs(r["ssim_y"] - ssim) < 1e-3


def test_rlfn_is_not_local_and_its_tiling_record_says_how_close_tiles_get():
    """The receptive-field rules refuse the ESA's strided conv; the manifest record gives the
    overlap for the best measured seam floor the tile allows and measures it now; and the
    measurement can fail: without overlap the seams are worse."""
    from pocketsr.convert.pipeline import conversion_model
    from pocketsr.runtime.tiling import UnboundedReceptiveField, measure_seam, receptive_field_radius, tiling_record
    spec = get_spec("rlfn")
    model, _ = conversion_model(create_model("rlfn"))
    with pytest.raises(UnboundedReceptiveField, match="strided"):
        receptive_field_radius(model, 4)
    rec = tiling_record(model, 4, (64, 96), spec.seam_overlaps)
    assert rec["receptive_field_radius"] is None and rec["exact"] is False and "strided" in rec["not_local"]
    assert rec["default_overlap"] == 16 == spec.seam_overlaps[spec.default_seam_floor]
    assert rec["overlap_for_psnr_db"] == {"45": 0, "47": 16}  # those a 64x96 tile allows
    assert rec["seam_psnr_db"] is not None
    assert measure_seam(model, 4, (64, 96), 0) < rec["seam_psnr_db"] - 2  # 45.3 vs 49.6 dB


def test_registry_seam_floors_of_rlfn_hold_on_a_real_photo():
    """tools/seam_curve.py's floors for RLFN (worst case: 2x2 tiles, 180x320) on one photo."""
    from pocketsr.runtime.images import to_tensor_array
    from pocketsr.runtime.runners import TorchRunner
    from pocketsr.runtime.tiling import seam_curve
    spec = get_spec("rlfn")
    assert spec.seam_overlaps
    runner = TorchRunner(create_model("rlfn"), 4, 2)
    img = to_tensor_array(np.asarray(Image.open(PHOTOS / "rocket.jpg").convert("RGB")))
    floors = sorted(spec.seam_overlaps.items())
    rows = seam_curve(runner, 4, [img], (180, 320), [o for _, o in floors], two_by_two=True)
    for (floor, overlap), row in zip(floors, rows):
        assert row["psnr_db"] is None or row["psnr_db"] >= floor, (floor, overlap, row)


def test_upscale_with_rlfn_says_seams_are_approximate():
    from pocketsr.api import upscale_array
    img = np.asarray(Image.open(PHOTOS / "rocket.jpg").convert("RGB"))[:120, :200]
    sr, info = upscale_array(img, model="rlfn", tile=(64, 96))
    assert sr.shape == (480, 800, 3)
    assert info["radius"] is None and "not local" in info["notes"][0]


@pytest.mark.parametrize("align,half", [(False, True), (True, False), (False, False)])
def test_mil_bilinear_grid_matches_the_reference_definitions(align, half):
    """The executor's MIL bilinear grid against torch (align_corners / half-pixel centres, the
    non-integer factors RLFN's ESA uses) and, for the legacy grid, the definition itself."""
    from pocketsr.runtime.mil_executor import _bilinear
    x = torch.rand(1, 4, 9, 14, generator=torch.Generator().manual_seed(0))
    ours = _bilinear(x, (64, 96), align, half)
    if half or align:
        ref = F.interpolate(x, size=(64, 96), mode="bilinear", align_corners=align)
    else:  # grid i * in / out: the (0, 0)-anchored samples of an exactly upscaled copy
        ref = F.interpolate(x, scale_factor=(64 / 9, 96 / 14), mode="bilinear", align_corners=False,
                            recompute_scale_factor=False)
        ys, xs = np.arange(64) * 9 / 64, np.arange(96) * 14 / 96
        y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
        wy, wx = torch.tensor(ys - y0).float(), torch.tensor(xs - x0).float()
        y1, x1 = np.minimum(y0 + 1, 8), np.minimum(x0 + 1, 13)
        rows = x[:, :, y0] * (1 - wy)[:, None] + x[:, :, y1] * wy[:, None]
        ref = rows[..., x0] * (1 - wx) + rows[..., x1] * wx
    assert torch.allclose(ours, ref, atol=1e-6)


def test_rlfn_converts_to_both_targets_within_the_gates(tmp_path):
    """The ESA's max-pool and bilinear resize through litert-torch (LiteRT interpreter) and
    coremltools (saved package, Linux executor with float16 emulation), gated like LKDN-S."""
    from pocketsr.convert.pipeline import plan, run_jobs
    from pocketsr.validate.validator import Validator
    jobs = plan(["rlfn"], ["tflite", "coreml"], None)
    jobs = [j for j in jobs if (j.target, j.precision) in (("tflite", "fp32"), ("coreml", "fp16"))]
    manifests = run_jobs(jobs, (64, 96), tmp_path, Validator([], PHOTOS))
    assert len(manifests) == 2
    for m in manifests:
        v = m["validation"]
        assert v["passed"], (m["file"], v["parity"]["psnr_db"])
        assert m["tiling"]["exact"] is False and m["tiling"]["receptive_field_radius"] is None
    gpu = manifests[0]["gpu_delegate"]  # the whole ESA maps to builtins the GPU delegate takes
    assert gpu["ops"]["MAX_POOL_2D"] == gpu["ops"]["RESIZE_BILINEAR"] == 6
    assert gpu["compatible"] and gpu["opengl_es_compatible"]
