"""Zero task vectors (the paper's modular model, Fig 18): explicit opt-in, and every simulate path.

Independent sources: the closed forms of the discrete dynamics (SignGD moves a basis skill by
exactly lr per step it is pulled; SGD shrinks 1 - s by 1 - 2 lr w per step), the sampling
statistics of the batch counts, a second model (SignGD's step is scale invariant, so dropping the
zero tasks and renormalising p changes nothing), and the other backend.
"""

import math

import numpy as np
import pytest

from skillode import GeometryModel, simulate, zipf_frequencies

pytest.importorskip("torch")

LN2 = math.log(2.0)
P = zipf_frequencies(8, 1.5)
BACKENDS = ["numba", "torch"]


def _backends():
    from skillode.solvers import _simulate_kernel

    return BACKENDS if _simulate_kernel.available() else ["torch"]


# ---------------------------------------------------------------- the model and its arguments
def test_modular_is_basis_tasks_with_zero_vectors_beyond_N():
    m = GeometryModel.modular(P, 5, loss="ce", lr=0.01)
    assert m.tasks == "basis" and m.allow_zero_tasks is True
    np.testing.assert_array_equal(m.task_vectors(), np.vstack([np.eye(5), np.zeros((3, 5))]))
    np.testing.assert_array_equal(m.learnable, [True] * 5 + [False] * 3)
    assert m.n_learnable == 5
    assert m.config()["allow_zero_tasks"] is True and m.config()["tasks"] == "basis"
    assert m.replace(lr=0.02).allow_zero_tasks is True  # replace keeps the flag
    # N >= n is the ordinary basis model: every task learnable
    assert GeometryModel.modular(P, 8).n_learnable == 8 == GeometryModel(P, 8, tasks="basis").n_learnable
    assert GeometryModel(P, 30, tasks="gaussian").learnable.all()


def test_zero_task_vectors_are_an_error_unless_allowed():
    T = np.vstack([np.eye(3, 4), np.zeros((1, 4))])
    with pytest.raises(ValueError, match=r"tasks row 3 is zero.*allow_zero_tasks=True"):
        GeometryModel(np.ones(4), 4, tasks=T)
    with pytest.raises(ValueError, match=r"tasks='basis' needs N >= n.*allow_zero_tasks=True"):
        GeometryModel(np.ones(4), 3, tasks="basis")
    with pytest.raises(ValueError, match="allow_zero_tasks must be True or False"):
        GeometryModel(np.ones(4), 4, tasks=T, allow_zero_tasks="yes")
    with pytest.raises(ValueError, match="tasks is fixed by GeometryModel.modular"):
        GeometryModel.modular(np.ones(4), 2, tasks="gaussian")
    with pytest.raises(ValueError, match="allow_zero_tasks is fixed"):
        GeometryModel.modular(np.ones(4), 2, allow_zero_tasks=False)
    with pytest.raises(ValueError, match="orthogonal"):  # the flag does not make orthogonal tasks fit in N < n
        GeometryModel(np.ones(4), 3, tasks="orthogonal", allow_zero_tasks=True)
    m = GeometryModel(np.ones(4), 4, tasks=T, allow_zero_tasks=True)
    np.testing.assert_array_equal(m.task_vectors(), T)
    np.testing.assert_array_equal(m.learnable, [True, True, True, False])


def test_rows_are_normalised_without_under_or_overflow():
    # a tiny row (its squared norm underflows) is a direction, not a zero row; a huge one does not overflow
    T = [[1e-320, 0.0], [0.0, 0.0], [3e300, 4e300]]
    m = GeometryModel(np.ones(3), 2, tasks=T, allow_zero_tasks=True)
    np.testing.assert_allclose(m.task_vectors(), [[1.0, 0.0], [0.0, 0.0], [0.6, 0.8]], rtol=1e-15)
    np.testing.assert_array_equal(m.learnable, [True, False, True])


# ---------------------------------------------------------------- simulate: closed forms
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_signgd_exact_gradient_ce_closed_form(backend, dtype):
    # Exact gradient: every learnable basis skill gets a pull every step, s_k = lr t, so
    # l_k = log(1 + exp(-lr t)); the zero tasks stay at log 2 exactly. Total = the modular plateau + rest.
    if backend not in _backends():
        pytest.skip("numba is not installed")
    lr, N, t = 0.01, 5, 400
    m = GeometryModel.modular(P, N, loss="ce", optimizer="signgd", lr=lr)
    res = simulate(m, t, seeds=[0, 3], backend=backend, device="cpu", dtype=dtype)
    steps = np.arange(t + 1)[:, None]
    tol = 1e-12 if dtype == "float64" else 1e-5
    for c in res.curves:
        assert c.metadata["backend"] == backend
        np.testing.assert_allclose(c.loss[:, :N], np.broadcast_to(np.log1p(np.exp(-lr * steps)), (t + 1, N)), atol=tol)
        assert np.all(c.loss[:, N:] == LN2)  # exactly: s = 0 forever
        w = P / P.sum()
        expect = w[N:].sum() * LN2 + w[:N].sum() * np.log1p(np.exp(-lr * t))
        assert c.total_loss()[-1] == pytest.approx(expect, abs=tol)


