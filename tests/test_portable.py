"""The project runs where POSIX does not: OS-specific code lives only in sync/platform.

Two checks of the whole code base, plus the platform modules' own behaviour here (Linux):

1. With the POSIX-only modules (fcntl, termios, pwd, ...) made unimportable for project code
   outside sync/platform (a sys.meta_path finder, in a child process), every module of the
   project imports and a set of non-GUI tests passes. Windows has none of these modules, so
   this is what a Windows import sees of them.
2. The source (AST, so comments do not count and lazy imports do) names no POSIX-only call,
   signal, module, device path, XDG variable or Linux program outside sync/platform; each
   finding is reported as file:line.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from sync.platform import dirs, perms, procs, sound

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("terminal", "sync", "cardreader", "ledger", "bench")
PLATFORM_DIR = ROOT / "sync" / "platform"
POSIX_ONLY_MODULES = ("fcntl", "termios", "tty", "pty", "pwd", "grp", "resource", "posix",
                      "syslog", "crypt", "spwd", "nis", "_posixsubprocess")
POSIX_ONLY_CALLS = {("os", name) for name in (
    "geteuid", "getuid", "getegid", "getgid", "killpg", "setsid", "setpgrp", "getpgid",
    "fork", "forkpty", "fchown", "chown", "lchown", "getppid", "mkfifo")} | {
    ("signal", name) for name in ("SIGKILL", "SIGHUP", "SIGUSR1", "SIGUSR2", "SIGSTOP",
                                  "SIGCONT", "SIGCHLD", "SIGALRM", "SIGQUIT", "alarm",
                                  "pthread_kill", "setitimer")}
POSIX_ONLY_KEYWORDS = {"preexec_fn", "start_new_session", "pass_fds", "restore_signals"}
POSIX_ONLY_TEXT = ("/dev/", "XDG_", "aplay", "/proc/", "/tmp/")
# Project files allowed to be Linux-only, each with why (the README's table says so too).
LINUX_ONLY_FILES = {
    "bench/pgcluster.py": "runs throwaway PostgreSQL clusters for the tests and benches, as "
                          "the postgres user when run by root: test tooling, Linux only",
}
# Strings that name a POSIX thing on purpose, each with why.
ALLOWED_TEXT = {
    ("terminal/ui/printerrow.py", "/dev/"): "the printer form's examples of device addresses "
                                        "(a user types a COM port on Windows)",
    ("terminal/ui/drive.py", "/proc/"): "the screen driver's peak memory figure (a bench "
                                        "measurement, Linux only)",
    ("bench/stats.py", "/proc/"): "the bench notes the filesystem a figure was measured "
                                  "on (/proc/mounts; 'unknown' elsewhere)",
}
# The non-GUI tests run with the POSIX-only modules hidden: the files, keys, journal,
# records, ledger helper and sounds (a few seconds each).
HIDDEN_POSIX_TESTS = (
    "tests/terminal/test_files.py", "tests/ledger/test_verifier.py",
    "tests/terminal/test_sounds.py", "tests/sync/test_record.py",
    "tests/sync/test_canonical.py", "tests/terminal/test_journal.py",
    "tests/terminal/test_state.py", "tests/terminal/test_clock.py",
    "tests/ledger/test_files.py", "tests/sync/test_refwallet.py",
)
CHILD_TIMEOUT_S = 600


def project_files() -> list[Path]:
    found = [ROOT / "main.py"]
    for package in PACKAGES:
        found += sorted((ROOT / package).rglob("*.py"))
    return found


def project_modules() -> list[str]:
    names = []
    for path in project_files():
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names.append(".".join(parts))
    return names


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def posix_findings(path: Path) -> list[str]:
    """file:line and what, for each POSIX-only thing named in the file."""
    rel = relative(path)
    tree = ast.parse(path.read_text("utf-8"), filename=rel)
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef |
                                ast.AsyncFunctionDef)
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    found = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + ([f"{node.module}.{a.name}" for a in node.names])
        else:
            names = []
        for name in names:
            if name.split(".")[0] in POSIX_ONLY_MODULES:
                found.append(f"{rel}:{line}: imports {name}")
            if tuple(name.split(".")) in POSIX_ONLY_CALLS:  # from os import geteuid
                found.append(f"{rel}:{line}: imports {name}")
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and \
                (node.value.id, node.attr) in POSIX_ONLY_CALLS:
            found.append(f"{rel}:{line}: {node.value.id}.{node.attr}")
        if isinstance(node, ast.keyword) and node.arg in POSIX_ONLY_KEYWORDS:
            found.append(f"{rel}:{line}: {node.arg}=")
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and \
                id(node) not in docstrings:
            for text in POSIX_ONLY_TEXT:
                if text in node.value and (rel, text) not in ALLOWED_TEXT:
                    found.append(f"{rel}:{line}: {text!r} in {node.value[:40]!r}")
    return found


def test_no_posix_only_calls_outside_the_platform_modules():
    found = []
    for path in project_files():
        if PLATFORM_DIR in path.parents or relative(path) in LINUX_ONLY_FILES:
            continue
        found += posix_findings(path)
    assert not found, "POSIX-only code outside sync/platform:\n" + "\n".join(found)


def test_the_scan_finds_each_kind_of_posix_call(tmp_path, monkeypatch):
    sample = ROOT / "tests" / "_portable_sample.py"
    sample.write_text(textwrap.dedent('''\
        """A docstring may say /dev/video0 and XDG_DATA_HOME."""
        import fcntl
        import os, signal, subprocess
        from pwd import getpwnam
        from os import geteuid
        # a comment may say os.killpg and aplay
        os.killpg(os.getpgid(1), signal.SIGKILL)
        subprocess.Popen(["aplay"], preexec_fn=os.setsid)
        where = f"/dev/video{0}"
        base = os.environ["XDG_DATA_HOME"]
        os.fork()
        '''))
    try:
        found = posix_findings(sample)
    finally:
        sample.unlink()
    lines = sorted({int(f.split(":")[1]) for f in found})
    assert lines == [2, 4, 5, 7, 8, 9, 10, 11]
    assert any("os.killpg" in f for f in found) and any("signal.SIGKILL" in f for f in found)
    assert any("preexec_fn=" in f for f in found) and any("'aplay'" in f for f in found)


CHILD = r'''
import importlib, os, sys, traceback
BLOCKED = set(sys.argv[1].split(","))
PROJECT = ("terminal", "sync", "cardreader", "ledger", "bench", "main")
ALLOWED = tuple(sys.argv[2].split(","))
attempts = []


def importer():
    """The module whose code asked for the import (the first frame outside importlib)."""
    frame = sys._getframe(2)
    while frame is not None and (frame.f_code.co_filename.startswith("<frozen importlib")
                                 or "importlib" in frame.f_code.co_filename):
        frame = frame.f_back
    return frame.f_globals.get("__name__", "") if frame is not None else ""


class HidePosix:
    """Finds no POSIX-only module for project code outside sync.platform, as on Windows."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] not in BLOCKED:
            return None
        who = importer()
        if who.split(".")[0] in PROJECT and not who.startswith(ALLOWED):
            attempts.append(f"{who} imports {name}")
            raise ModuleNotFoundError(f"No module named {name!r} (hidden: POSIX-only)",
                                      name=name)
        return None


