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

Output form, and leaving out the outputs that jumped
----------------------------------------------------
Where the loss is a known function of the network's outputs u (P of them, e.g. one per input
point) and the substrate reports u for every row, the same estimate can be formed per output:
the finite differences give each output's directional derivative J_kp = [u_p(w + eps v_k) -
u_p(w - eps v_k)] / (2 eps) (forward runs only), and the loss's derivative at the clean outputs
chains them (`combine_outputs`):

    g = sum_p dL/du_p (1/K_p) sum_{k kept at p} J_kp v_k

With every output kept (K_p = K) this is the loss form for a loss linearised in u. Its use: a TTFS
output is piecewise smooth, and where a hidden potential peak touches the threshold a first spike
jumps between a finite time and none, so u_p jumps. A difference across such a jump is jump / (2 eps),
not a derivative; averaged over directions these terms do not vanish as eps -> 0 (they measure the
jump's density) and can point away from the gradient of the smooth piece, which is what the exact
spike-time gradient computes (benchmarks/README.md, issue 5, sin(pi x)). A substrate that sees its
spikes (a simulation, or hardware that records them) knows which rows changed which output's spike
set; `keep[k, p] = False` leaves direction k out of output p's average (K_p counts the kept ones, per
block with layerwise=True), so the estimate follows the smooth piece, as the exact gradient does.
The directions left out are those that cross a switching surface within eps, so the remaining bias
shrinks with eps and with the fraction left out (reported by the caller). Measured on sin(pi x) with
a TTFS LIF network (benchmarks/README.md, "Output form"): at fixed parameters the average of such
estimates points along the exact gradient (cosine 0.96) where the loss form's points away (-0.89),
but training with it is worse, not better: the directions that switch a spike are also those along
which the output is most sensitive (a spike time's derivative diverges as the potential peak nears
the threshold), so leaving them out also drops much of the smooth gradient. Use it to diagnose.
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

    def output_derivatives(self, U, n_dir):
        """J (n_dir, P): each output's finite-difference directional derivative from the rows' outputs
        U (M, P) of `stack(theta, V)` (central or one-sided, as the mode)."""
        U = np.asarray(U, dtype=float)
        if U.ndim != 2 or len(U) != 1 + n_dir * (2 if self.mode == "central" else 1):
            raise ValueError(f"outputs must have one row per stacked parameter vector "
                             f"({1 + n_dir * (2 if self.mode == 'central' else 1)}), got shape {U.shape}")
        if self.mode == "central":
            return (U[1:1 + n_dir] - U[1 + n_dir:]) / (2 * self.eps)
        return (U[1:] - U[0]) / self.eps

    def combine_outputs(self, U, V, dL_du, keep=None):
        """The estimate in output form (module docstring): sum_p dL/du_p (1/K_p) sum_{k kept} J_kp v_k.

        U (M, P): the outputs of every row of `stack(theta, V)`; dL_du (P,): the loss's derivative at
        the clean outputs U[0]; keep (n_dir, P) bool or None (all kept): False leaves direction k out
        of output p's average. Directions are grouped K at a time (one group per block with
        layerwise=True); K_p counts the kept ones in each group, and an output whose group kept none
        contributes nothing to that group's parameters."""
        V = np.asarray(V, dtype=float)
        n_dir = len(V)
        J = self.output_derivatives(U, n_dir)
        dL_du = np.asarray(dL_du, dtype=float)
        if dL_du.shape != (J.shape[1],):
            raise ValueError(f"dL_du must have one entry per output ({J.shape[1]}), got shape {dL_du.shape}")
        if keep is None:
            keep = np.ones(J.shape, dtype=bool)
        keep = np.asarray(keep, dtype=bool)
        if keep.shape != J.shape:
            raise ValueError(f"keep must have shape (directions, outputs) = {J.shape}, got {keep.shape}")
        groups = keep.reshape(n_dir // self.K, self.K, -1)
        n_kept = np.repeat(groups.sum(axis=1), self.K, axis=0)              # (n_dir, P): K_p of k's group
        weight = np.where(keep, 1.0 / np.maximum(n_kept, 1), 0.0)
        return ((J * weight) @ dL_du) @ V

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
