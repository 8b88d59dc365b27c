"""The Derivation record, its check results, the registry and the text / LaTeX / Markdown renderers.

A derivation is data: a statement (named sympy expressions or equations), its assumptions and
regime, plus two callables. `symbolic()` proves what sympy can prove (an expression simplified
to 0, a limit evaluated) and `numeric()` compares the statement with skillode's solvers. Both
return typed results carrying the measured error and the tolerance it is held to.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp

FORMATS = ("text", "latex", "markdown")


@dataclass(frozen=True)
class Statement:
    """One displayed formula: a label and a sympy expression or Eq."""

    label: str
    expr: sp.Basic


@dataclass(frozen=True)
class SymbolicCheck:
    """A fact sympy established (or failed to): `residual` is what had to simplify to 0."""

    description: str
    passed: bool
    residual: str = "0"


@dataclass(frozen=True)
class NumericCheck:
    """A number compared with a solver: `error` (as defined in description) against `tolerance`."""

    description: str
    error: float
    tolerance: float
    details: tuple[tuple[str, str], ...] = ()

    @property
    def passed(self) -> bool:
        return bool(self.error <= self.tolerance)


@dataclass(frozen=True)
class Derivation:
    """A closed-form result about the skill-learning models.

    Attributes:
        name: registry key (also the CLI argument), e.g. "exact_solution".
        title: one line.
        assumptions: the conditions under which the statement holds.
        regime: "exact" or where an asymptotic statement applies ("1 << eta t << n").
        statements: the formulas, built from skillode.closed_forms.
        symbolic: () -> tuple of SymbolicCheck.
        numeric: () -> tuple of NumericCheck (against skillode's solvers).
        notes: prose: why, and how the numeric check was set up.
    """

    name: str
    title: str
    assumptions: tuple[str, ...]
    regime: str
    statements: Callable[[], tuple[Statement, ...]]
    symbolic: Callable[[], tuple[SymbolicCheck, ...]]
    numeric: Callable[[], tuple[NumericCheck, ...]]
    notes: str = ""


@dataclass(frozen=True)
class DerivationReport:
    """A derivation together with the outcome of its checks (None when checks were not run)."""

    derivation: Derivation
    statements: tuple[Statement, ...]
    symbolic: tuple[SymbolicCheck, ...] | None = None
    numeric: tuple[NumericCheck, ...] | None = None
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        checks = list(self.symbolic or ()) + list(self.numeric or ())
        return all(c.passed for c in checks)


_REGISTRY: dict[str, Derivation] = {}


def register(derivation: Derivation) -> Derivation:
    if derivation.name in _REGISTRY:
        raise ValueError(f"derivation {derivation.name!r} is registered twice")
    _REGISTRY[derivation.name] = derivation
    return derivation


def names() -> tuple[str, ...]:
    """Registered derivation names, in registration order."""
    return tuple(_REGISTRY)


def get(name: str) -> Derivation:
    if name not in _REGISTRY:
        raise ValueError(f"unknown derivation {name!r}; known: {', '.join(_REGISTRY)}")
    return _REGISTRY[name]


def run(name_or_derivation: str | Derivation, *, check: bool = True) -> DerivationReport:
    """Build the statement and, with check=True, run its symbolic and numeric checks."""
    d = get(name_or_derivation) if isinstance(name_or_derivation, str) else name_or_derivation
    start = time.perf_counter()
    statements = d.statements()
    if not check:
        return DerivationReport(d, statements, seconds=time.perf_counter() - start)
    symbolic = d.symbolic()
    numeric = d.numeric()
    return DerivationReport(d, statements, symbolic, numeric, time.perf_counter() - start)


@dataclass(frozen=True)
class Evaluation:
    """A statement evaluated at given symbol values: value, or the symbols still free (value None)."""

    label: str
    value: float | complex | None
    missing: tuple[str, ...]


def parse_values(items: list[str] | tuple[str, ...]) -> dict[str, float]:
    """["r=10", "eps=0.05"] -> {"r": 10.0, "eps": 0.05}, every malformed item named."""
    values: dict[str, float] = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"--at {item!r}: expected NAME=VALUE, e.g. r=10")
        try:
            values[name.strip()] = float(text)
        except ValueError:
            raise ValueError(f"--at {item!r}: {text!r} is not a number") from None
    return values


def evaluate(derivation: Derivation, values: dict[str, float]) -> tuple[Evaluation, ...]:
    """Each statement's right-hand side (limits and derivatives carried out) at the given values.

    Symbols are matched by name. A name that no statement of the derivation uses is an error, so
    a typo is not silently ignored.
    """
    statements = derivation.statements()
    known = {str(sym) for st in statements for sym in _rhs(st.expr).free_symbols}
    by_key = {_key(name): name for name in known}
    unknown = sorted(name for name in values if _key(name) not in by_key)
    if unknown:
        raise ValueError(
            f"--at: {', '.join(unknown)} not used by {derivation.name!r}; its symbols: {', '.join(sorted(known))}"
        )
    given = {by_key[_key(name)]: value for name, value in values.items()}
    out = []
    for st in statements:
        expr = _rhs(st.expr)
        expr = expr.subs({sym: given[str(sym)] for sym in expr.free_symbols if str(sym) in given})
        missing = tuple(sorted(str(sym) for sym in expr.free_symbols))
        value = None
        if not missing:
            number = complex(sp.N(expr.doit(), 15))
            value = number.real if abs(number.imag) <= 1e-12 * max(abs(number.real), 1.0) else number
        out.append(Evaluation(st.label, value, missing))
    return tuple(out)


_ALIASES = {"eps": "epsilon"}


def _key(name: str) -> str:
    """A symbol's name as typed on a command line: N0 for N_0, eps for epsilon."""
    key = name.replace("_", "").replace("{", "").replace("}", "").lower()
    return _ALIASES.get(key, key)


def _rhs(expr: sp.Basic) -> sp.Basic:
    return expr.rhs if isinstance(expr, sp.Equality) else expr


def simplifies_to_zero(description: str, expr: sp.Basic) -> SymbolicCheck:
    """A SymbolicCheck that passes when sympy simplifies expr to exactly 0."""
    residual = sp.simplify(expr)
    return SymbolicCheck(description, residual == 0, sp.sstr(residual))


def equal(description: str, lhs: sp.Basic, rhs: sp.Basic) -> SymbolicCheck:
    """A SymbolicCheck that passes when lhs - rhs simplifies to 0."""
    return simplifies_to_zero(description, lhs - rhs)


def fmt(x: float) -> str:
    return f"{x:.6g}"


# ---------------------------------------------------------------------------- render
def _expr_text(expr: sp.Basic) -> str:
    return sp.sstr(expr)


def render(reports: list[DerivationReport] | tuple[DerivationReport, ...], fmt_name: str = "text") -> str:
    """All reports as one document in "text", "latex" or "markdown"."""
    fmt_name = fmt_name.lower()
    if fmt_name not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(map(repr, FORMATS))}; got {fmt_name!r}")
    parts = [_RENDERERS[fmt_name](rep) for rep in reports]
    if fmt_name == "markdown":
        head = [
            "# Derivations",
            "",
            "Closed-form results of the skill-learning models (Liu, Liu, Michaud, Gore, Tegmark, "
            "arXiv 2501.12391), each proved in sympy where sympy can and checked against skillode's "
            "solvers. Generated by `skillode derive --all`.",
            "",
        ]
        if any(r.symbolic is not None for r in reports):
            head += ["| result | checks | passed |", "|---|---|---|"]
            for r in reports:
                n_checks = len(r.symbolic or ()) + len(r.numeric or ())
                # the heading is '## name'; GitHub and pandoc anchors keep underscores
                head.append(
                    f"| [{r.derivation.name}](#{r.derivation.name}) | {n_checks} | {'yes' if r.passed else '**NO**'} |"
                )
            head.append("")
        return "\n".join(head) + "\n" + "\n\n".join(parts) + "\n"
    if fmt_name == "latex":
        return "\n\n".join(parts) + "\n"
    return ("\n\n" + "=" * 78 + "\n\n").join(parts) + "\n"


