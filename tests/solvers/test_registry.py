"""solve() finds methods in a registry: a new model type plugs in without editing solve."""

from dataclasses import dataclass, field

import numpy as np
import pytest

import skillode as sk
from skillode.solvers import Solution, SolverOptions, methods_for, register_method
from skillode.solvers._registry import _REGISTRY


def test_each_model_lists_its_methods():
    assert methods_for(sk.ResourceModel([1.0, 0.1], 0.1)) == ("exact", "ode", "map")
    assert methods_for(sk.DominoModel([1.0, 0.1], 0.1)) == ("exact",)
    assert methods_for(sk.ParallelModel) == ("exact",)
    assert methods_for(sk.SignGDMeanField([1.0], 1e-3, 100)) == ("map",)


def test_an_unsupported_method_names_the_supported_ones():
    with pytest.raises(ValueError, match=r"method 'map' does not apply to DominoModel; its methods: 'exact'"):
        sk.solve(sk.DominoModel([1.0, 0.1], 0.1), steps=5, method="map")
    with pytest.raises(ValueError, match=r"does not apply to SignGDMeanField; its methods: 'map'"):
        sk.solve(sk.SignGDMeanField([1.0], 1e-3, 100), steps=5, method="ode")


def test_an_unknown_model_type_is_named():
    with pytest.raises(ValueError, match="got dict; a new model type registers its methods"):
        sk.solve({"p": [1.0]}, steps=5)


@dataclass(frozen=True)
class Exponential:
    """l(t) = exp(-rate t) for one skill: a model type that skillode does not know."""

    rate: float
    names: tuple = ("only",)
    p: np.ndarray = field(default_factory=lambda: np.ones(1))

    def config(self) -> dict:
        return {"model": "exponential", "rate": self.rate}


def _solve_exponential(model: Exponential, t: np.ndarray, options: SolverOptions) -> Solution:
    from skillode.solvers._solution import _curves

    loss = np.exp(-model.rate * t)[:, None]
    return Solution(_curves(model, t, loss, "exact"), "exact", "closed form", loss)


def test_a_new_model_type_plugs_in(monkeypatch):
    monkeypatch.setitem(_REGISTRY, Exponential, {})
    register_method(Exponential, "exact", _solve_exponential)
    sol = sk.solve(Exponential(0.5), [0.0, 1.0, 2.0])
    np.testing.assert_allclose(sol.curves.loss[:, 0], np.exp(-0.5 * np.arange(3.0)), rtol=1e-15)
    assert sol.curves.metadata["model"] == {"model": "exponential", "rate": 0.5}
    assert methods_for(Exponential) == ("exact",)
    with pytest.raises(ValueError, match="does not apply to Exponential; its methods: 'exact'"):
        sk.solve(Exponential(0.5), steps=3, method="ode")


def test_a_subclass_inherits_its_base_methods_and_may_override_them(monkeypatch):
    class Tweaked(sk.DominoModel):
        pass

    model = Tweaked([1.0, 0.1], 0.2)
    np.testing.assert_array_equal(
        sk.solve(model, steps=10).curves.loss, sk.solve(sk.DominoModel([1.0, 0.1], 0.2), steps=10).curves.loss
    )
    monkeypatch.setitem(_REGISTRY, Tweaked, {})
    register_method(Tweaked, "exact", lambda m, t, o: "overridden")
    assert sk.solve(model, steps=10) == "overridden"


@pytest.mark.parametrize(
    "args, match",
    [
        (("not a type", "exact", _solve_exponential), "model_type must be a class"),
        ((Exponential, "", _solve_exponential), "method must be a non-empty string"),
        ((Exponential, "exact", 3), "function must be callable"),
    ],
)
def test_register_method_checks_its_arguments(args, match):
    with pytest.raises(ValueError, match=match):
        register_method(*args)
