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
