"""The build step pyproject.toml cannot say: compile the Qt translations (.ts -> .qm) into
the wheel, so an installed app speaks Japanese without a checkout's set-up.

The compiler is PySide6's pyside6-lrelease, found next to the building Python or on PATH
(python -m build runs in an isolated env without PySide6: put a venv with PySide6 first on
PATH, as tests/test_packaging.py does). A .qm already compiled (./run.sh makes them) is used
as it is when there is no compiler; with neither, a wheel build stops and says so rather
than make an English-only wheel by accident (an editable install leaves it to ./run.sh).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

I18N_DIR = Path(__file__).resolve().parent / "terminal" / "resources" / "i18n"
LRELEASE_TIMEOUT_S = 120


def lrelease() -> str | None:
    beside = Path(sys.executable).with_name("pyside6-lrelease")
    return str(beside) if beside.exists() else shutil.which("pyside6-lrelease")


class BuildWithTranslations(build_py):
    def run(self) -> None:
        compiler = lrelease()
        for ts in sorted(I18N_DIR.glob("*.ts")):
            qm = ts.with_suffix(".qm")
            if compiler:
                subprocess.run([compiler, "-silent", str(ts), "-qm", str(qm)], check=True,
                               timeout=LRELEASE_TIMEOUT_S)
            elif getattr(self, "editable_mode", False):
                continue  # a checkout: scripts/setup.sh compiles them once PySide6 is in
            elif not qm.exists() or qm.stat().st_mtime < ts.stat().st_mtime:
                raise SystemExit(f"cannot compile {ts.name}: no pyside6-lrelease here; build "
                                 "with --no-isolation from a venv with PySide6, or run "
                                 "./run.sh first")
        super().run()


setup(cmdclass={"build_py": BuildWithTranslations})
