"""Data: the NIH index, image loading, phantom images, healthy pool, augmentations and datasets."""