def _checks_lines(rep: DerivationReport, bullet: str, code: Callable[[str], str]) -> list[str]:
    lines: list[str] = []
    if rep.symbolic is None:
        return lines
    for c in rep.symbolic:
        lines.append(
            f"{bullet}[{'ok' if c.passed else 'FAIL'}] symbolic: {c.description}"
            + ("" if c.passed else f" (residual {code(c.residual)})")
        )
    for c in rep.numeric or ():
        extra = "; ".join(f"{k} = {v}" for k, v in c.details)
        lines.append(
            f"{bullet}[{'ok' if c.passed else 'FAIL'}] numeric: {c.description}: "
            f"error {fmt(c.error)} <= tolerance {fmt(c.tolerance)}"
            + ("" if c.passed else " is FALSE")
            + (f" ({extra})" if extra else "")
        )
    return lines


def _render_text(rep: DerivationReport) -> str:
    d = rep.derivation
    out = [f"{d.name}: {d.title}", "", "Assumptions:"]
    out += [f"  - {a}" for a in d.assumptions]
    out += [f"Regime: {d.regime}", "", "Statement:"]
    for s in rep.statements:
        out.append(f"  {s.label}:")
        out += ["      " + line for line in sp.pretty(s.expr, use_unicode=False).splitlines()]
    if d.notes:
        out += ["", d.notes]
    if rep.symbolic is not None:
        out += ["", f"Checks ({rep.seconds:.2f} s):"] + _checks_lines(rep, "  ", lambda s: s)
    return "\n".join(out)


