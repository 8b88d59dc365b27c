"""Bad input gets a ValueError that names the argument."""

import numpy as np
import pytest

import skillode as sk


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"p": [1.0, -0.1]}, r"p\[1\]"),
        ({"p": [1.0, 0.0]}, r"p\[1\]"),
        ({"p": [1.0, np.nan]}, r"p\[1\]"),
        ({"p": [[1.0, 0.5]]}, "p must be one-dimensional"),
        ({"p": []}, "p must name at least one skill"),
        ({"p": "abc"}, "p must be a sequence"),
        ({"eta": 0.0}, "eta must be positive"),
        ({"eta": np.inf}, "eta must be finite"),
        ({"N0": -1.0}, "N0 must be non-negative"),
        ({"N0": np.nan}, "N0 must be finite"),
        ({"C": np.eye(3)}, r"C must have shape \(2, 2\)"),
        ({"C": [[1.0, 0.5], [0.2, 1.0]]}, "C must be symmetric"),
        ({"C": [[1.0, 2.0], [2.0, 1.0]]}, "C must be positive semi-definite"),
        ({"C": [[1.0, np.nan], [np.nan, 1.0]]}, "C must be finite"),
        ({"loss": "hinge"}, "loss must be one of"),
        ({"gates": {5: (0,)}}, "gates: skill 5"),
        ({"gates": {1: ("nope",)}}, "gates: parent 'nope' names an unknown skill"),
        ({"gates": {1: (1,)}}, "cannot be its own parent"),
        ({"gates": {0: (1,), 1: (0,)}}, "dependency cycle"),
        ({"names": ["a", "a"]}, "names must be distinct"),
    ],
)
def test_resource_model_rejects_bad_input(kwargs, match):
    args = {"p": [1.0, 0.1], "eta": 0.1, "N0": 0.0} | kwargs
    with pytest.raises(ValueError, match=match):
        sk.ResourceModel(**args)


def test_solve_rejects_bad_requests():
    model = sk.ResourceModel([1.0, 0.1], 0.1, 0.01)
    with pytest.raises(ValueError, match="method must be one of"):
        sk.solve(model, steps=10, method="rk4")
    with pytest.raises(ValueError, match="ode_method must be one of"):
        sk.solve(model, steps=10, method="ode", ode_method="euler")
    with pytest.raises(ValueError, match="times must be strictly increasing"):
        sk.solve(model, [0.0, 2.0, 1.0])
    with pytest.raises(ValueError, match="times must be non-negative"):
        sk.solve(model, [-1.0, 2.0])
    with pytest.raises(ValueError, match="times must be finite"):
        sk.solve(model, [0.0, np.nan])
    with pytest.raises(ValueError, match="steps must be an integer"):
        sk.solve(model, steps=2.5)
    with pytest.raises(ValueError, match="give times or steps"):
        sk.solve(model, [0.0, 1.0], steps=3)
    with pytest.raises(ValueError, match="times must be integers"):
        sk.solve(model, [0.0, 0.5], method="map")
    gated = sk.ResourceModel([1.0, 0.1], 0.1, 0.01, gates={1: (0,)})
    with pytest.raises(ValueError, match="method 'exact' needs orthogonal skills"):
        sk.solve(gated, steps=10, method="exact")
    with pytest.raises(ValueError, match="does not apply to DominoModel"):
        sk.solve(sk.DominoModel([1.0], 0.1), steps=10, method="ode")
    with pytest.raises(ValueError, match="model must be"):
        sk.solve("resource", steps=10)


def test_limit_models_reject_bad_input():
    with pytest.raises(ValueError, match="N0 must be positive"):
        sk.ParallelModel([1.0], 0.1, 0.0)
    with pytest.raises(ValueError, match="order must list every one"):
        sk.DominoModel([1.0, 0.5], 0.1, order=[0, 0])
    with pytest.raises(ValueError, match="order: unknown skill"):
        sk.DominoModel([1.0, 0.5], 0.1, order=["x", "skill1"])
