"""Forward FLOPs per image of the reference models, counted by forward hooks on every Linear,
Conv2d and ConvTranspose2d (2 FLOPs per multiply-add). The Rust counter (gan_lab/src/flops.rs)
is tested against the numbers this prints.

    python -m gan_torch_bench.flops
"""
import torch
from torch import nn

from .models import LATENT, PRESETS, build


def forward_flops(model, x):
    total = 0

    def hook(m, inputs, out):
        nonlocal total
        if isinstance(m, nn.Linear):
            total += 2 * m.in_features * m.out_features * (out.numel() // out.shape[-1])
        elif isinstance(m, nn.Conv2d):
            k = m.kernel_size[0] * m.kernel_size[1]
            total += 2 * out.numel() * m.in_channels * k
        elif isinstance(m, nn.ConvTranspose2d):
            k = m.kernel_size[0] * m.kernel_size[1]
            total += 2 * inputs[0].numel() * m.out_channels * k

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    with torch.no_grad():
        out = model(x)
    for h in handles:
        h.remove()
    return total // x.shape[0], out


def step_flops_per_image(preset):
    """3 F(G) + 9 F(D): the nominal work of one training step per image (see flops.rs)."""
    g, d, _ = build(preset)
    g.eval(), d.eval()
    fg, images = forward_flops(g, torch.randn(2, LATENT))
    fd, _ = forward_flops(d, images)
    return 3 * fg + 9 * fd


def main():
    for name in PRESETS:
        g, d, shape = build(name)
        g.eval(), d.eval()
        fg, images = forward_flops(g, torch.randn(2, LATENT))
        assert tuple(images.shape[1:]) == shape, (name, images.shape)
        fd, _ = forward_flops(d, images)
        print(f"{name}: G {fg} D {fd} step {3 * fg + 9 * fd} FLOP/image")


if __name__ == "__main__":
    main()
