"""The layers of the package: imports point one way.

The graph is read from the source (every ``import`` and ``from ... import``, also those inside
functions and under ``TYPE_CHECKING``), folded onto the top-level packages and modules of
``spaceclimate`` (``catalog``, ``api``, ``config``, ...). No two of them may import each other,
directly or through others; the portal imports nothing of the API; the client imports nothing
of the hub.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "spaceclimate"

Graph = dict[str, set[str]]


def module_name(path: Path) -> str:
    """``src/spaceclimate/api/stac/routes.py`` -> ``spaceclimate.api.stac.routes``."""
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path) -> set[str]:
    """Every module of ``spaceclimate`` that *path* imports (absolute or relative)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return {m for m in found if m == "spaceclimate" or m.startswith("spaceclimate.")}


def layer(module: str) -> str | None:
    """The top-level package or module of ``spaceclimate`` a module belongs to."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def package_graph() -> tuple[Graph, dict[tuple[str, str], list[str]]]:
    """Edges between top-level parts, with the imports that make each edge."""
    graph: Graph = defaultdict(set)
    why: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in sorted(SRC.rglob("*.py")):
        source = module_name(path)
        here = layer(source)
        if here is None:
            continue
        for target in imported_modules(path):
            there = layer(target)
            if there is None or there == here:
                continue
            if (SRC / there).is_dir() or (SRC / f"{there}.py").is_file():
                graph[here].add(there)
                why[(here, there)].append(f"{source} imports {target}")
    return graph, why


def cycles(graph: Graph) -> list[list[str]]:
    """The strongly connected groups of more than one node (each a cycle or several)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    nodes = sorted(set(graph) | {t for targets in graph.values() for t in targets})
    for root in nodes:  # Tarjan's algorithm, iterative
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    found.append(sorted(group))
    return found


def test_cycle_finder_finds_loops_and_only_loops() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert sorted(cycles({"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"c"}})) == [
        ["a", "b"],
        ["c", "d"],
    ]


def test_import_reader_sees_lazy_relative_and_type_checking_imports() -> None:
    sample = SRC / "services" / "routers.py"  # imports HubContext under TYPE_CHECKING only
    assert "spaceclimate.services.context" in imported_modules(sample)
    lazy = SRC / "cli" / "compute.py"  # imports the registry inside functions
    assert "spaceclimate.compute.registry" in imported_modules(lazy)


def test_no_two_top_level_packages_import_each_other() -> None:
    graph, why = package_graph()
    assert {"api", "catalog", "compute", "store", "db"} <= set(graph), "the graph looks empty"
    found = cycles(graph)
    explained = []
    for group in found:
        for a in group:
            for b in sorted(graph[a] & set(group)):
                explained.append(f"{a} -> {b}: {why[(a, b)][0]}")
    assert not found, "import cycles between packages:\n" + "\n".join(explained)


def test_portal_imports_nothing_of_the_api() -> None:
    graph, why = package_graph()
    assert "api" not in graph["portal"], why[("portal", "api")]
    assert "render" in graph["portal"] and "render" in graph["api"]  # one renderer, shared


def test_client_imports_nothing_of_the_hub() -> None:
    graph, why = package_graph()
    assert graph["client"] == set(), {k: v for k, v in why.items() if k[0] == "client"}


def test_the_bottom_layers_import_nothing_above_them() -> None:
    """Shared nouns and the database layer stand on the standard library and each other."""
    graph, why = package_graph()
    bottom = {"config", "errors", "plugins", "records", "clock", "params"}
    for name in bottom:
        assert graph.get(name, set()) <= bottom, (name, graph[name])
    assert graph["db"] <= bottom, why
    for name in ("catalog", "access", "jobs"):
        assert not graph[name] & {"catalog", "access", "jobs"}, (name, graph[name])
