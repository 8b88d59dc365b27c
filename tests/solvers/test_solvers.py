"""Resource-model solvers against each other, the closed form and the limiting models."""

import numpy as np
import pytest
import sympy as sp

import skillode as sk

ETA_PAPER = 2 * 3e-4 * np.sqrt(1000)  # the paper's eta = 2 lr sqrt(N), lr 3e-4, N 1000


def power_law(n, alpha):
    p = np.arange(1, n + 1, dtype=float) ** -alpha
    return p / p.sum()


@pytest.mark.parametrize("N0", [0.003, 0.1, 1.0])
def test_exact_and_ode_agree_to_1e_8_relative(N0):
    model = sk.ResourceModel(power_law(10, 2.0), ETA_PAPER, N0)
    t = np.linspace(0, 3000, 301)
    exact = sk.solve(model, t, method="exact").curves.loss
    ode = sk.solve(model, t, method="ode", rtol=1e-11, atol=1e-20).curves.loss
    resolved = exact > 1e-8  # below this the loss is numerically zero for any practical purpose
    rel = np.abs(ode - exact)[resolved] / exact[resolved]
    assert rel.max() < 1e-8


def test_exact_solution_satisfies_collapse_and_ode_residual():
    p = power_law(10, 1.5)
    model = sk.ResourceModel(p, 0.05, 0.2)
    sol = sk.solve(model, np.linspace(0, 400, 81), method="exact")
    # l_k^(1/p_k) = exp(-tau) for every skill: the conserved collapse
    collapse = np.log(sol.curves.loss) / p
    assert np.allclose(collapse, -sol.tau[:, None], rtol=1e-12, atol=1e-12)
    # dt/dtau from the closed form equals (sum p l + N0)/eta
    tau = sol.tau
    l = sol.curves.loss
    dt_dtau = np.gradient(sol.curves.times, tau, edge_order=2)
    assert np.allclose(dt_dtau[1:-1], ((l @ p) + model.N0)[1:-1] / model.eta, rtol=2e-3)


def test_map_stays_within_5e_3_of_exact_for_paper_settings():
    model = sk.ResourceModel(power_law(10, 2.0), ETA_PAPER, 0.003)
    mapped = sk.solve(model, steps=3000, method="map").curves.loss
    exact = sk.solve(model, steps=3000, method="exact").curves.loss
    assert np.abs(mapped - exact).max() < 5e-3


def test_map_reproduces_the_papers_update_step_for_step():
    p = power_law(5, 1.0)
    eta, N0 = 0.05, 0.01
    l = np.ones(5)
    expected = [l.copy()]
    for _ in range(200):
        l = np.maximum(l - eta * p * l / (np.sum(p * l) + N0), 0.0)
        expected.append(l.copy())
    got = sk.solve(sk.ResourceModel(p, eta, N0), steps=200, method="map").curves.loss
    assert np.allclose(got, np.array(expected), rtol=1e-13, atol=0.0)


def test_zero_N0_learns_everything_by_n_over_eta():
    n, eta = 10, ETA_PAPER
    model = sk.ResourceModel(power_law(n, 2.0), eta, 0.0)
    t = np.linspace(0, 1.2 * n / eta, 241)
    exact = sk.solve(model, t, method="exact")
    ode = sk.solve(model, t, method="ode")
    after = t >= n / eta
    assert np.all(exact.curves.loss[after] == 0.0)
    assert np.all(ode.curves.loss[after] <= 1e-12)  # within atol at the horizon itself
    assert np.all(ode.curves.loss[t > 1.001 * n / eta] == 0.0)
    assert np.all(exact.curves.loss[~after].max(axis=1) > 0)
    assert exact.learning_times(0.0) == pytest.approx(np.full(n, n / eta), rel=1e-12)
    # every solver means the same by a learning time at threshold 0: the horizon n / eta
    assert ode.learning_times(0.0) == pytest.approx(np.full(n, n / eta), rel=1e-12)
    assert np.abs(ode.curves.loss - exact.curves.loss).max() < 1e-7


@pytest.mark.parametrize("threshold", [0.5, 0.1, 0.01])
def test_learning_times_exact_ode_and_curve_interpolation_agree(threshold):
    model = sk.ResourceModel(power_law(6, 1.5), 0.05, 0.05)
    t = np.linspace(0, 1500, 3001)
    exact = sk.solve(model, t, method="exact")
    ode = sk.solve(model, t, method="ode")
    te = exact.learning_times(threshold)
    assert np.all(np.isfinite(te))
    assert ode.learning_times(threshold) == pytest.approx(te, rel=1e-7)
    assert exact.curves.learning_times(threshold) == pytest.approx(te, rel=2e-3)


