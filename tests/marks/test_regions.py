"""What each pixel is, from a case's provenance: real everywhere, a kept box in a generated image, or all generated."""
import numpy as np
import pytest

from analysis.marks.regions import IMAGE_SIZE, CaseTruth, PixelKind, case_truth, change_map, in_box, on_generated

BOX = (50.0, 60.0, 40.0, 30.0)


def test_a_pix2pix_image_is_real_in_its_box_and_generated_elsewhere():
    truth = case_truth(is_real=False, box=list(BOX), box_pasted_back=True)
    mask = truth.generated_mask()
    assert truth.kind == PixelKind.BOX_KEPT
    assert not mask[60:90, 50:90].any() and mask.sum() == IMAGE_SIZE**2 - 40 * 30
    assert truth.box_fraction == pytest.approx(1200 / IMAGE_SIZE**2)
    assert on_generated([55.0, 10.0], [65.0, 10.0], truth).tolist() == [False, True]


def test_a_stargan_image_is_generated_everywhere_even_where_its_origin_had_a_box():
    truth = case_truth(is_real=False, box=list(BOX), box_pasted_back=False)
    assert truth.kind == PixelKind.ALL_GENERATED and truth.kept_box is None and truth.box_fraction == 0
    assert truth.generated_mask().all()
    assert on_generated([55.0], [65.0], truth).tolist() == [True]


def test_a_real_image_is_real_everywhere():
    truth = case_truth(is_real=True, box=list(BOX), box_pasted_back=True)
    assert not truth.generated_mask().any() and not truth.is_fake
    assert on_generated([55.0, 10.0], [65.0, 10.0], truth).tolist() == [False, False]


def test_a_box_kept_fake_without_a_box_with_an_area_is_all_generated():
    assert case_truth(is_real=False, box=[10, 10, 0, 5], box_pasted_back=True).kind == PixelKind.ALL_GENERATED
    with pytest.raises(ValueError, match="box"):
        CaseTruth(PixelKind.BOX_KEPT, None)


def test_the_box_holds_its_top_left_edge_not_its_bottom_right():
    assert in_box([50.0, 89.99, 90.0], [60.0, 89.99, 90.0], BOX).tolist() == [True, True, False]


def test_the_change_map_is_the_scaled_absolute_difference_to_the_origin():
    origin = np.zeros((IMAGE_SIZE, IMAGE_SIZE), dtype=np.uint8)
    fake = origin.copy()
    fake[0, 0] = 255
    changed = change_map(fake, origin)
    assert changed[0, 0] == 1.0 and changed.sum() == 1.0


def test_the_generation_audit_says_whether_the_box_was_pasted_back_else_the_generators_kind():
    from analysis.marks.regions import box_pasted_back

    assert box_pasted_back(source_slug="pix2pix", audit_record=None)
    assert box_pasted_back(source_slug="my-new-gan", audit_record={"box_identical": True})
    assert not box_pasted_back(source_slug="pix2pix", audit_record={"box_identical": True,
                                                                    "box_identical_224": False})
    assert not box_pasted_back(source_slug="stargan", audit_record={"box_identical": None})


def test_the_heat_map_keeps_every_mark_and_puts_it_where_it_was_placed():
    from analysis.marks.heatmap import mark_density

    density = mark_density(np.array([10.0, 10.0, 200.0]), np.array([20.0, 20.0, 100.0]))
    assert density.sum() == pytest.approx(3.0)
    row, column = np.unravel_index(density.argmax(), density.shape)
    assert (row, column) == (20 // 4, 10 // 4)
