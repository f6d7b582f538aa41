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
from torchvision.models.detection.backbone_utils import BackboneWithFPN, mobilenet_backbone, resnet_fpn_backbone
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.ops import MultiScaleRoIAlign
from torchvision.ops.feature_pyramid_network import LastLevelMaxPool

BACKBONES = ("resnet50_fpn", "resnet18_fpn", "mobilenet_v3_large_fpn", "tiny_fpn")
LIGHT_BACKBONE = "mobilenet_v3_large_fpn"  # the fastest torchvision backbone on a CPU (bench/bench_localisation.py)
TINY_BACKBONE = "tiny_fpn"  # a four-stage plain CNN (0.4 M parameters) for CPU checks that the detector learns
TINY_CHANNELS = (16, 32, 64, 128)
TINY_FPN_CHANNELS = 64
TINY_REPRESENTATION = 256


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
    if name == TINY_BACKBONE:
        return _tiny_backbone()
    raise ValueError(f"unknown backbone {name!r}; choose one of {', '.join(BACKBONES)}")


def _tiny_backbone() -> BackboneWithFPN:
    """Four stride-2 stages of two 3x3 convolutions with batch norm; the last three (strides 4, 8, 16) feed an FPN."""
    stages, previous = [], 1
    for channels in TINY_CHANNELS:
        stages.append(nn.Sequential(
            nn.Conv2d(3 if previous == 1 else previous, channels, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(channels), nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels), nn.ReLU(inplace=True)))
        previous = channels
    body = nn.Sequential(*stages)
    return BackboneWithFPN(body, return_layers={"1": "0", "2": "1", "3": "2"}, in_channels_list=list(TINY_CHANNELS[1:]),
                           out_channels=TINY_FPN_CHANNELS, extra_blocks=LastLevelMaxPool())


def _anchors(name: str, image_size: int) -> AnchorGenerator | None:
    """The mobilenet FPN gives 3 feature maps instead of 5: one anchor set per map, as torchvision configures it.

    The tiny backbone's four maps (strides 4, 8, 16, 32) get one size each, 1/16 to 1/2 of the image side, so its
    anchors cover NIH-sized boxes (about 8-40 % of the side) at any image size.
    """
    if name == "mobilenet_v3_large_fpn":
        sizes = ((32, 64, 128, 256, 512),) * 3
        return AnchorGenerator(sizes, ((0.5, 1.0, 2.0),) * len(sizes))
    if name == TINY_BACKBONE:
        sizes = tuple((max(4, image_size // d),) for d in (16, 8, 4, 2))
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
    if backbone == TINY_BACKBONE:
        # Small heads and fewer proposals to match: torchvision's 1024-wide box head, 2000 proposals and 512 sampled
        # regions per image would cost ten times the backbone (RoIAlign's backward dominated a CPU step).
        return FasterRCNN(
            body, min_size=image_size, max_size=image_size, rpn_anchor_generator=_anchors(backbone, image_size),
            box_roi_pool=MultiScaleRoIAlign(["0", "1", "2"], output_size=7, sampling_ratio=1),
            box_head=TwoMLPHead(TINY_FPN_CHANNELS * 7 * 7, TINY_REPRESENTATION),
            box_predictor=FastRCNNPredictor(TINY_REPRESENTATION, len(findings) + 1),
            rpn_pre_nms_top_n_train=300, rpn_post_nms_top_n_train=300, rpn_pre_nms_top_n_test=300,
            rpn_post_nms_top_n_test=100, rpn_batch_size_per_image=128, box_batch_size_per_image=64,
        )
    return FasterRCNN(
        body,
        num_classes=len(findings) + 1,
        min_size=image_size,
        max_size=image_size,
        rpn_anchor_generator=_anchors(backbone, image_size),
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
