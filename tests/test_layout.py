"""The layout of DESIGN §3: packages exist and imports flow one way.

terminal -> sync, cardreader; ledger -> sync; sync and cardreader import neither terminal
nor ledger; only terminal/ui imports PySide6. Checked on the source with `ast`, so a lazy
import inside a function counts too.
"""

from __future__ import annotations

import ast
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("terminal", "sync", "cardreader", "ledger", "bench")
# package -> project packages it must never import
FORBIDDEN = {
    "sync": {"terminal", "ledger", "cardreader", "bench"},
    "cardreader": {"terminal", "ledger", "bench"},
    "ledger": {"terminal", "cardreader", "bench"},
    "terminal": {"ledger", "bench"},
}
QT_MODULES = {"PySide6", "shiboken6", "PyQt5", "PyQt6", "PySide2"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def sources(package: str):
    return sorted((ROOT / package).rglob("*.py"))


def test_layout_exists():
    for name in (*PACKAGES, "terminal/resources", "tests"):
        assert (ROOT / name).is_dir(), f"{name}/ is missing"
    assert (ROOT / "main.py").is_file()
    assert (ROOT / "terminal" / "ui" / "__init__.py").is_file()


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_flow_one_way(package):
    bad = []
    for path in sources(package):
        for module in imported_modules(path):
            if module.split(".")[0] in FORBIDDEN[package]:
                bad.append(f"{path.relative_to(ROOT)} imports {module}")
    assert not bad, "\n".join(bad)


def test_only_terminal_ui_imports_qt():
    ui = ROOT / "terminal" / "ui"
    bad = []
    for package in PACKAGES:
        for path in sources(package):
            if ui in path.parents:
                continue
            for module in imported_modules(path):
                if module.split(".")[0] in QT_MODULES:
                    bad.append(f"{path.relative_to(ROOT)} imports {module}")
    assert not bad, "\n".join(bad)


def test_the_checker_sees_lazy_imports(tmp_path):
    sample = tmp_path / "m.py"
    sample.write_text("def f():\n    from PySide6 import QtCore\n    import terminal.journal\n")
    assert imported_modules(sample) == {"PySide6", "terminal.journal"}


def test_opencv_is_the_headless_wheel():
    installed = {dist.metadata["Name"].lower() for dist in metadata.distributions()}
    assert "opencv-python-headless" in installed
    for qt_opencv in ("opencv-python", "opencv-contrib-python"):
        assert qt_opencv not in installed, f"{qt_opencv} bundles Qt plugins that crash PySide6"


# --- import cycles -------------------------------------------------------------------------

# Cycles allowed, each a set of modules that import each other: none (issue 18 point 8 took
# the last ones out: look and language state left app.py, vocab left bodies/campaigns).
ALLOWED_CYCLES: frozenset[frozenset[str]] = frozenset()


def module_name(root: Path, path: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path, packages: tuple[str, ...]) -> dict[str, set[str]]:
    """module -> the project modules it imports (lazy imports included). `from p import n`
    is an edge to the module p.n when there is one, else to p."""
    modules = {module_name(root, path): path for package in packages
               for path in sorted((root / package).rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges: set[str] = set()
        is_package = path.name == "__init__.py"
        # imports under `if TYPE_CHECKING:` are type hints, never run: not a cycle
        for node in _runtime_nodes(ast.parse(path.read_text("utf-8"), filename=str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = name.split(".")
                    anchor = anchor[:len(anchor) - node.level + (1 if is_package else 0)]
                    base = ".".join(anchor + ([base] if base else []))
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules
                           else base for alias in node.names]
            edges.update(t for t in targets if t in modules and t != name)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles():
    found = [component for component in cycles(import_graph(ROOT, PACKAGES))
             if frozenset(component) not in ALLOWED_CYCLES]
    assert not found, "import cycles:\n" + "\n".join(" <-> ".join(sorted(c)) for c in found)


def test_the_cycle_finder_finds_lazy_and_relative_cycles(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from pkg import b\n")
    (package / "b.py").write_text("from . import c\n")
    (package / "c.py").write_text("import pkg.a\n")
    (package / "d.py").write_text("from pkg.a import f\n")
    graph = import_graph(tmp_path, ("pkg",))
    assert graph["pkg.d"] == {"pkg.a"}
    assert cycles(graph) == [{"pkg.a", "pkg.b", "pkg.c"}]


def _runtime_nodes(tree: ast.AST):
    """Every node except those under `if TYPE_CHECKING:` (type hints, never imported)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                stack.extend(child.orelse)
                continue
            stack.append(child)


def package_imports(package: Path) -> dict[str, set[str]]:
    """module -> the modules of the same package it imports at run time (lazy ones too)."""
    dotted = ".".join(package.relative_to(ROOT).parts)
    modules = {p.stem: p for p in package.glob("*.py") if p.stem != "__init__"}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found: set[str] = set()
        for node in _runtime_nodes(ast.parse(path.read_text("utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for full in names:
                if full.startswith(dotted + "."):
                    head = full[len(dotted) + 1:].split(".")[0]
                    if head in modules and head != name:
                        found.add(head)
        graph[name] = found
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle in `graph` (as the path that closes it), or None."""
    state: dict[str, int] = {}  # 1: on the path, 2: done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [node, nxt] if nxt in path else [node, nxt]
            if nxt not in state:
                found = visit(nxt, path + [node])
                if found:
                    return found
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            found = visit(start, [])
            if found:
                return found
    return None


def test_the_cycle_finder_finds_one():
    assert find_cycle({"app": {"window"}, "window": {"app"}}) in (["app", "window", "app"],
                                                                  ["window", "app", "window"])
    assert find_cycle({"app": {"window"}, "window": {"look"}, "look": set()}) is None


def test_the_ui_has_no_import_cycle():
    """terminal/ui: app -> window (the frame) -> screens -> look, never back (#18.8)."""
    graph = package_imports(ROOT / "terminal" / "ui")
    assert "window" in graph["app"] and "look" in graph
    cycle = find_cycle(graph)
    assert cycle is None, " -> ".join(cycle or [])
