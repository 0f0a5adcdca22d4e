"""Reference values for gan_lab's optimiser tests (gan_lab/src/train/optim.rs).

Adam as torch.optim.Adam computes it; SGD with momentum as pylearn2 (Goodfellow 2014) does:
v <- mu*v - lr*g ; w <- w + v.   Run: python3 reference/optimizers.py
"""
import numpy as np

grads = [np.array([0.5, -1.0]), np.array([0.25, 2.0]), np.array([-1.0, 0.1])]

w = np.array([1.0, -2.0]); m = np.zeros(2); v = np.zeros(2)
lr, b1, b2, eps = 0.01, 0.5, 0.999, 1e-8
for t, g in enumerate(grads, 1):
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    w = w - lr / (1 - b1**t) * m / (np.sqrt(v / (1 - b2**t)) + eps)
print("adam", [f"{x:.7f}" for x in w])

w = np.array([1.0, -2.0]); vel = np.zeros(2)
for g in grads:
    vel = 0.5 * vel - 0.1 * g
    w = w + vel
print("sgd", [f"{x:.7f}" for x in w])

# RMSprop as torch.optim.RMSprop computes it (alpha 0.99, eps 1e-8, no momentum, not centred):
# v <- alpha*v + (1 - alpha)*g^2 ; w <- w - lr * g / (sqrt(v) + eps)   (WGAN's optimiser)
w = np.array([1.0, -2.0]); sq = np.zeros(2)
for g in grads:
    sq = 0.99 * sq + 0.01 * g * g
    w = w - 0.01 * g / (np.sqrt(sq) + 1e-8)
print("rmsprop", [f"{x:.7f}" for x in w])
