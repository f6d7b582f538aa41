"""The Pix2Pix U-Net generator (Isola et al. 2017, appendix 6.1.1).

Encoder C64-C128-C256-C512-C512-C512-C512-C512 for 256x256 (4x4 convolutions, stride 2, LeakyReLU 0.2, BatchNorm
except on the first layer), decoder mirrored with skip connections (concatenation), ReLU, and dropout 0.5 in the first
three decoder layers; tanh output (``norm="instance"``: pix2pix's instance-norm variant). The depth follows the image
size: ``num_downs = log2(image_size)`` so the bottleneck is 1x1 at any power-of-two size (8 at 256, 5 at 32), which
keeps tests tiny without changing the architecture. The innermost layers compute on the CPU as matrix products
(``small_conv``: the same layers and parameters, a faster route).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from training.models.small_conv import SmallConv2d, SmallConvTranspose2d


def unet_depth(image_size: int) -> int:
    depth = int(round(math.log2(image_size)))
    if 2**depth != image_size or depth < 3:
        raise ValueError(f"U-Net image size must be a power of two >= 8, got {image_size}")
    return depth


NORMS = ("batch", "instance")


def norm_layer_of(norm: str) -> type[nn.Module]:
    """pix2pix's ``--norm``: BatchNorm (the paper's), or InstanceNorm without affine parameters or running statistics
    (each image normalised by itself, so a result does not depend on how a batch is shared among processes)."""
    if norm == "batch":
        return nn.BatchNorm2d
    if norm == "instance":
        return nn.InstanceNorm2d
    raise ValueError(f"unknown norm {norm!r}; expected one of {NORMS}")


class UNetGenerator(nn.Module):
    def __init__(self, in_channels: int = 2, out_channels: int = 1, ngf: int = 64, image_size: int = 256,
                 dropout: float = 0.5, norm: str = "batch") -> None:
        super().__init__()
        norm_layer = norm_layer_of(norm)
        depth = unet_depth(image_size)
        widths = [ngf * min(2**i, 8) for i in range(depth)]  # 64, 128, 256, 512, 512, ...
        self.downs = nn.ModuleList()
        previous = in_channels
        for i, width in enumerate(widths):
            layers: list[nn.Module] = [] if i == 0 else [nn.LeakyReLU(0.2)]
            layers.append(SmallConv2d(previous, width, 4, stride=2, padding=1, bias=i in (0, depth - 1)))
            if 0 < i < depth - 1:
                layers.append(norm_layer(width))
            self.downs.append(nn.Sequential(*layers))
            previous = width
        self.ups = nn.ModuleList()
        for j, i in enumerate(reversed(range(depth))):
            skip_in = widths[i] if i == depth - 1 else widths[i] * 2
            if i == 0:
                layers = [nn.ReLU(), SmallConvTranspose2d(skip_in, out_channels, 4, stride=2, padding=1), nn.Tanh()]
            else:
                layers = [nn.ReLU(), SmallConvTranspose2d(skip_in, widths[i - 1], 4, stride=2, padding=1, bias=False),
                          norm_layer(widths[i - 1])]
                if j < 3 and dropout > 0:
                    layers.append(nn.Dropout(dropout))
            self.ups.append(nn.Sequential(*layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for down in self.downs:
            x = down(x)
            skips.append(x)
        x = self.ups[0](skips.pop())
        for up in self.ups[1:]:
            x = up(torch.cat([x, skips.pop()], dim=1))
        return x
