"""Where readers marked an image, against what each of its pixels is (real, pasted back, generated).

* ``regions``: what each pixel of a 224 px study image is, from the case's provenance (``CaseTruth``: real everywhere;
  a kept box of real pixels in a generated image, Pix2Pix and Pix2Pix-N; generated everywhere, StarGAN), where a mark
  falls (``in_box``, ``on_generated``) and, where the origin image is known, how much each pixel changed
  (``change_map``).
* ``statistics``: per group (generator x finding), the share of marks inside the kept box against the box's share of
  the image (``box_avoidance``), marks per read (``marks_per_read``), both with a two-way (readers and cases) bootstrap
  interval (``ratio_interval``); the per-read localisation score a wAFROC-style figure of merit is computed on
  (``localisation_scores``) and that figure itself (``wafroc``).
* ``changes``: on images generated everywhere whose origin is known (StarGAN), the most-changed pixels (above the
  image's own 75th percentile of change) and the share of marks on them against their share of the image
  (``change_attraction``, the box-avoidance rule on another region, with the same interval).
* ``heatmap``: marks binned and smoothed over the image frame.
* ``jafroc``: the marks as RJafroc's JAFROC workbook (Truth, TP and FP sheets), one lesion per fake: its generated
  region.
* ``simulate``: readers who mark with a known box avoidance, or a known pull toward the most-changed pixels, to show
  the analysis recovers it.

Plain arrays in, dataclasses out: no Django, no torch (the import-linter contract on ``analysis``).
"""
