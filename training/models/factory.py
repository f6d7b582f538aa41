"""Building the networks from a run's config dict (also what inference uses to rebuild a checkpoint's generator)."""

from __future__ import annotations

from torch import nn

from training.models.patchgan import PatchDiscriminator
from training.models.stargan import NUM_DOMAINS, StarDiscriminator, StarGenerator
from training.models.unet import UNetGenerator

PIX2PIX_INPUT_CHANNELS = 2  # x and the mask; see training.compose


def build_generator(config: dict) -> nn.Module:
    if config["kind"] == "stargan":
        return StarGenerator(1, NUM_DOMAINS, config.get("conv_dim", 64), config.get("res_blocks", 6))
    return UNetGenerator(PIX2PIX_INPUT_CHANNELS, 1, config.get("ngf", 64), config["image_size"],
                         config.get("dropout", 0.5), config.get("norm", "batch"))


def build_discriminator(config: dict) -> nn.Module:
    if config["kind"] == "stargan":
        return StarDiscriminator(1, NUM_DOMAINS, config["image_size"], config.get("conv_dim", 64))
    return PatchDiscriminator(PIX2PIX_INPUT_CHANNELS + 1, config.get("ndf", 64), config.get("norm", "batch"))


def init_weights(module: nn.Module) -> None:
    """Isola et al.: conv weights N(0, 0.02); BatchNorm scale N(1, 0.02), bias 0."""
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d | nn.ConvTranspose2d):
            nn.init.normal_(layer.weight, 0.0, 0.02)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
        elif isinstance(layer, nn.BatchNorm2d):
            nn.init.normal_(layer.weight, 1.0, 0.02)
            nn.init.zeros_(layer.bias)
