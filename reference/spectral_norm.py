"""Reference values for gan_lab's spectral normalisation test (gan_lab/src/model/spectral.rs).

Miyato et al. 2018, as PyTorch's torch.nn.utils.spectral_norm computes it in training mode: one
power-iteration step from the stored vectors, v = normalize(Wᵀu), u = normalize(Wv), then
σ = uᵀWv (u, v held constant) and W_sn = W / σ. The gradient of Σ G∘W_sn in W (u, v constant) is
G/σ − (Σ G∘W)/σ² · u vᵀ.
Run: python3 reference/spectral_norm.py
"""
import numpy as np

W = np.array([[0.5, -1.0, 2.0, 0.25], [1.5, 0.0, -0.5, 1.0], [-2.0, 0.75, 1.0, -1.25]])
u0 = np.array([0.6, 0.8, 0.0])
G = np.array([[1.0, 2.0, -1.0, 0.5], [0.0, -1.0, 3.0, 1.0], [2.0, 0.5, -0.5, -2.0]])

normalize = lambda x: x / max(np.linalg.norm(x), 1e-12)
v = normalize(W.T @ u0)
u = normalize(W @ v)
sigma = u @ W @ v
grad = G / sigma - (G * W).sum() / sigma**2 * np.outer(u, v)
fmt = lambda a: ", ".join(f"{x:.6f}" for x in np.ravel(a))
print(f"u = [{fmt(u)}]")
print(f"v = [{fmt(v)}]")
print(f"sigma = {sigma:.6f}")
print(f"w_sn = [{fmt(W / sigma)}]")
print(f"grad = [{fmt(grad)}]")

uk = u0
for _ in range(100):
    vk = normalize(W.T @ uk)
    uk = normalize(W @ vk)
print(f"sigma after 100 iterations = {uk @ W @ vk:.6f}; largest singular value = {np.linalg.svd(W)[1][0]:.6f}")