def _render_markdown(rep: DerivationReport) -> str:
    d = rep.derivation
    out = [f"## {d.name}", "", f"**{d.title}**", "", "Assumptions:", ""]
    out += [f"- {a}" for a in d.assumptions]
    out += ["", f"Regime: {d.regime}", ""]
    for s in rep.statements:
        out += [f"{s.label}:", "", "$$", sp.latex(s.expr), "$$", ""]
    if d.notes:
        out += [d.notes, ""]
    if rep.symbolic is not None:
        out += [f"Checks ({rep.seconds:.2f} s):", ""] + _checks_lines(rep, "- ", lambda s: f"`{s}`")
    return "\n".join(out).rstrip()


def _latex_escape(text: str) -> str:
    text = text.replace("\\", "\0")  # a placeholder, so the braces added below stay unescaped
    for a, b in (
        ("&", r"\&"),
        ("%", r"\%"),
        ("#", r"\#"),
        ("_", r"\_"),
        ("$", r"\$"),
        ("{", r"\{"),
        ("}", r"\}"),
        ("^", r"\^{}"),
        ("~", r"\~{}"),
    ):
        text = text.replace(a, b)
    return text.replace("\0", r"\textbackslash{}")


def _render_latex(rep: DerivationReport) -> str:
    d = rep.derivation
    out = [f"\\subsection*{{{_latex_escape(d.title)}}}\\label{{{d.name}}}", "", "Assumptions:", "\\begin{itemize}"]
    out += [f"  \\item {_latex_escape(a)}" for a in d.assumptions]
    out += ["\\end{itemize}", f"Regime: {_latex_escape(d.regime)}.", ""]
    for s in rep.statements:
        out += [f"{_latex_escape(s.label)}:", "\\begin{equation*}", sp.latex(s.expr), "\\end{equation*}"]
    if d.notes:
        out += ["", _latex_escape(d.notes)]
    if rep.symbolic is not None:
        out += ["", "\\begin{itemize}"]
        out += ["  \\item " + _latex_escape(line) for line in _checks_lines(rep, "", lambda s: s)]
        out += ["\\end{itemize}"]
    return "\n".join(out)


_RENDERERS = {"text": _render_text, "markdown": _render_markdown, "latex": _render_latex}
