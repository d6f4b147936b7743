"""A corpus of malformed inputs: each gives the project's error naming the problem, and the CLI
exits 2 with the message and no traceback."""

from __future__ import annotations

import gzip
import io
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.common.errors import DataValidationError
from core.data.io import Limits, load

ROOT = Path(__file__).resolve().parents[2]


def base_frame() -> pd.DataFrame:
    """A small valid file in the canonical layout (hand-made values)."""
    return pd.DataFrame(
        {
            "Customer ID": ["A-1", "A-2", "A-3", "A-4", "A-5"],
            "Age": ["34", "71", "25", "48", "52"],
            "Tenure in Months": ["12", "1", "40", "72", "7"],
            "Contract": ["Month-to-Month", "Two Year", "One Year", "Two Year", "Month-to-Month"],
            "Monthly Charge": ["70.5", "20.1", "99.9", "45", "80.25"],
            "Phone Service": ["Yes", "Yes", "No", "Yes", "Yes"],
            "Multiple Lines": ["No", "Yes", "No", "No", "Yes"],
            "Internet Service": ["Yes", "No", "Yes", "Yes", "Yes"],
            "Internet Type": ["DSL", "None", "Cable", "Fiber Optic", "DSL"],
            "Online Security": ["Yes", "No", "No", "Yes", "No"],
            "Satisfaction Score": ["3", "5", "1", "4", "2"],
            "CLTV": ["4000", "2500", "6100", "5200", "3300"],
            "Churn Label": ["No", "No", "Yes", "No", "Yes"],
            "Churn Value": ["0", "0", "1", "0", "1"],
        }
    )


def csv_bytes(df: pd.DataFrame, **kw) -> bytes:
    return df.to_csv(index=False, **kw).encode()


def edit(column: str, row: int, value: str) -> bytes:
    df = base_frame()
    df.loc[row, column] = value
    return csv_bytes(df)


def drop(*columns: str) -> bytes:
    return csv_bytes(base_frame().drop(columns=list(columns)))


def parquet_bytes(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf)
    return buf.getvalue()


HEADER = csv_bytes(base_frame()).split(b"\n")[0]
VALID = csv_bytes(base_frame())

