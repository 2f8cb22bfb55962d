"""Each fusion helper against the pattern it replaces, in float64 on random tensors."""

import torch
import torch.nn.functional as F

from pocketsr.mobile_models import fusion

torch.manual_seed(0)
D = torch.float64


def test_identity_kernel_is_identity():
    x = torch.randn(1, 6, 9, 9, dtype=D)
    for groups in (1, 6):
        w = fusion.identity_kernel(6, 3, groups, dtype=D)
        assert torch.equal(F.conv2d(x, w, padding=1, groups=groups), x)


def test_add_branches_matches_parallel_convs():
    x = torch.randn(2, 5, 11, 13, dtype=D)
    w3, b3 = torch.randn(7, 5, 3, 3, dtype=D), torch.randn(7, dtype=D)
    w1, b1 = torch.randn(7, 5, 1, 1, dtype=D), torch.randn(7, dtype=D)
    w, b = fusion.add_branches((w3, b3), (w1, b1))
    want = F.conv2d(x, w3, b3, padding=1) + F.conv2d(x, w1, b1)
    assert torch.allclose(F.conv2d(x, w, b, padding=1), want, atol=1e-12)


def test_fuse_linear_before_with_bias_padding_is_exact():
    x = torch.randn(1, 4, 10, 12, dtype=D)
    w1, b1 = torch.randn(8, 4, 1, 1, dtype=D), torch.randn(8, dtype=D)
    w3, b3 = torch.randn(6, 8, 3, 3, dtype=D), torch.randn(6, dtype=D)
    mid = fusion.pad_with_values(F.conv2d(x, w1, b1), b1)  # upstream bias padding
    want = F.conv2d(mid, w3, b3)
    w, b = fusion.fuse_linear_before(w3, b3, w1[:, :, 0, 0], b1)
    assert torch.allclose(F.conv2d(x, w, b, padding=1), want, atol=1e-11)
    # zero padding instead of bias padding would NOT be equivalent: the test can fail.
    wrong = F.conv2d(F.pad(F.conv2d(x, w1, b1), (1, 1, 1, 1)), w3, b3)
    assert not torch.allclose(wrong, want, atol=1e-6)


def test_fuse_linear_after():
    x = torch.randn(1, 4, 8, 8, dtype=D)
    w, b = torch.randn(6, 4, 3, 3, dtype=D), torch.randn(6, dtype=D)
    m, s = torch.randn(5, 6, dtype=D), torch.randn(5, dtype=D)
    want = F.conv2d(F.conv2d(x, w, b, padding=1), m[:, :, None, None], s)
    fw, fb = fusion.fuse_linear_after(w, b, m, s)
    assert torch.allclose(F.conv2d(x, fw, fb, padding=1), want, atol=1e-11)


def _random_bn(c):
    bn = torch.nn.BatchNorm2d(c).to(D).eval()
    bn.running_mean.uniform_(-2, 2)
    bn.running_var.uniform_(0.1, 3)
    bn.weight.data.uniform_(0.5, 2)
    bn.bias.data.uniform_(-1, 1)
    return bn


def test_fold_bn_after_and_before():
    x = torch.randn(1, 4, 9, 9, dtype=D)
    w, b = torch.randn(6, 4, 3, 3, dtype=D), torch.randn(6, dtype=D)
    bn_out, bn_in = _random_bn(6), _random_bn(4)
    fw, fb = fusion.fold_bn_after(w, b, bn_out)
    assert torch.allclose(F.conv2d(x, fw, fb, padding=1), bn_out(F.conv2d(x, w, b, padding=1)), atol=1e-11)
    shift = fusion.bn_scale_shift(bn_in)[1]
    want = F.conv2d(fusion.pad_with_values(bn_in(x), shift), w, b)
    fw, fb = fusion.fold_bn_before(w, b, bn_in)
    assert torch.allclose(F.conv2d(x, fw, fb, padding=1), want, atol=1e-11)


def test_pad_kernel_rejects_uncentrable():
    import pytest
    with pytest.raises(ValueError):
        fusion.pad_kernel(torch.zeros(1, 1, 2, 2), 3)
