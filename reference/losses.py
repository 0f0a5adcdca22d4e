"""Reference values for gan_lab's loss tests (gan_lab/src/loss.rs).

BCE with logits as PyTorch defines it: BCE(l, 1) = log(1 + exp(-l)), BCE(l, 0) = log(1 + exp(l)).
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
