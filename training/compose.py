"""The artificial pair and the composition, in one place so training and inference agree.

Pixel convention: uint8 gray ``u`` maps to ``u / 127.5 - 1`` in [-1, 1] (the tanh range).

* Input ``x = y * m``: the real image inside the box and zero intensity (black, -1 in tanh space) outside.
* The generator sees ``[x, m]`` (two channels): the mask channel tells a black pixel inside the box from "unknown"
  outside it, which a single channel cannot, at the cost of one extra input plane.
* Output ``x~ = x + G(x) * (1 - m)``: the real box, the generated surroundings. In tanh space that is
  ``m * y + (1 - m) * G(x)``.
* In uint8 the box is pasted back after quantisation, so the box's pixels are identical to the input's.
"""

from __future__ import annotations

import numpy as np
import torch


def u8_to_unit(image_u8: np.ndarray | torch.Tensor) -> torch.Tensor:
    tensor = torch.as_tensor(np.asarray(image_u8)) if not isinstance(image_u8, torch.Tensor) else image_u8
    return tensor.to(torch.float32) / 127.5 - 1.0


def unit_to_u8(image: torch.Tensor) -> np.ndarray:
    """[-1, 1] tensor to uint8 numpy (round half to even, clipped)."""
    return torch.clamp(torch.round((image.detach().float() + 1.0) * 127.5), 0, 255).to(torch.uint8).cpu().numpy()


def masked_input(y: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """``x = y * m`` in pixel intensity: ``y`` inside the box, black (-1) outside. Shapes (N, 1, H, W)."""
    return torch.where(m > 0.5, y, torch.full_like(y, -1.0))


def generator_input(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    return torch.cat([x, m * 2.0 - 1.0], dim=1)


def compose(x: torch.Tensor, generated: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """``x~ = x + G(x) * (1 - m)``: the box from ``x``, everything else from the generator."""
    return m * x + (1.0 - m) * generated


def paste_box_u8(generated_u8: np.ndarray, original_u8: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The uint8 composition: ``original_u8`` wherever ``mask`` is 1, ``generated_u8`` elsewhere."""
    inside = mask > 0.5
    out = generated_u8.copy()
    out[inside] = original_u8[inside]
    return out
