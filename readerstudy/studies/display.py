"""How big a reader sees a study image: the reading page's rule (``#case-image`` in static/css/app.css) in numbers, so
a page that tells an admin "as readers receive it" says what readers really get. The rule: the 224 px image at the
largest whole-number zoom (448, 672, ... px) that fits the stage, the window less the top bar, the answer panel
beside it and the stage's padding; a stage smaller than 224 px shrinks it. Wide windows only (landscape, over 900 px):
narrower ones stack the panel under the image, and their stage depends on the panel's content.
``tests/browser/test_gallery_browser.py`` checks these numbers against the page in Chromium.
"""
from __future__ import annotations

STUDY_IMAGE_PX = 224
PANEL_PX = 340  # .reader-grid's second column
STAGE_PADDING_PX = 20  # .stage: 1.25rem on each side
TOPBAR_PX = 40  # body.reading .topbar (.45rem padding, one line, a border): 39.4 px in Chromium, rounded up
WIDE_LAYOUT_MIN_PX = 901  # @media (max-width: 900px), (orientation: portrait) stacks the panel under the image

# The screens the case page names (CSS pixels): a common laptop, a full-HD monitor.
EXAMPLE_SCREENS = ((1280, 800), (1920, 1080))


def reader_zoom(width: int, height: int) -> int | None:
    """The whole-number zoom of the study image on a ``width`` x ``height`` window (CSS pixels) in the wide layout;
    0 when the stage is smaller than the image (it shrinks), None for a narrow or portrait window."""
    if width < WIDE_LAYOUT_MIN_PX or height > width:
        return None
    stage_width = width - PANEL_PX - 2 * STAGE_PADDING_PX
    stage_height = height - TOPBAR_PX - 2 * STAGE_PADDING_PX
    return min(stage_width, stage_height) // STUDY_IMAGE_PX


def reader_zoom_examples() -> str:
    """The zoom readers get on the example screens, as a phrase: "3x (672 px) at 1280 x 800, 4x (896 px) at ..."."""
    return ", ".join(f"{zoom}x ({zoom * STUDY_IMAGE_PX} px) at {width} x {height}"
                     for width, height in EXAMPLE_SCREENS if (zoom := reader_zoom(width, height)))
