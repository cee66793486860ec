"""Learning (06_tune, 07_train): datasets read from the cube, the U-Net models, losses, metrics, the class
decision, the per-pixel baseline, resumable training, tuning and the experiment matrix."""
