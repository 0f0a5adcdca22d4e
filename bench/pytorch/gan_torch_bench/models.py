"""The gan_lab presets `dcgan28`, `mlp-gan`, `dcgan-emoji32` and `pytorch-dcgan64`, layer for layer.

Each builder mirrors gan_lab/src/config/presets.rs and gan_lab/src/model/blocks.rs: every block is
layer -> BatchNorm? -> activation -> dropout?, a layer followed by BatchNorm has no bias, BatchNorm
uses eps 1e-5 and momentum 0.1 (burn's defaults, also PyTorch's), DCGAN weights are N(0, 0.02),
BatchNorm scales N(1, 0.02) and biases 0. Initialisation does not change the cost of a step.
"""
import torch
from torch import nn

LATENT = 100


def _dcgan_init(module):
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


class Reshape(nn.Module):
    def __init__(self, *shape):
        super().__init__()
        self.shape = shape

    def forward(self, x):
        return x.view(x.shape[0], *self.shape)


def dcgan_pair(image_channels, projection, g_channels, d_channels):
    """gan_lab's `dcgan_pair`: G linear projection (no bias) + BN + ReLU, ConvT 4x4 s2 p1 + BN + ReLU
    per entry of g_channels, a last ConvT to the image channels (bias) + tanh; D Conv 4x4 s2 p1 per
    entry of d_channels, BN on all but the first (which keeps its bias), LeakyReLU 0.2, then a
    linear layer to one logit."""
    c, h, w = projection
    g = [nn.Linear(LATENT, c * h * w, bias=False), Reshape(c, h, w), nn.BatchNorm2d(c), nn.ReLU()]
    c_in = c
    for c_out in g_channels:
        g += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]
        c_in = c_out
    g += [nn.ConvTranspose2d(c_in, image_channels, 4, 2, 1, bias=True), nn.Tanh()]
    size = h * 2 ** (len(g_channels) + 1)
    d = []
    c_in = image_channels
    for i, c_out in enumerate(d_channels):
        bn = i > 0
        d.append(nn.Conv2d(c_in, c_out, 4, 2, 1, bias=not bn))
        if bn:
            d.append(nn.BatchNorm2d(c_out))
        d.append(nn.LeakyReLU(0.2))
        c_in = c_out
        size //= 2
    d += [nn.Flatten(), nn.Linear(c_in * size * size, 1), nn.Flatten(0)]
    g, d = nn.Sequential(*g), nn.Sequential(*d)
    _dcgan_init(g)
    _dcgan_init(d)
    return g, d


def dcgan28():
    """PyTorch's DCGAN tutorial at 28x28: G 100 -> 256x7x7 -> 128 -> 1; D 1 -> 64 (dropout 0.3)
    -> 128 (BN) -> 1."""
    g, d = dcgan_pair(1, (256, 7, 7), [128], [64, 128])
    # gan_lab's dcgan28 puts dropout 0.3 after the first D block (Conv, LeakyReLU).
    layers = list(d.children())
    layers.insert(2, nn.Dropout(0.3))
    return g, nn.Sequential(*layers)


def pytorch_dcgan64():
    """The PyTorch DCGAN tutorial at 64x64 RGB (ngf = ndf = 64)."""
    return dcgan_pair(3, (512, 4, 4), [256, 128, 64], [64, 128, 256, 512])


def dcgan_emoji32():
    """dcgan28's recipe at 32x32 RGB: G 100 -> 256x4x4 -> 128 -> 64 -> 3; D 3 -> 64 -> 128 (BN)
    -> 256 (BN) -> 1, without dropout."""
    return dcgan_pair(3, (256, 4, 4), [128, 64], [64, 128, 256])


def mlp_gan():
    """MLP GAN: G 100-256-512-1024-784 (LeakyReLU 0.2, tanh), D 784-1024-512-256-1 (LeakyReLU 0.2,
    dropout 0.3 after every hidden layer); PyTorch's default Linear initialisation."""
    g, d_in = [], LATENT
    for units in [256, 512, 1024]:
        g += [nn.Linear(d_in, units), nn.LeakyReLU(0.2)]
        d_in = units
    g += [nn.Linear(d_in, 784), nn.Tanh(), Reshape(1, 28, 28)]
    d, d_in = [nn.Flatten()], 784
    for units in [1024, 512, 256]:
        d += [nn.Linear(d_in, units), nn.LeakyReLU(0.2), nn.Dropout(0.3)]
        d_in = units
    d += [nn.Linear(d_in, 1), nn.Flatten(0)]
    return nn.Sequential(*g), nn.Sequential(*d)


PRESETS = {
    "dcgan28": (dcgan28, (1, 28, 28)),
    "mlp-gan": (mlp_gan, (1, 28, 28)),
    "dcgan-emoji32": (dcgan_emoji32, (3, 32, 32)),
    "pytorch-dcgan64": (pytorch_dcgan64, (3, 64, 64)),
}


def build(preset):
    """(generator, discriminator, image shape) of a preset, or ValueError naming the known ones."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset '{preset}'; known: {', '.join(PRESETS)}")
    make, shape = PRESETS[preset]
    g, d = make()
    return g, d, shape
