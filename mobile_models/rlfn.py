"""RLFN: Residual Local Feature Network for efficient single-image SR.

Written from the paper (Kong, Li, Chen, Li, Liu, Tian, Zhou: "Residual Local Feature Network
for Efficient Super-Resolution", CVPRW 2022 — ByteESR, first place in the NTIRE 2022
Efficient SR challenge's runtime track) and the official implementation's layer layout
(bytedance/RLFN @ bccfde9, Apache-2.0, ``model/block.py``, ``model/rlfn.py``,
``model/rlfn_s.py``, ``model/rlfn_ntire.py``). Sub-module names equal the upstream ones so the
official checkpoints load with ``strict=True``.

RLFN has no separate training form: upstream trains and publishes the plain network, so the
deploy form is the network itself.

Native value range: RGB in [0, 255] (upstream ``test_demo.py`` scales its [0, 1] input by 255
and the output back). Input ``(N, 3, H, W)`` float, ``H, W >= 15`` (the ESA branch needs its
strided conv and 7x7 max-pool to leave at least one value); output ``(N, 3, H * scale,
W * scale)`` float in the same range.

Not local: each block's ESA attention downsamples (3x3 conv, stride 2, no padding; max-pool 7,
stride 3), then resizes bilinearly back to the block's input size. The pooling grid is anchored
at the image's top-left corner and the resize factor depends on the image size, so a tile sees
a different attention map than the whole image does near its content — tiling is not exact
for any overlap (``pocketsr.runtime.tiling`` measures how close it gets).
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

LRELU_SLOPE = 0.05


def _conv(c_in: int, c_out: int, k: int) -> nn.Conv2d:
    """``k x k`` conv with 'same' zero padding and a bias."""
    return nn.Conv2d(c_in, c_out, k, padding=(k - 1) // 2)


class ESA(nn.Module):
    """Enhanced spatial attention as RLFN uses it: ``(N, C, H, W) -> (N, C, H, W)``, ``x * m``
    with ``m`` in (0, 1).

    ``c = conv1(x)`` (1x1, C -> f); the attention path is ``conv2`` (3x3, stride 2, no padding)
    -> max-pool 7 / stride 3 -> ``conv3`` (3x3) -> bilinear resize to ``H x W`` (half-pixel
    centres, ``align_corners=False``); added to ``conv_f(c)`` (1x1), then ``conv4`` (1x1, f -> C)
    and a sigmoid. Needs ``H, W >= 15``.
    """

    def __init__(self, esa_channels: int, n_feats: int):
        super().__init__()
        f = esa_channels
        self.conv1 = nn.Conv2d(n_feats, f, 1)
        self.conv_f = nn.Conv2d(f, f, 1)
        self.conv2 = nn.Conv2d(f, f, 3, stride=2, padding=0)
        self.conv3 = nn.Conv2d(f, f, 3, padding=1)
        self.conv4 = nn.Conv2d(f, n_feats, 1)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x: Tensor) -> Tensor:
        c = self.conv1(x)
        low = F.max_pool2d(self.conv2(c), kernel_size=7, stride=3)
        low = F.interpolate(self.conv3(low), size=(x.shape[2], x.shape[3]), mode="bilinear",
                            align_corners=False)
        return x * self.sigmoid(self.conv4(low + self.conv_f(c)))


class RLFB(nn.Module):
    """Residual local feature block: three 3x3 convs with LeakyReLU(0.05) and a residual add,
    a 1x1 conv ``c5``, then :class:`ESA`. ``(N, C, H, W) -> (N, C, H, W)``."""

    def __init__(self, channels: int, mid_channels: int = 0, esa_channels: int = 16):
        super().__init__()
        mid = mid_channels or channels
        self.c1_r = _conv(channels, mid, 3)
        self.c2_r = _conv(mid, mid, 3)
        self.c3_r = _conv(mid, channels, 3)
        self.c5 = _conv(channels, channels, 1)
        self.esa = ESA(esa_channels, channels)
        self.act = nn.LeakyReLU(LRELU_SLOPE)

    def forward(self, x: Tensor) -> Tensor:
        out = self.act(self.c1_r(x))
        out = self.act(self.c2_r(out))
        out = self.act(self.c3_r(out)) + x
        return self.esa(self.c5(out))


class RLFNet(nn.Module):
    """RLFN trunk: ``conv_1`` (3x3, 3 -> C), ``blocks`` RLFBs named ``block_1..block_n``,
    ``conv_2`` (3x3) plus a long residual, and ``upsampler`` (3x3 conv to ``3 * scale**2``
    channels, PixelShuffle).

    Official configurations (x4): RLFN ``channels=52, blocks=6`` (543,740 parameters); RLFN-S
    ``channels=48, blocks=6`` (470,208); the NTIRE 2022 entry ``channels=46, mid_channels=48,
    blocks=4`` (317,218).
    """

    def __init__(self, channels: int = 52, blocks: int = 6, mid_channels: int = 0, scale: int = 4,
                 esa_channels: int = 16):
        super().__init__()
        self.conv_1 = _conv(3, channels, 3)
        self.n_blocks = blocks
        for i in range(1, blocks + 1):
            self.add_module(f"block_{i}", RLFB(channels, mid_channels, esa_channels))
        self.conv_2 = _conv(channels, channels, 3)
        self.upsampler = nn.Sequential(_conv(channels, 3 * scale * scale, 3), nn.PixelShuffle(scale))

    def forward(self, x: Tensor) -> Tensor:
        feature = self.conv_1(x)
        out = feature
        for i in range(1, self.n_blocks + 1):
            out = getattr(self, f"block_{i}")(out)
        return self.upsampler(self.conv_2(out) + feature)
