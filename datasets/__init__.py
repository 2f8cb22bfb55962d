"""Where images come from: benchmark sets (Set5/Set14 layout), the development data folder, the
CC0 photographs every installation has with their single roles, and scoring a runner on
benchmark pairs (Y-PSNR/SSIM)."""
