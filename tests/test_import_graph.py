"""The import graph between packages: domains form no cycle, and no domain reaches into the system's edges."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "signpost"
# The edges of the system: they compose domains and speak HTTP, FHIR or CDS Hooks; a domain never imports them.
# (Modules at signpost/'s top level — app, cli, db, config, errors — are not packages and are not checked.)
EDGES = {"web", "fhir_api", "flows", "api", "cds_hooks"}


def _imported(path: Path) -> set[str]:
    """The signpost modules a file imports, anywhere in it (an import inside a function is an edge too)."""
    found = set()
    package = ".".join(("signpost", *path.relative_to(ROOT).parent.parts))
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, module] if module else base)
            found.add(module)
            found |= {f"{module}.{alias.name}" for alias in node.names}
    return {m for m in found if m.startswith("signpost.")}


def package_graph() -> dict[str, set[str]]:
    """Package → the other signpost packages its modules import."""
    packages = {p.name for p in ROOT.iterdir() if p.is_dir() and any(p.glob("*.py"))}
    graph: dict[str, set[str]] = {name: set() for name in packages}
    for name in packages:
        for path in (ROOT / name).rglob("*.py"):
            for module in _imported(path):
                target = module.split(".")[1]
                if target in packages and target != name:
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected groups of more than one package."""
    reach: dict[str, set[str]] = {}
    for start in graph:
        seen, todo = set(), [start]
        while todo:
            for nxt in graph.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        reach[start] = seen
    groups: list[set[str]] = []
    for node in sorted(graph):
        group = {node} | {other for other in reach[node] if node in reach.get(other, set())}
        if len(group) > 1 and group not in groups:
            groups.append(group)
    return groups


def test_the_cycle_finder_finds_a_cycle_through_three_packages() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [{"a", "b", "c"}]


def test_the_graph_sees_a_module_qualified_import() -> None:
    # fhir_api reaches routing's flow as `from signpost.flows import signposting`: the graph must hold that edge.
    assert "flows" in package_graph()["fhir_api"]


def test_domain_packages_form_no_import_cycle() -> None:
    domains = {name: targets - EDGES for name, targets in package_graph().items() if name not in EDGES}
    found = cycles(domains)
    assert found == [], f"import cycles between domain packages: {found}"


def test_no_domain_imports_web_fhir_api_or_flows() -> None:
    found = {
        name: sorted(targets & EDGES)
        for name, targets in package_graph().items()
        if name not in EDGES and targets & EDGES
    }
    assert found == {}, f"domains importing the system's edges: {found}"
