"""Exports: CSV safe against formula injection (OWASP), Parquet, atomic files, sha256."""

from __future__ import annotations

import hashlib
import io
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.common.errors import CJOError
from core.ops.export import (
    BOM,
    neutralise,
    render,
    to_csv_bytes,
    to_parquet_bytes,
    to_xlsx_bytes,
    unneutralise,
    write_export,
)

# OWASP CSV injection: cells starting with these are run as formulas (plus LF, per issue 7).
DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")


def parse_csv(data: bytes) -> list[list[tuple[str, bool]]]:
    """A strict RFC 4180 reader written for the tests: rows of (value, was_quoted).

    Independent of core.ops.export and of the csv module, and it fails on anything malformed
    (a quote inside an unquoted field, text after a closing quote, a missing final newline).
    """
    text = data.decode("utf-8")
    rows: list[list[tuple[str, bool]]] = []
    row: list[tuple[str, bool]] = []
    i, n = 0, len(text)
    while i < n:
        if text[i] == '"':
            parts, j = [], i + 1
            while True:
                k = text.index('"', j)
                parts.append(text[j:k])
                if text[k + 1 : k + 2] == '"':
                    parts.append('"')
                    j = k + 2
                    continue
                i = k + 1
                break
            row.append(("".join(parts), True))
        else:
            k = i
            while k < n and text[k] not in ",\n":
                k += 1
            field = text[i:k]
            assert '"' not in field and "\r" not in field, f"unquoted field {field!r}"
            row.append((field, False))
            i = k
        assert i < n, "the last line must end with a newline"
        if text[i] == ",":
            i += 1
        elif text[i] == "\n":
            rows.append(row)
            row = []
            i += 1
        else:
            raise AssertionError(f"unexpected {text[i]!r} after a field at offset {i}")
    assert row == []
    return rows


any_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
risky_text = st.tuples(
    st.sampled_from([*DANGEROUS_PREFIXES, "'", "''", "-1", "=1+2"]), any_text
).map("".join)
cell_text = st.one_of(any_text, risky_text)


@st.composite
def frames(draw: st.DrawFn) -> tuple[pd.DataFrame, list[str]]:
    n_cols = draw(st.integers(1, 5))
    n_rows = draw(st.integers(0, 8))
    headers = draw(st.lists(cell_text, min_size=n_cols, max_size=n_cols, unique=True))
    kinds = draw(
        st.lists(
            st.sampled_from(["object", "str", "float", "int"]), min_size=n_cols, max_size=n_cols
        )
    )
    columns = {}
    for header, kind in zip(headers, kinds, strict=True):
        if kind in ("object", "str"):
            values = draw(st.lists(cell_text, min_size=n_rows, max_size=n_rows))
            columns[header] = pd.Series(values, dtype=kind)
        elif kind == "float":
            values = draw(st.lists(st.floats(), min_size=n_rows, max_size=n_rows))
            columns[header] = pd.Series(values, dtype="float64")
        else:
            values = draw(
                st.lists(st.integers(-(2**63), 2**63 - 1), min_size=n_rows, max_size=n_rows)
            )
            columns[header] = pd.Series(values, dtype="int64")
    return pd.DataFrame(columns), kinds


@settings(max_examples=150, deadline=None)
@given(frames(), st.booleans())
def test_every_dangerous_cell_is_neutralised_and_values_round_trip(case, bom: bool) -> None:
    df, kinds = case
    data = to_csv_bytes(df, bom=bom)
    if bom:
        assert data.startswith(BOM)
        data = data[len(BOM) :]
    rows = parse_csv(data)
    assert len(rows) == len(df) + 1
    assert all(len(r) == df.shape[1] for r in rows)

    def check_text(original: str, value: str, quoted: bool) -> None:
        assert not value.startswith(DANGEROUS_PREFIXES), (original, value)
        if original.startswith((*DANGEROUS_PREFIXES, "'")):
            assert quoted and value == "'" + original
        else:
            assert value == original
        assert unneutralise(value) == original

    for j, header in enumerate(df.columns):
        check_text(header, *rows[0][j])
        for i in range(len(df)):
            original, (value, quoted) = df.iloc[i, j], rows[i + 1][j]
            if kinds[j] in ("object", "str"):
                check_text(original, value, quoted)
            elif kinds[j] == "float":  # numbers stay numbers: unquoted, no prefix, exact
                assert not quoted
                if math.isnan(original):
                    assert value == ""
                else:
                    assert float(value) == original and value == repr(float(original))
            else:
                assert not quoted and int(value) == original


