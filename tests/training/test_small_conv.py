"""The U-Net's small-map convolutions compute what PyTorch's own layers compute, values and gradients, with the same
parameters; large maps take PyTorch's route."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from training.models.small_conv import SMALL_PIXELS, SmallConv2d, SmallConvTranspose2d
from training.models.unet import UNetGenerator


def _twins(small_cls, plain_cls, in_channels, out_channels, bias):
    torch.manual_seed(0)
    plain = plain_cls(in_channels, out_channels, 4, stride=2, padding=1, bias=bias)
    small = small_cls(in_channels, out_channels, 4, stride=2, padding=1, bias=bias)
    small.load_state_dict(plain.state_dict())
    return small, plain


def _same_values_and_gradients(small, plain, x, bias):
    small, plain = small.double(), plain.double()
    xs, xp = x.double().requires_grad_(), x.double().clone().requires_grad_()
    ys, yp = small(xs), plain(xp)
    torch.testing.assert_close(ys, yp)
    grad = torch.randn_like(yp)
    ys.backward(grad)
    yp.backward(grad)
    torch.testing.assert_close(xs.grad, xp.grad)
    torch.testing.assert_close(small.weight.grad, plain.weight.grad)
    if bias:
        torch.testing.assert_close(small.bias.grad, plain.bias.grad)
    return ys


@pytest.mark.parametrize("size", [1, 2, 4, 8, 16])
@pytest.mark.parametrize("bias", [False, True])
def test_the_transposed_layer_matches_pytorchs_in_values_and_gradients(size, bias):
    small, plain = _twins(SmallConvTranspose2d, nn.ConvTranspose2d, 24, 12, bias)
    out = _same_values_and_gradients(small, plain, torch.randn(3, 24, size, size), bias)
    assert out.shape == (3, 12, 2 * size, 2 * size)


@pytest.mark.parametrize("size", [2, 4, 8, 16, 32])
@pytest.mark.parametrize("bias", [False, True])
def test_the_convolution_matches_pytorchs_in_values_and_gradients(size, bias):
    small, plain = _twins(SmallConv2d, nn.Conv2d, 12, 24, bias)
    _same_values_and_gradients(small, plain, torch.randn(2, 12, size, size), bias)


def test_bf16_autocast_stays_within_bf16_rounding_of_pytorchs_layer():
    small, plain = _twins(SmallConvTranspose2d, nn.ConvTranspose2d, 64, 32, False)
    x = torch.randn(1, 64, 4, 4)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ys, yp = small(x), plain(x)
    assert ys.dtype == yp.dtype == torch.bfloat16
    torch.testing.assert_close(ys.float(), yp.float(), atol=0.05, rtol=0.02)


def test_large_maps_take_pytorchs_route(monkeypatch):
    calls = []
    monkeypatch.setattr(torch.nn.functional, "fold", lambda *a, **k: calls.append("fold"))
    monkeypatch.setattr(torch.nn.functional, "unfold", lambda *a, **k: calls.append("unfold"))
    side = int(SMALL_PIXELS**0.5)
    SmallConvTranspose2d(4, 4, 4, stride=2, padding=1)(torch.randn(1, 4, 2 * side, 2 * side))
    SmallConv2d(4, 4, 4, stride=2, padding=1)(torch.randn(1, 4, 4 * side, 4 * side))
    assert calls == []


def test_the_generator_keeps_its_parameter_names_so_checkpoints_load_both_ways():
    torch.manual_seed(0)
    generator = UNetGenerator(ngf=8, image_size=32)
    names = {name for name, _ in generator.named_parameters()}
    assert "downs.0.0.weight" in names and any(name.startswith("ups.0.1.") for name in names)
    assert sum(isinstance(m, SmallConv2d | SmallConvTranspose2d) for m in generator.modules()) == 10
    plain_state = {k: v.clone() for k, v in generator.state_dict().items()}
    again = UNetGenerator(ngf=8, image_size=32)
    again.load_state_dict(plain_state)
    x = torch.randn(2, 2, 32, 32)
    generator.eval(), again.eval()
    torch.testing.assert_close(generator(x), again(x))
