"""Reading the public benchmark's four tables, and clear errors for malformed ones."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from core.common.errors import DataValidationError
from core.planning import benchmark_instance, read_instance, write_instance

# The shape of the public instances (phil85/customer-assignment-instances, GS5): lists with
# "; " in table3, ";" in table1, ALL, channel names with spaces.
TABLE1 = """Activity,Day,Channel,TargetProducts,Cost
1,10,direct mail,1;11,1.06
2,68,direct mail,1;11,1.06
3,24,email,2,0.0
4,9,call center,6,6.8900000000000015
5,33,call center,6,6.8900000000000015
6,58,text message,4;12,0.026500000000000003
"""
TABLE2 = """Customer,Activity,ExpectedProfit,ResponseProbability
1,1,7.51,0.0178
1,4,7.51,0.0178
1,5,-9.08,0.0418
2,3,0.0165,0.0393
2,6,424.47,0.7799
3,2,24.81,0.0454
"""
TABLE3 = """Index,Type,StartDay,EndDay,Channels,TargetProducts,Bound
1,Minimum assignment,1,30,email,ALL,1.0
2,Maximum assignment,1,40,call center,ALL,1.0
3,Budget,1,120,direct mail; email; text message,ALL,3.0
4,Minimum sales,1,120,ALL,11,0.01
5,Maximum sales,1,120,ALL,12,0.9
6,Maximum contact,1,120,ALL,ALL,2.0
"""
TABLE4 = """Index,Channel1,TargetProduct1,Channel2,TargetProduct2,Lag
1,call center,ALL,call center,ALL,90
2,direct mail,ALL,call center,ALL,5
"""


def write(folder: Path, **tables: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    texts = {"table1": TABLE1, "table2": TABLE2, "table3": TABLE3, "table4": TABLE4}
    texts.update(tables)
    for name, text in texts.items():
        if text is not None:
            (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    return folder


def test_reads_the_public_layout(tmp_path):
    p = read_instance(write(tmp_path / "gs"))
    assert p.channels == ("direct mail", "email", "call center", "text message")
    assert p.products == ("1", "2", "4", "6", "11", "12")
    assert (p.n_customers, p.n_activities, p.n_assignments) == (3, 6, 6)
    ids = list(p.activities.ids)
    covered = {
        p.constraints.names[k]: [ids[a] for a in np.flatnonzero(p.covers[k])]
        for k in range(len(p.constraints))
    }
    assert covered["1"] == ["3"]  # email, day 24 in 1..30
    assert covered["2"] == ["4", "5"]
    assert covered["3"] == ["1", "2", "3", "6"]  # "direct mail; email; text message"
    assert covered["4"] == ["1", "2"]  # target product 11
    assert covered["5"] == ["6"]
    conflict = p.conflict_matrix
    four, five, one = ids.index("4"), ids.index("5"), ids.index("1")
    assert conflict[four, five] and conflict[five, four]  # call center 9 and 33 within 90
    assert not conflict[one, four]  # mail day 10 then call day 9: 9 - 10 < 0, no conflict
    assert not conflict[four, four]


def test_conflict_lag_is_directional_and_strict(tmp_path):
    table4 = "Index,Channel1,TargetProduct1,Channel2,TargetProduct2,Lag\n1,direct mail,ALL,call center,ALL,24\n"
    p = read_instance(write(tmp_path / "lag", table4=table4))
    ids = list(p.activities.ids)
    mail10, call9, call33 = ids.index("1"), ids.index("4"), ids.index("5")
    assert p.conflict_matrix[mail10, call33]  # 33 - 10 = 23 < 24
    assert not p.conflict_matrix[mail10, call9]  # 9 - 10 < 0: call first, mail after
    table4 = table4.replace(",24", ",23")
    q = read_instance(write(tmp_path / "lag23", table4=table4))
    assert not q.conflict_matrix[mail10, call33]  # 23 is not < 23


def test_round_trip_keeps_the_semantics(tmp_path):
    problem = benchmark_instance(300, 20, 0.15, 10, rng=8)
    back = read_instance(write_instance(problem, tmp_path / "rt"))
    order = [list(back.activities.ids).index(a) for a in problem.activities.ids]
    assert np.array_equal(back.covers[:, order], problem.covers)
    assert np.array_equal(back.conflict_matrix[np.ix_(order, order)], problem.conflict_matrix)
    assert np.allclose(np.sort(back.assignments.profit), np.sort(problem.assignments.profit))
    assert np.allclose(back.constraints.bound, problem.constraints.bound)


def test_reads_a_zip_and_spaced_headers(tmp_path):
    folder = write(tmp_path / "z", table1=TABLE1.replace("TargetProducts", "Target products"))
    archive = tmp_path / "GS.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for f in folder.iterdir():
            z.write(f, f"GS/{f.name}")
    assert read_instance(archive).n_assignments == 6


@pytest.mark.parametrize(
    ("tables", "expected"),
    [
        ({"table4": None}, r"table4\.csv is missing .*Index,Channel1"),
        (
            {"table3": TABLE3.replace("Maximum sales", "Max sales")},
            r"table3\.csv, column Type, row 5: unknown constraint type 'Max sales'.*Minimum assignment",
        ),
        (
            {"table3": TABLE3.replace(",3.0\n", ",three\n")},
            r"table3\.csv, column Bound, row 3: not a number \('three'\)",
        ),
        (
            {"table2": TABLE2 + "4,9,1.0,0.5\n"},
            r"table2\.csv, column Activity, row 7: activity id\(s\) 9 not in table1",
        ),
        (
            {"table2": TABLE2 + "1,1,2.0,0.1\n"},
            r"table2\.csv, column Customer, row 7: the same \(Customer, Activity\) pair",
        ),
        (
            {"table2": TABLE2.replace("0.7799", "1.7799")},
            r"table2\.csv, column ResponseProbability, row 5: above 1",
        ),
        (
            {"table3": TABLE3.replace("call center,ALL,1.0", "phone,ALL,1.0")},
            r"table3\.csv, column Channels, row 2: unknown channel \['phone'\]",
        ),
        (
            {"table1": TABLE1.replace("1,10,", "1,ten,")},
            r"table1\.csv, column Day, row 1: not a whole number",
        ),
        ({"table1": TABLE1.replace("Cost", "Price")}, r"table1\.csv lacks column\(s\) \['Cost'\]"),
        (
            {"table3": TABLE3.replace("1,30,email", "40,30,email")},
            r"table3\.csv, column StartDay, row 1: StartDay after EndDay",
        ),
    ],
)
def test_malformed_tables_give_one_clear_error(tmp_path, tables, expected):
    with pytest.raises(DataValidationError, match=expected):
        read_instance(write(tmp_path / "bad", **tables))


def test_empty_conflict_table_means_no_conflicts(tmp_path):
    header = "Index,Channel1,TargetProduct1,Channel2,TargetProduct2,Lag\n"
    p = read_instance(write(tmp_path / "noconf", table4=header))
    assert len(p.conflicts) == 0 and not p.conflict_matrix.any()


def test_a_missing_folder_says_what_to_give(tmp_path):
    with pytest.raises(DataValidationError, match="no such folder.*table1.csv"):
        read_instance(tmp_path / "nowhere")
