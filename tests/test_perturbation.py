"""The randomized forward-mode gradient estimator (learning_rules.perturbation), pure numpy."""
import numpy as np
import pytest

from brian2learn.learning_rules.perturbation import PerturbationGradient, cosine_similarity

RNG = np.random.default_rng(0)
N = 6
A = RNG.standard_normal((N, N))
H = A @ A.T + np.eye(N)           # positive definite
CENTER = RNG.standard_normal(N)


def quadratic(stack):
    """L(w) = 1/2 (w - c)^T H (w - c), one loss per row; gradient H (w - c)."""
    x = stack - CENTER
    return 0.5 * np.einsum("mi,ij,mj->m", x, H, x)


def linear_readout():
    """Least squares of a linear readout y = X w: L = mean((Xw - y)^2) / 2."""
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((40, N)), rng.standard_normal(40)
    return (lambda s: 0.5 * np.mean((s @ X.T - y) ** 2, axis=1)), (lambda w: X.T @ (X @ w - y) / len(y))


@pytest.mark.parametrize("distribution", ["gaussian", "rademacher"])
@pytest.mark.parametrize("mode", ["central", "forward"])
@pytest.mark.parametrize("layerwise", [False, True])
def test_mean_is_true_gradient_quadratic(distribution, mode, layerwise):
    theta = np.linspace(-1, 1, N)
    true = H @ (theta - CENTER)
    est = PerturbationGradient(K=4, eps=1e-4, distribution=distribution, mode=mode, layerwise=layerwise, seed=3)
    samples = np.array([est.estimate(quadratic, theta, blocks=[2, 4])[0] for _ in range(4000)])
    mean, sem = samples.mean(axis=0), samples.std(axis=0) / np.sqrt(len(samples))
    # within 4 standard errors per entry, and the standard error is small against |g|
    assert np.all(np.abs(mean - true) < 4 * sem + 1e-3 * np.abs(true).max())
    assert np.linalg.norm(mean - true) < 0.05 * np.linalg.norm(true)


def test_mean_is_true_gradient_linear_readout():
    loss, grad = linear_readout()
    theta = np.random.default_rng(2).standard_normal(N)
    est = PerturbationGradient(K=8, eps=1e-3, seed=5)
    mean = np.mean([est.estimate(loss, theta)[0] for _ in range(3000)], axis=0)
    assert cosine_similarity(mean, grad(theta)) > 0.999
    assert np.linalg.norm(mean - grad(theta)) < 0.03 * np.linalg.norm(grad(theta))


def test_biased_estimator_would_fail():
    """The tolerance above can fail: a wrongly scaled estimate (missing 1/K) is caught."""
    theta = np.linspace(-1, 1, N)
    est = PerturbationGradient(K=4, eps=1e-4, seed=3)
    mean = np.mean([est.estimate(quadratic, theta)[0] * 4 for _ in range(500)], axis=0)
    assert np.linalg.norm(mean - H @ (theta - CENTER)) > 0.05 * np.linalg.norm(H @ (theta - CENTER))


@pytest.mark.parametrize("distribution", ["gaussian", "rademacher"])
def test_antithetic_exactly_zero_at_symmetric_minimum(distribution):
    loss = lambda s: np.sum(np.cos(s) * s ** 2, axis=1) + 0.5 * np.einsum("mi,ij,mj->m", s, H, s)
    g, l0 = PerturbationGradient(K=16, eps=0.3, distribution=distribution, seed=1).estimate(loss, np.zeros(N))
    assert l0 == 0.0 and np.all(g == 0.0)
    # the one-sided estimate is not zero there (it is O(eps) biased)
    g1, _ = PerturbationGradient(K=16, eps=0.3, mode="forward", seed=1).estimate(loss, np.zeros(N))
    assert np.linalg.norm(g1) > 0.1


def test_clean_parameters_never_written():
    theta = np.linspace(-1, 1, N)
    before = theta.copy()
    seen = []

    def substrate(stack):
        seen.append(stack.copy())
        stack += 100.0            # a substrate that scribbles on its input must not reach theta
        return quadratic(stack - 100.0)

    est = PerturbationGradient(K=3, eps=0.1, seed=0)
    est.estimate(substrate, theta)
    assert np.array_equal(theta, before)
    assert np.array_equal(seen[0][0], before) and seen[0].shape == (est.n_rows(), N) == (7, N)


def test_rows_and_layerwise_directions():
    est = PerturbationGradient(K=2, eps=0.1, layerwise=True, distribution="rademacher", seed=0)
    V = est.directions(5, blocks=[2, 3])
    assert V.shape == (4, 5) and est.n_rows([2, 3]) == 9
    assert np.all(V[:2, 2:] == 0) and np.all(V[2:, :2] == 0) and set(np.unique(V[:2, :2])) <= {-1.0, 1.0}
    assert PerturbationGradient(K=5, mode="forward").n_rows() == 6


