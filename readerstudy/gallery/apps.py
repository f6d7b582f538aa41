from django.apps import AppConfig


class GalleryConfig(AppConfig):
    name = "readerstudy.gallery"
    verbose_name = "Case gallery"
