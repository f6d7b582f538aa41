import torch
from torch import nn

from training.models.patchgan import PatchDiscriminator, receptive_field
from training.models.stargan import NUM_DOMAINS, StarDiscriminator, StarGenerator
from training.models.unet import UNetGenerator, unet_depth


def test_unet_depth_follows_the_image_size():
    assert (unet_depth(256), unet_depth(64), unet_depth(32)) == (8, 6, 5)


def test_unet_maps_x_and_mask_to_one_gray_image_in_tanh_range():
    model = UNetGenerator(in_channels=2, ngf=8, image_size=64)
    out = model(torch.randn(2, 2, 64, 64))
    assert out.shape == (2, 1, 64, 64) and out.abs().max() <= 1.0


def test_unet_at_256_has_eight_levels_and_three_dropout_layers():
    model = UNetGenerator(in_channels=2, ngf=4, image_size=256)
    assert len(model.downs) == 8
    assert sum(isinstance(layer, nn.Dropout) for layer in model.modules()) == 3
    assert model(torch.randn(1, 2, 256, 256)).shape == (1, 1, 256, 256)


def test_unet_skip_connections_carry_fine_detail():
    model = UNetGenerator(in_channels=2, ngf=8, image_size=32).eval()
    first_decoder_input = model.ups[-1][1].in_channels
    assert first_decoder_input == 2 * 8  # decoder output layer sees its own features plus the encoder's first layer


def test_patchgan_is_70x70_and_gives_30x30_patches_at_256():
    assert receptive_field() == 70
    model = PatchDiscriminator(in_channels=3, ndf=8)
    assert model(torch.randn(1, 2, 256, 256), torch.randn(1, 1, 256, 256)).shape == (1, 1, 30, 30)


def test_stargan_generator_takes_a_domain_and_keeps_the_shape():
    model = StarGenerator(conv_dim=8, res_blocks=2)
    out = model(torch.randn(3, 1, 64, 64), torch.tensor([0, 2, 6]))
    assert out.shape == (3, 1, 64, 64)
    one_hot = nn.functional.one_hot(torch.tensor([0, 2, 6]), NUM_DOMAINS).float()
    ones = torch.ones(3, 1, 64, 64)
    assert torch.allclose(model(ones, one_hot), model(ones, torch.tensor([0, 2, 6])))


def test_stargan_discriminator_gives_critic_map_and_seven_domain_logits():
    for size in (64, 256):
        source, domains = StarDiscriminator(image_size=size, conv_dim=4)(torch.randn(2, 1, size, size))
        assert source.shape == (2, 1, 4, 4) and domains.shape == (2, NUM_DOMAINS)