# name -> (bytes or callable(tmp_path)->path, limits, words the message must contain)
CASES: dict[str, tuple[bytes | Callable[[Path], Path], Limits | None, tuple[str, ...]]] = {
    "empty file": (b"", None, ("empty",)),
    "only whitespace": (b"  \n\n \n", None, ("empty",)),
    "header only": (HEADER + b"\n", None, ("no data rows",)),
    "missing Customer ID": (drop("Customer ID"), None, ("Customer ID", "mapping")),
    "missing two required": (drop("Contract", "Monthly Charge"), None, ("Contract",)),
    "text in a number": (edit("Monthly Charge", 2, "abc"), None, ("Monthly Charge", "row 3")),
    "currency sign": (edit("Monthly Charge", 0, "$70.50"), None, ("Monthly Charge", "$70.50")),
    "fraction in whole number": (edit("Tenure in Months", 1, "12.5"), None, ("whole number",)),
    "fraction and a blank in whole numbers": (
        csv_bytes(base_frame().assign(**{"Tenure in Months": ["12", "12.5", "", "72", "7"]})),
        None,
        ("whole number", "row 2"),
    ),
    "negative tenure": (edit("Tenure in Months", 3, "-3"), None, ("Tenure in Months", "row 4")),
    "infinite charge": (edit("Monthly Charge", 2, "inf"), None, ("Monthly Charge", "finite")),
    "overflowing number": (edit("Tenure in Months", 0, "1e400"), None, ("Tenure", "row 1")),
    "whole number beyond 2**53": (
        edit("Tenure in Months", 1, "100000000000000000000"),
        None,
        ("Tenure in Months", "usable number", "row 2"),
    ),
    "satisfaction out of range": (edit("Satisfaction Score", 4, "7"), None, ("Satisfaction",)),
    "age out of range": (edit("Age", 0, "200"), None, ("Age",)),
    "unknown contract": (edit("Contract", 1, "Weekly"), None, ("Contract", "Weekly")),
    "unknown yes/no": (edit("Phone Service", 2, "Maybe"), None, ("Phone Service", "Maybe")),
    "duplicate customer ids": (edit("Customer ID", 4, "A-1"), None, ("Customer ID", "unique")),
    "empty customer id": (edit("Customer ID", 2, ""), None, ("Customer ID", "row 3")),
    "empty monthly charge": (edit("Monthly Charge", 1, ""), None, ("Monthly Charge",)),
    "ragged: extra field": (
        VALID + b"A-9,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n",
        None,
        ("different number of fields", "row 6"),
    ),
    "ragged: short row": (VALID + b"A-9,40,5\n", None, ("different number of fields",)),
    "binary data": (b"\x00\x01\x02\xff" * 100, None, ("binary",)),
    "excel workbook": (b"PK\x03\x04" + b"\x00" * 100, None, ("Excel",)),
    "gzip file": (gzip.compress(VALID), None, ("gzip",)),
    "undecodable bytes": (
        VALID.replace(b"DSL", b"D\x81\x8dL", 1) + b"\x90\x9d",
        None,
        ("cannot be decoded",),
    ),
    "too many bytes": (VALID, Limits(max_bytes=100), ("size limit",)),
    "too many rows": (VALID, Limits(max_rows=3), ("row limit",)),
    "too many columns": (VALID, Limits(max_columns=5), ("column",)),
    "duplicate column names": (
        HEADER
        + b",Age\n"
        + b"\n".join(line + b",1" for line in VALID.strip().split(b"\n")[1:])
        + b"\n",
        None,
        ("duplicate",),
    ),
    "multiple lines without phone": (
        edit("Phone Service", 1, "No"),
        None,
        ("Multiple Lines", "Phone Service"),
    ),
    "add-on without internet": (
        edit("Internet Service", 0, "No"),
        None,
        ("Online Security", "Internet Service"),
    ),
    "churn value disagrees with label": (edit("Churn Value", 0, "1"), None, ("Churn Value",)),
    "churn value not 0/1": (edit("Churn Value", 1, "2"), None, ("Churn Value",)),
    "corrupt parquet": (b"PAR1" + b"garbage" * 20, None, ("Parquet",)),
    "parquet header only": (parquet_bytes(base_frame().head(0)), None, ("no rows",)),
    "unknown layout": (b"foo,bar\n1,2\n", None, ("unknown layout", "Customer ID")),
    "unclosed quote": (VALID + b'A-9,"40,5\n', None, ("row 6",)),
}


def _materialise(tmp_path: Path, name: str, payload) -> Path:
    if callable(payload):
        return payload(tmp_path)
    suffix = ".parquet" if "parquet" in name else ".csv"
    path = tmp_path / ("input" + suffix)
    path.write_bytes(payload)
    return path


def test_corpus_is_large_enough():
    assert len(CASES) >= 25


def test_base_frame_is_valid(tmp_path):
    path = tmp_path / "ok.csv"
    path.write_bytes(VALID)
    assert len(load(path).frame) == 5


@pytest.mark.parametrize("name", list(CASES))
def test_malformed_input_gives_clear_error(tmp_path, name):
    payload, limits, words = CASES[name]
    path = _materialise(tmp_path, name, payload)
    with pytest.raises(DataValidationError) as info:
        load(path, limits=limits)
    message = str(info.value)
    for word in words:
        assert word.lower() in message.lower(), f"{word!r} not in: {message}"
    assert "Fix" in message or "fix" in message


def test_a_cell_longer_than_the_csv_modules_default_is_read(tmp_path):
    """A 1 MB note (beyond the csv module's 131,072-character default) in the first row: the
    file loads, the delimiter is still found, and the free text is left out with a note."""
    df = pd.concat([base_frame()] * 12, ignore_index=True)  # 60 rows: text can be told
    df["Customer ID"] = [f"A-{i}" for i in range(len(df))]
    df["Notes"] = [f"called {i} times about the bill, twice about the network" for i in range(60)]
    df.loc[0, "Notes"] = "a long pasted e-mail " * 50_000
    for sep in (",", ";"):
        path = tmp_path / f"long{sep == ';'}.csv"
        path.write_bytes(df.to_csv(index=False, sep=sep).encode())
        data = load(path)
        assert data.delimiter == sep
        assert len(data.frame) == 60 and "Notes" not in data.frame.columns
        assert "Notes" in data.ignored_columns


