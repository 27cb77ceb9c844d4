"""Child process for the crash test: append records forever, print each committed seq.

Run as `python tests/terminal/crash_child.py DATA_DIR`. A line `seq tx_id` is printed only
after the commit returned, so every printed seq must survive a SIGKILL.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from terminal import keystore  # noqa: E402
from terminal.journal import Journal  # noqa: E402


def main() -> None:
    data_dir = Path(sys.argv[1])
    journal = Journal.open(data_dir, keystore.load_key(data_dir))
    print("ready", flush=True)
    amount = 0
    while True:
        amount = (amount + 137) % 10_000
        done = journal.append("payment", {"amount": amount, "wallet": "W-CRASH"})
        print(done.seq, done.tx_id, flush=True)


if __name__ == "__main__":
    main()
