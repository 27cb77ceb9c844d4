"""Command line of the terminal: `python -m terminal journal verify|export --data DIR`.

Exit codes: 0 done and intact; 1 the journal does not verify or cannot be read (the message
names the first bad seq and why); 2 the command line was wrong.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from terminal import audit, paths
from terminal.errors import JournalBroken, TerminalError

EXIT_OK = 0
EXIT_BROKEN = 1


def _journal_verify(args: argparse.Namespace) -> int:
    try:
        if args.jsonl:
            with open(args.jsonl, "rb") as fh:
                report = audit.verify_lines(fh)
        else:
            report = audit.verify_journal(args.data)
    except JournalBroken as exc:
        print(f"journal BROKEN at seq {exc.seq}: {exc.reason} [{exc.code}]")
        return EXIT_BROKEN
    except (TerminalError, OSError) as exc:
        print(f"journal NOT verified: {exc}")
        return EXIT_BROKEN
    print(report.summary())
    return EXIT_OK


def _journal_export(args: argparse.Namespace) -> int:
    try:
        count = audit.export_lines(args.data, args.out)
    except (TerminalError, OSError) as exc:
        print(f"export failed: {exc}", file=sys.stderr)
        return EXIT_BROKEN
    print(f"exported {count} records to {args.out}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m terminal", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log at debug level")
    sub = parser.add_subparsers(dest="command", required=True)
    journal = sub.add_parser("journal", help="the signed journal")
    jsub = journal.add_subparsers(dest="action", required=True)
    data_help = f"the terminal's data directory (default {paths.default_data_dir()})"

    verify = jsub.add_parser("verify", help="walk the chain and every signature")
    verify.add_argument("--data", type=Path, default=paths.default_data_dir(), help=data_help)
    verify.add_argument("--jsonl", type=Path, help="verify an exported file instead")
    verify.set_defaults(func=_journal_verify)

    export = jsub.add_parser("export", help="write the whole journal as JSON lines")
    export.add_argument("--data", type=Path, default=paths.default_data_dir(), help=data_help)
    export.add_argument("--out", type=Path, required=True, help="file to write")
    export.set_defaults(func=_journal_export)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
