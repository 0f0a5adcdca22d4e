"""PyTorch reference implementations of gan_lab's performance presets (see models.py)."""
