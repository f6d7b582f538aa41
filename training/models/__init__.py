"""Networks: the Pix2Pix U-Net and PatchGAN, the StarGAN generator and discriminator."""
