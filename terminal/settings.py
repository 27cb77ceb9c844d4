"""The counter's own settings that outlive a restart: the interface language, high
contrast and large type (the printer is kept in terminal.json by terminal.node).

A small JSON file in the terminal's data directory, written whole to a temporary file and
renamed over the old one, so a crash never leaves half a file. A missing, unreadable or
damaged file gives the defaults (and a line in the log): settings never stop a counter.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

log = logging.getLogger(__name__)

SETTINGS_FILE = "settings.json"
LANGUAGES = ("ja", "en")


@dataclass(frozen=True)
class Settings:
    language: str = "ja"
    high_contrast: bool = False
    large_type: bool = False


def load(data_dir: Path) -> Settings:
    path = Path(data_dir) / SETTINGS_FILE
    try:
        raw = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return Settings()
    except (OSError, ValueError) as exc:
        log.warning("settings in %s not read (%s): the defaults are used", path, exc)
        return Settings()
    if not isinstance(raw, dict):
        log.warning("settings in %s are not an object: the defaults are used", path)
        return Settings()
    values: dict[str, object] = {}
    for field in fields(Settings):
        value = raw.get(field.name)
        if field.name == "language" and value in LANGUAGES:
            values[field.name] = value
        elif field.name != "language" and isinstance(value, bool):
            values[field.name] = value
        elif field.name in raw:
            log.warning("setting %s=%r in %s ignored", field.name, value, path)
    return Settings(**values)  # type: ignore[arg-type]


def saved(data_dir: Path) -> bool:
    """Whether this terminal has settings of its own yet."""
    return (Path(data_dir) / SETTINGS_FILE).is_file()


def save(data_dir: Path, settings: Settings) -> None:
    folder = Path(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / SETTINGS_FILE
    temporary = path.with_name(f".{SETTINGS_FILE}.{os.getpid()}.tmp")
    with open(temporary, "w", encoding="utf-8") as out:
        json.dump(asdict(settings), out, indent=1, sort_keys=True)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)
