"""One StarGAN training iteration (Choi et al. 2018), its networks, optimisers and sample grid.

Every iteration updates the critic D: WGAN-GP adversarial loss (-D(y) + D(G(y, c')) + lambda_gp * GP) plus lambda_cls
times the domain-classification loss on real images (``stargan_data = "images"``, the default: binary cross-entropy
on the image's multi-hot attribute vector, summed over attributes and averaged over the batch, as the official code
does for CelebA; ``"boxes"``, the box-only mode: cross-entropy on the box's one domain). Every ``n_critic``-th
iteration also updates G: -D(G(y, c')) plus lambda_cls times the classification loss of the fake as domain c', plus
lambda_rec times the cycle reconstruction L1 |y - G(G(y, c'), c)|. Domains: 0 healthy, 1..6 findings; target
domains c' are drawn uniformly. Unpaired: whole images.
Target domains and the gradient penalty's mixing weights are drawn per (seed, step) on the training device (``draws``).
The target is one of the seven single-domain vectors (the translations the verification set asks for); the
reconstruction goes back to the image's own attribute vector. Learning rate: the official code's linear decay, constant
for the first half of training, then linearly down to 0 over the last ``lr_decay_iters`` steps (half the run by
default), updated every ``lr_update_every`` (1000) steps (:func:`stargan_lr`).
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from training.compose import unit_to_u8
from training.config import TrainConfig
from training.distributed import DistInfo, average_gradients, broadcast_parameters, set_requires_grad
from training.models.factory import build_discriminator, build_generator
from training.models.stargan import NUM_DOMAINS
from training.precision import Precision, resolve_precision

SAMPLE_DOMAINS = tuple(range(1, NUM_DOMAINS))


def stargan_lr(base: float, step: int, iters: int, decay_iters: int | None = None, update_every: int = 1000) -> float:
    """The learning rate of step ``step`` (0-based): ``base`` until the decay starts, then linearly to 0 at ``iters``.

    As the official StarGAN (``solver.py``: ``num_iters_decay`` = half of ``num_iters``, ``lr_update_step`` 1000) the
    rate changes only every ``update_every`` steps. The official code subtracts ``base / num_iters_decay`` at each
    update, which would take 100 times the run to reach 0; the paper's text ("linearly decay the learning rate to 0")
    is followed here: each update sets ``base * remaining / decay_iters``. A pure function of the step, so a resumed
    run has the rate the uninterrupted one had.
    """
    decay = iters // 2 if decay_iters is None else decay_iters
    completed = step - step % update_every
    start = iters - decay
    if decay <= 0 or completed <= start:
        return base
    return base * max(0.0, (iters - completed) / decay)


class StarGANTrainer:
    def __init__(self, config: TrainConfig, device: torch.device, dist_info: DistInfo = DistInfo(),
                 precision: Precision | None = None) -> None:
        self.config, self.device, self.dist = config, device, dist_info
        self.precision = precision or resolve_precision(config.precision, device, kind=config.kind)
        self.generator = self.precision.prepare(build_generator(config.to_dict()).to(device))
        self.discriminator = self.precision.prepare(build_discriminator(config.to_dict()).to(device))
        if dist_info.enabled:
            broadcast_parameters(self.generator)
            broadcast_parameters(self.discriminator)
        betas = (config.beta1, config.beta2)
        self.opt_g = self.precision.adam(self.generator.parameters(), lr=config.lr, betas=betas)
        self.opt_d = self.precision.adam(self.discriminator.parameters(), lr=config.lr, betas=betas)
        self.scaler = self.precision.grad_scaler()
        self._generator = torch.Generator(device=device)
        self.multi_label = config.stargan_data == "images"
        self.last_g: dict[str, torch.Tensor] = {}
        self.all_reduce_calls = 0

    def train_mode(self, flag: bool) -> None:
        self.generator.train(flag)
        self.discriminator.train(flag)

    def _sync(self, module: torch.nn.Module) -> None:
        if self.dist.enabled:
            self.all_reduce_calls += average_gradients(module, self.dist.world)

    def draws(self, step: int, rank_batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(target domains, gradient-penalty mixing weights) of this process's samples of global batch ``step``.

        Drawn on the trainer's device (no host work, no copy) from a generator seeded by (seed, step): a function of
        the step alone, so a resumed run draws what the uninterrupted one did, and under torchrun rank r takes slots
        r * rank_batch ... of the one global draw, exactly what a single process with the whole batch draws there.
        """
        world, first = self.dist.world, self.dist.rank * rank_batch
        self._generator.manual_seed(int(np.random.SeedSequence([self.config.seed, step, 29]).generate_state(1)[0]))
        target = torch.randint(0, NUM_DOMAINS, (rank_batch * world,), device=self.device, generator=self._generator)
        alpha = torch.rand(rank_batch * world, 1, 1, 1, device=self.device, generator=self._generator)
        return target[first:first + rank_batch], alpha[first:first + rank_batch]

    def gradient_penalty(self, real: torch.Tensor, fake: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        """WGAN-GP's penalty, in fp32 whatever the precision: outside autocast, so its double backward needs no
        loss scaling and keeps fp32's resolution on the gradient norm."""
        mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
        source, _ = self.discriminator(mixed)
        (grad,) = torch.autograd.grad(source.sum(), mixed, create_graph=True)
        return ((grad.flatten(1).norm(2, dim=1) - 1.0) ** 2).mean()

    def classification_loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """BCE on attribute vectors (summed over attributes, mean over the batch) or CE on one domain (box-only)."""
        if self.multi_label:
            if labels.dim() == 1:  # one-hot by comparison: F.one_hot reads min and max to the host on the CPU
                labels = labels[:, None] == torch.arange(NUM_DOMAINS, device=labels.device)
            return F.binary_cross_entropy_with_logits(logits, labels.float(), reduction="sum") / logits.shape[0]
        return F.cross_entropy(logits, labels)

    def set_lr(self, step: int) -> float:
        c = self.config
        lr = stargan_lr(c.lr, step, c.iters, c.lr_decay_iters, c.lr_update_every)
        for optimizer in (self.opt_g, self.opt_d):
            for group in optimizer.param_groups:
                group["lr"] = lr
        return lr

    def step(self, y: torch.Tensor, m: torch.Tensor, domain: torch.Tensor, step: int) -> dict[str, torch.Tensor]:
        c = self.config
        self.set_lr(step)
        target, alpha = self.draws(step, y.shape[0])
        y = self.precision.layout(y)
        set_requires_grad(self.discriminator, True)
        self.opt_d.zero_grad(set_to_none=True)
        with self.precision.autocast():
            real_source, real_class = self.discriminator(y)
            with torch.no_grad():  # the critic step never differentiates into G: keep no graph of the fakes
                fake = self.generator(y, target).float()
            fake_source, _ = self.discriminator(fake)
        d_real = -real_source.float().mean()
        d_fake = fake_source.float().mean()
        d_cls = self.classification_loss(real_class.float(), domain)
        d_gp = self.gradient_penalty(y, fake, alpha)
        loss_d = d_real + d_fake + c.lambda_cls * d_cls + c.lambda_gp * d_gp
        self.scaler.scale(loss_d).backward()
        self._sync(self.discriminator)
        self.scaler.step(self.opt_d)
        losses = {"loss_d": loss_d.detach(), "loss_d_real": d_real.detach(), "loss_d_fake": d_fake.detach(),
                  "loss_d_cls": d_cls.detach(), "loss_d_gp": d_gp.detach()}

        if (step + 1) % c.n_critic == 0:
            set_requires_grad(self.discriminator, False)
            self.opt_g.zero_grad(set_to_none=True)
            with self.precision.autocast():
                fake = self.generator(y, target).float()
                source, klass = self.discriminator(fake)
                reconstruction = self.generator(fake, domain).float()
            g_fake = -source.float().mean()
            g_cls = self.classification_loss(klass.float(), target)
            g_rec = (y - reconstruction).abs().mean()
            loss_g = g_fake + c.lambda_cls * g_cls + c.lambda_rec * g_rec
            self.scaler.scale(loss_g).backward()
            self._sync(self.generator)
            self.scaler.step(self.opt_g)
            self.last_g = {"loss_g": loss_g.detach(), "loss_g_fake": g_fake.detach(), "loss_g_cls": g_cls.detach(),
                           "loss_g_rec": g_rec.detach()}
        self.scaler.update()
        losses.update(self.last_g)
        return losses

    @torch.no_grad()
    def sample_grid(self, y: torch.Tensor, m: torch.Tensor, domain: torch.Tensor) -> np.ndarray:
        """uint8 grid, one row per input image: the input, then its translation to each of the six findings."""
        was_training = self.generator.training
        self.generator.eval()
        columns = [y] + [self.generator(y, torch.full((len(y),), d, dtype=torch.long, device=y.device)).float()
                         for d in SAMPLE_DOMAINS]
        self.generator.train(was_training)
        rows = [np.concatenate([unit_to_u8(t[i, 0]) for t in columns], axis=1) for i in range(len(y))]
        return np.concatenate(rows, axis=0)

    def state(self) -> dict:
        return {"model": self.generator.state_dict(), "discriminator": self.discriminator.state_dict(),
                "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
                "last_g": {k: v.cpu() for k, v in self.last_g.items()}, "scaler": self.scaler.state_dict()}

    def load_state(self, payload: dict) -> None:
        self.generator.load_state_dict(payload["model"])
        self.discriminator.load_state_dict(payload["discriminator"])
        self.opt_g.load_state_dict(payload["opt_g"])
        self.opt_d.load_state_dict(payload["opt_d"])
        if self.precision.grad_scaling and payload.get("scaler"):  # a bf16/fp32 checkpoint has no scale: start afresh
            self.scaler.load_state_dict(payload["scaler"])
        self.last_g = {k: v.to(self.device) for k, v in payload.get("last_g", {}).items()}
