"""Using a trained generator: load it from a checkpoint, generate Pix2Pix compositions, translate with StarGAN.

Every function takes and returns uint8 gray numpy images at the model's size; the batch versions stack the work into
one forward pass. Pix2Pix output keeps the box's pixels identical to the input (pasted back after quantisation).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch
from torch import nn

from training.checkpoints import CheckpointError, load_checkpoint
from training.compose import generator_input, masked_input, paste_box_u8, u8_to_unit, unit_to_u8
from training.data.images import Box, box_mask
from training.data.nih import FINDINGS
from training.models.factory import build_generator

GENERATOR_CHECKPOINT_KINDS = ("pix2pix", "pix2pix-n", "stargan")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_generator(path: Path, device: str | torch.device = "cpu") -> tuple[str, nn.Module, dict]:
    """(kind, generator in eval mode on ``device``, meta) from a training checkpoint.

    ``meta`` holds config, step, seed, split, image_size and the file's sha256.
    """
    path = Path(path)
    # Mapped, not read: of a training checkpoint (both networks, both optimisers) only the generator is read.
    payload = load_checkpoint(path, expected_kind=GENERATOR_CHECKPOINT_KINDS, mmap=True)
    config = dict(payload["config"])
    config["kind"] = payload["kind"]
    model = build_generator(config)
    try:
        model.load_state_dict(payload["model"])
    except RuntimeError as error:
        raise CheckpointError(f"{path}: generator weights do not match its config ({error})") from None
    model.to(device).eval()
    meta = {
        "config": payload["config"],
        "step": payload["step"],
        "seed": payload["seed"],
        "split": payload["split"],
        "split_record": payload.get("split_record"),
        "train_images": payload.get("train_images"),  # StarGAN's image-level training set (None: split + pool)
        "training_data": payload.get("training_data"),
        "image_size": int(config["image_size"]),
        "sha256": file_sha256(path),
    }
    return payload["kind"], model, meta


def _check_image(image_u8: np.ndarray, size: int | None) -> None:
    if image_u8.dtype != np.uint8 or image_u8.ndim != 2 or image_u8.shape[0] != image_u8.shape[1]:
        raise ValueError(f"expected a square uint8 HxW gray image, got {image_u8.dtype} {image_u8.shape}")
    if size is not None and image_u8.shape[0] != size:
        raise ValueError(f"image is {image_u8.shape[0]} px but the model works at {size} px; resize it first")


@torch.no_grad()
def pix2pix_generate_batch(model: nn.Module, images_u8: list[np.ndarray], boxes_xywh: list[Box],
                           device: str | torch.device = "cpu") -> list[np.ndarray]:
    """Compose each image: its box kept, the rest generated from ``x = y * m``. Boxes in the image's pixels."""
    if len(images_u8) != len(boxes_xywh):
        raise ValueError(f"{len(images_u8)} images but {len(boxes_xywh)} boxes")
    if not images_u8:
        return []
    size = images_u8[0].shape[0]
    for image in images_u8:
        _check_image(image, size)
    masks = np.stack([box_mask(size, box) for box in boxes_xywh])
    if (masks.reshape(len(masks), -1).sum(axis=1) == 0).any():
        raise ValueError("a box covers no pixel of its image")
    y = u8_to_unit(np.stack(images_u8))[:, None].to(device)
    m = torch.from_numpy(masks)[:, None].to(device)
    generated = model(generator_input(masked_input(y, m), m))
    generated_u8 = unit_to_u8(generated[:, 0])
    return [paste_box_u8(g, image, mask) for g, image, mask in zip(generated_u8, images_u8, masks, strict=True)]


def pix2pix_generate(model: nn.Module, image_u8: np.ndarray, box_xywh: Box,
                     device: str | torch.device = "cpu") -> np.ndarray:
    return pix2pix_generate_batch(model, [image_u8], [box_xywh], device)[0]


def finding_domain(finding: str) -> int:
    """StarGAN domain index: 0 healthy, 1..6 the findings in FINDINGS order."""
    if finding not in FINDINGS:
        raise ValueError(f"unknown finding {finding!r}; expected one of {FINDINGS}")
    return FINDINGS.index(finding) + 1


@torch.no_grad()
def stargan_translate_batch(model: nn.Module, images_u8: list[np.ndarray], findings: list[str] | str,
                            device: str | torch.device = "cpu") -> list[np.ndarray]:
    """Translate each (healthy) image to its target finding's domain."""
    if isinstance(findings, str):
        findings = [findings] * len(images_u8)
    if len(findings) != len(images_u8):
        raise ValueError(f"{len(images_u8)} images but {len(findings)} findings")
    if not images_u8:
        return []
    size = images_u8[0].shape[0]
    for image in images_u8:
        _check_image(image, size)
    domains = torch.tensor([finding_domain(f) for f in findings], device=device)
    y = u8_to_unit(np.stack(images_u8))[:, None].to(device)
    return list(unit_to_u8(model(y, domains)[:, 0]))


def stargan_translate(model: nn.Module, image_u8: np.ndarray, finding: str,
                      device: str | torch.device = "cpu") -> np.ndarray:
    return stargan_translate_batch(model, [image_u8], [finding], device)[0]
