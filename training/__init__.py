"""Plain-PyTorch training module: NIH data, artificial pairs, Pix2Pix, Pix2Pix-N and StarGAN.

Never imports Django: the web app reaches it through Celery tasks and management commands only.
"""
