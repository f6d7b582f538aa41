"""Faster R-CNN from torchvision, built without downloading anything.

The paper used TensorFlow's Faster R-CNN with an Inception-ResNet-V2 backbone, which torchvision does not ship. The
default here is ResNet-50 with a feature pyramid (torchvision's ``fasterrcnn_resnet50_fpn`` layout); ``resnet18_fpn``
and ``mobilenet_v3_large_fpn`` are lighter choices for CPUs and tests. Every model starts from random weights
(``weights=None``, ``weights_backbone=None``); a user may supply backbone weights as a file (``--backbone-weights``):
an ImageNet classification state dict of the same architecture (torchvision's own ``.pth`` files work), or a detector
state dict whose keys start with ``backbone.body.``.

Batch norm stays an ordinary, trainable ``BatchNorm2d`` (torchvision's choice for untrained backbones), also when
weights are loaded, and every backbone layer is trained. One class per finding, plus background as class 0.
The internal resize of torchvision's transform is pinned to the image size, so images enter at 256x256 unchanged.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn
from torchvision.models.detection import FasterRCNN
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.backbone_utils import mobilenet_backbone, resnet_fpn_backbone

BACKBONES = ("resnet50_fpn", "resnet18_fpn", "mobilenet_v3_large_fpn")
LIGHT_BACKBONE = "mobilenet_v3_large_fpn"  # the fastest of the three on a CPU (bench/bench_localisation.py)


class BackboneWeightsError(ValueError):
    """A --backbone-weights file that does not fit the chosen backbone."""


def _backbone(name: str) -> nn.Module:
    if name in ("resnet50_fpn", "resnet18_fpn"):
        return resnet_fpn_backbone(
            backbone_name=name.removesuffix("_fpn"), weights=None, norm_layer=nn.BatchNorm2d, trainable_layers=5
        )
    if name == "mobilenet_v3_large_fpn":
        return mobilenet_backbone(
            backbone_name="mobilenet_v3_large", weights=None, fpn=True, norm_layer=nn.BatchNorm2d, trainable_layers=6
        )
    raise ValueError(f"unknown backbone {name!r}; choose one of {', '.join(BACKBONES)}")


def _anchors(name: str) -> AnchorGenerator | None:
    """The mobilenet FPN gives 3 feature maps instead of 5: one anchor set per map, as torchvision configures it."""
    if name == "mobilenet_v3_large_fpn":
        sizes = ((32, 64, 128, 256, 512),) * 3
        return AnchorGenerator(sizes, ((0.5, 1.0, 2.0),) * len(sizes))
    return None  # torchvision's default for five FPN levels


def build_detector(findings: Sequence[str], backbone: str = "resnet50_fpn", image_size: int = 256,
                   backbone_weights: Path | None = None) -> FasterRCNN:
    """A Faster R-CNN with ``len(findings) + 1`` classes (label i + 1 is ``findings[i]``; 0 is background)."""
    if not findings:
        raise ValueError("the detector needs at least one finding")
    body = _backbone(backbone)
    if backbone_weights is not None:
        load_backbone_weights(body.body, backbone, Path(backbone_weights))
    return FasterRCNN(
        body,
        num_classes=len(findings) + 1,
        min_size=image_size,
        max_size=image_size,
        rpn_anchor_generator=_anchors(backbone),
    )


def _state_dict_of(payload: object, path: Path) -> dict[str, torch.Tensor]:
    if isinstance(payload, dict):
        for key in ("state_dict", "model"):
            if isinstance(payload.get(key), dict):
                payload = payload[key]
                break
    if not isinstance(payload, dict) or not all(isinstance(v, torch.Tensor) for v in payload.values()):
        raise BackboneWeightsError(f"{path}: not a state dict of tensors")
    return payload


def load_backbone_weights(body: nn.Module, backbone: str, path: Path) -> None:
    """Fill the backbone's feature extractor from a user file; every one of its tensors must be found, same shape."""
    if not path.is_file():
        raise BackboneWeightsError(f"--backbone-weights {path}: no such file")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - a corrupt or foreign file: say so with the path
        raise BackboneWeightsError(f"{path}: cannot be read as PyTorch weights ({error})") from None
    state = _state_dict_of(payload, path)
    prefixes = ["backbone.body.", "module.backbone.body.", "module."]
    if backbone.startswith("mobilenet"):
        prefixes.append("features.")  # classification keys features.N... are body keys N...
    wanted = body.state_dict()
    found: dict[str, torch.Tensor] = {}
    for key, tensor in state.items():
        for prefix in ("", *prefixes):
            short = key.removeprefix(prefix) if prefix else key
            if (not prefix or key.startswith(prefix)) and short in wanted:
                found[short] = tensor
                break
    missing = [k for k in wanted if k not in found]
    if missing:
        raise BackboneWeightsError(
            f"{path} does not fit backbone {backbone}: {len(missing)} of its {len(wanted)} tensors are missing "
            f"(first: {', '.join(missing[:3])})"
        )
    wrong = [k for k in wanted if found[k].shape != wanted[k].shape]
    if wrong:
        k = wrong[0]
        raise BackboneWeightsError(
            f"{path} does not fit backbone {backbone}: {k} has shape {tuple(found[k].shape)}, "
            f"expected {tuple(wanted[k].shape)}"
        )
    body.load_state_dict(found)


def finding_of_label(findings: Sequence[str], label: int) -> str:
    return findings[label - 1]


def label_of_finding(findings: Sequence[str], finding: str) -> int:
    try:
        return list(findings).index(finding) + 1
    except ValueError:
        raise ValueError(
            f"finding {finding!r} is not one the detector was built for ({', '.join(findings)})"
        ) from None
