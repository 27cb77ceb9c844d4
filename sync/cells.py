"""Spreadsheet cells safe to open: every CSV and XLSX export goes through here.

A text cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return can be taken for
a formula by Excel or LibreOffice when the file is opened (a shop or campaign name such as
`=HYPERLINK(...)` or `@SUM(...)` would run there). Such text is written with a leading `'`,
which shows it as the text it is. Numbers stay numbers: an int is never touched, and neither
is text that is only a negative amount (`-1,200`, `-¥1,200`), which no spreadsheet reads as
anything but that number. In XLSX every text cell is stored as text, never as a formula.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NEUTRALISER = "'"
# Text that is a negative amount and nothing else: a minus, an optional yen sign, digits
# with thousands commas, optional decimals.
NEGATIVE_AMOUNT_RE = re.compile(r"-¥?\d{1,3}(?:,?\d{3})*(?:\.\d+)?")
CSV_ENCODING = "utf-8-sig"  # with the BOM, so Excel in Japan opens it as UTF-8
XLSX_TEXT = "s"  # openpyxl's data type for a plain string cell


def neutralise(value: Any) -> Any:
    """`value` as a cell no spreadsheet will run: text that could start a formula gets a
    leading `'`; anything that is not text (ints, None) is returned as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) \
            and not NEGATIVE_AMOUNT_RE.fullmatch(value):
        return NEUTRALISER + value
    return value


def csv_text(rows: Iterable[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows([neutralise(v) for v in row] for row in rows)
    return buffer.getvalue()


def write_csv(path: Path, rows: Iterable[Sequence[Any]]) -> Path:
    """Write `rows` as CSV (UTF-8 with BOM), every text cell neutralised."""
    path.write_text(csv_text(rows), encoding=CSV_ENCODING)
    return path


def xlsx_append(sheet: Any, row: Sequence[Any]) -> None:
    """Append `row` to an openpyxl worksheet with its text cells stored as text: openpyxl
    would store text starting with `=` as a formula."""
    sheet.append(list(row))
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, str):
            cell.data_type = XLSX_TEXT
