"""Reference values for gan_lab's metric tests (gan_lab/src/metrics/mod.rs).

Standard definitions, written plainly with numpy and scipy:
FID (scipy.linalg.sqrtm), KID (unbiased MMD^2, polynomial kernel (x.y/d + 1)^3, one subset = all rows),
improved precision/recall (k=3, Kynkaanniemi 2019), density/coverage (k=5, Naeem 2020),
mean nearest-neighbour distance.   Run: python3 reference/metrics.py
"""
import numpy as np
from scipy import linalg


def features(rows, dim, phase, scale):
    i = np.arange(rows)[:, None].astype(np.float64)
    j = np.arange(dim)[None, :].astype(np.float64)
    x = scale * (np.sin(1.3 * i + 0.7 * j + phase) + 0.5 * np.cos(0.31 * i * j + phase))
    return x.astype(np.float32).astype(np.float64)


def fid(a, b):
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def kid(a, b):
    d = a.shape[1]
    k = lambda x, y: (x @ y.T / d + 1) ** 3
    m, n = len(a), len(b)
    kxx, kyy, kxy = k(a, a), k(b, b), k(a, b)
    return float((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1)) - 2 * kxy.mean())


def dist(a, b):
    return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))


def kth(x, k):
    d = dist(x, x)
    return np.sort(d, axis=1)[:, k]  # column 0 is the point itself


def prdc(real, fake, k_pr=3, k_dc=5):
    rr, fr, rd = kth(real, k_pr), kth(fake, k_pr), kth(real, k_dc)
    d_fr = dist(fake, real)
    precision = (d_fr <= rr[None, :]).any(1).mean()
    recall = (dist(real, fake) <= fr[None, :]).any(1).mean()
    density = (d_fr <= rd[None, :]).sum() / (k_dc * len(fake))
    coverage = (d_fr.min(0) <= rd).mean()
    return [float(precision), float(recall), float(density), float(coverage)]


real = features(40, 6, 0.0, 1.0)
fake = features(40, 6, 0.4, 1.3)
print(f"REF_FD = {fid(real, fake)!r}")
print(f"REF_KID = {kid(real, fake)!r}")
print(f"REF_PRDC = {prdc(real, fake)!r}")
print(f"REF_NN = {float(dist(fake, real).min(1).mean())!r}")
