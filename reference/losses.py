"""Reference values for gan_lab's loss tests (gan_lab/src/loss/*.rs).

Every loss takes D's raw outputs (logits or critic values), averaged over the batch.
- BCE with logits as PyTorch defines it: BCE(l, 1) = log(1 + exp(-l)), BCE(l, 0) = log(1 + exp(l)).
- Least squares (Mao et al. 2017, a = 0, b = c = 1): D = ½E[(D(x) − 1)²] + ½E[D(G(z))²],
  G = ½E[(D(G(z)) − 1)²].
- Hinge (Lim & Ye 2017; SAGAN): D = E[max(0, 1 − D(x))] + E[max(0, 1 + D(G(z)))], G = −E[D(G(z))].
- Wasserstein (Arjovsky et al. 2017): critic = E[D(G(z))] − E[D(x)], G = −E[D(G(z))].
Run: python3 reference/losses.py
"""
import numpy as np

real = np.array([2.0, -1.0, 0.5])
fake = np.array([-3.0, 0.0, 4.0])
softplus = lambda x: np.logaddexp(0.0, x)

d_loss = softplus(-real).mean() + softplus(fake).mean()
g_non_saturating = softplus(-fake).mean()       # -log D(G(z))
g_minimax = -softplus(fake).mean()               # log(1 - D(G(z)))
print(f"discriminator_loss = {d_loss:.4f}")
print(f"generator_loss non_saturating = {g_non_saturating:.4f}")
print(f"generator_loss minimax = {g_minimax:.4f}")

print(f"least_squares D = {0.5 * ((real - 1) ** 2).mean() + 0.5 * (fake ** 2).mean():.4f}")
print(f"least_squares G = {0.5 * ((fake - 1) ** 2).mean():.4f}")
print(f"hinge D = {np.maximum(0, 1 - real).mean() + np.maximum(0, 1 + fake).mean():.4f}")
print(f"hinge G = {-fake.mean():.4f}")
print(f"wasserstein D = {fake.mean() - real.mean():.4f}")
print(f"wasserstein G = {-fake.mean():.4f}")
