"""sympy forms of the models, built from the same formulas as the numpy vector fields.

sympy is imported inside the functions, not with this module: `import skillode` stays light.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sympy as sp


@dataclass(frozen=True)
class SymbolicSystem:
    """An autonomous ODE system dx/dt = rhs(x) in sympy.

    Attributes:
        t: the time symbol.
        state: the state functions x_k(t) (losses l_k for MSE, logits z_k for CE).
        rhs: sympy Matrix (n x 1) of right-hand sides, in terms of `state` and the parameters.
        equations: the system as a list of sympy Eq(Derivative(x_k, t), rhs_k).
        loss: per-skill loss as expressions of the state.
        parameters: name -> symbol (p1..pn, eta, N0).
        values: symbol -> the model's numeric value, for subs().
    """

    t: sp.Symbol
    state: tuple
    rhs: sp.Matrix
    equations: tuple
    loss: tuple
    parameters: dict
    values: dict

    def numeric_rhs(self) -> sp.Matrix:
        """The rhs with the model's parameter values substituted."""
        return self.rhs.subs(self.values)

    def jacobian(self) -> sp.Matrix:
        """d rhs / d state, symbolic."""
        import sympy as sp

        xs = [sp.Symbol(f"_x{k}") for k in range(len(self.state))]
        rhs = self.rhs.subs(dict(zip(self.state, xs)))
        return rhs.jacobian(xs).subs(dict(zip(xs, self.state)))

    def latex(self) -> str:
        import sympy as sp

        return "\\\\\n".join(sp.latex(eq) for eq in self.equations)


def resource_system(model) -> SymbolicSystem:
    """The Resource model (see skillode.models.ResourceModel) as a SymbolicSystem.

    The MSE clipping at zero loss is not part of the symbolic form: it holds for l_k > 0.
    With reweight="loss" each pull carries the weight loss_k / sum_j phat_j loss_j.
    """
    import sympy as sp

    n = model.n_skills
    t = sp.Symbol("t", nonnegative=True)
    eta = sp.Symbol("eta", positive=True)
    N0 = sp.Symbol("N_0", nonnegative=True)
    p = [sp.Symbol(f"p_{k + 1}", positive=True) for k in range(n)]
    letter = "l" if model.loss == "mse" else "z"
    x = [sp.Function(f"{letter}_{k + 1}")(t) for k in range(n)]
    if model.loss == "mse":
        pull = list(x)
        loss = tuple(x)
        sign = -1
        l0 = sp.Integer(1)
    else:
        pull = [1 / (1 + sp.exp(xk)) for xk in x]
        loss = tuple(sp.log(1 + sp.exp(-xk)) for xk in x)
        sign = 1
        l0 = sp.log(2)
    gates = [sp.Integer(1)] * n
    for g in model._gates:
        a = sp.nsimplify(g.exponent)
        openings = [1 - (loss[i] / l0) ** a for i in g.parents]
        gates[g.skill] = sp.Mul(*openings) if g.mode == "and" else sp.Max(*openings)
    weights = [sp.Integer(1)] * n
    if model.reweight == "loss":  # w_k = loss_k / sum_j phat_j loss_j
        mean_loss = sum(p[j] * loss[j] for j in range(n)) / sum(p)
        weights = [loss[k] / mean_loss for k in range(n)]
    r = sp.Matrix([gates[k] * p[k] * pull[k] * weights[k] for k in range(n)])
    C = sp.eye(n) if model.C is None else sp.Matrix(n, n, lambda i, j: sp.nsimplify(model.C[i, j], rational=False))
    rhs = sign * eta * (C * r) / (sum(r) + N0)
    equations = tuple(sp.Eq(sp.Derivative(x[k], t), rhs[k]) for k in range(n))
    params = {f"p{k + 1}": p[k] for k in range(n)} | {"eta": eta, "N0": N0}
    values = {p[k]: sp.Float(model.p[k]) for k in range(n)} | {eta: sp.Float(model.eta), N0: sp.Float(model.N0)}
    return SymbolicSystem(t, tuple(x), rhs, equations, loss, params, values)
