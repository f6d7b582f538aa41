"""The Faster R-CNN builder: classes per finding, no downloads, user-supplied backbone weights."""
from __future__ import annotations

import pytest
import torch
import torchvision

from training.localisation.detector import (
    BackboneWeightsError,
    build_detector,
    finding_of_label,
    label_of_finding,
)

FINDINGS = ("Atelectasis", "Cardiomegaly", "Effusion", "Infiltration", "Pneumonia", "Pneumothorax")


def test_default_detector_is_resnet50_fpn_with_one_class_per_finding_plus_background():
    model = build_detector(FINDINGS)
    assert model.roi_heads.box_predictor.cls_score.out_features == len(FINDINGS) + 1
    assert any(name.startswith("layer4.2.") for name, _ in model.backbone.body.named_parameters())  # ResNet-50 depth


def test_images_enter_at_their_own_size():
    model = build_detector(FINDINGS, "resnet18_fpn", image_size=256)
    assert model.transform.min_size == (256,) and model.transform.max_size == 256


@pytest.mark.parametrize("backbone", ["resnet18_fpn", "mobilenet_v3_large_fpn"])
def test_light_backbones_train_and_predict_at_256(backbone):
    torch.manual_seed(0)
    model = build_detector(FINDINGS, backbone)
    images = [torch.rand(3, 256, 256)]
    targets = [{"boxes": torch.tensor([[10.0, 20.0, 110.0, 140.0]]), "labels": torch.tensor([3])}]
    losses = model(images, targets)
    assert set(losses) >= {"loss_classifier", "loss_box_reg", "loss_objectness", "loss_rpn_box_reg"}
    model.eval()
    with torch.no_grad():
        (prediction,) = model(images)
    assert prediction["labels"].min() >= 1 and prediction["labels"].max() <= len(FINDINGS)


def test_labels_map_to_findings_and_back():
    assert label_of_finding(FINDINGS, "Effusion") == 3
    assert finding_of_label(FINDINGS, 3) == "Effusion"


def test_a_finding_the_detector_was_not_built_for_is_an_error():
    with pytest.raises(ValueError, match="'Mass' is not one the detector was built for"):
        label_of_finding(FINDINGS, "Mass")


def test_backbone_weights_load_from_a_torchvision_classification_file(tmp_path):
    classifier = torchvision.models.resnet18(weights=None)
    path = tmp_path / "resnet18.pth"
    torch.save(classifier.state_dict(), path)
    model = build_detector(FINDINGS, "resnet18_fpn", backbone_weights=path)
    assert torch.equal(model.backbone.body.conv1.weight, classifier.conv1.weight)
    assert torch.equal(model.backbone.body.layer4[1].bn2.running_var, classifier.layer4[1].bn2.running_var)


def test_backbone_weights_load_for_mobilenet_from_its_classification_keys(tmp_path):
    classifier = torchvision.models.mobilenet_v3_large(weights=None)
    path = tmp_path / "mobilenet.pth"
    torch.save({"state_dict": classifier.state_dict()}, path)
    model = build_detector(FINDINGS, "mobilenet_v3_large_fpn", backbone_weights=path)
    assert torch.equal(model.backbone.body["0"][0].weight, classifier.features[0][0].weight)


def test_backbone_weights_of_another_architecture_are_refused(tmp_path):
    path = tmp_path / "resnet18.pth"
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), path)
    with pytest.raises(BackboneWeightsError, match="does not fit backbone resnet50_fpn"):
        build_detector(FINDINGS, "resnet50_fpn", backbone_weights=path)


def test_a_missing_or_foreign_weights_file_is_refused(tmp_path):
    with pytest.raises(BackboneWeightsError, match="no such file"):
        build_detector(FINDINGS, "resnet18_fpn", backbone_weights=tmp_path / "absent.pth")
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(BackboneWeightsError, match="cannot be read as PyTorch weights"):
        build_detector(FINDINGS, "resnet18_fpn", backbone_weights=junk)


def test_an_unknown_backbone_is_an_error():
    with pytest.raises(ValueError, match="unknown backbone 'vgg16'"):
        build_detector(FINDINGS, "vgg16")
