"""The package's shape: no import cycle among its modules (lazy imports included), and imports
that flow one way, from the faces down to the configuration."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "nanoscale"

# Lower layers never import higher ones; a module may import its own layer and any below it.
LAYERS: list[tuple[str, ...]] = [
    ("nanoscale.config", "nanoscale.errors", "nanoscale.llama_build"),
    ("nanoscale.embeddings",),
    (
        "nanoscale.signals",
        "nanoscale.tools",
        "nanoscale.retrievers",
        "nanoscale.models",
        "nanoscale.prompts",
        "nanoscale.grounding",
        "nanoscale.commands",
        "nanoscale.aws_catalog",
        "nanoscale.state",
        "nanoscale.inputs",
        "nanoscale.jsonl",
    ),
    ("nanoscale.nodes",),
    ("nanoscale.graph", "nanoscale.resources"),
    ("nanoscale.engine", "nanoscale.token_stream"),
    ("nanoscale.evals", "nanoscale.training", "nanoscale.doctor"),
    ("nanoscale.app",),
    ("nanoscale.cli", "nanoscale"),
]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in PACKAGE.rglob("*.py")}


def import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports anywhere in its body (top level, in functions,
    under TYPE_CHECKING). `from pkg import mod` counts as importing `pkg.mod`."""
    known = modules()
    graph: dict[str, set[str]] = {name: set() for name in known}
    for name, path in known.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + [base])
                    base = base.rstrip(".")
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                    for alias in node.names
                ]
            for target in targets:
                while target and target not in known:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def layer_of(name: str) -> int:
    best, rank = -1, -1
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (name == prefix or name.startswith(prefix + ".")) and len(prefix) > best:
                best, rank = len(prefix), index
    assert rank >= 0, f"{name} is in no layer; add it to LAYERS"
    return rank


def test_no_import_cycle_among_the_package_modules():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_sees_lazy_imports(tmp_path):
    assert find_cycle({"a": {"b"}, "b": {"a"}}) == ["a", "b", "a"]
    assert "nanoscale.models" in import_graph()["nanoscale.retrievers.retriever"]  # a lazy import


def test_imports_flow_from_the_faces_down_to_the_configuration():
    wrong = [
        f"{name} ({layer_of(name)}) imports {target} ({layer_of(target)})"
        for name, targets in import_graph().items()
        for target in targets
        if layer_of(target) > layer_of(name)
    ]
    assert not wrong, "\n".join(wrong)
