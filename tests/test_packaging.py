"""Machi POS installs and runs without a checkout (slow: builds and installs for real).

The wheel is built from this checkout and installed, with the `ledger` extra (the demo runs a
local ledger), into a fresh venv in a temporary directory, from the machine's configured
package index, as `pipx install` would. From there, with the checkout nowhere on the path:
`machi-ledger --help` and `machi-wallet --help` answer; `machi-pos --demo` starts under Xvfb
(offscreen where there is none), its demo ledger comes up, and the register CLI of the
installed package takes a sale at the demo terminal while the window runs. The wheel size
and the install time are printed ("FIGURE ...", run with -s to see them).

The PyInstaller spec (packaging/machi-pos.spec) builds the one-folder counter app here, and
the built app starts to its first painted window (`--smoke`); its size and cold start are
printed the same way.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import requests

from sync.staff import DEMO_STAFF

ROOT = Path(__file__).resolve().parents[1]
BUILD_TIMEOUT_S = 600
INSTALL_TIMEOUT_S = 1200
COMMAND_TIMEOUT_S = 120
DEMO_READY_TIMEOUT_S = 180
SMOKE_TIMEOUT_S = 180
POLL_S = 0.2
DEMO_MERCHANT = "M-SAKURA"
SALE_YEN = 100
CASHIER_PIN = next(pin for _, role, pin in DEMO_STAFF if role == "cashier")
SMOKE_LINE = "machi-pos smoke: first paint after"

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not sys.platform.startswith("linux"),
                                 reason="the Linux build is the one made and run here")]


def figure(name: str, value: str) -> None:
    print(f"FIGURE {name}: {value}", file=sys.stderr, flush=True)


def folder_mb(path: Path) -> float:
    """MB of the files under `path`, each once (symlinked files and directories -- a venv's
    lib64, PyInstaller's library links -- are not counted again)."""
    total = 0
    for folder, _dirs, files in os.walk(path):  # does not follow directory links
        for name in files:
            file = Path(folder) / name
            if not file.is_symlink():
                total += file.stat().st_size
    return total / 1e6


def outside_env(home: Path) -> dict[str, str]:
    """An environment that knows nothing of the checkout: no PYTHONPATH, its own HOME."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "MACHI_DATA_DIR", "XDG_DATA_HOME",
                        "XDG_CACHE_HOME", "DISPLAY", "WAYLAND_DISPLAY")}
    env["HOME"] = str(home)
    return env


def screen_prefix() -> tuple[list[str], dict[str, str]]:
    """Run under Xvfb when it is installed (as on a headless counter), else offscreen."""
    if shutil.which("xvfb-run"):
        return ["xvfb-run", "-a", "-s", "-screen 0 1280x800x24"], {"QT_QPA_PLATFORM": "xcb"}
    return [], {"QT_QPA_PLATFORM": "offscreen"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # The build's isolated env has no PySide6; lrelease (for the .qm) comes from this venv.
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}"
                                 f"{os.environ.get('PATH', '')}"}
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(ROOT)],
                   check=True, capture_output=True, env=env, timeout=BUILD_TIMEOUT_S)
    (built,) = out.glob("machi_pos-*.whl")
    figure("wheel size", f"{built.stat().st_size / 1e3:.0f} kB ({built.name})")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A fresh venv outside the checkout with the wheel and its ledger extra installed."""
    where = tmp_path_factory.mktemp("pipx-like")
    venv = where / "venv"
    base_python = getattr(sys, "_base_executable", sys.executable)
    started = time.monotonic()
    subprocess.run([base_python, "-m", "venv", str(venv)], check=True, timeout=INSTALL_TIMEOUT_S)
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", f"{wheel}[ledger]"],
        cwd=where, capture_output=True, text=True, env=outside_env(where),
        timeout=INSTALL_TIMEOUT_S)
    assert done.returncode == 0, done.stderr[-3000:]
    figure("install time (fresh venv, wheel[ledger], local index)",
           f"{time.monotonic() - started:.0f} s")
    figure("installed venv size", f"{folder_mb(venv):.0f} MB")
    return venv


def test_the_wheel_carries_its_resources_and_keeps_the_server_apart(wheel):
    with zipfile.ZipFile(wheel) as whl:
        names = set(whl.namelist())
        metadata = next(whl.read(n).decode() for n in names if n.endswith(".dist-info/METADATA"))
        entry_points = next(whl.read(n).decode() for n in names
                            if n.endswith(".dist-info/entry_points.txt"))
    for resource in ("style.qss", "high_contrast.qss", "large_type.qss", "i18n/machi_ja.qm"):
        assert f"terminal/resources/{resource}" in names
    for script in ("machi-pos = terminal.app_main:main", "machi-ledger = ledger.__main__:main",
                   "machi-wallet = sync.refwallet:main"):
        assert script in entry_points
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    base = [line for line in requires if "extra ==" not in line]
    for server_only in ("fastapi", "uvicorn", "psycopg", "prometheus", "pyzbar"):
        assert not any(server_only in line.lower() for line in base), server_only
        assert any(server_only in line.lower() for line in requires), server_only


def test_the_installed_commands_answer_help(installed, tmp_path):
    for command in ("machi-ledger", "machi-wallet", "machi-pos"):
        done = subprocess.run([str(installed / "bin" / command), "--help"], cwd=tmp_path,
                              capture_output=True, text=True, env=outside_env(tmp_path),
                              timeout=COMMAND_TIMEOUT_S)
        assert done.returncode == 0, done.stderr
        assert "usage:" in done.stdout and "Traceback" not in done.stderr