def test_ce_exact_matches_ode():
    model = sk.ResourceModel(power_law(8, 2.0), 0.05, 0.01, loss="ce")
    t = np.linspace(0, 2000, 201)
    exact = sk.solve(model, t, method="exact")
    ode = sk.solve(model, t, method="ode", rtol=1e-11, atol=1e-14)
    assert exact.curves.loss[0] == pytest.approx(np.full(8, np.log(2)))
    assert np.allclose(ode.state, exact.state, rtol=1e-8, atol=1e-9)
    assert exact.learning_times(0.1) == pytest.approx(ode.learning_times(0.1), rel=1e-7)


def test_ce_field_stays_exact_once_every_skill_is_far_learned():
    # At logits z ~ 40..800 every pull p_k sigmoid(-z_k) is tiny or underflows; with N0 = 0 the field
    # is still the ratio eta p_k e^{-z_k} / sum_j p_j e^{-z_j}, written here in log space.
    p = np.array([0.5, 0.3, 0.2])
    model = sk.ResourceModel(p, 0.2, 0.0, loss="ce")
    for z in (np.array([40.0, 41.0, 45.0]), np.array([780.0, 781.0, 790.0])):
        logr = np.log(p) - z
        expected = 0.2 * np.exp(logr - np.logaddexp.reduce(logr))
        assert model.vector_field(0.0, z) == pytest.approx(expected, rel=1e-12)
        J = model.jacobian(0.0, z)
        assert np.all(np.isfinite(J))
        # a larger difference step: near z = 780 the spacing of doubles is 1e-13
        assert np.allclose(J, _fd_jacobian(model.vector_field, z, h=1e-4), rtol=1e-6, atol=1e-12)


def test_ce_ode_matches_exact_far_into_the_learned_regime():
    # eta 0.2 for 3000 steps drives the logits past 40, where sigmoid(-z) computed as
    # (1 - tanh(z/2))/2 rounds to 0 and the field became 0/0; the exact solver is independent.
    model = sk.ResourceModel(power_law(10, 2.0), 0.2, 0.0, loss="ce")
    t = np.linspace(0, 3000, 121)
    exact = sk.solve(model, t, method="exact")
    ode = sk.solve(model, t, method="ode", rtol=1e-10, atol=1e-12, ode_method="RK45")
    assert exact.state[-1].min() > 40.0
    assert np.allclose(ode.state, exact.state, rtol=1e-7, atol=1e-8)


def test_separated_frequencies_approach_domino():
    eta = 0.01
    t = np.linspace(0, 500, 2001)
    errors = []
    for ratio in (10.0, 1e2, 1e3, 1e4):
        p = ratio ** -np.arange(4.0)
        res = sk.solve(sk.ResourceModel(p, eta, 0.0), t).curves.loss
        dom = sk.solve(sk.DominoModel(p, eta), t).curves.loss
        errors.append(np.abs(res - dom).max())
    assert all(b < a for a, b in zip(errors, errors[1:]))
    assert errors[-1] < 1e-3
    lt = sk.solve(sk.ResourceModel(1e4 ** -np.arange(4.0), eta, 0.0), t).learning_times(0.05)
    assert lt == pytest.approx(sk.DominoModel(1e4 ** -np.arange(4.0), eta).learning_times(0.05), rel=1e-3)


def test_large_N0_approaches_parallel():
    p = power_law(10, 2.0)
    kappa = 0.02  # eta / N0 held fixed
    t = np.linspace(0, 3000, 301)
    errors = []
    for N0 in (1e2, 1e4, 1e6):
        res = sk.solve(sk.ResourceModel(p, kappa * N0, N0), t).curves.loss
        par = sk.solve(sk.ParallelModel(p, kappa * N0, N0), t).curves.loss
        errors.append(np.abs(res - par).max())
    # the deviation is O(sum p l / N0): a hundredfold larger N0, a hundredfold smaller error
    assert errors[1] / errors[0] == pytest.approx(1e-2, rel=0.1)
    assert errors[2] / errors[1] == pytest.approx(1e-2, rel=0.1)
    assert errors[2] < 1e-6


