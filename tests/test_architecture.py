"""The layout's rules, checked on the source: no import cycle, layers import only downwards.

The graph is built statically from every import statement in skillode/, derivations/ and
validation/ (module level and inside functions: a lazy import hides a cycle from Python, not
from this test), except imports under `if TYPE_CHECKING:`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# folder -> installed package name (pyproject's package-dir mapping)
PACKAGES = {"skillode": "skillode", "derivations": "skillode.derivations", "validation": "skillode.validation"}

# Each layer may import itself and the layers listed; everything else is a violation.
LEAVES = {"skillode._checks", "skillode._files", "skillode._repr", "skillode._version"}
ALLOWED = {
    "skillode.curves": {"skillode.curves"},
    "skillode.models": {"skillode.models"},
    "skillode.closed_forms": {"skillode.models"},
    "skillode.plot": {"skillode.curves"},
    "skillode.solvers": {"skillode.solvers", "skillode.models", "skillode.curves", "skillode.closed_forms"},
    "skillode.fitting": {"skillode.fitting", "skillode.solvers", "skillode.models", "skillode.curves"},
    "skillode.sweeps": {
        "skillode.sweeps",
        "skillode.fitting",
        "skillode.solvers",
        "skillode.models",
        "skillode.curves",
    },
    "skillode.torch": {"skillode.curves"},
    "skillode.integrations": {"skillode.integrations", "skillode.torch"},
}


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    parts[0] = PACKAGES[parts[0]]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found = {}
    for folder in PACKAGES:
        for path in sorted((ROOT / folder).rglob("*.py")):
            found[_module_name(path)] = path
    return found


MODULES = _modules()


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def _imports(name: str) -> set[str]:
    """The skillode modules that module `name` imports."""
    tree = ast.parse(MODULES[name].read_text())
    skip = _type_checking_lines(tree)
    package = name if _is_package(name) else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            # `from pkg import sub` imports the submodule pkg.sub when there is one
            targets = [f"{source}.{a.name}" if f"{source}.{a.name}" in MODULES else source for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != name:
                out.add(target)
    return out


GRAPH = {name: _imports(name) for name in MODULES}


def _cycles() -> list[list[str]]:
    """Every elementary cycle found by a depth-first search (one representative per back edge)."""
    cycles, state, stack = [], {}, []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(GRAPH[node]):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(GRAPH):
        if node not in state:
            visit(node)
    return cycles


def test_the_graph_sees_the_layout():
    # guards the test itself: a parser that found no edges would pass every rule below
    assert "skillode.solvers._exact" in MODULES and "skillode.derivations.scaling" in MODULES
    assert "skillode.models" in GRAPH["skillode.solvers._exact"]
    assert "skillode.closed_forms" in GRAPH["skillode.solvers._exact"]
    assert "skillode.solvers" in GRAPH["skillode.fitting._problem"]


def test_no_import_cycle():
    assert _cycles() == []


def test_the_cycle_finder_finds_a_cycle(monkeypatch):
    monkeypatch.setitem(GRAPH, "skillode.models._limits", GRAPH["skillode.models._limits"] | {"skillode.solvers"})
    assert _cycles(), "adding models -> solvers must close a cycle (solvers import models)"


def _layer(name: str) -> str | None:
    for layer in sorted(ALLOWED, key=len, reverse=True):
        if name == layer or name.startswith(layer + "."):
            return layer
    return None


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layers_import_only_downwards(layer):
    bad = []
    for name, targets in GRAPH.items():
        if _layer(name) != layer:
            continue
        for target in targets:
            if target in LEAVES:
                continue
            if _layer(target) not in ALLOWED[layer]:
                bad.append(f"{name} imports {target}")
    assert bad == []


def test_leaves_import_nothing_of_ours():
    assert {name: GRAPH[name] for name in LEAVES if GRAPH[name]} == {}


MAX_FUNCTION_LINES = 80


def test_no_function_is_longer_than_80_lines():
    # a unit longer than a screen or two is a unit nobody can change safely: split it into named stages
    too_long = []
    for path in sorted((ROOT / "skillode").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({length} lines)")
    assert not too_long, "functions over 80 lines: " + "; ".join(too_long)