@pytest.mark.parametrize("backend", BACKENDS)
def test_sgd_exact_gradient_mse_closed_form(backend):
    # SGD, MSE, basis: 1 - s_k shrinks by (1 - 2 lr w_k) each step, l_k = (1 - 2 lr w_k)^(2t); zero tasks stay at 1.
    if backend not in _backends():
        pytest.skip("numba is not installed")
    lr, N, t = 0.3, 3, 120
    m = GeometryModel.modular(P, N, optimizer="sgd", lr=lr)
    loss = simulate(m, t, backend=backend, device="cpu").curves[0].loss
    w = P / P.sum()
    steps = np.arange(t + 1)[:, None]
    np.testing.assert_allclose(loss[:, :N], (1 - 2 * lr * w[:N]) ** (2 * steps), rtol=1e-10, atol=1e-15)
    assert np.all(loss[:, N:] == 1.0)


def test_signgd_batch_moves_a_skill_only_on_steps_that_sample_it():
    # With a batch of B, skill k is pulled on a step iff its count is > 0, probability q_k = 1 - (1 - w_k)^B:
    # s_k / lr is the number of such steps, Binomial(t, q_k). Seed mean against t q_k within 4 sigma.
    lr, N, t, B, seeds = 0.01, 4, 400, 8, list(range(24))
    m = GeometryModel.modular(P, N, loss="ce", lr=lr, batch=B)
    res = simulate(m, t, seeds=seeds, record=[0, t])
    s = -np.log(np.expm1(res.loss()[:, -1]))  # invert l = log(1 + exp(-s))
    moves = s[:, :N] / lr
    np.testing.assert_allclose(moves, np.round(moves), atol=1e-6)  # whole steps of lr
    w = P / P.sum()
    q = 1 - (1 - w[:N]) ** B
    sigma = np.sqrt(t * q * (1 - q) / len(seeds))
    assert np.all(np.abs(moves.mean(axis=0) - t * q) < 4 * sigma)
    assert np.all(res.loss()[:, :, N:] == LN2)


# ---------------------------------------------------------------- simulate: a second model, the other backend
def test_signgd_modular_equals_the_model_without_its_zero_tasks():
    # Exact gradient: the zero tasks only rescale w (w_k / sum_{j<=N} w_j), and sign(c g) = sign(g) for c > 0.
    rng = np.random.default_rng(1)
    N, n_learn = 12, 5
    T = rng.standard_normal((n_learn, N))
    T_zero = np.vstack([T[:2], np.zeros((2, N)), T[2:], np.zeros((1, N))])
    keep = np.array([0, 1, 4, 5, 6])
    p = zipf_frequencies(8, 1.2)
    with_zero = GeometryModel(p, N, tasks=T_zero, allow_zero_tasks=True, loss="ce", lr=0.02)
    without = GeometryModel(p[keep], N, tasks=T, loss="ce", lr=0.02)
    a, b = simulate(with_zero, 300).curves[0].loss, simulate(without, 300).curves[0].loss
    np.testing.assert_allclose(a[:, keep], b, atol=1e-12)
    assert np.all(np.delete(a, keep, axis=1) == LN2)
    assert b[-1].mean() < 0.5 * LN2  # the learnable tasks did learn
    modular = simulate(GeometryModel.modular(p, 5, loss="ce", lr=0.02), 300).curves[0].loss
    basis5 = simulate(GeometryModel(p[:5], 5, tasks="basis", loss="ce", lr=0.02), 300).curves[0].loss
    np.testing.assert_allclose(modular[:, :5], basis5, atol=1e-12)


@pytest.mark.parametrize("optimizer", ["signgd", "adam", "sgd", "lion", "ademamix"])
def test_backends_agree_on_modular_and_zero_row_tasks(optimizer):
    if "numba" not in _backends():
        pytest.skip("numba is not installed")
    lr = 0.05 if optimizer == "sgd" else 5e-3
    p = zipf_frequencies(10, 1.3)
    T = np.random.default_rng(2).standard_normal((10, 6))
    T[[3, 7]] = 0.0
    models = [
        GeometryModel.modular(p, 6, optimizer=optimizer, loss="ce", lr=lr, batch=32, noise=0.01),
        GeometryModel(p, 6, tasks=T, allow_zero_tasks=True, optimizer=optimizer, lr=lr, batch=32),
    ]
    a = simulate(models, 200, seeds=[0, 1], backend="numba")
    b = simulate(models, 200, seeds=[0, 1], backend="torch", device="cpu")
    assert np.abs(a.loss() - b.loss()).max() < 1e-9
    L = a.loss()
    assert np.all(L[:2, :, 6:] == LN2) and np.all(L[2:, :, [3, 7]] == 1.0)
    assert L[:, -1].sum() < L[:, 0].sum()  # the comparison is not vacuous


def test_auto_backend_takes_the_compiled_loop_for_modular_groups():
    if "numba" not in _backends():
        pytest.skip("numba is not installed")
    m = GeometryModel.modular(zipf_frequencies(1000, 1.5), 500, loss="ce", lr=0.01)
    assert simulate(m, 2, seeds=range(12)).curves[0].metadata["backend"] == "numba"