def test_overlap_matrix_identity_equals_none_and_ode_matches_map_for_small_steps():
    rng = np.random.default_rng(0)
    n = 5
    T = rng.normal(size=(n, 40))
    T /= np.linalg.norm(T, axis=1, keepdims=True)
    C = T @ T.T
    p = power_law(n, 1.0)
    eye = sk.solve(sk.ResourceModel(p, 0.02, 0.1, C=np.eye(n)), steps=300, method="ode").curves.loss
    none = sk.solve(sk.ResourceModel(p, 0.02, 0.1), steps=300, method="exact").curves.loss
    assert np.allclose(eye, none, rtol=1e-7, atol=1e-10)
    # a small eta makes the map (Euler, step 1) a fine discretisation of the ODE
    model = sk.ResourceModel(p, 0.002, 0.1, C=C)
    ode = sk.solve(model, steps=3000, method="ode").curves.loss
    mapped = sk.solve(model, steps=3000, method="map").curves.loss
    assert np.abs(ode - mapped).max() < 2e-3
    assert not np.allclose(ode, sk.solve(sk.ResourceModel(p, 0.002, 0.1), steps=3000).curves.loss, atol=1e-3)


def test_and_gate_waits_for_both_parents_or_gate_for_either():
    p = np.array([1.0, 0.5, 1.0])
    t = np.linspace(0, 600, 601)
    both = sk.solve(sk.ResourceModel(p, 0.02, 0.01, gates={2: (0, 1)}), t, method="ode")
    either = sk.solve(sk.ResourceModel(p, 0.02, 0.01, gates=[sk.Gate(2, (0, 1), mode="or")]), t, method="ode")
    t_and, t_or = both.learning_times(0.1), either.learning_times(0.1)
    # the composite skill is learned after its first parent, and sooner when either parent suffices
    assert t_and[2] > min(t_and[0], t_and[1])
    assert t_or[2] < t_and[2]
    # a sharp gate (small exponent) holds it back until both parents are learned
    sharp = sk.solve(sk.ResourceModel(p, 0.02, 0.01, gates=[sk.Gate(2, (0, 1), exponent=0.2)]), t, method="ode")
    t_sharp = sharp.learning_times(0.1)
    assert t_sharp[2] > max(t_sharp[0], t_sharp[1]) > t_and[2] - 50
    # at t = 0 the gate is closed: the composite skill does not move at first
    rate0 = sk.ResourceModel(p, 0.02, 0.01, gates={2: (0, 1)}).vector_field(0.0, np.ones(3))
    assert rate0[2] == 0.0
    mapped = sk.solve(sk.ResourceModel(p, 0.002, 0.01, gates={2: (0, 1)}), steps=6000, method="map")
    slow_ode = sk.solve(sk.ResourceModel(p, 0.002, 0.01, gates={2: (0, 1)}), steps=6000, method="ode")
    assert np.abs(mapped.curves.loss - slow_ode.curves.loss).max() < 2e-3


def _fd_jacobian(f, x, h=1e-7):
    J = np.empty((x.size, x.size))
    for j in range(x.size):
        e = np.zeros_like(x)
        e[j] = h
        J[:, j] = (f(0.0, x + e) - f(0.0, x - e)) / (2 * h)
    return J