@pytest.mark.parametrize("kwargs, match", [
    (dict(K=0), "K"), (dict(eps=0.0), "eps"), (dict(eps=np.nan), "eps"),
    (dict(distribution="uniform"), "distribution"), (dict(mode="backward"), "mode")])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PerturbationGradient(**kwargs)


def test_bad_inputs():
    est = PerturbationGradient(K=2)
    with pytest.raises(ValueError, match="theta"):
        est.estimate(quadratic, np.array([np.nan] * N))
    with pytest.raises(ValueError, match="blocks"):
        PerturbationGradient(layerwise=True).estimate(quadratic, np.zeros(N), blocks=[2, 2])
    with pytest.raises(FloatingPointError, match="non-finite"):
        est.estimate(lambda s: np.full(len(s), np.inf), np.zeros(N))
    with pytest.raises(ValueError, match="one per row"):
        est.estimate(lambda s: np.zeros(len(s) + 1), np.zeros(N))


# ---- output form (combine_outputs) and leaving out switched directions -------------------------
P = 5
XO = np.random.default_rng(7).standard_normal((P, N))       # outputs u = XO w (+ jumps below)
CO = np.random.default_rng(8).standard_normal(P)             # L = c . u (linear in the outputs)


@pytest.mark.parametrize("mode", ["central", "forward"])
@pytest.mark.parametrize("layerwise", [False, True])
def test_output_form_equals_loss_form_for_a_linear_loss(mode, layerwise):
    est = PerturbationGradient(K=3, eps=0.1, mode=mode, layerwise=layerwise, seed=2)
    theta = np.linspace(-1, 1, N)
    V = est.directions(N, blocks=[2, 4])
    U = est.stack(theta, V) @ XO.T
    g_loss = est.combine(U @ CO, V)
    np.testing.assert_allclose(est.combine_outputs(U, V, CO), g_loss, rtol=1e-12, atol=1e-12)
    # keeping every direction explicitly is the same
    np.testing.assert_allclose(est.combine_outputs(U, V, CO, keep=np.ones((len(V), P), bool)), g_loss, rtol=1e-12)


def jumpy_outputs(stack, theta0, eps):
    """u_p = XO_p . w + 3 [n_p . (w - theta0) > s_p]: a jump of 3 on a plane 1.5 eps |n_p| from theta0
    for every output (a central pair crosses it with probability 13 %); returns U (M, P) and, per row, which outputs are on the far side (the 'spike set')."""
    rng = np.random.default_rng(9)
    normals = rng.standard_normal((P, N))
    shift = 1.5 * eps * np.linalg.norm(normals, axis=1)
    side = (stack - theta0) @ normals.T > shift
    return stack @ XO.T + 3.0 * side, side


def test_leaving_out_switched_directions_removes_the_jump_bias():
    """The loss form's average measures the jumps (biased away from the smooth gradient XO^T c); with the
    switched (direction, output) pairs left out, the output form averages to the smooth gradient."""
    eps, theta = 0.05, np.linspace(-1, 1, N)
    smooth = XO.T @ CO
    est = PerturbationGradient(K=8, eps=eps, seed=4)
    plain, masked, left_out = [], [], []
    for _ in range(3000):
        V = est.directions(N)
        U, side = jumpy_outputs(est.stack(theta, V), theta, eps)
        switched = (side[1:9] != side[0]) | (side[9:] != side[0])
        left_out.append(switched.mean())
        plain.append(est.combine(U @ CO, V))
        masked.append(est.combine_outputs(U, V, CO, keep=~switched))
    assert 0.05 < np.mean(left_out) < 0.3             # the jumps are hit (13 %), most pairs are kept
    assert cosine_similarity(np.mean(plain, axis=0), smooth) < 0.8           # measured 0.68
    mean = np.mean(masked, axis=0)
    assert cosine_similarity(mean, smooth) > 0.98                            # measured 0.993
    # what remains is the conditioning bias: the kept directions have smaller components along the
    # jump planes' normals (measured 12 % of |g| with 13 % left out; it shrinks with the fraction)
    assert np.linalg.norm(mean - smooth) < 0.2 * np.linalg.norm(smooth)


def test_output_form_bad_inputs():
    est = PerturbationGradient(K=2, eps=0.1, seed=0)
    V = est.directions(N)
    U = est.stack(np.zeros(N), V) @ XO.T
    with pytest.raises(ValueError, match="one row per stacked"):
        est.combine_outputs(U[:-1], V, CO)
    with pytest.raises(ValueError, match="dL_du"):
        est.combine_outputs(U, V, CO[:-1])
    with pytest.raises(ValueError, match="keep"):
        est.combine_outputs(U, V, CO, keep=np.ones((3, P), bool))
