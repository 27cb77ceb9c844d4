"""The ASGI application as uvicorn's worker processes build it, configured by environment.

`python -m ledger serve` prepares the database and keys once, then starts uvicorn with this
factory so several worker processes (one per core) can serve one ledger.
"""

from __future__ import annotations

import gc
import os
from pathlib import Path

from fastapi import FastAPI

from ledger.app import create_app
from ledger.db import Database
from ledger.service import LedgerHome
from ledger.verifier import process_verifier

DB_ENV = "MACHI_LEDGER_DB"
HOME_ENV = "MACHI_LEDGER_HOME"


def app_from_env() -> FastAPI:
    home = LedgerHome(Path(os.environ[HOME_ENV]))
    app = create_app(Database(os.environ[DB_ENV]), home.signing_key(), home.admin_token())
    # The helper that checks records is started now, not by the first large batch.
    process_verifier().start()
    # What is loaded by now lives as long as the process: the garbage collector need not
    # go through it again at every full collection (ingest makes many short-lived objects).
    gc.collect()
    gc.freeze()
    return app