@pytest.mark.parametrize("loss", ["mse", "ce"])
@pytest.mark.parametrize("gated", [False, True])
@pytest.mark.parametrize("overlap", [False, True])
def test_analytic_jacobian_matches_finite_differences(loss, gated, overlap):
    rng = np.random.default_rng(1)
    n = 4
    C = None
    if overlap:
        T = rng.normal(size=(n, 10))
        T /= np.linalg.norm(T, axis=1, keepdims=True)
        C = T @ T.T
    gates = [sk.Gate(3, (0, 1), "and", 2.0), sk.Gate(2, (0,), "or", 0.5)] if gated else None
    model = sk.ResourceModel(power_law(n, 1.0), 0.03, 0.05, C=C, loss=loss, gates=gates)
    x = rng.uniform(0.2, 0.9, n) if loss == "mse" else rng.uniform(-1.0, 2.0, n)
    assert np.allclose(model.jacobian(0.0, x), _fd_jacobian(model.vector_field, x), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("loss", ["mse", "ce"])
def test_symbolic_system_matches_numeric_vector_field_and_jacobian(loss):
    rng = np.random.default_rng(2)
    T = rng.normal(size=(3, 6))
    T /= np.linalg.norm(T, axis=1, keepdims=True)
    model = sk.ResourceModel([1.0, 0.3, 0.1], 0.04, 0.02, C=T @ T.T, loss=loss, gates={2: (0, 1)})
    system = model.symbolic()
    assert len(system.equations) == 3
    x = rng.uniform(0.2, 0.9, 3)
    rhs = sp.lambdify([system.state], system.numeric_rhs(), "numpy")
    jac = sp.lambdify([system.state], system.jacobian().subs(system.values), "numpy")
    assert np.allclose(np.asarray(rhs(x), float).ravel(), model.vector_field(0.0, x), rtol=1e-12)
    assert np.allclose(np.asarray(jac(x), float), model.jacobian(0.0, x), rtol=1e-10, atol=1e-14)


def test_symbolic_exact_solution_solves_the_orthogonal_system():
    model = sk.ResourceModel([1.0, 0.25], 0.1, 0.3)
    system = model.symbolic()
    tau = sp.Function("tau")(system.t)
    p = [system.parameters["p1"], system.parameters["p2"]]
    eta, N0 = system.parameters["eta"], system.parameters["N0"]
    guess = {system.state[k]: sp.exp(-p[k] * tau) for k in range(2)}
    dtau = eta / (sum(p[k] * sp.exp(-p[k] * tau) for k in range(2)) + N0)
    for k in range(2):
        lhs = sp.diff(guess[system.state[k]], system.t).subs(sp.Derivative(tau, system.t), dtau)
        assert sp.simplify(lhs - system.rhs[k].subs(guess)) == 0


def test_domino_and_parallel_closed_forms():
    p = np.array([0.1, 1.0, 0.5])
    dom = sk.DominoModel(p, 0.05)
    assert dom.order == (1, 2, 0)
    assert dom.learning_times(0.0) == pytest.approx([60.0, 20.0, 40.0])
    curves = sk.solve(dom, np.array([0.0, 10.0, 30.0])).curves
    assert curves.loss[1] == pytest.approx([1.0, 0.5, 1.0])
    assert curves.loss[2] == pytest.approx([1.0, 0.0, 0.5])
    par = sk.ParallelModel(p, 0.05, 2.0)
    assert sk.solve(par, [0.0, 40.0]).curves.loss[1] == pytest.approx(np.exp(-0.05 * p * 40.0 / 2.0))
    assert par.learning_times(np.exp(-1)) == pytest.approx(2.0 / (0.05 * p))
    named = sk.DominoModel(p, 0.05, order=["skill3", "skill1", "skill2"])
    assert named.start_times() == pytest.approx([20.0, 40.0, 0.0])


@pytest.mark.parametrize("ratio", [1e-4, 1e-8])
def test_zero_N0_ode_finishes_even_very_rare_skills(ratio):
    # p spans up to 24 decades: the horizon event must not fire before the rarest skill is learned
    p = ratio ** np.arange(4.0)
    model = sk.ResourceModel(p, 0.01, 0.0)
    t = np.linspace(0, 500, 501)
    ode = sk.solve(model, t, method="ode").curves.loss
    exact = sk.solve(model, t, method="exact").curves.loss
    assert np.abs(ode - exact).max() < 1e-7
    assert np.all(ode[t > 401] == 0.0)


def test_overlapping_skills_at_zero_loss_solve_with_the_default_ode_method():
    # Gaussian task vectors in N = 1000 (the paper's Fig 7 setting), small N0: skills reach zero
    # loss while their neighbours still pull on them; LSODA used to stall on this sliding motion.
    rng = np.random.default_rng(7)
    T = rng.normal(size=(10, 1000))
    T /= np.linalg.norm(T, axis=1, keepdims=True)
    model = sk.ResourceModel(power_law(10, 2.0), ETA_PAPER * 1.17, 0.0037, C=T @ T.T)
    t = np.arange(0, 3001, 25.0)
    auto = sk.solve(model, t, method="ode")
    assert auto.curves.metadata["ode_method"] == "RK45"
    bdf = sk.solve(model, t, method="ode", ode_method="bdf")
    assert np.abs(auto.curves.loss - bdf.curves.loss).max() < 1e-6
    # a zero loss is held there (the continuous form of the paper's clipping)
    assert auto.curves.loss.min() == 0.0
    assert np.all(np.diff(auto.curves.loss[:, 0]) <= 1e-12)
