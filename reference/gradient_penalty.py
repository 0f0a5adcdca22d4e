"""Reference values for gan_lab's gradient penalties (gan_lab/src/loss/penalty.rs).

A critic D(x) = Σ v · leaky_relu(conv2d(x, W, stride 2, padding 1) + b, 0.2) on a batch of two 1×4×4
images (the second is the first's numbers reversed), 2 output channels, 3×3 kernel (DCGAN's
strided, padded geometry). PyTorch computes ∂D/∂x with
autograd.grad(create_graph=True), so the penalty's gradient in W is the gradient of a gradient.
- R1 (Mescheder et al. 2018): (λ/2) · mean ‖∂D/∂x‖² at the real images.
- WGAN-GP (Gulrajani et al. 2017): λ · mean (‖∂D/∂x̂‖ − 1)² at x̂ = εx + (1 − ε)·fake, with
  fake = 0.5·x − 0.25 and ε = (0.3, 0.8).
λ = 10. Run with PyTorch installed: python3 reference/gradient_penalty.py
"""
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
X = torch.tensor([0.5, -1.0, 0.25, 1.5, 0.0, -0.5, 0.75, 2.0, -1.25, 0.3, 1.1, -0.7, 0.9, -0.2, 0.6, -1.5])
x = torch.stack([X, X.flip(0)]).reshape(2, 1, 4, 4)
W = torch.tensor([0.3, -0.2, 0.5, 0.1, -0.4, 0.25, 0.15, -0.35, 0.45, -0.1, 0.2, -0.3, 0.35, 0.05, -0.25, 0.4, -0.15, 0.1]).reshape(2, 1, 3, 3).requires_grad_()
b = torch.tensor([0.05, -0.1])
v = torch.tensor([1.0, -0.5, 0.25, 0.75, -1.0, 0.5, 2.0, -0.25]).reshape(1, 2, 2, 2)
LAMBDA = 10.0


def critic(images):
    return (F.leaky_relu(F.conv2d(images, W, b, stride=2, padding=1), 0.2) * v).sum(dim=(1, 2, 3))


def squared_norms(points):
    points = points.detach().requires_grad_()
    (dx,) = torch.autograd.grad(critic(points).sum(), points, create_graph=True)
    return dx.reshape(2, -1).pow(2).sum(1)


def show(name, penalty):
    (grad,) = torch.autograd.grad(penalty, W)
    values = ", ".join(f"{g:.6f}" for g in grad.flatten().tolist())
    print(f"{name}: value {penalty.item():.6f}, grad_w [{values}]")


show("r1", LAMBDA / 2 * squared_norms(x).mean())
eps = torch.tensor([0.3, 0.8]).reshape(2, 1, 1, 1)
x_hat = eps * x + (1 - eps) * (0.5 * x - 0.25)
show("wgan_gp", LAMBDA * (squared_norms(x_hat).sqrt() - 1).pow(2).mean())
