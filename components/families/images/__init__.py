"""Generative images: autoencoders, a VAE, a DCGAN and DDPM diffusion on handwritten digits."""
