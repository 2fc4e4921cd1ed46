"""The architecture as code: imports only run downwards, and no modules import in a loop.

lotsen (app shell) -> evals -> world (composition root) -> agents -> llm -> prompts, memory
-> tools. Read from the source with `ast`, so lazy imports inside functions count too.
"""

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = {
    "tools": 0,
    "prompts": 1,
    "memory": 1,
    "llm": 2,
    "agents": 3,
    "world": 4,
    "evals": 5,
    "lotsen": 6,
}


def _modules() -> Iterator[tuple[str, Path]]:
    for package in LAYERS:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            yield ".".join(p for p in parts if p != "__init__"), path


def _imports(path: Path, *, top_level_only: bool) -> Iterator[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else ast.walk(tree)
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from package import submodule` depends on the submodule
            yield from ((f"{node.module}.{alias.name}", node.lineno) for alias in node.names)
            yield node.module, node.lineno
        elif isinstance(node, ast.Import):
            yield from ((alias.name, node.lineno) for alias in node.names)


def test_no_import_runs_upwards_or_sideways() -> None:
    wrong = []
    for module, path in _modules():
        mine = module.split(".")[0]
        for target, line in _imports(path, top_level_only=False):
            theirs = target.split(".")[0]
            if theirs in LAYERS and theirs != mine and LAYERS[theirs] >= LAYERS[mine]:
                wrong.append(f"{path.relative_to(ROOT)}:{line} {mine} imports {target}")
    assert wrong == []


def test_no_modules_import_each_other_in_a_loop() -> None:
    modules = dict(_modules())
    graph = {name: _edges(path, modules) for name, path in modules.items()}
    cycles = _cycles(graph)
    assert cycles == []


def test_the_checks_see_a_planted_violation(tmp_path: Path) -> None:
    """The two checks above can fail: an upward import and a loop are both found."""
    planted = tmp_path / "planted.py"
    planted.write_text("def f():\n    from lotsen.cli import main\n", encoding="utf-8")
    assert ("lotsen.cli", 2) in _imports(planted, top_level_only=False)
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _edges(path: Path, modules: dict[str, Path]) -> set[str]:
    """Modules `path` imports at module level (a submodule rather than its package)."""
    targets = {t for t, _ in _imports(path, top_level_only=True) if t in modules}
    return {t for t in targets if not any(o.startswith(t + ".") for o in targets)}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in filter(lambda n: n not in index, sorted(graph)):
        visit(node)
    return found