@given(cell_text)
def test_unneutralise_inverts_neutralise(text: str) -> None:
    assert unneutralise(neutralise(text)) == text
    assert not neutralise(text).startswith(DANGEROUS_PREFIXES)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ("=cmd|' /C calc'!A0", b"\"'=cmd|' /C calc'!A0\""),
        ('=HYPERLINK("http://evil","x")', b'"\'=HYPERLINK(""http://evil"",""x"")"'),
        ("+1+1", b'"\'+1+1"'),
        ("-2+3+cmd|' /C calc'!A0", b"\"'-2+3+cmd|' /C calc'!A0\""),
        ("@SUM(1,1)", b'"\'@SUM(1,1)"'),
        ("\t=1+1", b'"\'\t=1+1"'),
        ("\r=1+1", b'"\'\r=1+1"'),
        ("\n=1+1", b'"\'\n=1+1"'),
        ("'quoted", b"\"''quoted\""),
        ("plain text", b"plain text"),
        ("a, b", b'"a, b"'),
    ],
)
def test_owasp_payloads_are_written_as_quoted_text(payload: str, expected: bytes) -> None:
    data = to_csv_bytes(pd.DataFrame({"offer": [payload]}))
    assert data == b"offer\n" + expected + b"\n"


def test_numeric_columns_stay_numeric_and_text_that_looks_numeric_is_neutralised() -> None:
    df = pd.DataFrame(
        {
            "=delta": [-3.5, 2.0, np.nan],
            "count": pd.array([-1, None, 3], dtype="Int64"),
            "flag": [True, False, True],
            "label": ["-3.5", "ok", None],
            "mixed": [-2, "-2", 0.5],
        }
    )
    data = to_csv_bytes(df)
    assert data == (
        b'"\'=delta",count,flag,label,mixed\n'
        b'-3.5,-1,True,"\'-3.5",-2\n'
        b'2.0,,False,ok,"\'-2"\n'
        b",3,True,,0.5\n"
    )
    back = pd.read_csv(io.BytesIO(data))
    assert back["'=delta"].dtype == np.float64 and back["'=delta"].iloc[0] == -3.5
    assert pd.api.types.is_numeric_dtype(back["count"]) and back["count"].iloc[0] == -1


def test_bom_only_prefixes_the_same_bytes() -> None:
    df = pd.DataFrame({"Kunde": ["Müller", "=ß"], "x": [1, 2]})
    plain, with_bom = to_csv_bytes(df), to_csv_bytes(df, bom=True)
    assert not plain.startswith(BOM) and with_bom == BOM + plain
    back = pd.read_csv(io.BytesIO(with_bom), encoding="utf-8-sig")
    assert list(back.columns) == ["Kunde", "x"] and back["Kunde"].tolist() == ["Müller", "'=ß"]


def test_csv_is_deterministic_and_render_reports_sha_and_rows() -> None:
    df = pd.DataFrame({"id": range(100), "p": np.linspace(-1, 1, 100), "s": ["=x"] * 100})
    result = render(df, "csv")
    assert result.data == to_csv_bytes(df.copy())
    assert result.sha256 == hashlib.sha256(result.data).hexdigest()
    assert (result.row_count, result.n_bytes, result.mime) == (100, len(result.data), "text/csv")


def test_parquet_round_trips_types_and_text_unchanged() -> None:
    df = pd.DataFrame(
        {
            "customer": ["=cmd|' /C calc'!A0", "ok"],
            "step": pd.array([1, None], dtype="Int64"),
            "delta": [-3.5, np.nan],
        }
    )
    data = to_parquet_bytes(df)
    assert data == to_parquet_bytes(df.copy())
    pd.testing.assert_frame_equal(pd.read_parquet(io.BytesIO(data)), df)
    assert render(df, "parquet").sha256 == hashlib.sha256(data).hexdigest()


