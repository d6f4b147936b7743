"""Excel workbooks (.xlsx) as customer files: the first worksheet reads as its CSV export would,
in the loader, an upload's bytes and the batch engine; bad workbooks get one clear error."""

from __future__ import annotations

import datetime
import io
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from core.common.errors import DataValidationError
from core.data.io import load, read_table

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ibm_typed(ibm_path) -> pd.DataFrame:
    """The real file with numbers as numbers, as a spreadsheet holds them."""
    return pd.read_csv(ibm_path, keep_default_na=False)


def test_the_real_file_as_a_workbook_loads_as_its_csv(ibm_typed, ibm_path, tmp_path):
    path = tmp_path / "ibm.xlsx"
    ibm_typed.to_excel(path, index=False, sheet_name="Customers")
    from_book, from_csv = load(path), load(ibm_path)
    assert from_book.file_format == "xlsx" and from_book.notes == from_csv.notes
    pd.testing.assert_frame_equal(from_book.frame, from_csv.frame)
    # an upload's bytes read the same
    pd.testing.assert_frame_equal(load(path.read_bytes(), name="up.xlsx").frame, from_csv.frame)


def _workbook(rows: list[list[object]], more_sheets: int = 0) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Customers"
    for r in rows:
        sheet.append(r)
    for k in range(more_sheets):
        book.create_sheet(f"Notes {k + 1}").append(["not customers"])
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


HEADER = ["Customer ID", "Tenure in Months", "Contract", "Monthly Charge", "Phone Service",
          "Internet Service", "Signed Up", "Churn Value"]  # fmt: skip


def test_cells_become_the_text_a_csv_export_holds():
    rows = [
        [None],  # a blank row above the header
        HEADER,
        ["A-1", 12, "Month-to-Month", 70.5, True, "Yes", datetime.datetime(2024, 5, 1), 1],
        ["A-2", 3.0, "One Year", 20, False, "No", datetime.date(2023, 1, 31), 0],
        [None, None, None],  # a formatted but blank row
    ]
    raw, info = read_table(_workbook(rows, more_sheets=2), name="book.xlsx")
    assert info["format"] == "xlsx" and list(raw.columns) == HEADER
    assert raw.iloc[0].tolist() == ["A-1", "12", "Month-to-Month", "70.5", "True", "Yes",
                                    "2024-05-01", "1"]  # fmt: skip
    assert raw.iloc[1].tolist()[:6] == ["A-2", "3", "One Year", "20", "False", "No"]
    assert len(raw) == 2
    assert len(info["notes"]) == 1 and "first worksheet 'Customers' of 3" in info["notes"][0]


@pytest.mark.parametrize(
    "payload, words",
    [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, ["97-2003", ".xlsx"]),
        (None, ["ZIP archive", "unpack"]),  # a ZIP that is not a workbook
        (_workbook([]), ["is empty", "first worksheet"]),
        (_workbook([HEADER]), ["no data rows"]),
        (_workbook([["Customer ID", "Contract", "Contract"], ["A", "B", "C"]]), ["duplicate"]),
    ],
    ids=["xls", "zip", "empty", "header-only", "duplicates"],
)
def test_a_bad_workbook_gets_one_clear_error(payload, words):
    if payload is None:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as archive:
            archive.writestr("customers.csv", "a,b\n1,2\n")
        payload = buf.getvalue()
    with pytest.raises(DataValidationError) as info:
        read_table(payload, name="bad.xlsx")
    message = str(info.value)
    for word in words:
        assert word in message, message
    assert "Fix" in message


def test_the_batch_engine_reads_a_workbook_as_its_csv(ibm_typed, tmp_path):
    part = ibm_typed.iloc[:1200]
    book, csv = tmp_path / "part.xlsx", tmp_path / "part.csv"
    part.to_excel(book, index=False)
    part.to_csv(csv, index=False)
    outs = []
    for path in (book, csv):
        out = tmp_path / f"{path.suffix[1:]}_journeys.csv"
        cmd = [sys.executable, "-m", "core", "optimize", str(path), "--chunk-rows", "500"]
        cmd += ["--out", str(out), "--iters", "30", "--quiet"]
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] and outs[0].count(b"\n") > 1
