"""Paper estimate of phone frame rates — an ESTIMATE, not a measurement on a phone.

Method:
1. MACs of each deploy model per LR pixel (:func:`pocketsr.mobile_models.count_macs`, PyTorch's
   FlopCounterMode).
2. Published on-device latency of a comparable x4 SR network on phone NPUs: Real-ESRGAN
   General x4v3 (SRVGGNetCompact: 3x3 convs 3->64, 32 x (64->64 + PReLU), 64->48, pixel
   shuffle x4; 1.21 M parameters) at 128x128 input, TFLite fp16 on the NPU, from Qualcomm AI
   Hub Models ``qai_hub_models/models/real_esrgan_general_x4v3/perf_float.yaml`` (jobs of
   2025-04-01): Samsung Galaxy S23 (Snapdragon 8 Gen 2) 6.929 ms, Galaxy S24 (Snapdragon 8
   Gen 3) 5.277 ms. Its MACs are counted here on the same architecture (random weights; the
   published model's nearest-upsampled residual add is elementwise and not counted).
   Cross-check from the same source: QuickSRNetLarge (x3, 436 K parameters of 3x3 convs at
   LR resolution, 128x128, so about 436 K x 16384 = 7.1 GMAC) took 2.511 ms on the S23 —
   the same ~2.8 TMAC/s.
3. Achieved MAC/s differ by architecture: LKDN-S has 13x13 depthwise convs, LayerNorm and
   GELU; FMEN-S sigmoid attention. Their efficiency relative to the plain network is measured
   on this machine (LiteRT XNNPACK fp32, same input 180x320, same run, median of runs) and
   applied to the phone figure ("derated"); the plain-network efficiency is the upper bound.
   NPUs usually penalise depthwise convolutions more than CPUs, so even the derated figure
   is optimistic for LKDN-S.

fps at LR camera-preview sizes = phone MAC/s x efficiency / (MACs per LR pixel x LR pixels).

Reproduce:  POCKETSR_WEIGHTS_DIR=../shared/weights .venv/bin/python tools/phone_estimate.py [--runs 10] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pocketsr.convert.base import get_target  # noqa: E402
from pocketsr.convert.pipeline import build_artifact  # noqa: E402
from pocketsr.mobile_models import count_macs, create_model  # noqa: E402
from pocketsr.validate.bench import time_runs  # noqa: E402
from pocketsr.runtime.runners import TFLiteRunner  # noqa: E402

#: published NPU latency (ms) of Real-ESRGAN General x4v3 at 128x128, TFLite fp16 (source above)
PUBLISHED_MS = {"Galaxy S23 (Snapdragon 8 Gen 2)": 6.929, "Galaxy S24 (Snapdragon 8 Gen 3)": 5.277}
PUBLISHED_INPUT = (128, 128)
#: LR sizes (x4 -> 1280x960, 1920x1080, 2560x1440)
PREVIEW_SIZES = [(240, 320), (270, 480), (360, 640)]
SIZE = (180, 320)


class PlainX4(nn.Module):
    """SRVGGNetCompact-shaped plain x4 network (architecture of Real-ESRGAN General x4v3)."""

    scale = 4

    def __init__(self, feat: int = 64, convs: int = 32):
        super().__init__()
        layers = [nn.Conv2d(3, feat, 3, padding=1), nn.PReLU(feat)]
        for _ in range(convs):
            layers += [nn.Conv2d(feat, feat, 3, padding=1), nn.PReLU(feat)]
        layers += [nn.Conv2d(feat, 3 * 16, 3, padding=1), nn.PixelShuffle(4)]
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        return self.body(x)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    torch.manual_seed(0)
    plain = PlainX4().eval()
    plain_macs = count_macs(plain, PUBLISHED_INPUT)
    plain_mac_px = plain_macs / (PUBLISHED_INPUT[0] * PUBLISHED_INPUT[1])
    phone_macs = {d: plain_macs / (ms / 1000) for d, ms in PUBLISHED_MS.items()}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        paths = {"plain": tmp / "plain.tflite"}
        get_target("tflite").convert(plain, SIZE, "fp32", paths["plain"])
        for name in ("lkdn-s", "fmen-s"):
            paths[name], _ = build_artifact(name, "tflite", "fp32", SIZE, tmp)
        runners = {k: TFLiteRunner(p, threads=args.threads) for k, p in paths.items()}
        x = np.random.default_rng(0).random((1, 3, *SIZE), dtype=np.float32)
        # interleave the measurements so drifting machine load hits all three alike
        samples = {k: [] for k in runners}
        for _ in range(3):
            for k, r in runners.items():
                samples[k].append(time_runs(r, x, max(3, args.runs // 3), 3)["median_ms"])
        ms = {k: statistics.median(v) for k, v in samples.items()}
    px = SIZE[0] * SIZE[1]
    here = {"plain": plain_mac_px * px / (ms["plain"] / 1000)}
    result = {"published_ms_128x128": PUBLISHED_MS, "plain_kmac_per_px": plain_mac_px / 1e3,
              "phone_gmac_per_s": {d: v / 1e9 for d, v in phone_macs.items()},
              "desktop_ms_180x320": ms, "threads": args.threads, "models": []}
    print(f"reference plain x4 net: {plain_mac_px / 1e3:.0f} kMAC/LR px; "
          + "; ".join(f"{d}: {v / 1e12:.2f} TMAC/s" for d, v in phone_macs.items()))
    print(f"this machine, LiteRT fp32 {args.threads} threads at 180x320: plain {ms['plain']:.1f} ms "
          f"({here['plain'] / 1e9:.1f} GMAC/s)")
    for name in ("lkdn-s", "fmen-s"):
        mac_px = count_macs(create_model(name, "deploy", pretrained=False), SIZE) / px
        rate = mac_px * px / (ms[name] / 1000)
        eff = rate / here["plain"]
        row = {"model": name, "kmac_per_px": mac_px / 1e3, "desktop_ms": ms[name], "desktop_gmac_per_s": rate / 1e9,
               "efficiency_vs_plain": eff, "fps": []}
        print(f"{name}: {mac_px / 1e3:.1f} kMAC/LR px, here {ms[name]:.1f} ms ({rate / 1e9:.1f} GMAC/s, "
              f"{100 * eff:.0f} % of the plain net's)")
        for h, w in PREVIEW_SIZES:
            for dev, macs in phone_macs.items():
                upper = macs / (mac_px * h * w)
                row["fps"].append({"lr": [h, w], "device": dev, "upper": upper, "derated": upper * eff})
                print(f"  LR {w}x{h} -> {4 * w}x{4 * h}  {dev}: <= {upper:.0f} fps, derated {upper * eff:.0f} fps")
        result["models"].append(row)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
