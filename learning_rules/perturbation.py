"""Weight perturbation: the randomized forward-mode gradient, from forward runs only.

Wan, Zhang & Karniadakis, "Randomized forward mode gradient for spiking neural networks in
scientific machine learning", arXiv 2411.07057 (Neural Networks, 2026). For K random directions
v_k with E[v v^T] = I (standard Gaussian, or Rademacher +-1 entries),

    antithetic (central):  g = (1/K) sum_k [L(w + eps v_k) - L(w - eps v_k)] / (2 eps) v_k
    one-sided (forward):   g = (1/K) sum_k [L(w + eps v_k) - L(w)] / eps v_k

Both are unbiased up to O(eps^2) (central) or O(eps) (one-sided): E[(v.grad) v] = grad. The
central form is exact in the difference quotient for a quadratic loss, and is exactly zero at the
minimum of a loss that is symmetric about it. With `layerwise=True` every direction perturbs one
parameter block only (K directions per block), which lowers the variance of each block's estimate
at the cost of K runs per block; the formula above is unchanged (v is zero outside its block).

The substrate interface
-----------------------
The rule never sees a model, only a *substrate*: a callable

    losses = substrate(stack)      stack: (M, n) float array, one parameter vector per row
                                   losses: (M,) float array, the loss of a forward run of each row

Row 0 of `stack` is always the clean parameter vector; the other rows are perturbed copies
(2K of them for the central form, K for the one-sided form). A substrate is expected to run all
M rows as batch copies of ONE simulation (models.network.LayeredNetwork does, through per-copy
weight offsets), but nothing here depends on it: a QIF network, a PyNN back end or hardware in
the loop plugs in by implementing the same call (it may also run the rows one after another).
The clean parameters passed to `estimate` are never written; every perturbed row is a copy.
`blocks` (sizes of consecutive parameter blocks, e.g. one per layer) are needed only for
`layerwise=True`.
"""
from __future__ import annotations

import numpy as np

__all__ = ["PerturbationGradient", "cosine_similarity"]

DISTRIBUTIONS = ("gaussian", "rademacher")
MODES = ("central", "forward")


def cosine_similarity(a, b):
    """cos(a, b) = a.b / (|a| |b|) for two flat vectors (0 if either is zero)."""
    a, b = np.ravel(a), np.ravel(b)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    return float(a @ b / (na * nb)) if na > 0 and nb > 0 else 0.0


class PerturbationGradient:
    """The randomized forward-mode gradient estimator (see the module docstring).

    Parameters
    ----------
    K : int, directions per estimate (per block with layerwise=True)
    eps : float, perturbation size, in the units of the parameters (> 0)
    distribution : 'gaussian' or 'rademacher'
    mode : 'central' (antithetic pairs, 2K + 1 rows) or 'forward' (one-sided, K + 1 rows)
    layerwise : bool, perturb one block of `blocks` per direction
    seed : int, the directions' random generator
    """

    def __init__(self, K=8, eps=1e-2, distribution="gaussian", mode="central", layerwise=False, seed=0):
        if int(K) != K or K < 1:
            raise ValueError(f"K (number of directions) must be an integer >= 1, got {K!r}")
        if not (np.isscalar(eps) and np.isfinite(eps) and eps > 0):
            raise ValueError(f"eps (perturbation size) must be a finite number > 0, got {eps!r}")
        if distribution not in DISTRIBUTIONS:
            raise ValueError(f"distribution must be one of {DISTRIBUTIONS}, got {distribution!r}")
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.K, self.eps = int(K), float(eps)
        self.distribution, self.mode, self.layerwise = distribution, mode, bool(layerwise)
        self.rng = np.random.default_rng(seed)

    def n_rows(self, blocks=None):
        """Rows M of the stack one estimate evaluates (clean + perturbed)."""
        n_dir = self.K * (len(blocks) if self.layerwise else 1)
        return 1 + n_dir * (2 if self.mode == "central" else 1)

    def directions(self, n, blocks=None):
        """Random directions (n_dir, n): K global ones, or K per block with layerwise=True."""
        if self.layerwise:
            if blocks is None or sum(blocks) != n or min(blocks) < 1:
                raise ValueError(f"layerwise perturbation needs `blocks` (positive sizes summing to {n}), "
                                 f"got {blocks!r}")
            edges = np.cumsum([0] + list(blocks))
            V = np.zeros((self.K * len(blocks), n))
            for b, (lo, hi) in enumerate(zip(edges[:-1], edges[1:])):
                V[b * self.K:(b + 1) * self.K, lo:hi] = self._draw((self.K, hi - lo))
            return V
        return self._draw((self.K, n))

    def _draw(self, shape):
        if self.distribution == "gaussian":
            return self.rng.standard_normal(shape)
        return self.rng.choice(np.array([-1.0, 1.0]), size=shape)

    def stack(self, theta, V):
        """(M, n): the clean vector, then theta + eps v_k (and theta - eps v_k for 'central')."""
        rows = [theta[None, :], theta + self.eps * V]
        if self.mode == "central":
            rows.append(theta - self.eps * V)
        return np.concatenate(rows, axis=0)

    def combine(self, losses, V):
        """The estimate from the losses of `stack(theta, V)`'s rows."""
        losses = np.asarray(losses, dtype=float)
        n_dir = len(V)
        if losses.shape != (1 + n_dir * (2 if self.mode == "central" else 1),):
            raise ValueError(f"substrate returned losses of shape {losses.shape}; expected one per row")
        if self.mode == "central":
            d = (losses[1:1 + n_dir] - losses[1 + n_dir:]) / (2 * self.eps)
        else:
            d = (losses[1:] - losses[0]) / self.eps
        return (d @ V) / self.K

    def estimate(self, substrate, theta, blocks=None):
        """(gradient estimate, clean loss) at theta, from ONE call of substrate(stack)."""
        theta = np.asarray(theta, dtype=float)
        if theta.ndim != 1 or theta.size == 0:
            raise ValueError(f"theta must be a non-empty flat parameter vector, got shape {theta.shape}")
        if not np.all(np.isfinite(theta)):
            raise ValueError("theta contains NaN or inf; fix the parameters before estimating a gradient")
        V = self.directions(theta.size, blocks)
        losses = np.asarray(substrate(self.stack(theta, V)), dtype=float)
        if losses.ndim != 1 or not np.all(np.isfinite(losses)):
            raise FloatingPointError(f"substrate returned non-finite or misshapen losses ({losses.shape}); "
                                     "lower eps or check the model's output decoding")
        return self.combine(losses, V), float(losses[0])