def test_xlsx_keeps_text_as_text_numbers_as_numbers_and_is_deterministic(monkeypatch) -> None:
    import time

    import openpyxl

    df = pd.DataFrame(
        {
            "customer": ["=cmd|' /C calc'!A0", "-x", "ok"],
            "step": pd.array([1, None, 3], dtype="Int64"),
            "delta": [-3.5, np.nan, 0.25],
            "credible": [True, False, True],
        }
    )
    data = to_xlsx_bytes(df)
    time.sleep(2.1)  # a zip entry's time has a 2 s resolution: the bytes must not carry it
    assert to_xlsx_bytes(df.copy()) == data
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    cells = [[(c.value, c.data_type) for c in row] for row in sheet.iter_rows()]
    assert [v for v, _ in cells[0]] == list(df.columns)
    assert cells[1] == [("=cmd|' /C calc'!A0", "s"), (1, "n"), (-3.5, "n"), (True, "b")]
    assert cells[2] == [("-x", "s"), (None, "n"), (None, "n"), (False, "b")]
    back = pd.read_excel(io.BytesIO(data))
    assert back["customer"].tolist() == df["customer"].tolist()
    np.testing.assert_allclose(back["delta"], df["delta"])
    result = render(df, "xlsx")
    assert result.data == data and result.mime.endswith("spreadsheetml.sheet")
    monkeypatch.setattr("core.ops.export.XLSX_ROWS", 2)
    with pytest.raises(CJOError, match="does not fit an Excel worksheet"):
        to_xlsx_bytes(df)


def test_write_export_is_atomic_and_matches_the_bytes(tmp_path: Path) -> None:
    df = pd.DataFrame({"a": ["=1", "b"], "n": [1.5, -2.0]})
    target = tmp_path / "out" / "journeys.csv"
    target.parent.mkdir()
    target.write_bytes(b"old content")
    result = write_export(df, target)
    assert target.read_bytes() == to_csv_bytes(df)
    assert result.sha256 == hashlib.sha256(target.read_bytes()).hexdigest()
    assert (result.format, result.row_count, result.path, result.data) == ("csv", 2, target, None)
    pq = write_export(df, tmp_path / "out" / "journeys.parquet")
    assert pq.format == "parquet" and pd.read_parquet(pq.path).equals(df)
    assert sorted(p.name for p in target.parent.iterdir()) == ["journeys.csv", "journeys.parquet"]


@pytest.mark.parametrize(
    "bad",
    [
        lambda tmp: write_export(pd.DataFrame({"a": [1]}), tmp / "x.json"),
        lambda tmp: write_export(pd.DataFrame({"a": ["bell \x07 in text"]}), tmp / "x.xlsx"),
        lambda tmp: to_xlsx_bytes(
            pd.DataFrame({"a": pd.Series(["lone \ud800 surrogate"], dtype=object)})
        ),
        lambda tmp: render(pd.DataFrame({"a": [1]}), "json"),
        lambda tmp: to_csv_bytes(pd.DataFrame([[1, 2]], columns=["a", "a"])),
        lambda tmp: to_csv_bytes(
            pd.DataFrame([[1]], columns=pd.MultiIndex.from_tuples([("a", "b")]))
        ),
        lambda tmp: to_parquet_bytes(pd.DataFrame({"a": [1, "x"]})),
        lambda tmp: to_csv_bytes([[1, 2]]),
        lambda tmp: to_csv_bytes(
            pd.DataFrame({"a": pd.Series(["ok", "lone \ud800 surrogate"], dtype=object)})
        ),
        lambda tmp: write_export(
            pd.DataFrame([[1]], columns=pd.Index(["=\udfff"], dtype=object)), tmp / "x.csv"
        ),
    ],
)
def test_unexportable_input_gives_a_clear_error(tmp_path: Path, bad) -> None:
    with pytest.raises(CJOError):
        bad(tmp_path)
    assert list(tmp_path.iterdir()) == []