def test_every_failure_is_collected_at_once(tmp_path):
    df = base_frame()
    df.loc[0, "Monthly Charge"] = "abc"
    df.loc[1, "Contract"] = "Weekly"
    df.loc[2, "Satisfaction Score"] = "9"
    path = tmp_path / "many.csv"
    path.write_bytes(csv_bytes(df))
    with pytest.raises(DataValidationError) as info:
        load(path)
    msg = str(info.value)
    assert "3 problem(s)" in msg
    assert {"Monthly Charge", "Contract", "Satisfaction Score"} <= set(info.value.failures.column)


def test_mapping_errors_list_missing_and_found(tmp_path):
    path = tmp_path / "crm.csv"
    path.write_bytes(b"id,months\n1,2\n")
    with pytest.raises(DataValidationError) as info:
        load(path, mapping={"columns": {"id": "Customer ID", "months": "Tenure in Months"}})
    msg = str(info.value)
    assert "Monthly Charge" in msg and "Found columns" in msg and "months" in msg
    with pytest.raises(DataValidationError, match="unknown canonical"):
        load(path, mapping={"columns": {"id": "Customer Ident"}})


def test_missing_path_and_directory(tmp_path):
    with pytest.raises(DataValidationError, match="no such file"):
        load(tmp_path / "nope.csv")
    with pytest.raises(DataValidationError, match="directory"):
        load(tmp_path)


def _cli_validate(path: Path) -> subprocess.CompletedProcess[str]:
    """``python -m core validate PATH`` in a fresh interpreter, output captured."""
    return subprocess.run(
        [sys.executable, "-m", "core", "validate", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "name",
    ["text in a number", "ragged: short row", "binary data", "unknown layout", "header only"],
)
def test_cli_validate_exits_2_without_traceback(tmp_path, name):
    payload, _, words = CASES[name]
    path = _materialise(tmp_path, name, payload)
    out = _cli_validate(path)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert words[0].lower() in out.stderr.lower()


def test_cli_validate_ok(tmp_path):
    path = tmp_path / "ok.csv"
    path.write_bytes(VALID)
    out = _cli_validate(path)
    assert out.returncode == 0, out.stderr
    assert '"rows": 5' in out.stdout


_TOKENS = ("", " ", "0", "-1", "1.5", "inf", "-inf", "nan", "NA", "1e400", "1" * 25, "yes",
           "No", "TRUE", "é", "日本", "\u200b", "=1+1", "a b c d e", "2024-05-01")  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(
    extras=st.lists(
        st.tuples(
            st.sampled_from(["X", "Survey", "cltv", "churn value", "", " ", "Churn Score 2", "é"]),
            st.lists(st.sampled_from(_TOKENS), min_size=5, max_size=5),
        ),
        max_size=3,
    ),
    corrupt=st.one_of(
        st.none(),
        st.tuples(
            st.sampled_from(
                [
                    "Age",
                    "Tenure in Months",
                    "Monthly Charge",
                    "CLTV",
                    "Churn Value",
                    "Satisfaction Score",
                    "Contract",
                    "Phone Service",
                ]
            ),  # fmt: skip
            st.integers(0, 4),
            st.sampled_from(_TOKENS),
        ),
    ),
)
def test_any_extra_or_corrupted_column_loads_or_gives_a_clear_error(extras, corrupt):
    """Whatever a file adds or gets wrong, loading it succeeds or raises one DataValidationError
    (never another exception: no traceback reaches a user)."""
    df = base_frame()
    for k, (name, values) in enumerate(extras):
        df[f"{name}{k}" if name.strip() else name * (k + 1)] = values
    if corrupt is not None:
        col, row, value = corrupt
        df.loc[row, col] = value
    try:
        load(csv_bytes(df), name="fuzz.csv")
    except DataValidationError as exc:
        assert "Fix" in str(exc) or "fix" in str(exc)
