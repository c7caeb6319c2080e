"""SciML tasks (finite-difference least squares) and the input checks of the spiking SciML model."""
import numpy as np
import pytest

from brian2learn.experiments.perturbation_sciml import SpikingSciML, train
from brian2learn.experiments.sciml_tasks import TASKS, make_task, rel_l2


@pytest.mark.parametrize("name", sorted(TASKS))
def test_discrete_optimum_is_the_analytic_solution(name):
    tk = make_task(name)
    u, *_ = np.linalg.lstsq(tk.A, tk.b, rcond=None)
    assert np.linalg.matrix_rank(tk.A) == len(tk.points)          # the grid values are determined
    assert rel_l2(u, tk.exact(tk.points)) < 5e-3                   # only the O(h^2) discretisation error
    assert tk.loss(tk.exact(tk.points))[0] < 1e-3 * tk.loss(np.zeros(len(tk.points)))[0]


@pytest.mark.parametrize("name", sorted(TASKS))
def test_loss_gradient_matches_finite_differences(name):
    tk = make_task(name, 7)
    u = np.random.default_rng(0).standard_normal(len(tk.points))
    h = 1e-6
    E = np.eye(len(u)) * h
    fd = (tk.loss(u + E) - tk.loss(u - E)) / (2 * h)
    np.testing.assert_allclose(tk.grad(u), fd, rtol=1e-6, atol=1e-6 * np.abs(fd).max())


def test_heat_residual_vanishes_on_a_discrete_solution():
    """exp(-t) sin(pi x) solves the PDE; the FD residual is only the truncation error, shrinking as h^2."""
    errs = []
    for n in (9, 17):
        tk = make_task("heat", n)
        errs.append(np.sqrt(tk.loss(tk.exact(tk.points))[0]))
    assert errs[1] < errs[0] / 3


def test_bad_arguments():
    with pytest.raises(KeyError, match="unknown task"):
        make_task("wave")
    with pytest.raises(ValueError, match="grid points"):
        make_task("poisson_sin", 3)
    with pytest.raises(ValueError, match="decode"):
        SpikingSciML([(0, 1)], decode="rate")
    with pytest.raises(ValueError, match="domain"):
        SpikingSciML([(1, 0)])
    m = SpikingSciML([(0, 1)], n_points=3)
    with pytest.raises(ValueError, match="inside the domain"):
        m.encode(np.array([[1.5]]))
    with pytest.raises(ValueError, match="shape"):
        m.encode(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="theta"):
        m.set_theta(np.zeros(3))
    with pytest.raises(ValueError, match="gradient"):
        train(gradient="backprop")
    with pytest.raises(ValueError, match="steps"):
        train(steps=0)
    with pytest.raises(ValueError, match="lr_final"):
        train(lr_final=0.0)
    with pytest.raises(ValueError, match="lr_hold"):
        train(lr_hold=1.0)


def test_benchmark_never_drops_a_stored_result():
    """experiments.result_store (as benchmarks/perturbation.py uses it): a worse run becomes a variant,
    a better one keeps the old as earlier; added seeds join the entry with means over all seeds."""
    from brian2learn.experiments.result_store import add_seeds as store_add_seeds
    from brian2learn.experiments.result_store import keep_better

    def merge_entry(old, new):
        return keep_better(old, new, "rel_l2_perturbation")

    def add_seeds(old, new):   # the perturbation benchmark's settings (a subset of its configuration keys)
        return store_add_seeds(old, new, ("steps", "K", "eps", "substrate"), {"substrate": "lif"},
                               metrics=("rel_l2_perturbation", "rel_l2_exact_gradient"),
                               seed_weighted=("seconds", "forward_runs"), integers=("forward_runs",))

    old = {"rel_l2_perturbation": 0.02, "steps": 3000}
    kept = merge_entry(dict(old), {"rel_l2_perturbation": 0.05, "steps": 100})
    assert kept["rel_l2_perturbation"] == 0.02 and kept["variants"][0]["steps"] == 100
    new = merge_entry(dict(kept), {"rel_l2_perturbation": 0.01, "steps": 6000})
    assert new["steps"] == 6000 and new["earlier"][0]["rel_l2_perturbation"] == 0.02
    assert new["earlier"][0]["variants"][0]["steps"] == 100
    assert merge_entry({}, {"rel_l2_perturbation": 0.3}) == {"rel_l2_perturbation": 0.3}
    cfg = dict(steps=10, K=2, seeds=[0], command="a", partial="1 seed")
    one = dict(cfg, rel_l2_perturbation=0.1, rel_l2_perturbation_per_seed=[0.1], rel_l2_exact_gradient=None)
    two = dict(cfg, seeds=[1, 2], command="b", rel_l2_perturbation=0.2, rel_l2_perturbation_per_seed=[0.2, 0.2],
               rel_l2_exact_gradient=None)
    del two["partial"]
    both = add_seeds(dict(one, seconds=1.0, forward_runs=10), dict(two, seconds=4.0, forward_runs=11))
    assert both["seconds"] == pytest.approx(3.0) and both["forward_runs"] == 10   # seed-weighted, int(32 / 3)
    assert both["seeds"] == [0, 1, 2] and both["rel_l2_perturbation_per_seed"] == [0.1, 0.2, 0.2]
    assert both["rel_l2_perturbation"] == pytest.approx(0.5 / 3) and "partial" not in both
    assert both["command"] == ["a", "b"]
    with pytest.raises(ValueError, match="already stored"):
        add_seeds(one, one)
    with pytest.raises(ValueError, match="differ"):
        add_seeds(one, dict(two, steps=20))


def test_resample_draws_one_point_per_grid_cell():
    tk = make_task("regression_x2", 9)
    h = 2 / 8
    pts = [tk.resample(np.random.default_rng(s)).points[:, 0] for s in range(20)]
    for p in pts:
        assert np.all((p >= -1) & (p <= 1))
        assert np.all(np.abs(p - tk.points[:, 0]) <= h / 2 + 1e-12)   # stays in its cell
    r = tk.resample(np.random.default_rng(0))
    np.testing.assert_allclose(r.b, r.points[:, 0] ** 2 / 3)          # data at the new points, weight 1/sqrt(9)
    assert np.array_equal(r.A, tk.A)
    assert np.std([p[4] for p in pts]) > h / 8                         # the points do move
    with pytest.raises(ValueError, match="finite differences"):
        make_task("poisson_sin").resample(np.random.default_rng(0))


def test_fit_with_resampling_trains_on_new_points_every_step():
    """With a negligible learning rate the network stays fixed: on the fixed grid every step has the
    same loss; resampled, each step's loss is that of the network on its own points."""
    from brian2learn.learning_rules import Adam

    tk = make_task("regression_x2", 7)
    model = SpikingSciML(tk.domain, hidden=6, n_points=7, seed=0)
    fixed = model.fit(tk, 3, Adam({"weights": 1e-12}))
    assert np.ptp(fixed) < 1e-9
    resampled = model.fit(tk, 3, Adam({"weights": 1e-12}), resample=np.random.default_rng(5))
    rng = np.random.default_rng(5)
    expected = [tk.resample(rng) for _ in range(3)]
    for loss, t in zip(resampled, expected):
        assert loss == pytest.approx(t.loss(model.predict(t.points))[0], rel=1e-6)
    assert np.ptp(resampled) > 1e-6