def test_the_installed_demo_takes_a_sale(installed, tmp_path):
    """machi-pos --demo from the venv; a sale by a demo cashier with a demo card, through
    the installed register CLI, at the terminal the running demo enrolled."""
    env = outside_env(tmp_path)
    prefix, screen = screen_prefix()
    demo = tmp_path / "demo"
    log = (tmp_path / "app.log").open("wb")
    app = subprocess.Popen([*prefix, str(installed / "bin" / "machi-pos"), "--demo", "--data",
                            str(demo), "--lang", "en"], cwd=tmp_path, env={**env, **screen},
                           stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = wait_for_demo(app, demo, tmp_path / "app.log")
        ledger = [str(installed / "bin" / "machi-ledger"), "admin"]
        where = ["--db", f"sqlite:///{demo / 'ledger' / 'ledger.db'}",
                 "--home", str(demo / "ledger")]

        def office(action: str, *args: str):
            done = subprocess.run([*ledger, action, *where, *args, "--json"], cwd=tmp_path,
                                  capture_output=True, text=True, env=env,
                                  timeout=COMMAND_TIMEOUT_S)
            assert done.returncode == 0, done.stderr
            return json.loads(done.stdout)

        cashier = next(s["staff_id"] for s in office("list-staff", "--merchant", DEMO_MERCHANT)
                       if s["role"] == "cashier")
        card = None
        for row in office("list-cards"):
            if row["status"] != "active" or row["pin"]:
                continue
            wallet = office("show-wallet", "--wallet", row["wallet_id"])
            if wallet["status"] == "active" and wallet["total_yen"] >= SALE_YEN * 10:
                card = next(c["card"] for c in wallet["cards"] if c["status"] == "active")
                break
        assert card, "the demo has no card with money on it"
        sale = subprocess.run(
            [str(installed / "bin" / "python"), "-m", "terminal", "sale", "--data",
             str(demo / "terminal"), "--credential", card, "--amount", str(SALE_YEN),
             "--staff", cashier],
            cwd=tmp_path, capture_output=True, text=True,
            env={**env, "MACHI_STAFF_PIN": CASHIER_PIN}, timeout=COMMAND_TIMEOUT_S)
        answer = json.loads(sale.stdout)
        assert sale.returncode == 0 and answer["status"] == "approved", sale.stdout + sale.stderr
        assert answer["amount"] == SALE_YEN
        assert requests.get(url + "/healthz", timeout=5).ok
        assert app.poll() is None, "the window ended during the sale"
    finally:
        os.killpg(app.pid, 15)
        app.wait(COMMAND_TIMEOUT_S)
        log.close()


def wait_for_demo(app: subprocess.Popen, demo: Path, log: Path) -> str:
    """The demo ledger's URL once it answers and the terminal is enrolled with it."""
    config = demo / "terminal" / "terminal.json"
    deadline = time.monotonic() + DEMO_READY_TIMEOUT_S
    while time.monotonic() < deadline:
        assert app.poll() is None, "the demo app ended:\n" + log.read_text(errors="replace")
        try:
            url = json.loads(config.read_text())["ledger_url"]
            if requests.get(url + "/healthz", timeout=1).ok:
                return url
        except (OSError, ValueError, KeyError, requests.RequestException):
            pass
        time.sleep(POLL_S)
    raise AssertionError("the demo did not come up:\n" + log.read_text(errors="replace"))


def test_the_pyinstaller_folder_starts_to_its_first_window(tmp_path):
    if shutil.which("pyinstaller", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("PyInstaller is not installed (the dev extra has it)")
    work, dist = tmp_path / "work", tmp_path / "dist"
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
         "--workpath", str(work), "--distpath", str(dist),
         str(ROOT / "packaging" / "machi-pos.spec")],
        cwd=ROOT, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S * 2)
    assert done.returncode == 0, done.stderr[-4000:]
    figure("PyInstaller build time", f"{time.monotonic() - started:.0f} s")
    app_dir = dist / "machi-pos"
    figure("PyInstaller folder size", f"{folder_mb(app_dir):.0f} MB")
    assert (app_dir / "_internal" / "terminal" / "resources" / "i18n" / "machi_ja.qm").is_file()
    prefix, screen = screen_prefix()
    env = {**outside_env(tmp_path), **screen}
    started = time.monotonic()
    run = subprocess.run([*prefix, str(app_dir / "machi-pos"), "--smoke", "--data",
                          str(tmp_path / "terminal")], cwd=tmp_path, capture_output=True,
                         text=True, env=env, timeout=SMOKE_TIMEOUT_S)
    elapsed = time.monotonic() - started
    assert run.returncode == 0 and SMOKE_LINE in run.stdout, run.stdout + run.stderr
    figure("PyInstaller cold start to first paint",
           f"{elapsed:.1f} s wall ({run.stdout.split(SMOKE_LINE)[1].split()[0]} s in-process)")
    # the frozen app refuses the demo (it carries no ledger) with one line, not a traceback
    demo = subprocess.run([str(app_dir / "machi-pos"), "--demo", "--data", str(tmp_path / "d")],
                          capture_output=True, text=True, env={**env, "QT_QPA_PLATFORM":
                                                               "offscreen"},
                          timeout=SMOKE_TIMEOUT_S)
    assert demo.returncode == 4 and "machi-pos[ledger]" in demo.stderr
    assert "Traceback" not in demo.stderr
