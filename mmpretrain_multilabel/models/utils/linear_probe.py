"""A linear probe in closed form: ridge regression of the labels on pooled
features, shrunk toward a prior classifier, its strength chosen by
generalised cross-validation on the same images.

Linear probing before fine-tuning (LP-FT: Kumar et al., "Fine-Tuning can
Distort Pretrained Features and Underperform Out-of-Distribution", ICLR 2022,
https://arxiv.org/abs/2202.10054) starts the classifier fitted to the frozen
features, so fine-tuning begins from a head that already agrees with them.
Here the probe is the ridge solution toward a prior ``P`` (the classifier
transferred from ImageNet through the class names):

    W = P + argmin_D ||Yc - Xc (P + D)^T||^2 + lam ||D||^2

with ``Xc``, ``Yc`` the centred features and 0/1 labels, ``P = beta W0``
(``beta`` the least-squares scale of the prior's scores to the labels) and
``lam`` the value of a grid that minimises the generalised cross-validation
score ``n RSS / (n - df)^2`` (Golub, Heath & Wahba 1979; ``df`` counts the
intercept). Everything is computed from sums over the images
(:class:`ProbeStats`), so the sums of several processes add up to the probe
of all their images.
"""
from typing import Sequence, Tuple

import numpy as np
import torch

#: Ridge strengths tried, relative to the mean eigenvalue of the centred Gram matrix.
RELATIVE_LAMBDAS = tuple(10.0**e for e in np.arange(-4, 2.01, 0.25))


class ProbeStats:
    """Running sums of ``n`` feature / label pairs (float64).

    Args:
        channels (int): Feature size C.
        num_classes (int): Number of classes K.
    """

    def __init__(self, channels: int, num_classes: int):
        self.n = torch.zeros((), dtype=torch.float64)
        self.sx = torch.zeros(channels, dtype=torch.float64)
        self.sy = torch.zeros(num_classes, dtype=torch.float64)
        self.sxx = torch.zeros(channels, channels, dtype=torch.float64)
        self.sxy = torch.zeros(channels, num_classes, dtype=torch.float64)
        self.syy = torch.zeros((), dtype=torch.float64)

    def tensors(self) -> Sequence[torch.Tensor]:
        """The sums, e.g. to all-reduce them across processes in place."""
        return self.n, self.sx, self.sy, self.sxx, self.sxy, self.syy

    def add(self, x: torch.Tensor, y: torch.Tensor) -> None:
        """Add a batch: features ``[B, C]`` and 0/1 labels ``[B, K]``."""
        x, y = x.detach().double().cpu(), y.detach().double().cpu()
        self.n += x.shape[0]
        self.sx += x.sum(0)
        self.sy += y.sum(0)
        self.sxx += x.T @ x
        self.sxy += x.T @ y
        self.syy += (y * y).sum()


def fit_probe(stats: ProbeStats, prior: torch.Tensor,
              lambdas: Sequence[float] = RELATIVE_LAMBDAS
              ) -> Tuple[torch.Tensor, torch.Tensor, float]:
    """The ridge probe toward ``prior`` (see the module docstring).

    Args:
        stats (ProbeStats): Sums over the images.
        prior (Tensor): ``[K, C]`` prior classifier ``W0``.
        lambdas (Sequence[float]): Ridge strengths to try, in units of the
            mean eigenvalue of the centred Gram matrix.

    Returns:
        tuple: ``W`` ``[K, C]``, intercept ``b`` ``[K]`` (float32) and the
        chosen ridge strength (absolute).

    Raises:
        ValueError: With fewer than 3 images, or no positive label at all.
    """
    n = float(stats.n)
    if n < 3:
        raise ValueError(f'linear probe: {n:.0f} images; it needs at least 3')
    if float(stats.sy.sum()) <= 0:
        raise ValueError('linear probe: the images have no positive label')
    mx, my = stats.sx / n, stats.sy / n
    gram = stats.sxx - n * torch.outer(mx, mx)  # Xc^T Xc
    cross = stats.sxy - n * torch.outer(mx, my)  # Xc^T Yc
    yy = stats.syy - n * (my * my).sum()  # ||Yc||^2
    w0 = prior.double().cpu()
    prior_sq = (w0 @ gram * w0).sum()
    beta = (w0 * cross.T).sum() / prior_sq if prior_sq > 0 else torch.zeros(())
    p = beta * w0
    resid_cross = cross - gram @ p.T  # Xc^T Rc, Rc = Yc - Xc P^T
    resid_sq = yy - 2 * (p * cross.T).sum() + (p @ gram * p).sum()
    evals, evecs = torch.linalg.eigh(gram)
    evals = evals.clamp_min(0)
    q = evecs.T @ resid_cross  # [C, K]
    q_sq = (q * q).sum(1)
    scale = float(evals.mean()) or 1.
    best = None
    for rel in lambdas:
        lam = rel * scale
        shrink = 1 / (evals + lam)
        rss = resid_sq - (q_sq * (2 * shrink - evals * shrink**2)).sum()
        df = float((evals * shrink).sum()) + 1  # + the intercept
        if df >= n:
            continue
        gcv = n * float(rss) / (n - df)**2
        if best is None or gcv < best[0]:
            best = (gcv, lam)
    lam = best[1] if best is not None else max(lambdas) * scale
    delta = (evecs @ (q / (evals + lam)[:, None])).T  # [K, C]
    w = p + delta
    b = my - w @ mx
    return w.float(), b.float(), lam
