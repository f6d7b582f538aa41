"""StarGAN (Choi et al. 2018) generator and discriminator, conditioned on one of seven domains.

Domains: 0 = healthy (No Finding), 1..6 = the six findings in :data:`training.data.nih.FINDINGS` order. The generator
takes the image with the one-hot target domain broadcast as extra input channels: 7x7 conv, two stride-2 downsamplings,
residual blocks (6 in the paper), two upsamplings, 7x7 conv, tanh; instance norm. The discriminator is a PatchGAN of
stride-2 4x4 convolutions with LeakyReLU 0.01 and two heads: a real/fake map (WGAN critic) and a domain classifier.
"""

from __future__ import annotations

import math

import torch
from torch import nn

NUM_DOMAINS = 7


class ResidualBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.InstanceNorm2d(channels, affine=True),
            nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.InstanceNorm2d(channels, affine=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class StarGenerator(nn.Module):
    def __init__(self, image_channels: int = 1, num_domains: int = NUM_DOMAINS, conv_dim: int = 64,
                 res_blocks: int = 6) -> None:
        super().__init__()
        self.num_domains = num_domains
        layers: list[nn.Module] = [
            nn.Conv2d(image_channels + num_domains, conv_dim, 7, padding=3, bias=False),
            nn.InstanceNorm2d(conv_dim, affine=True), nn.ReLU(),
        ]
        width = conv_dim
        for _ in range(2):
            layers += [nn.Conv2d(width, width * 2, 4, stride=2, padding=1, bias=False),
                       nn.InstanceNorm2d(width * 2, affine=True), nn.ReLU()]
            width *= 2
        layers += [ResidualBlock(width) for _ in range(res_blocks)]
        for _ in range(2):
            layers += [nn.ConvTranspose2d(width, width // 2, 4, stride=2, padding=1, bias=False),
                       nn.InstanceNorm2d(width // 2, affine=True), nn.ReLU()]
            width //= 2
        layers += [nn.Conv2d(width, image_channels, 7, padding=3, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, image: torch.Tensor, domain: torch.Tensor) -> torch.Tensor:
        """``domain``: (N,) long indices or (N, num_domains) one-hot."""
        if domain.dim() == 1:  # one-hot by comparison: F.one_hot reads min and max to the host on the CPU
            domain = domain[:, None] == torch.arange(self.num_domains, device=domain.device)
        planes = domain.to(image.dtype)[:, :, None, None].expand(-1, -1, image.shape[2], image.shape[3])
        return self.net(torch.cat([image, planes], dim=1))


def critic_depth(image_size: int) -> int:
    """Stride-2 layers so the last map is 4x4 at 256 (the paper's 6 layers give 2x2 at 128); at least 2."""
    return max(2, int(round(math.log2(image_size))) - 2)


class StarDiscriminator(nn.Module):
    def __init__(self, image_channels: int = 1, num_domains: int = NUM_DOMAINS, image_size: int = 256,
                 conv_dim: int = 64, max_dim: int = 2048) -> None:
        super().__init__()
        depth = critic_depth(image_size)
        layers: list[nn.Module] = [nn.Conv2d(image_channels, conv_dim, 4, stride=2, padding=1), nn.LeakyReLU(0.01)]
        width = conv_dim
        for _ in range(1, depth):
            layers += [nn.Conv2d(width, min(width * 2, max_dim), 4, stride=2, padding=1), nn.LeakyReLU(0.01)]
            width = min(width * 2, max_dim)
        self.trunk = nn.Sequential(*layers)
        final = image_size // 2**depth
        self.source = nn.Conv2d(width, 1, 3, padding=1, bias=False)
        self.domain = nn.Conv2d(width, num_domains, final, bias=False)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.trunk(image)
        return self.source(features), self.domain(features).flatten(1)
