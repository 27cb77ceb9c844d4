"""What every command line of Machi POS shares so that it is polite (#19.4).

- `Parser`: argparse that tells a bad command line in one line on standard error (exit 2),
  not the whole usage; its subcommands' parsers are of the same class.
- argparse types that refuse bad input before any work starts, each with a one-line
  message: `iso_date`, `month`, `tcp_port` (and `listen_port`, which also takes 0),
  `positive`, `yen`, `writable_file`.
- `quiet_on_broken_pipe`: a reader that goes away (`... | head -1`) ends the command without
  a traceback.
- `working`: a spinner with the elapsed time on standard error while a long command runs,
  when a person watches (standard error is a terminal); nothing when it is piped.

The ledger's own command line (ledger/__main__.py) has the same rules in its own module.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

EXIT_USAGE = 2  # argparse's own code for a bad command line
EXIT_PIPE_CLOSED = 1  # the reader went away before everything was written
MAX_PORT = 65_535


class Parser(argparse.ArgumentParser):
    """argparse with a bad command line told in one line (not the whole usage)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def iso_date(text: str) -> str:
    """argparse type: a calendar day, YYYY-MM-DD (2024-02-30 is not one)."""
    try:
        if len(text) != len("YYYY-MM-DD"):
            raise ValueError
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a day (YYYY-MM-DD): {text!r}") from None


def month(text: str) -> str:
    """argparse type: a month, YYYY-MM (2024-13 is not one)."""
    try:
        if len(text) != len("YYYY-MM"):
            raise ValueError
        return dt.date.fromisoformat(f"{text}-01").isoformat()[:7]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a month (YYYY-MM): {text!r}") from None


def _port(text: str, lowest: int) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not lowest <= value <= MAX_PORT:
        raise argparse.ArgumentTypeError(f"not a TCP port ({lowest}-{MAX_PORT}): {text!r}")
    return value


def tcp_port(text: str) -> int:
    """argparse type: a TCP port to connect to, 1-65535."""
    return _port(text, 1)


def listen_port(text: str) -> int:
    """argparse type: a TCP port to listen on, 0-65535 (0: the system picks a free one)."""
    return _port(text, 0)


def _whole(text: str) -> int | None:
    cleaned = text.strip().replace(",", "").replace("_", "")
    digits = cleaned[1:] if cleaned[:1] == "-" else cleaned
    return int(cleaned) if digits.isdigit() else None


def positive(text: str) -> int:
    """argparse type: a whole number of at least 1."""
    value = _whole(text)
    if value is None or value < 1:
        raise argparse.ArgumentTypeError(f"not a whole number of at least 1: {text!r}")
    return value


def yen(text: str) -> int:
    """argparse type: whole yen as typed at a register (thousands commas allowed), >= 0."""
    value = _whole(text.removeprefix("¥"))
    if value is None or value < 0:
        raise argparse.ArgumentTypeError(f"not an amount of whole yen: {text!r}")
    return value


def writable_file(text: str) -> Path:
    """argparse type: a file to write, in a directory that exists and may be written
    (checked before the work, so nothing is done for a file that cannot be kept)."""
    path = Path(text)
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a directory, not a file")
    if not parent.is_dir():
        raise argparse.ArgumentTypeError(f"cannot write {text}: no directory {parent}")
    if not os.access(parent, os.W_OK):
        raise argparse.ArgumentTypeError(f"cannot write {text}: {parent} is not writable")
    return path


def subcommands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
                ) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser, str | None]]:
    """(words, parser, help line) of every command and action under `parser`, depth first:
    what a test walks so that a new command cannot escape it."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, child in action.choices.items():
                yield (*path, name), child, helps.get(name)
                yield from subcommands(child, (*path, name))


def describe(parser: argparse.ArgumentParser) -> None:
    """Give every command without a description its help line as one, so that its own
    `--help` says what it does."""
    for _, child, text in subcommands(parser):
        if child.description is None:
            child.description = text


def quiet_on_broken_pipe(run: Callable[[], int]) -> int:
    """Run a command; a reader that stops reading (`... | head -1`) has what it wanted:
    end quietly with EXIT_PIPE_CLOSED, and let no flush at exit write to the closed pipe."""
    try:
        try:
            code = run()
        finally:  # also after --help (SystemExit): what is buffered goes out now, or never
            sys.stdout.flush()
        return code
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_PIPE_CLOSED


@contextlib.contextmanager
def working(what: str) -> Iterator[None]:
    """`what` with a spinner and the seconds so far on standard error while the block runs,
    when standard error is a terminal; silent otherwise (a script, a pipe, a log)."""
    if not sys.stderr.isatty():
        yield
        return
    try:
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
    except ImportError:  # an install without rich: the same words, without the spinner
        print(f"{what}…", file=sys.stderr, flush=True)
        yield
        print(f"{what}: done", file=sys.stderr, flush=True)
        return

    console = Console(stderr=True)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=console, transient=False, redirect_stdout=False,
                  redirect_stderr=False) as shown:
        task = shown.add_task(what, total=None)
        yield
        shown.update(task, description=f"{what}: done")
