"""Scientific-ML tasks as linear least-squares losses on the network output at grid points.

Every task evaluates the network u at fixed points X (n, d) and has the loss

    L(u) = |A u - b|^2,     dL/du = 2 A^T (A u - b),

where the rows of A are the data / PDE-residual / boundary terms, each already weighted. The PDE
derivatives are finite differences of u between neighbouring grid points, so a loss needs forward
runs only (Wan, Zhang & Karniadakis, arXiv 2411.07057, physics-informed loss with forward-only
derivatives). The same (A, b) serves the perturbation estimate and the exact chain rule.

- regression y = x^2 and y = sin(pi x), x on a uniform grid in [-1, 1]: rows (u_i - y_i)/sqrt(n).
- Poisson -u'' = f on [0, 1], u(0) = u(1) = 0, grid x_i = i h: interior residual
  r_i = -(u_{i-1} - 2 u_i + u_{i+1}) / h^2 - f(x_i), weighted 1/sqrt(n_int mean f^2), plus the two
  boundary rows u_0, u_N weighted sqrt(w_bc / 2). Solutions: u = sin(pi x) (f = pi^2 sin(pi x)) and
  u = sin(pi x) + sin(3 pi x)/3 (more structure: f = pi^2 (sin(pi x) + 3 sin(3 pi x))).
- heat u_t = kappa u_xx on [0, 1] x [0, 1], u(x, 0) = sin(pi x), u(0, t) = u(1, t) = 0, with
  kappa = 1 / pi^2 so that u = exp(-t) sin(pi x): interior residual (central differences in t and x)
  r = (u_{i,n+1} - u_{i,n-1}) / (2 dt) - kappa (u_{i+1,n} - 2 u_{i,n} + u_{i-1,n}) / h^2
  (second-order backward difference in t at t = 1), plus initial-condition and boundary rows.
The relative L2 error is measured against the analytic solution on a finer grid than the training one.

Resampling (`Task.resample(rng)`, regression tasks): a new set of training points for every step,
one per grid cell (x_i + U(-h/2, h/2), kept inside the domain; stratified sampling, as PINNs
resample their collocation points), same number of points and the same weights. A loss on fixed
points cannot see u(x) jump between them (a first spike jumping where a potential touches the
threshold, benchmarks/README.md, issue 5): measured with the exact gradient on x^2, a training loss
of 5e-5 and 10.5 % error on the evaluation grid (seed 2); resampled, 3 seeds, 6000 steps: 1.48 +- 0.38 %
instead of 4.7 +- 4.2 % (weight perturbation does not gain: 4.2 % against 3.2 %, limited by its
convergence). The PDE tasks keep their grid (their finite differences need it) and raise if asked
to resample.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = ["Task", "TASKS", "make_task", "rel_l2"]


@dataclass
class Task:
    """points (n, d); A (rows, n), b (rows,); exact(points) -> u; domain: (lo, hi) per input dim."""

    name: str
    points: np.ndarray
    A: np.ndarray
    b: np.ndarray
    exact: Callable
    domain: tuple
    eval_points: np.ndarray
    target: Callable = None   # regression: points -> the data values b (resampling), None: fixed grid

    def resample(self, rng):
        """The same task on new points, one drawn uniformly in each grid cell (regression only)."""
        if self.target is None:
            raise ValueError(f"task {self.name!r} cannot resample its points: its loss uses finite differences "
                             "on the fixed grid; resampling is for the regression tasks")
        lo, hi = self.domain[0]
        n = len(self.points)
        h = (hi - lo) / (n - 1)
        x = np.clip(np.linspace(lo, hi, n) + rng.uniform(-h / 2, h / 2, n), lo, hi)[:, None]  # around the grid
        return Task(self.name, x, self.A, self.target(x), self.exact, self.domain, self.eval_points, self.target)

    def loss(self, U):
        """L for each row of U (M, n) -> (M,)."""
        R = np.atleast_2d(U) @ self.A.T - self.b
        return np.sum(R * R, axis=1)

    def grad(self, u):
        """dL/du (n,) for one output vector u (n,)."""
        return 2.0 * self.A.T @ (self.A @ u - self.b)


def rel_l2(u, u_exact):
    """|u - u_exact| / |u_exact|."""
    return float(np.linalg.norm(u - u_exact) / np.linalg.norm(u_exact))


def _regression(name, fn, n):
    x = np.linspace(-1, 1, n)[:, None]
    A = np.eye(n) / np.sqrt(n)
    target = lambda p: fn(p[:, 0]) / np.sqrt(n)  # noqa: E731
    return Task(name, x, A, target(x), lambda p: fn(p[:, 0]), ((-1.0, 1.0),),
                np.linspace(-1, 1, 4 * n - 3)[:, None], target)


def _second_difference(n):
    """(n - 2, n): rows (u_{i-1} - 2 u_i + u_{i+1}) for i = 1..n-2."""
    D = np.zeros((n - 2, n))
    i = np.arange(n - 2)
    D[i, i], D[i, i + 1], D[i, i + 2] = 1.0, -2.0, 1.0
    return D


def _poisson(name, u_fn, f_fn, n, w_bc=1.0):
    x = np.linspace(0, 1, n)
    h = x[1] - x[0]
    f = f_fn(x[1:-1])
    s = 1.0 / np.sqrt(len(f) * np.mean(f ** 2))
    bc = np.zeros((2, n))
    bc[0, 0] = bc[1, -1] = np.sqrt(w_bc / 2)
    A = np.vstack([-_second_difference(n) / h ** 2 * s, bc])
    b = np.concatenate([f * s, np.zeros(2)])
    return Task(name, x[:, None], A, b, lambda p: u_fn(p[:, 0]), ((0.0, 1.0),), np.linspace(0, 1, 4 * n - 3)[:, None])


def _heat(name, nx, nt, w_ic=1.0, w_bc=1.0):
    kappa = 1.0 / np.pi ** 2
    x, t = np.linspace(0, 1, nx), np.linspace(0, 1, nt)
    h, k = x[1] - x[0], t[1] - t[0]
    X, T = np.meshgrid(x, t, indexing="ij")            # point (i, n) has index i * nt + n
    pts = np.stack([X.ravel(), T.ravel()], axis=1)
    idx = np.arange(nx * nt).reshape(nx, nt)
    rows = []
    inner = idx[1:-1, 1:].ravel()
    last = (inner % nt) == nt - 1
    R = np.zeros((len(inner), nx * nt))
    r = np.arange(len(inner))
    for di, dn, c in ((1, 0, -kappa / h ** 2), (-1, 0, -kappa / h ** 2), (0, 0, 2 * kappa / h ** 2)):
        R[r, inner + di * nt + dn] += c
    # u_t: central inside, second-order backward (3 u_n - 4 u_{n-1} + u_{n-2}) / (2 dt) at t = 1
    for dn, c_mid, c_last in ((1, 1, 0), (-1, -1, -4), (0, 0, 3), (-2, 0, 1)):
        for sel, coef in ((~last, c_mid), (last, c_last)):
            if coef:
                R[r[sel], inner[sel] + dn] += coef / (2 * k)
    scale = 1.0 / np.sqrt(len(inner))   # residual of a unit-size solution is O(1)
    rows.append((R * scale, np.zeros(len(inner))))
    ic = idx[:, 0]
    Ric = np.zeros((nx, nx * nt))
    Ric[np.arange(nx), ic] = np.sqrt(w_ic / nx)
    rows.append((Ric, np.sin(np.pi * x) * np.sqrt(w_ic / nx)))
    bcs = np.concatenate([idx[0, 1:], idx[-1, 1:]])
    Rbc = np.zeros((len(bcs), nx * nt))
    Rbc[np.arange(len(bcs)), bcs] = np.sqrt(w_bc / len(bcs))
    rows.append((Rbc, np.zeros(len(bcs))))
    A = np.vstack([a for a, _ in rows])
    b = np.concatenate([v for _, v in rows])
    xe, te = np.meshgrid(np.linspace(0, 1, 2 * nx - 1), np.linspace(0, 1, 2 * nt - 1), indexing="ij")
    return Task(name, pts, A, b, lambda p: np.exp(-p[:, 1]) * np.sin(np.pi * p[:, 0]),
                ((0.0, 1.0), (0.0, 1.0)), np.stack([xe.ravel(), te.ravel()], axis=1))


TASKS = {
    "regression_x2": lambda n=33: _regression("regression_x2", lambda x: x ** 2, n),
    "regression_sin": lambda n=33: _regression("regression_sin", lambda x: np.sin(np.pi * x), n),
    "poisson_sin": lambda n=33: _poisson("poisson_sin", lambda x: np.sin(np.pi * x),
                                         lambda x: np.pi ** 2 * np.sin(np.pi * x), n),
    "poisson_two_modes": lambda n=33: _poisson(
        "poisson_two_modes", lambda x: np.sin(np.pi * x) + np.sin(3 * np.pi * x) / 3,
        lambda x: np.pi ** 2 * (np.sin(np.pi * x) + 3 * np.sin(3 * np.pi * x)), n),
    "heat": lambda n=11: _heat("heat", n, n),
}


def make_task(name, n=None):
    """A task by name, with n grid points per dimension (default per task)."""
    if name not in TASKS:
        raise KeyError(f"unknown task {name!r}; choose from {sorted(TASKS)}")
    if n is not None and (int(n) != n or n < 5):
        raise ValueError(f"n (grid points per dimension) must be an integer >= 5, got {n!r}")
    return TASKS[name]() if n is None else TASKS[name](int(n))
