"""Real learning checks on a fixed tiny batch: the losses must fall markedly within a few hundred steps."""

import numpy as np
import torch

from training.config import make_config
from training.data.datasets import load_samples, make_batch
from training.data.nih import NIHIndex
from training.pix2pix_trainer import Pix2PixTrainer
from training.stargan_trainer import StarGANTrainer


def _fixed_batch(phantom_dir, size):
    index = NIHIndex.load(phantom_dir)
    samples, _ = load_samples(phantom_dir, index.boxes[:4], size)
    return make_batch(samples, np.arange(4), seed=0, step=0, augment=None)


def test_pix2pix_few_hundred_steps_cut_the_l1_loss(phantom_dir):
    torch.manual_seed(0)
    config = make_config("pix2pix", str(phantom_dir), "unused", profile="quick", image_size=32, ngf=16, ndf=16)
    trainer = Pix2PixTrainer(config, torch.device("cpu"))
    y, m, domain = _fixed_batch(phantom_dir, 32)
    l1 = [float(trainer.step(y, m, domain, step)["loss_l1"]) for step in range(200)]
    assert np.mean(l1[-10:]) < 0.4 * np.mean(l1[:5]), (l1[:5], l1[-10:])


def test_stargan_cycle_reconstruction_falls(phantom_dir):
    torch.manual_seed(0)
    config = make_config("stargan", str(phantom_dir), "unused", profile="quick", image_size=32, conv_dim=8,
                         res_blocks=1, n_critic=1)
    trainer = StarGANTrainer(config, torch.device("cpu"))
    y, m, _ = _fixed_batch(phantom_dir, 32)
    domain = torch.tensor([1, 2, 3, 0])
    rec = [float(trainer.step(y, m, domain, step)["loss_g_rec"]) for step in range(120)]
    assert np.mean(rec[-10:]) < 0.5 * np.mean(rec[:5]), (rec[:5], rec[-10:])
