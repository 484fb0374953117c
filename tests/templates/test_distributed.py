"""The MRR tables computed data-parallel on a Dask LocalCluster (two worker processes) against one machine.

The reference is the library on the whole data in this process: ``mrr_schedule`` → ``mrr_movements``
(by month and by fiscal quarter), ``cohort_retention`` (logo and revenue) and the per-customer MRR at
two month ends with the churn KPIs over it. Counts, cohort sizes, logo retention and per-customer MRR
must be identical; money totals and revenue retention are the same amounts added in another order
(partition subtotals), so they are compared to rtol 1e-12 (see workbook_templates/distributed.py).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import kpi_functions as K

if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
    import distributed  # noqa: F401  (.ci/run installs the dask extra: a missing one must fail, not skip)
else:
    pytest.importorskip("distributed")

from benchmarks import build_data
from workbook_templates.distributed import customer_mrr, mrr_tables

pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning"),
              pytest.mark.filterwarnings("ignore::DeprecationWarning")]

COLS = ["customer_id", "start_date", "end_date", "amount", "billing_months"]
MONEY = ["starting MRR", "new", "expansion", "reactivation", "contraction", "churned", "ending MRR"]
COUNTS = ["customers at start", "new customers", "reactivated", "churned customers", "customers at end"]


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      host="127.0.0.1") as cluster, Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def company(tmp_path_factory) -> tuple[pd.DataFrame, list[Path]]:
    """4,000 subscriptions (the sample company replicated), as three Parquet files."""
    folder = tmp_path_factory.mktemp("subs")
    subs = build_data.make(4000, 2)["subscriptions"][COLS].reset_index(drop=True)
    # a discount-free copy whose amounts are not all whole: 1/3 of a price is never a binary fraction
    subs["amount"] = subs["amount"] + np.where(np.arange(len(subs)) % 3 == 0, 1 / 3, 0.0)
    parts = []
    for i, lo in enumerate(range(0, len(subs), 1500)):
        parts.append(folder / f"part{i}.parquet")
        subs.iloc[lo:lo + 1500].to_parquet(parts[-1], index=False)
    return subs, parts


def _same_movements(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert list(got.columns) == list(expected.columns)
    assert got["month"].tolist() == expected["month"].tolist()
    for col in COUNTS:  # integers: identical
        assert got[col].dtype == np.int64
        np.testing.assert_array_equal(got[col].to_numpy(), expected[col].to_numpy(), err_msg=col)
    for col in MONEY:  # the same amounts summed in another order
        np.testing.assert_allclose(got[col].to_numpy(), expected[col].to_numpy(), rtol=1e-12, atol=0, err_msg=col)


def test_every_table_of_a_two_worker_cluster_equals_the_single_machine_result(client, company):
    subs, parts = company
    mrr = K.mrr_schedule(subs)
    got = mrr_tables(parts, client, snapshot=("2025-06", "2026-05"), partitions=5)

    assert got.partitions == 5
    assert got.mrr_rows == len(mrr)
    assert got.months == (mrr["month"].min(), mrr["month"].max())
    _same_movements(got.movements, K.mrr_movements(mrr))

    logo = K.cohort_retention(mrr, "logo")
    assert got.cohorts["cohort"].tolist() == logo["cohort"].tolist()
    np.testing.assert_array_equal(got.cohorts["size"].to_numpy(), logo["size"].to_numpy())
    # shares of the summed counts, divided as the library divides: identical, NaN where not yet observed
    np.testing.assert_array_equal(got.cohorts.iloc[:, 2:].to_numpy(), logo.iloc[:, 2:].to_numpy())
    revenue = K.cohort_retention(mrr, "revenue")
    assert list(got.revenue_cohorts.columns) == list(revenue.columns)
    np.testing.assert_allclose(got.revenue_cohorts.iloc[:, 2:].to_numpy(), revenue.iloc[:, 2:].to_numpy(),
                               rtol=1e-12, atol=0)

    # per-customer MRR at the two month ends, independently: a pivot of the single machine's table
    month = mrr["month"].dt.strftime("%Y-%m")
    at = {m: mrr[month == m].groupby("customer", sort=False)["MRR"].sum() for m in ("2025-06", "2026-05")}
    order = mrr["customer"].drop_duplicates()
    paying = order[order.isin(at["2025-06"].index) | order.isin(at["2026-05"].index)]
    assert got.customers is not None
    assert got.customers["customer"].tolist() == paying.tolist()  # the schedule's customer order
    np.testing.assert_array_equal(got.customers["start MRR"], at["2025-06"].reindex(paying).fillna(0).to_numpy())
    np.testing.assert_array_equal(got.customers["end MRR"], at["2026-05"].reindex(paying).fillna(0).to_numpy())
    start, end = got.customers["start MRR"], got.customers["end MRR"]
    ref_start, ref_end = at["2025-06"].reindex(paying).fillna(0), at["2026-05"].reindex(paying).fillna(0)
    for f in (K.churn_customers, K.churn_revenue, K.nrr, K.grr):  # same values in the same order: identical
        assert f(start, end) == f(ref_start.to_numpy(), ref_end.to_numpy())


def test_csv_discounts_fiscal_quarters_and_a_cohort_limit_equal_the_single_machine_result(client, company,
                                                                                          tmp_path):
    subs, _ = company
    subs = subs.assign(discount=np.where(np.arange(len(subs)) % 5 == 0, subs["amount"] / 4, np.nan))
    for i, lo in enumerate(range(0, len(subs), 1000)):  # a folder of CSV files, read in the order of their names
        subs.iloc[lo:lo + 1000].to_csv(tmp_path / f"subs{i}.csv", index=False, date_format="%Y-%m-%d")
    mrr = K.mrr_schedule(subs, through="2026-04-30")
    assert mrr["MRR"].sum() < K.mrr_schedule(subs.drop(columns="discount"), through="2026-04-30")["MRR"].sum()
    got = mrr_tables(tmp_path, client, through="2026-04-30", period="quarter", fiscal_year_start=4, max_months=7,
                     partitions=3)
    _same_movements(got.movements, K.mrr_movements(mrr, "quarter", 4))
    logo = K.cohort_retention(mrr, "logo", 7)
    assert list(got.cohorts.columns) == ["cohort", "size"] + [f"month {i}" for i in range(7)]
    np.testing.assert_array_equal(got.cohorts.iloc[:, 1:].to_numpy(), logo.iloc[:, 1:].to_numpy())


def test_a_partition_whose_customers_stop_early_still_counts_their_churn(client, tmp_path):
    """Four customers over more partitions than customers (some partitions empty).

    A pays 100 from January to February 2026, B 50 from January to June, C 30 from March to April,
    then again from June; D never pays (amount 0). By hand: churn of A in March (100, one customer),
    of C in May (30), reactivation of C in June (30); the table runs January to June.
    """
    rows = pd.DataFrame({
        "customer_id": ["A", "B", "C", "C", "D"],
        "start_date": pd.to_datetime(["2026-01-01", "2026-01-10", "2026-03-01", "2026-06-01", "2026-01-01"]),
        "end_date": pd.to_datetime(["2026-03-01", None, "2026-05-01", None, None]),
        "amount": [100.0, 50.0, 30.0, 30.0, 0.0],
        "billing_months": [1, 1, 1, 1, 1],
    })
    path = tmp_path / "tiny.parquet"
    rows.to_parquet(path, index=False)
    got = mrr_tables(path, client, through="2026-06-15", partitions=8, snapshot=("2026-02", "2026-06"))
    m = got.movements
    assert m["month"].dt.strftime("%Y-%m").tolist() == ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05",
                                                         "2026-06"]
    assert m["ending MRR"].tolist() == [150.0, 150.0, 80.0, 80.0, 50.0, 80.0]
    assert m["churned"].tolist() == [0.0, 0.0, 100.0, 0.0, 30.0, 0.0]
    assert m["churned customers"].tolist() == [0, 0, 1, 0, 1, 0]
    assert m["reactivation"].tolist() == [0.0, 0.0, 0.0, 0.0, 0.0, 30.0]
    assert got.cohorts["size"].tolist() == [2, 1]
    assert got.cohorts["month 1"].tolist()[0] == 1.0 and got.cohorts["month 2"].tolist()[0] == 0.5
    assert got.customers is not None
    assert got.customers.to_dict("list") == {"customer": ["A", "B", "C"], "start MRR": [100.0, 50.0, 0.0],
                                             "end MRR": [0.0, 50.0, 30.0]}


def test_no_paying_subscription_is_the_librarys_no_rows_error(client, tmp_path):
    path = tmp_path / "free.parquet"
    pd.DataFrame({"customer_id": ["A"], "start_date": pd.to_datetime(["2026-01-01"]), "end_date": [pd.NaT],
                  "amount": [0.0], "billing_months": [1]}).to_parquet(path, index=False)
    with pytest.raises(K.KPIUndefinedError, match="no subscription with an amount above 0"):
        mrr_tables(path, client)


def test_a_missing_column_names_the_file_and_the_column(tmp_path):
    path = tmp_path / "subs.csv"
    path.write_text("customer_id,start_date,amount,billing_months\nA,2026-01-01,10,1\n")
    with pytest.raises(ValueError, match=r"subs\.csv has no column 'end_date'"):
        mrr_tables(path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"^mrr_tables: the folder .*empty holds no \.parquet or \.csv file$"):
        mrr_tables(tmp_path / "empty")


def test_customer_mrr_by_hand():
    t = pd.DataFrame({"customer": ["A", "B", "A", "C"], "month": pd.to_datetime(["2026-01-01", "2026-01-01",
                                                                                 "2026-03-15", "2026-02-01"]),
                      "MRR": [10.0, 5.0, 12.0, 7.0]})
    got = customer_mrr(t, "2026-01-31", "2026-03")
    assert got.to_dict("list") == {"customer": ["A", "B"], "start MRR": [10.0, 5.0], "end MRR": [12.0, 0.0]}


def _kpi(*args: str):
    from typer.testing import CliRunner

    from kpi_cli.main import app

    return CliRunner().invoke(app, list(args))


def test_kpi_tables_writes_the_single_machine_tables_from_a_cluster(client, company, tmp_path):
    subs, parts = company
    address = client.scheduler.address
    r = _kpi("tables", *map(str, parts), "--scheduler", address, "--out", str(tmp_path / "t"), "--period", "quarter",
             "--start", "2025-06", "--end", "2026-05")
    assert r.exit_code == 0, r.output
    mrr = K.mrr_schedule(subs)
    expected = K.mrr_movements(mrr, "quarter")
    got = pd.read_csv(tmp_path / "t" / "movements.csv", parse_dates=["month"])
    assert got["month"].tolist() == expected["month"].tolist()
    for col in COUNTS:
        assert got[col].tolist() == expected[col].tolist(), col
    for col in MONEY:  # CSV keeps 17 significant digits: the rounding of the sums in another order remains
        np.testing.assert_allclose(got[col].to_numpy(), expected[col].to_numpy(), rtol=1e-12, err_msg=col)
    cohorts = pd.read_csv(tmp_path / "t" / "cohorts.csv")
    assert cohorts["size"].tolist() == K.cohort_retention(mrr)["size"].tolist()
    customers = pd.read_csv(tmp_path / "t" / "customers.csv")
    assert len(customers) == len(customer_mrr(mrr, "2025-06", "2026-05"))
    assert r.output.startswith(f"{len(mrr):,} customer-months from 2024-01 to 2026-06 in ")


@pytest.mark.parametrize(("args", "message"), [
    (["--start", "2026-01"], "Error: --start and --end go together\n"),
    (["--period", "week"], "Error: --period must be month, quarter or year, got 'week'\n"),
])
def test_kpi_tables_refuses_bad_options_in_one_line(tmp_path, args, message):
    path = tmp_path / "s.parquet"
    path.touch()
    r = _kpi("tables", str(path), *args)
    assert r.exit_code == 1 and r.output == message


def test_kpi_tables_names_a_missing_file_and_a_missing_column(client, tmp_path):
    r = _kpi("tables", str(tmp_path / "nope.parquet"), "--scheduler", client.scheduler.address)
    assert r.exit_code == 1 and r.output == f"Error: no such file: {tmp_path / 'nope.parquet'}\n"
    path = tmp_path / "subs.csv"
    path.write_text("customer_id,start_date,amount,billing_months\nA,2026-01-01,10,1\n")
    r = _kpi("tables", str(path), "--scheduler", client.scheduler.address, "--out", str(tmp_path / "o"))
    assert r.exit_code == 1
    assert r.output.startswith(f"Error: mrr_tables: {path} has no column 'end_date'"), r.output


def test_a_bad_subscription_is_named_by_its_customer_column_and_value(client, tmp_path):
    path = tmp_path / "subs.csv"
    path.write_text("customer_id,start_date,end_date,amount,billing_months\n"
                    "A,2026-01-01,,100,1\nB,2026-02-01,,-5,1\n")
    from workbook_templates.distributed import SubscriptionError

    with pytest.raises(SubscriptionError, match=r"^subscriptions: column 'amount' of the subscription of customer "
                                                r"'B' starting 2026-02-01 \(input part 0, row 2\): -5 must not be "
                                                r"negative$"):
        mrr_tables(path, client, partitions=1)
    path.write_text("customer_id,start_date,end_date,amount,billing_months\nA,2026-01-01,,100,1\n,2026-02-01,,5,1\n")
    with pytest.raises(SubscriptionError, match=r"^subscriptions: column 'customer_id' of the subscription starting "
                                                r"2026-02-01 \(input part 0, row 2\): is blank; every row needs a "
                                                r"customer$"):
        mrr_tables(path, client, partitions=1)
