"""One Pix2Pix (and Pix2Pix-N) training step, the networks and optimisers it updates, and its sample grid.

Isola et al.: the discriminator step minimises 0.5 * (BCE(D(x, y), 1) + BCE(D(x, x~), 0)); the generator step minimises
BCE(D(x, x~), 1) + lambda * L1(x~, y) with lambda = 100; Adam lr 2e-4, betas (0.5, 0.999). Here the discriminator
judges the composed image ``x~ = x + G(x) * (1 - m)`` (the paste-back is part of the generator's output), and is
conditioned on the generator's input ``[x, m]``.
"""

from __future__ import annotations

from contextlib import nullcontext

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from training.compose import compose, generator_input, masked_input, unit_to_u8
from training.config import TrainConfig
from training.distributed import DistInfo, unwrap
from training.models.factory import build_discriminator, build_generator, init_weights
from training.precision import Precision, resolve_precision


class Pix2PixTrainer:
    def __init__(self, config: TrainConfig, device: torch.device, dist_info: DistInfo = DistInfo(),
                 precision: Precision | None = None) -> None:
        self.config, self.device, self.dist = config, device, dist_info
        self.precision = precision or resolve_precision(config.precision, device, kind=config.kind)
        self.generator = build_generator(config.to_dict()).to(device)
        self.discriminator = build_discriminator(config.to_dict()).to(device)
        init_weights(self.generator)
        init_weights(self.discriminator)
        self.generator = self.precision.prepare(self.generator)
        self.discriminator = self.precision.prepare(self.discriminator)
        if dist_info.enabled:
            ids = [device.index] if device.type == "cuda" else None
            self.generator = nn.parallel.DistributedDataParallel(self.generator, device_ids=ids)
            self.discriminator = nn.parallel.DistributedDataParallel(self.discriminator, device_ids=ids)
        betas = (config.beta1, config.beta2)
        self.opt_g = self.precision.adam(self.generator.parameters(), lr=config.lr, betas=betas)
        self.opt_d = self.precision.adam(self.discriminator.parameters(), lr=config.lr, betas=betas)
        self.scaler = self.precision.grad_scaler()
        self.generator_parameters = list(self.generator.parameters())

    def _discriminator_unsynced(self):
        """DDP's ``no_sync`` on D (its reducer neither waits for nor all-reduces D's gradients); alone, nothing."""
        if isinstance(self.discriminator, nn.parallel.DistributedDataParallel):
            return self.discriminator.no_sync()
        return nullcontext()

    def train_mode(self, flag: bool) -> None:
        self.generator.train(flag)
        self.discriminator.train(flag)

    def generate(self, y: torch.Tensor, m: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(generator input, composed fake) as the training step makes them: the generator runs in this run's
        precision, its output is cast to fp32 before the composition, so the box is ``y``'s pixels in every one."""
        x = masked_input(y, m)
        condition = self.precision.layout(generator_input(x, m))
        with self.precision.autocast():
            fake = compose(x, self.generator(condition).float(), m)
        return condition, fake

    def step(self, y: torch.Tensor, m: torch.Tensor, domain: torch.Tensor, step: int) -> dict[str, torch.Tensor]:
        """One D update then one G update on the batch; returns detached losses (no device sync outside fp16's
        GradScaler, which reads its overflow flag once per optimiser step)."""
        y, m = self.precision.layout(y), self.precision.layout(m)
        condition, fake = self.generate(y, m)
        self.opt_d.zero_grad(set_to_none=True)
        with self.precision.autocast():
            pred_fake = self.discriminator(condition, fake.detach()).float()
            pred_real = self.discriminator(condition, y).float()
        loss_d_fake = F.binary_cross_entropy_with_logits(pred_fake, torch.zeros_like(pred_fake))
        loss_d_real = F.binary_cross_entropy_with_logits(pred_real, torch.ones_like(pred_real))
        loss_d = 0.5 * (loss_d_fake + loss_d_real)
        self.scaler.scale(loss_d).backward()
        self.scaler.step(self.opt_d)

        self.opt_g.zero_grad(set_to_none=True)
        # The G step differentiates through D but must not touch D: backward only into G's parameters (D's weight
        # gradients are never computed) and, under DDP, outside D's gradient synchronisation (no all-reduce of D).
        with self._discriminator_unsynced():
            with self.precision.autocast():
                pred = self.discriminator(condition, fake).float()
            loss_g_gan = F.binary_cross_entropy_with_logits(pred, torch.ones_like(pred))
            loss_l1 = (fake - y).abs().mean()
            loss_g = loss_g_gan + self.config.lambda_l1 * loss_l1
            self.scaler.scale(loss_g).backward(inputs=self.generator_parameters)
        self.scaler.step(self.opt_g)
        self.scaler.update()
        return {"loss_d": loss_d.detach(), "loss_d_real": loss_d_real.detach(), "loss_d_fake": loss_d_fake.detach(),
                "loss_g": loss_g.detach(), "loss_g_gan": loss_g_gan.detach(), "loss_l1": loss_l1.detach()}

    @torch.no_grad()
    def sample_grid(self, y: torch.Tensor, m: torch.Tensor, domain: torch.Tensor) -> np.ndarray:
        """uint8 grid, one row per sample: input x, composed output x~, target y."""
        generator = unwrap(self.generator)
        was_training = generator.training
        generator.eval()
        x = masked_input(y, m)
        fake = compose(x, generator(generator_input(x, m)).float(), m)
        generator.train(was_training)
        rows = [np.concatenate([unit_to_u8(t[i, 0]) for t in (x, fake, y)], axis=1) for i in range(len(y))]
        return np.concatenate(rows, axis=0)

    def state(self) -> dict:
        return {"model": unwrap(self.generator).state_dict(), "discriminator": unwrap(self.discriminator).state_dict(),
                "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(), "scaler": self.scaler.state_dict()}

    def load_state(self, payload: dict) -> None:
        unwrap(self.generator).load_state_dict(payload["model"])
        unwrap(self.discriminator).load_state_dict(payload["discriminator"])
        self.opt_g.load_state_dict(payload["opt_g"])
        self.opt_d.load_state_dict(payload["opt_d"])
        if self.precision.grad_scaling and payload.get("scaler"):  # a bf16/fp32 checkpoint has no scale: start afresh
            self.scaler.load_state_dict(payload["scaler"])
