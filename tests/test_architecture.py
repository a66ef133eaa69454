"""Every import arrow points down (docs/architecture.md), read from the source with ``ast``.

Imports inside functions and under ``TYPE_CHECKING`` count too: a lazy import is still a
dependency, and a type-only one still couples the two sides.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.paths import REPO_ROOT

PACKAGE = REPO_ROOT / "callcenter"
# The stages: each does one job and knows nothing of who calls it.
STAGES = ("audio", "asr", "llm", "tts", "tools", "store", "text")
ABOVE_THE_STAGES = ("dialogue", "telephony", "runtime", "tasks", "web", "app", "cli")


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def parse(path: Path) -> ast.Module:
    source = path.read_text(encoding="utf-8")
    try:
        return ast.parse(source)
    except SystemError:
        # CPython 3.11 keeps the AST builder's recursion depth where another thread that
        # compiles at the same moment (a library generating code) can skew it, and raises
        # "AST constructor recursion depth mismatch". The source is fine: parse it again.
        return ast.parse(source)


def imports_of(path: Path) -> Iterator[str]:
    for node in ast.walk(parse(path)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            # "from callcenter.web import api" imports the module callcenter.web.api
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def module_graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        graph[name] = {
            target
            for target in imports_of(path)
            if target in modules and target != name and not name.startswith(target + ".")
        }
    return graph


def package_of(module: str) -> str:
    return module.split(".")[1] if module.count(".") else module


def package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for source, targets in module_graph().items():
        edges = graph.setdefault(package_of(source), set())
        edges.update(package_of(t) for t in targets if package_of(t) != package_of(source))
    return graph


def arrows(source: str, targets: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{module} -> {target}"
        for module, imported in module_graph().items()
        if package_of(module) == source
        for target in imported
        if package_of(target) in targets
    )


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in graph.get(node, ()):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


@pytest.mark.parametrize("stage", STAGES)
def test_a_stage_imports_nothing_above_the_stages(stage: str) -> None:
    assert arrows(stage, ABOVE_THE_STAGES) == []


def test_text_is_a_leaf() -> None:
    assert package_graph().get("text", set()) == set()


def test_telephony_imports_neither_the_runtime_nor_the_jobs() -> None:
    assert arrows("telephony", ("runtime", "tasks", "web", "app")) == []


def test_dialogue_imports_neither_telephony_nor_the_jobs() -> None:
    assert arrows("dialogue", ("telephony", "runtime", "tasks", "web", "app")) == []


def test_tools_do_not_import_the_llm() -> None:
    assert arrows("tools", ("llm",)) == []


def test_jobs_do_not_import_the_dialogue() -> None:
    assert arrows("tasks", ("dialogue", "telephony")) == []


def test_no_circles_between_packages() -> None:
    assert cycles(package_graph()) == []


def test_no_circles_between_modules() -> None:
    assert cycles(module_graph()) == []


def test_the_checks_see_real_arrows() -> None:
    # Guard against a parser that finds nothing (then every check above would pass).
    graph = package_graph()
    assert "dialogue" in graph["telephony"] and "store" in graph["dialogue"]
    assert cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
