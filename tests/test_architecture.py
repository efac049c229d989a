"""The floors of the code hold (docs/architecture.md): no import cycle between the
top-level packages of `chappe`, one module for phone numbers, one for lease claims. The
layer order itself is `lint-imports`' contract in pyproject.toml, run by `make test`."""

import re
from pathlib import Path

import grimp

CHAPPE = Path(__file__).resolve().parent.parent / "chappe"


def _package_graph() -> dict[str, set[str]]:
    graph = grimp.build_graph("chappe")
    edges: dict[str, set[str]] = {}
    for module in graph.modules:
        source = module.split(".")[1] if "." in module else ""
        for imported in graph.find_modules_directly_imported_by(module):
            target = imported.split(".")[1] if "." in imported else ""
            if source and target and source != target:
                edges.setdefault(source, set()).add(target)
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in list(edges):
        if node not in index:
            visit(node)
    return found


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_the_top_level_packages_form_no_import_cycle():
    assert _cycles(_package_graph()) == []


def _sources_matching(pattern: str) -> set[str]:
    regex = re.compile(pattern)
    return {str(path.relative_to(CHAPPE.parent)) for path in CHAPPE.rglob("*.py")
            if "migrations" not in path.parts and regex.search(path.read_text())}


def test_only_the_numbers_module_imports_phonenumbers():
    assert _sources_matching(r"(?m)^\s*(import|from) phonenumbers\b") == {
        "chappe/common/numbers.py"}


def test_only_the_lease_helper_writes_skip_locked():
    assert _sources_matching(r"skip_locked\s*=|SKIP LOCKED['\"]") == {"chappe/common/leases.py"}
