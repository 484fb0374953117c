"""Dates past 2262-04-11 in data files and in --period: exact, or refused with the user's value.

datetime64[ns] ends at 2262-04-11; casts to it wrapped later dates round
silently (a signup on 2600-01-01 read as 2015-06-13, an NPS response of
2620-06-30 moved the report month). Every date a spreadsheet holds, to
9999-12-31, must load from CSV, XLSX and Parquet (timestamps in any unit) and
reach the report's cells exactly; months outside what a spreadsheet or the data
can speak for are a usage error naming the value.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from workbook_templates.batch import SAMPLE_DIR, PlanError, parse_periods, plan, run_task
from workbook_templates.data import load_dataset
from workbook_templates.schema import DATASETS

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

NPS_HEADER = "response_id,customer_id,date,score,comment\n"


def _day(iso: str) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(iso), dt.time())


def _dates(series: pd.Series) -> list[str]:
    return [str(x)[:10] for x in series.to_numpy(dtype="datetime64[ms]").astype("datetime64[D]")]


def _nps_csv(path: Path, dates: list[str]) -> Path:
    rows = "".join(f"N{i},C1,{d},9,\n" for i, d in enumerate(dates))
    path.write_text(NPS_HEADER + rows, encoding="utf-8")
    return path


WIDE = ["1900-03-01", "2262-04-11", "2262-04-12", "2600-01-01", "2620-06-30", "9999-12-31"]


def test_csv_dates_past_2262_load_exactly(tmp_path):
    t = load_dataset(DATASETS["nps_responses"], _nps_csv(tmp_path / "nps_responses.csv", WIDE))
    assert t.issues == []
    assert _dates(t.df["date"]) == WIDE


@pytest.mark.parametrize("bad,shown", [("10000-01-01", "'10000-01-01'"), ("2600-02-30", "'2600-02-30'"),
                                       ("1899-12-31", "'1899-12-31'"), ("0001-01-01", "'0001-01-01'")])
def test_csv_dates_no_spreadsheet_holds_are_refused_with_the_users_value(tmp_path, bad, shown):
    t = load_dataset(DATASETS["nps_responses"], _nps_csv(tmp_path / "nps_responses.csv", ["2026-01-05", bad]))
    text = "\n".join(map(str, t.issues))
    assert f"row 3, column date: {shown}" in text
    assert "1816" not in text and "2015" not in text
    assert t.bad.tolist() == [False, True]


def test_a_month_column_past_2262(tmp_path):
    p = tmp_path / "costs.csv"
    p.write_text("month,region,plan_tier,cogs,sales_cost\n2600-01,EU,Starter,1,2\n9999-12,EU,Starter,1,2\n",
                 encoding="utf-8")
    t = load_dataset(DATASETS["costs"], p)
    assert t.issues == []
    assert _dates(t.df["month"]) == ["2600-01-01", "9999-12-01"]


def test_xlsx_cells_past_2262_load_exactly(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["response_id", "customer_id", "date", "score", "comment"])
    for i, d in enumerate(WIDE):
        ws.append([f"N{i}", "C1", _day(d), 9, None])
    ws.append(["T", "C1", "2600-05-06", 9, None])  # a date typed as text
    p = tmp_path / "nps_responses.xlsx"
    wb.save(p)
    t = load_dataset(DATASETS["nps_responses"], p)
    assert t.issues == []
    assert _dates(t.df["date"]) == WIDE + ["2600-05-06"]


@pytest.mark.parametrize("unit", ["s", "ms", "us"])
def test_parquet_timestamps_past_2262_in_any_unit(tmp_path, unit):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    days = np.array(WIDE, dtype="datetime64[D]").astype(f"datetime64[{unit}]")
    table = pa.table({
        "response_id": [f"N{i}" for i in range(len(WIDE))], "customer_id": ["C1"] * len(WIDE),
        "date": pa.array(days, type=pa.timestamp(unit)), "score": [9] * len(WIDE), "comment": [None] * len(WIDE),
    })
    p = tmp_path / "nps_responses.parquet"
    pq.write_table(table, p)
    t = load_dataset(DATASETS["nps_responses"], p)
    assert t.issues == []
    assert _dates(t.df["date"]) == WIDE


def test_parquet_dates_and_zoned_timestamps_past_2262(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    wall = np.array(["2600-01-01T10:00", "2620-06-30T23:00"], dtype="datetime64[s]")
    table = pa.table({
        "response_id": ["N1", "N2"], "customer_id": ["C1", "C1"],
        "date": pa.array([dt.date(2600, 1, 1), dt.date(2620, 6, 30)], type=pa.date32()),
        "score": [9, 9], "comment": [None, None],
    })
    p = tmp_path / "nps_responses.parquet"
    pq.write_table(table, p)
    t = load_dataset(DATASETS["nps_responses"], p)
    assert t.issues == [] and _dates(t.df["date"]) == ["2600-01-01", "2620-06-30"]
    # tickets.created_at is a date and time: a zoned timestamp keeps its wall time
    ds = DATASETS["tickets"]
    cols = {c.name: [None, None] for c in ds.columns}
    cols.update({"ticket_id": ["T1", "T2"], "customer_id": ["C1", "C1"]})
    df = pd.DataFrame(cols)
    arr = pa.array(wall, type=pa.timestamp("s", tz="Europe/Berlin"))
    tbl = pa.Table.from_pandas(df.drop(columns=["created_at"]), preserve_index=False)
    tbl = tbl.add_column(list(df.columns).index("created_at"), "created_at", arr)
    p2 = tmp_path / "tickets.parquet"
    pq.write_table(tbl, p2)
    t2 = load_dataset(ds, p2)
    got = t2.df["created_at"].to_numpy(dtype="datetime64[ms]")
    want = (wall.astype("datetime64[ms]") + np.timedelta64(1, "h"))  # UTC 10:00 is 11:00 in Berlin in winter
    assert got[0] == want[0]
    assert [i for i in t2.issues if i.column == "created_at"] == []


def _copy_sample(dst: Path, names: list[str]) -> Path:
    dst.mkdir(parents=True, exist_ok=True)
    for n in names:
        (dst / f"{n}.csv").write_bytes((SAMPLE_DIR / f"{n}.csv").read_bytes())
    return dst


def test_an_nps_response_in_2620_builds_with_its_date_and_month(tmp_path):
    d = _copy_sample(tmp_path / "data", ["nps_responses", "customers", "csat_responses", "tickets"])
    with open(d / "nps_responses.csv", "a", encoding="utf-8") as f:
        f.write("N999999,C00010,2620-06-30,9,\n")
    tasks = plan(["customer_experience"], d, tmp_path / "out")
    r = run_task(tasks[0])
    assert r.ok, r.error
    wb = openpyxl.load_workbook(r.path)
    assert wb["Experience"]["B5"].value == dt.datetime(2620, 6, 1)
    ws = wb["NPS responses"]
    last = [c.value for c in ws[ws.max_row]]
    assert last[:4] == ["N999999", "C00010", dt.datetime(2620, 6, 30), 9]


def test_a_customer_signed_up_in_2600_keeps_that_date(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    cust = pd.read_csv(SAMPLE_DIR / "customers.csv", dtype=str, keep_default_na=False).head(30)
    cust.loc[0, "signup_date"] = "2600-01-01"
    cust.to_csv(d / "customers.csv", index=False)
    t = load_dataset(DATASETS["customers"], d / "customers.csv")
    assert t.issues == []
    assert _dates(t.df["signup_date"].iloc[:1]) == ["2600-01-01"]


def test_periods_past_2262_and_before_1900_are_usage_errors():
    months = [pd.Timestamp(m) for m in np.arange("2024-01", "2026-07", dtype="datetime64[M]")]
    assert parse_periods(["2027-06"], months) == ["2027-06"]  # 12 months after the last month of data
    assert parse_periods(["2024-01:2024-02"], months) == ["2024-01", "2024-02"]
    cases = {"2600-01": "'2600-01' is outside the months this data can report on, 2024-01 to 2027-06",
             "2262-05": "'2262-05' is outside the months this data can report on",
             "2027-07": "'2027-07' is outside",
             "2023-12": "'2023-12' is outside",
             "0001-01": "'0001-01' is outside the months a spreadsheet can hold (1900-01 to 9999-12)",
             "1800-01": "'1800-01' is outside the months a spreadsheet can hold",
             "2026-01:9999-12": "'9999-12' is outside the months this data can report on"}
    for value, message in cases.items():
        with pytest.raises(PlanError) as e:
            parse_periods([value], months)
        assert message in str(e.value), (value, str(e.value))
        assert value in str(e.value)


def test_periods_of_data_that_reaches_2600():
    months = [pd.Timestamp(np.datetime64(m, "ms")) for m in np.arange("2599-11", "2600-02", dtype="datetime64[M]")]
    assert parse_periods(["2600-01", "latest"], months) == ["2600-01"]
    assert parse_periods(["2601-01"], months) == ["2601-01"]
    assert parse_periods(["all"], months) == ["2599-11", "2599-12", "2600-01"]
    late = [pd.Timestamp(np.datetime64("9999-06", "ms"))]
    assert parse_periods(["9999-12"], late) == ["9999-12"]



@pytest.mark.parametrize("period", ["2600-01", "2262-05", "0001-01", "1800-01"])
def test_the_build_command_refuses_such_periods_with_exit_2(tmp_path, period):
    from typer.testing import CliRunner

    from kpi_cli.main import app

    r = CliRunner().invoke(app, ["build", "customer_experience", "--out", str(tmp_path), "--period", period,
                                 "--no-progress"])
    assert r.exit_code == 2, r.output
    assert period in r.output
    assert "unexpected" not in r.output.lower() and "OutOfBounds" not in r.output
    assert not list(tmp_path.glob("*.xlsx"))
