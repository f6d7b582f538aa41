"""The 70x70 PatchGAN discriminator of Pix2Pix (Isola et al. 2017): C64-C128-C256-C512, then a 1-channel map.

4x4 convolutions with strides 2, 2, 2, 1, 1 give each output a 70x70 receptive field. Conditioned on the input: it sees
the condition ``x`` (and the mask) concatenated with the image it judges. No BatchNorm on the first layer.
"""

from __future__ import annotations

import torch
from torch import nn

from training.models.unet import norm_layer_of


class PatchDiscriminator(nn.Module):
    def __init__(self, in_channels: int = 3, ndf: int = 64, norm: str = "batch") -> None:
        super().__init__()
        norm_layer = norm_layer_of(norm)
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(ndf, ndf * 2, 4, stride=2, padding=1, bias=False), norm_layer(ndf * 2), nn.LeakyReLU(0.2),
            nn.Conv2d(ndf * 2, ndf * 4, 4, stride=2, padding=1, bias=False), norm_layer(ndf * 4), nn.LeakyReLU(0.2),
            nn.Conv2d(ndf * 4, ndf * 8, 4, stride=1, padding=1, bias=False), norm_layer(ndf * 8), nn.LeakyReLU(0.2),
            nn.Conv2d(ndf * 8, 1, 4, stride=1, padding=1),
        )

    def forward(self, condition: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([condition, image], dim=1))


def receptive_field() -> int:
    """70: the receptive field of one output of the layer stack above (kernel 4; strides 2, 2, 2, 1, 1)."""
    field, jump = 1, 1
    for stride in (2, 2, 2, 1, 1):
        jump_before = jump
        jump *= stride
        field += 3 * jump_before
    return field