for name in list(sys.modules):
    if name.split(".")[0] in BLOCKED:
        del sys.modules[name]  # so the next import of it comes through the finder
sys.meta_path.insert(0, HidePosix())
failed = []
for module in sys.argv[3].split(","):
    try:
        importlib.import_module(module)
    except Exception:
        failed.append(module + ":\n" + traceback.format_exc(limit=3))
print("IMPORTED", len(sys.argv[3].split(",")) - len(failed), flush=True)
if failed:
    print("FAILED IMPORTS\n" + "\n".join(failed), flush=True)
import pytest
code = pytest.main(["-q", "-x", "-p", "no:cacheprovider", "-k", "not postgres",
                    *sys.argv[4:]])
print("ATTEMPTS", attempts, flush=True)
sys.exit(1 if failed or attempts else int(code))
'''


@pytest.mark.slow
def test_everything_imports_and_runs_with_posix_modules_hidden():
    allowed = ["sync.platform"] + [p[:-3].replace("/", ".") for p in LINUX_ONLY_FILES]
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run(
        [sys.executable, "-c", CHILD, ",".join(POSIX_ONLY_MODULES), ",".join(allowed),
         ",".join(project_modules()), *HIDDEN_POSIX_TESTS],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-6000:]
    assert f"IMPORTED {len(project_modules())}" in out
    assert "ATTEMPTS []" in out


def test_the_hiding_finder_catches_a_project_import(tmp_path):
    """The child's finder does hide fcntl from project code (here: a module of the
    project made for the check, which imports it) and only from project code."""
    probe = ROOT / "sync" / "_probe_fcntl.py"
    probe.write_text("import fcntl\n")
    try:
        result = subprocess.run(
            [sys.executable, "-c", CHILD, "fcntl", "sync.platform", "sync._probe_fcntl",
             "--collect-only", "tests/sync/test_ids.py"],
            cwd=ROOT, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S)
    finally:
        probe.unlink()
    assert result.returncode == 1
    assert "IMPORTED 0" in result.stdout
    assert "ATTEMPTS ['sync._probe_fcntl imports fcntl']" in result.stdout


# --- the platform modules here (Linux) ---------------------------------------------------

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="checks the Linux behaviour")
posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX process groups")


@linux_only
@pytest.mark.parametrize("xdg", [None, "", "/srv/xdg-data"])
def test_linux_data_paths_stay_where_earlier_versions_kept_them(monkeypatch, tmp_path, xdg):
    """Existing terminals' data: $XDG_DATA_HOME/machi-pos, else ~/.local/share/machi-pos,
    exactly the formula every earlier version used; the cache likewise."""
    from ledger.__main__ import default_home
    from terminal import paths

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("MACHI_DATA_DIR", raising=False)
    monkeypatch.delenv("MACHI_LEDGER_HOME", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    if xdg is None:
        monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_DATA_HOME", xdg)
    earlier = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    assert paths.default_data_dir() == earlier / "machi-pos" / "terminal"
    assert paths.demo_data_dir() == earlier / "machi-pos" / "demo"
    assert default_home() == earlier / "machi-pos" / "ledger"
    assert dirs.app_cache_dir() == tmp_path / ".cache" / "machi-pos"


def test_machi_data_dir_overrides(monkeypatch, tmp_path):
    from terminal import paths

    monkeypatch.setenv("MACHI_DATA_DIR", str(tmp_path / "mine"))
    assert paths.default_data_dir() == tmp_path / "mine"


def test_resources_are_found_inside_the_package():
    from terminal import paths

    assert (paths.resource_dir() / "style.qss").is_file()
    assert paths.resource("i18n", "machi_ja.ts").is_file()
    assert paths.resource_dir().parent == ROOT / "terminal"


@posix_only
def test_a_secret_others_can_read_is_refused_with_the_fix(tmp_path):
    secret = tmp_path / "key.pem"
    secret.write_text("x")
    secret.chmod(0o644)
    fd = os.open(secret, os.O_RDONLY)
    try:
        assert perms.secret_problem(fd, secret, "key") == (
            f"the key {secret} can be read by other users (mode 644); run: chmod 600 {secret}")
        secret.chmod(0o600)
        assert perms.secret_problem(fd, secret, "key") is None
    finally:
        os.close(fd)


@posix_only
def test_stop_ends_the_child_and_the_children_it_started(tmp_path):
    """A child that starts a grandchild and ignores nothing: stop() ends both (its group)."""
    pid_file = tmp_path / "grandchild.pid"
    script = ("import subprocess, sys, time\n"
              "g = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
              f"open({str(pid_file)!r}, 'w').write(str(g.pid))\n"
              "time.sleep(600)\n")
    child = subprocess.Popen([sys.executable, "-c", script], **procs.child_options())
    deadline = time.monotonic() + 30
    while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    grandchild = int(pid_file.read_text())
    procs.stop(child, timeout=5)
    assert child.returncode is not None
    deadline = time.monotonic() + 10
    while _alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(grandchild)


def _alive(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().split()[2] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


@linux_only
def test_the_linux_sound_player_is_aplay_when_installed(monkeypatch, tmp_path):
    import shutil

    command = sound.player_command()
    if shutil.which("aplay"):
        assert command == [shutil.which("aplay"), "-q"]
    monkeypatch.setenv("PATH", str(tmp_path))  # no player at all
    assert sound.player_command() is None
    assert sound.missing_hint() == "aplay not found: install alsa-utils"
    assert sound.play_in_process(tmp_path / "x.wav") is None  # no in-process way on Linux


def test_the_linux_only_test_list_names_real_files():
    from tests.conftest import LINUX_ONLY_TESTS

    assert [name for name in LINUX_ONLY_TESTS if not (ROOT / name).is_file()] == []
