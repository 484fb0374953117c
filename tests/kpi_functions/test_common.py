"""Common tests run over every registered KPI, after scikit-learn's
``sklearn/metrics/tests/test_common.py``.

Every test is driven by the registry: its inputs are synthesised from each
argument's kind and domain (``common_inputs.py``), never taken from a registry
example's shape, so no test skips because of one. Where a property does not
apply to a function, the function is named in an explicit exemption set with a
one-line reason, and :func:`test_exemptions_partition_the_registry` checks
that, for every property, the tested and the exempted functions are disjoint
and together are the whole registry. A test that finds nothing to check
fails instead of passing.

Properties: the registry is complete; every valid call returns the documented
type; every input container (lists, Excel's list of rows, ndarrays, Series,
DataFrames) gives the same answer and none is mutated; empty and all-blank
input is undefined; an Excel error value, text, a boolean or infinity in any
cell of any argument — numbers, identifiers, dates, table columns, options —
raises the typed error of SPEC §3 naming the function, the argument and the
position; and the invariances the registry's units imply: permuting the rows
of aligned per-row arguments, splitting a summed argument, scaling money.
"""

from __future__ import annotations

import copy
import inspect
import math
from pathlib import Path
from typing import Any

import common_inputs as ci
import numpy as np
import pandas as pd
import pytest
from common_inputs import ArgIn, Case

import kpi_functions as k
from kpi_functions import _docs

# The catalog of SPEC §4, written out here as the independent oracle that the
# registry is complete (the registry itself is the only list the code uses).
CATALOG = [
    "MRR", "ARR", "ARPU", "GROWTH_RATE", "CMGR", "MARGIN", "NET_UPSELL", "RECURRING_SHARE", "MRR_MOVEMENTS", "MRR_SCHEDULE",
    "CHURN_RATE", "CHURN_CUSTOMERS", "CHURN_REVENUE", "RETENTION_RATE", "NRR", "GRR", "EXPANSION_RATE",
    "EXPANSION_MRR_GROWTH", "NEW_CUSTOMERS", "NET_NEW_CUSTOMERS", "UPSELL_RATE", "CROSS_SELL_RATE", "QUICK_RATIO",
    "COHORT_RETENTION",
    "SURVIVAL_CURVE", "MEDIAN_LIFETIME", "SBG_FIT", "RETENTION_FORECAST", "SBG_COHORTS", "RENEWAL_RATE",
    "CAC", "CAC_PCT", "CLV", "CLV_LIFESPAN", "LTV_CAC", "CAC_PAYBACK", "REPEAT_PURCHASE_RATE", "BGNBD_FIT", "CLV_BGNBD",
    "PROB_ALIVE", "EXPECTED_PURCHASES", "GAMMA_GAMMA_FIT", "EXPECTED_SPEND", "RFM_SUMMARY",
    "CONVERSION_RATE", "CPA", "CONVERSION_VALUE", "ROI", "ROI_CPA", "ROAS",
    "NPS", "NPS_BREAKDOWN", "NPS_MOE", "CSAT", "HEALTH_SCORE",
    "STICKINESS", "AVG_DURATION",
    "RATE_CI", "RATE_CHANGE",
]

SPECS = list(k.REGISTRY.values())
IDS = [s.excel_name for s in SPECS]
ALL = frozenset(IDS)
CASES = ci.all_cases()

# ---------------------------------------------------------------- exemptions
# Each set names the functions a property does not apply to, with the reason.

#: arguments ordered in time (monthly values, survivor counts per period): row order is meaning
TIME_SERIES_ONLY = frozenset({"KPI_CMGR", "KPI_SBG_FIT", "KPI_RETENTION_FORECAST"})
#: no argument is summed (per-row values, scores, identifiers, dates, series)
NOTHING_SUMMED = frozenset({
    "KPI_NET_UPSELL", "KPI_CMGR", "KPI_CHURN_CUSTOMERS",
    "KPI_CHURN_REVENUE", "KPI_NRR", "KPI_GRR", "KPI_EXPANSION_RATE", "KPI_NEW_CUSTOMERS", "KPI_UPSELL_RATE",
    "KPI_CROSS_SELL_RATE", "KPI_QUICK_RATIO", "KPI_SURVIVAL_CURVE", "KPI_MEDIAN_LIFETIME", "KPI_SBG_FIT",
    "KPI_RETENTION_FORECAST", "KPI_REPEAT_PURCHASE_RATE", "KPI_BGNBD_FIT", "KPI_CLV_BGNBD", "KPI_NPS",
    "KPI_NPS_BREAKDOWN", "KPI_NPS_MOE", "KPI_CSAT", "KPI_HEALTH_SCORE", "KPI_STICKINESS", "KPI_AVG_DURATION",
    "KPI_RENEWAL_RATE", "KPI_PROB_ALIVE", "KPI_EXPECTED_PURCHASES", "KPI_GAMMA_GAMMA_FIT", "KPI_EXPECTED_SPEND",
    "KPI_RFM_SUMMARY",  # values are summed within a purchase day but averaged over the days
    "KPI_SBG_COHORTS",
})
#: no argument is money (counts, scores, identifiers, dates, durations, survivor counts)
NO_MONEY_INPUT = frozenset({
    "KPI_CHURN_RATE", "KPI_RETENTION_RATE", "KPI_CROSS_SELL_RATE", "KPI_SURVIVAL_CURVE", "KPI_MEDIAN_LIFETIME",
    "KPI_SBG_FIT",
    "KPI_RETENTION_FORECAST", "KPI_REPEAT_PURCHASE_RATE", "KPI_BGNBD_FIT", "KPI_CONVERSION_RATE", "KPI_NPS",
    "KPI_NPS_BREAKDOWN", "KPI_NPS_MOE", "KPI_CSAT", "KPI_HEALTH_SCORE", "KPI_STICKINESS", "KPI_AVG_DURATION",
    "KPI_NET_NEW_CUSTOMERS", "KPI_PROB_ALIVE", "KPI_EXPECTED_PURCHASES", "KPI_RATE_CI", "KPI_RATE_CHANGE",
    "KPI_SBG_COHORTS",
})
#: labelled results whose rows mix money (gamma, mean spend) with unit-free parameters and a log-likelihood
#: that shifts by −n ln f when money is scaled by f: their scaling is tested in their own test module
MIXED_UNIT_ROWS = frozenset({"KPI_GAMMA_GAMMA_FIT"})

#: property -> {exemption set name: (set, reason)}; everything else in the registry is tested
EXEMPT: dict[str, dict[str, frozenset[str]]] = {
    "row permutation": {"TIME_SERIES_ONLY": TIME_SERIES_ONLY},
    "split a summed argument": {"NOTHING_SUMMED": NOTHING_SUMMED},
    "scale money": {"NO_MONEY_INPUT": NO_MONEY_INPUT, "MIXED_UNIT_ROWS": MIXED_UNIT_ROWS},
}

# cell representations: the same values written another way (the registry's kinds say where they apply)
_EPOCH = pd.Timestamp("1899-12-30")


def _serial(x: str) -> float:
    return (pd.Timestamp(x) - _EPOCH) / pd.Timedelta(days=1)


#: representation -> (cell kinds it rewrites, how a non-blank cell is rewritten, how a blank is rewritten)
REPRESENTATIONS: dict[str, tuple[frozenset[str], Any, Any]] = {
    "dates as datetimes": (frozenset({"date"}), lambda x: pd.Timestamp(x).to_pydatetime(), None),
    "dates as Timestamps": (frozenset({"date"}), pd.Timestamp, None),
    "dates as datetime64": (frozenset({"date"}), lambda x: np.datetime64(x, "ms"), None),
    "dates as Excel serials": (frozenset({"date"}), _serial, None),
    "ids as whole numbers": (frozenset({"id"}), lambda x: int(x[1:]), None),
    "ids as whole floats": (frozenset({"id"}), lambda x: float(x[1:]), None),
    "blanks as empty text": (frozenset({"number", "flag", "id", "date"}), None, lambda: ""),
    "blanks as NaN": (frozenset({"number", "flag", "id", "date"}), None, lambda: math.nan),
    "blanks as pd.NA": (frozenset({"number", "flag", "id", "date"}), None, lambda: pd.NA),
}
#: the registry's kinds say which functions have date and identifier cells (every table has both columns)
NO_DATE_CELLS = frozenset(s.excel_name for s in SPECS if not any(a.kind in ("dates", "table") for a in s.args))
NO_ID_CELLS = frozenset(s.excel_name for s in SPECS if not any(a.kind in ("ids", "table") for a in s.args))
#: tables whose only dates would be row labels, returned as they are given (a serial stays a number)
LABELS_AS_GIVEN = frozenset({"KPI_SBG_COHORTS"})
for _r in REPRESENTATIONS:
    EXEMPT[_r] = ({"NO_DATE_CELLS": NO_DATE_CELLS, "LABELS_AS_GIVEN": LABELS_AS_GIVEN} if _r.startswith("dates") else
                  {"NO_ID_CELLS": NO_ID_CELLS} if _r.startswith("ids") else {})
#: tables may come with or without their text header row (SPEC §3)
NO_TABLE_ARGUMENT = frozenset(s.excel_name for s in SPECS if not any(a.kind == "table" for a in s.args))
EXEMPT["table without its header"] = {"NO_TABLE_ARGUMENT": NO_TABLE_ARGUMENT}
#: iterative model fits: invariances hold to the optimiser's tolerance, not to the last bit
MODEL_FITS = frozenset({"KPI_SBG_FIT", "KPI_RETENTION_FORECAST", "KPI_BGNBD_FIT", "KPI_CLV_BGNBD",
                        "KPI_PROB_ALIVE", "KPI_EXPECTED_PURCHASES", "KPI_SBG_COHORTS", "KPI_GAMMA_GAMMA_FIT",
                        "KPI_EXPECTED_SPEND"})
MODEL_RTOL = 1e-6
RTOL = 1e-12

#: the result columns of tables that are money (the others are counts, dates, fractions)
RESULT_MONEY_COLUMNS: dict[str, frozenset[str]] = {
    "KPI_MRR_MOVEMENTS": frozenset({"starting MRR", "new", "expansion", "reactivation", "contraction", "churned",
                                    "ending MRR"}),
    "KPI_MRR_SCHEDULE": frozenset({"MRR"}),
    "KPI_COHORT_RETENTION": frozenset(),
    "KPI_RFM_SUMMARY": frozenset({"monetary"}),
}
#: tables whose row order follows the input's row order (compared as sets of rows after a permutation)
ROW_ORDER_FOLLOWS_INPUT = frozenset({"KPI_MRR_SCHEDULE", "KPI_RFM_SUMMARY", "KPI_SBG_COHORTS"})

#: Arguments a KPI sums ("aggregate, then divide", SPEC §3): KPI -> argument names.
SUMMED: dict[str, tuple[str, ...]] = {
    "KPI_MRR": ("mrr_or_arpu", "accounts"),
    "KPI_ARR": ("mrr",),
    "KPI_ARPU": ("revenue", "users"),
    "KPI_GROWTH_RATE": ("start", "end"),
    "KPI_MARGIN": ("revenue", "cost"),
    "KPI_CHURN_RATE": ("lost", "at_start"),
    "KPI_RETENTION_RATE": ("at_start", "at_end", "new"),
    "KPI_EXPANSION_MRR_GROWTH": ("expansion_start", "expansion_end"),
    "KPI_CAC": ("sales_marketing_cost", "new_customers"),
    "KPI_CAC_PCT": ("acquisition_cost", "sales_value"),
    "KPI_CLV": ("arpa",),
    "KPI_CLV_LIFESPAN": ("customer_value", "lifespan"),
    "KPI_LTV_CAC": ("ltv", "cac"),
    "KPI_CAC_PAYBACK": ("cac", "arpa"),
    "KPI_CONVERSION_RATE": ("conversions", "visitors"),
    "KPI_CPA": ("cost", "conversions"),
    "KPI_ROI": ("gain", "cost"),
    "KPI_ROAS": ("ad_revenue", "ad_spend"),
    "KPI_CONVERSION_VALUE": ("revenue", "conversions"),
    "KPI_RECURRING_SHARE": ("recurring", "one_off"),
    "KPI_NET_NEW_CUSTOMERS": ("new", "reactivated", "churned"),
    "KPI_ROI_CPA": ("conversion_value", "cpa"),
    "KPI_RATE_CI": ("successes", "trials"),
    "KPI_RATE_CHANGE": ("successes_a", "trials_a", "successes_b", "trials_b"),
    # tables: rows of one customer and month are summed (SPEC §4), so a row split in two changes nothing
    "KPI_MRR_MOVEMENTS": ("table",),
    "KPI_MRR_SCHEDULE": ("subscriptions",),
    "KPI_COHORT_RETENTION": ("table",),
}
#: summed arguments that are counts of trials, whole numbers by definition: split into whole parts
WHOLE_COUNTS = frozenset({"KPI_RATE_CI", "KPI_RATE_CHANGE"})
#: the summed column (0-based) of each table domain
TABLE_SUMMED_COLUMN = {"mrr table": 2, "subscription table": 3}
#: summed arguments whose help text does not say so (a documentation gap: SPEC §3 sums every such range)
HELP_OMITS_SUMMED = frozenset({("KPI_MRR", "accounts"), ("KPI_CLV_LIFESPAN", "customer_value"),
                               ("KPI_CLV_LIFESPAN", "lifespan"), ("KPI_MRR_SCHEDULE", "subscriptions")})


def _covering(cases: list[Case]) -> list[Case]:
    """Fewest calls per KPI that pass every argument in every form (1-D or two-column) at least once.

    The call with every option set comes first; the others join only when they add a form.
    """
    out: list[Case] = []
    for spec in SPECS:
        mine = sorted((c for c in cases if c.spec is spec), key=lambda c: c.variant != "all")
        seen: set[tuple[str, bool]] = set()
        for c in mine:
            forms = {(arg.name, a.is2d) for a, arg in zip(c.args, spec.args) if a.domain != "default"}
            if forms - seen:
                out.append(c)
                seen |= forms
    return out


COVERING = _covering(CASES)


def _tested(prop: str) -> list[str]:
    exempt = set().union(*EXEMPT[prop].values())
    return [n for n in IDS if n not in exempt]


def _cases(prop: str) -> list[Any]:
    names = set(_tested(prop))
    return [pytest.param(c, id=c.id) for c in CASES if c.spec.excel_name in names]


# ---------------------------------------------------------------- the registry
def test_catalog_has_its_functions_once_each():
    assert len(CATALOG) == 59 and len(set(CATALOG)) == len(CATALOG)


@pytest.mark.parametrize("name", CATALOG)
def test_every_catalog_function_is_registered_and_exported(name):
    spec = k.get("KPI_" + name)
    assert spec.excel_name == "KPI_" + name
    assert getattr(k, name.lower()) is spec.func
    assert spec.name == name.lower()


def test_registry_holds_nothing_outside_the_catalog():
    assert set(k.REGISTRY) <= {"KPI_" + n for n in CATALOG}


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_spec_is_complete(spec):
    assert spec.summary and "\n" not in spec.summary
    assert spec.formula
    assert spec.example, "every KPI needs a registry example (docs, task pane)"
    doc = inspect.getdoc(spec.func)
    for section in ("Parameters", "Returns", "Examples"):
        assert section in doc, f"{spec.name} docstring lacks {section}"
    for a in spec.args:
        assert a.help, a.name
    params = inspect.signature(spec.func).parameters
    assert all(p.kind is p.POSITIONAL_OR_KEYWORD for p in params.values())


def test_function_reference_is_in_sync_with_the_registry():
    path = Path(__file__).resolve().parents[2] / "docs" / "functions.md"
    assert path.read_text(encoding="utf-8") == _docs.render_markdown(), (
        "docs/functions.md is stale: run  python -m kpi_functions._docs docs/functions.md"
    )


# ---------------------------------------------------------------- guards
@pytest.mark.parametrize("prop", list(EXEMPT))
def test_exemptions_partition_the_registry(prop):
    sets = EXEMPT[prop]
    for name, s in sets.items():
        assert s <= ALL, f"{prop}: {name} names functions outside the registry: {sorted(s - ALL)}"
    names = list(sets)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert not sets[a] & sets[b], f"{prop}: {a} and {b} overlap"
    tested = set(_tested(prop))
    exempt = set().union(*sets.values())
    assert tested | exempt == ALL and not tested & exempt
    assert tested, f"{prop}: nothing is tested"
    assert {c.spec.excel_name for c in CASES} >= tested, f"{prop}: a tested function has no synthesised call"


def test_other_name_sets_are_in_the_registry():
    for s in (MODEL_FITS, ROW_ORDER_FOLLOWS_INPUT, set(RESULT_MONEY_COLUMNS), set(SUMMED)):
        assert set(s) <= ALL, sorted(set(s) - ALL)
    for name, args in SUMMED.items():
        assert set(args) <= {a.name for a in k.REGISTRY[name].args}, name
    assert set(SUMMED) == ALL - NOTHING_SUMMED, "SUMMED and NOTHING_SUMMED must partition the registry"
    table_shaped = {s.excel_name for s in SPECS if s.shape == "table" and s.unit == "table"} - NO_MONEY_INPUT
    assert set(RESULT_MONEY_COLUMNS) == table_shaped


def test_summed_arguments_agree_with_their_help():
    """An argument whose help says it is summed is in SUMMED, and the other way round (documented gaps aside)."""
    for s in SPECS:
        for a in s.args:
            said = "summed" in a.help
            listed = a.name in SUMMED.get(s.excel_name, ())
            if (s.excel_name, a.name) in HELP_OMITS_SUMMED:
                assert listed and not said, f"{s.excel_name}.{a.name}: remove it from HELP_OMITS_SUMMED"
            else:
                assert said == listed, f"{s.excel_name}.{a.name}: help says summed={said}, SUMMED says {listed}"


def test_every_argument_has_a_domain():
    used = set()
    for s in SPECS:
        for a in s.args:
            if ci.is_option(s, a.name):
                assert a.kind in ("number", "text", "bool", "dates")
                if not a.optional or a.kind in ("number", "dates"):
                    assert ci.option_values(s, a.name), f"{s.excel_name}.{a.name}: no option values"
                continue
            key = ci.domain_key(s, a.name)
            assert key is not None, f"{s.excel_name}.{a.name} ({a.kind}) has no domain in ARG_DOMAIN"
            used.add(key)
            d = ci.DOMAINS[ci.ARG_DOMAIN[key]]
            want = {"range": ("number", "flag"), "ids": ("id",), "dates": ("date",)}.get(a.kind)
            if a.kind == "table":
                assert isinstance(d.cell, tuple), f"{s.excel_name}.{a.name}: a table needs its columns"
            else:
                assert d.cell in want, f"{s.excel_name}.{a.name}: kind {a.kind} but cells {d.cell}"
    assert used == set(ci.ARG_DOMAIN), f"unused ARG_DOMAIN keys: {sorted(set(ci.ARG_DOMAIN) - used)}"
    assert set(ci.OPTION_VALUES) <= {a.name for s in SPECS for a in s.args}


def test_money_results_have_money_inputs():
    """A result "in the input's unit" (money) needs a money input: the money set is complete."""
    for s in SPECS:
        money_in = any(a.money_columns is not None for c in CASES if c.spec is s for a in c.args)
        if s.unit == "money":
            assert money_in, f"{s.excel_name} returns money but no input is money"
        assert money_in == (s.excel_name not in NO_MONEY_INPUT), s.excel_name


def test_every_function_has_a_synthesised_call_and_every_option_value_is_tried():
    by_name: dict[str, list[Case]] = {}
    for c in CASES:
        by_name.setdefault(c.spec.excel_name, []).append(c)
    assert set(by_name) == ALL
    for s in SPECS:
        for a in s.args:
            if a.optional:
                assert any(a.name in v.variant for v in by_name[s.excel_name]), f"{s.excel_name}.{a.name} untried"


# ---------------------------------------------------------------- helpers
def _result_equal(a: Any, b: Any, rtol: float = RTOL) -> None:
    if isinstance(a, pd.DataFrame):
        assert isinstance(b, pd.DataFrame)
        assert list(a.columns) == list(b.columns) and a.shape == b.shape
        for col in a.columns:
            x, y = a[col].to_numpy(), b[col].to_numpy()
            if x.dtype.kind in "fiu":
                np.testing.assert_allclose(x.astype(float), y.astype(float), rtol=rtol, atol=0, equal_nan=True,
                                           err_msg=str(col))
            else:
                assert [str(v) for v in x] == [str(v) for v in y], col
    elif isinstance(a, (pd.Series, np.ndarray)):
        assert isinstance(b, (pd.Series, np.ndarray)) and len(a) == len(b)
        np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), rtol=rtol, atol=0,
                                   equal_nan=True)
    else:
        assert type(a) is type(b), (type(a), type(b))
        assert a == pytest.approx(b, rel=rtol, abs=0, nan_ok=True)


def _rtol(case: Case) -> float:
    return MODEL_RTOL if case.spec.excel_name in MODEL_FITS else RTOL


# ---------------------------------------------------------------- valid calls
@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_a_synthesised_call_returns_the_documented_type(case):
    res = case.call()
    spec = case.spec
    if spec.shape == "scalar":
        assert type(res) is (int if spec.unit == "count" else float), type(res)
        assert math.isfinite(res)
    elif spec.shape in ("table", "labelled"):
        assert isinstance(res, pd.DataFrame) and len(res) > 0
        if spec.shape == "labelled":
            # label and value first; an option (a fit's detail) may add columns after them
            assert list(res.columns)[:2] == ["label", "value"]
    else:
        assert isinstance(res, (pd.Series, np.ndarray)) and len(res) > 0


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_the_registry_example_runs(spec):
    res = spec.func(*spec.example)
    assert res is not None


# ---------------------------------------------------------------- containers
@pytest.mark.parametrize("container", list(ci.CONTAINERS))
@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in COVERING])
def test_same_answer_for_every_input_container(case, container):
    base = case.call()
    conv = ci.CONTAINERS[container]
    values = [conv(a) for a in case.args]
    converted = [v for a, v in zip(case.args, values) if a.is_range]
    assert converted, "no range argument to convert"
    for a, v in zip(case.args, values):
        if a.is_range:
            assert isinstance(v, ci.CONTAINER_TYPES[container][a.is2d])
    _result_equal(base, case.call(values), _rtol(case))


# ---------------------------------------------------------------- cell representations
def _represent(case: Case, how: str) -> tuple[list[Any], int]:
    """The call's values with every cell of the kinds ``how`` rewrites rewritten; and how many were."""
    kinds, cell_fn, blank_fn = REPRESENTATIONS[how]
    changed = 0

    def one(x: Any, kind: str) -> Any:
        nonlocal changed
        if kind not in kinds:
            return x
        if x is None and blank_fn is not None:
            changed += 1
            return blank_fn()
        if x is not None and cell_fn is not None:
            changed += 1
            return cell_fn(x)
        return x

    values = case.values()
    for i, a in enumerate(case.args):
        if a.is_table:
            values[i] = [a.value[0]] + [[one(x, kd) for x, kd in zip(r, a.cell)] for r in a.value[1:]]
        elif a.is2d:
            values[i] = [[one(x, str(a.cell)) for x in r] for r in a.value]
        elif a.is_range:
            values[i] = [one(x, str(a.cell)) for x in a.value]
        elif a.cell == "option-date" and a.value is not None:
            values[i] = one(a.value, "date")
    return values, changed


def _relabelled(base: Any, how: str) -> Any:
    """The result with identifiers in it relabelled as the inputs were (KPI_MRR_SCHEDULE lists customers)."""
    if not how.startswith("ids") or not isinstance(base, pd.DataFrame):
        return base
    out = base.copy()
    for col in out.columns:
        vals = out[col].tolist()
        if vals and all(isinstance(v, str) and v[:1] in "cpu" and v[1:].isdigit() for v in vals):
            out[col] = [REPRESENTATIONS[how][1](v) for v in vals]
    return out


def _representation_params() -> list[Any]:
    out = []
    for how in REPRESENTATIONS:
        names = set(_tested(how))
        out += [pytest.param(c, how, id=f"{c.id}-{how}") for c in CASES if c.spec.excel_name in names]
    return out


def _passes_cells_of(case: Case, how: str) -> bool:
    """True when some argument the call passes has cells of the kinds the representation rewrites."""
    kinds = REPRESENTATIONS[how][0]
    for a in case.args:
        if a.domain == "default":
            continue
        cells = set(a.cell) if a.is_table else {"date" if a.cell == "option-date" else str(a.cell)}
        if cells & kinds:
            return True
    return False


@pytest.mark.parametrize("how", [h for h in REPRESENTATIONS if not h.startswith("blanks")])
def test_every_representation_rewrites_a_call_of_each_function_it_applies_to(how):
    """The calls that pass no such cells (an optional date range left out) are not the only ones."""
    names = {c.spec.excel_name for c in CASES if c.spec.excel_name in set(_tested(how)) and _represent(c, how)[1]}
    assert names == set(_tested(how)), sorted(set(_tested(how)) - names)


@pytest.mark.parametrize("case,how", _representation_params())
def test_same_answer_for_every_cell_representation(case, how):
    """Dates as text, datetimes, Timestamps, datetime64 or serials; ids as text or numbers; any blank: one answer."""
    values, changed = _represent(case, how)
    if not changed and not how.startswith("blanks") and not _passes_cells_of(case, how):
        return  # the call leaves out the optional argument with such cells (another call passes it: see below)
    if not changed:
        assert how.startswith("blanks"), f"{how}: nothing to rewrite"
        assert not any(a.is_range and None in ([x for r in a.value for x in r] if a.is2d else a.value)
                       for a in case.args)
        return  # this call has no blank (another call of the same KPI has one: see the guard below)
    _result_equal(_relabelled(case.call(), how), case.call(values), _rtol(case))


@pytest.mark.parametrize("case", _cases("table without its header"))
def test_a_table_without_its_header_row(case):
    """A first row of text is a header; without it the same rows give the same table."""
    values = case.values()
    tables = [i for i, a in enumerate(case.args) if a.is_table]
    assert tables, "no table argument"
    for i in tables:
        assert case.args[i].header
        values[i] = values[i][1:]
    _result_equal(case.call(), case.call(values))


def test_every_function_is_called_with_a_blank_somewhere():
    """Blank cells are part of every KPI's synthesised input (the blank representations are never vacuous)."""
    names = set()
    for c in COVERING:
        if _represent(c, "blanks as NaN")[1]:
            names.add(c.spec.excel_name)
    assert names == ALL, sorted(ALL - names)


class MutationError(AssertionError):
    pass


def _refuse(name: str):
    def method(self, *args, **kwargs):
        raise MutationError(f"the KPI called {name} on an input list")
    return method


class GuardedList(list):
    """A list whose every mutating method raises (rows of a 2-D range are guarded too)."""

    def __deepcopy__(self, memo: dict) -> list:  # the copy to compare with is a plain list
        return [copy.deepcopy(x, memo) for x in self]


for _m in ("__setitem__", "__delitem__", "__iadd__", "__imul__", "append", "extend", "insert", "pop", "remove",
           "clear", "sort", "reverse"):
    setattr(GuardedList, _m, _refuse(_m))


def _guard(v: Any) -> Any:
    if isinstance(v, list):
        return GuardedList(_guard(x) for x in v)
    if isinstance(v, np.ndarray):
        v = v.copy()
        v.flags.writeable = False  # a write raises "assignment destination is read-only"
    return v


def _assert_unchanged(after: Any, before: Any) -> None:
    assert type(after) is type(before) or (isinstance(after, GuardedList) and type(before) is list)
    if isinstance(after, pd.DataFrame):
        pd.testing.assert_frame_equal(after, before, check_exact=True, check_flags=True)
        assert after.attrs == before.attrs
    elif isinstance(after, pd.Series):
        pd.testing.assert_series_equal(after, before, check_exact=True, check_flags=True)
        assert after.attrs == before.attrs
    elif isinstance(after, np.ndarray):
        assert after.dtype == before.dtype and after.shape == before.shape
        np.testing.assert_array_equal(after, before)
    elif isinstance(after, list):
        assert len(after) == len(before)
        for x, y in zip(after, before):
            _assert_unchanged(x, y)
    else:
        assert after == before or (pd.isna(after) and pd.isna(before))


@pytest.mark.parametrize("container", list(ci.CONTAINERS))
@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in COVERING])
def test_inputs_are_not_mutated(case, container):
    conv = ci.CONTAINERS[container]
    values = [_guard(conv(a)) for a in case.args]
    checked = [v for a, v in zip(case.args, values) if a.is_range]
    assert checked and all(isinstance(v, ci.CONTAINER_TYPES[container][a.is2d])
                           for a, v in zip(case.args, values) if a.is_range)
    before = copy.deepcopy(values)
    res = case.call(values)
    for after, b in zip(values, before):
        _assert_unchanged(after, b)
    _result_equal(case.call(), res, _rtol(case))  # the guards change nothing else


# ---------------------------------------------------------------- empty input
def _required_ranges(case: Case) -> list[int]:
    return [i for i, (a, arg) in enumerate(zip(case.args, case.spec.args))
            if a.is_range and not arg.optional]


#: KPIs with a natural value for no input: a sum of nothing — the MRR (and ARR) of no paying subscription — is 0
EMPTY_IS_ZERO = frozenset({"KPI_MRR", "KPI_ARR"})


def _undefined_or_zero(name, call):
    """``call()`` is undefined (#DIV/0!), or 0 for a KPI whose value for nothing is 0; the error, if any."""
    if name in EMPTY_IS_ZERO:
        try:
            assert call() == 0.0
        except k.KPIUndefinedError as err:  # ARPU × accounts with an empty side stays undefined
            return err
        return None
    with pytest.raises(k.KPIUndefinedError) as info:
        call()
    return info.value


def test_empty_is_zero_only_for_sums():
    assert k.mrr([]) == 0.0 and k.mrr([[None], [None]]) == 0.0 and k.arr([None, ""]) == 0.0
    assert k.mrr([100, None]) == 100.0
    with pytest.raises(k.KPIUndefinedError):
        k.mrr([], [3])  # ARPU × accounts needs an ARPU
    with pytest.raises(k.KPIInputError):
        k.mrr(["abc"])  # text is not an empty range


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_empty_input_is_undefined(spec):
    case = ci.cases(spec)[0]
    idx = _required_ranges(case)
    assert idx
    values = case.values()
    for i in idx:
        values[i] = []
    err = _undefined_or_zero(spec.excel_name, lambda: case.call(values))
    if err is not None:
        assert err.excel_error == "#DIV/0!"
        assert spec.excel_name in str(err)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_all_blank_input_is_undefined(spec):
    case = ci.cases(spec)[0]
    values = case.values()
    for i in _required_ranges(case):
        a = case.args[i]
        if a.is_table:  # the header stays: a table of blank rows
            values[i] = [a.value[0]] + [[None] * len(a.value[0]) for _ in a.value[1:]]
        elif a.is2d:
            values[i] = [[None] * len(a.value[0]) for _ in a.value]
        else:
            values[i] = [None] * len(a.value)
    _undefined_or_zero(spec.excel_name, lambda: case.call(values))


@pytest.mark.parametrize("case", _cases("split a summed argument"))
def test_an_empty_summed_argument_is_undefined(case):
    idx = [i for i, (a, arg) in enumerate(zip(case.args, case.spec.args))
           if arg.name in SUMMED[case.spec.excel_name] and a.is_range]
    assert idx, "no summed argument in the call"
    for i in idx:
        values = case.values()
        values[i] = []
        err = _undefined_or_zero(case.spec.excel_name, lambda v=values: case.call(v))
        if err is not None:
            assert err.argument == case.spec.args[i].name


# ---------------------------------------------------------------- bad cells
#: (cell kind, bad value kind) -> expected error class, or None when the value is valid there.
#: Classes are matched exactly: a #VALUE! error must not be a #NUM! one.
BAD_VALUES: dict[str, Any] = {"text": "abc", "text5": "5", "bool": True, "inf": math.inf, "-inf": -math.inf}
EXPECTED: dict[tuple[str, str], type[k.KPIError] | None] = {}
for _cell in ("number", "flag", "id", "date", "option-number", "option-text", "option-bool", "option-date"):
    for _bad in BAD_VALUES:
        is_text, is_inf = _bad.startswith("text"), _bad.endswith("inf")
        cls: type[k.KPIError] | None = k.KPIDomainError if is_inf else k.KPIInputError
        if _cell == "flag" and _bad == "bool":
            cls = None  # TRUE/FALSE are churn flags
        if _cell == "id" and is_text:
            cls = None  # text is an identifier
        if _cell == "option-bool" and _bad == "bool":
            cls = None
        if _cell in ("option-text", "option-bool") and is_inf:
            cls = k.KPIInputError  # not text / not TRUE-FALSE: the wrong kind of value, #VALUE!
        EXPECTED[(_cell, _bad)] = cls
ERROR_CODES = ("#N/A", "#REF!")


def _targets(case: Case) -> list[tuple[int, int | None, int | None, str]]:
    """(argument index, row, column, cell kind) of every place a bad value is put: each column of each range."""
    out: list[tuple[int, int | None, int | None, str]] = []
    for i, a in enumerate(case.args):
        if a.domain == "default":
            continue
        if not a.is_range:
            out.append((i, None, None, str(a.cell)))
        elif a.is_table:
            for j, cell in enumerate(a.cell):
                out.append((i, ci.BAD_INDEX + 1, j, cell))
        elif a.is2d:
            for j in range(len(a.value[0])):
                out.append((i, ci.BAD_INDEX, j, str(a.cell)))
        else:
            out.append((i, ci.BAD_INDEX, None, str(a.cell)))
    return out


def _bad_params() -> list[Any]:
    """Every bad value at every target, in a plain list and in one other container (rotating)."""
    out = []
    others = [c for c in ci.CONTAINERS if c != "list"]
    for c in COVERING:
        for n, t in enumerate(_targets(c)):
            i, r, j, cell = t
            where = c.spec.args[i].name + ("" if j is None else f"[col {j + 1}]")
            bads = [("error", code) for code in ERROR_CODES]
            bads += [(bad, v) for bad, v in BAD_VALUES.items() if EXPECTED[(cell, bad)] is not None]
            for m, (bad, v) in enumerate(bads):
                containers = ["list"] if r is None else ["list", others[(n + m) % len(others)]]
                for container in containers:
                    label = v if bad == "error" else bad
                    out.append(pytest.param(c, t, bad, v, container, id=f"{c.id}-{where}-{label}-{container}"))
    return out


def _put(case: Case, target: tuple[int, int | None, int | None, str], value: Any,
         container: str = "list") -> tuple[list[Any], str | None, tuple[int, int | None] | None]:
    """The call's values with ``value`` at the target, in ``container``; the position text and (row, col) expected.

    Positions are relative to the range passed: a DataFrame made from a table holds its header as column
    names, so its rows are the table's body; a 1-D range passed as a column (a list of rows or a DataFrame)
    is named by row and column 1.
    """
    i, r, j, _ = target
    a = case.args[i]
    values = case.values()
    if r is None:
        values[i] = value
        return values, None, None
    v = copy.deepcopy(a.value)
    if j is None:
        v[r] = value
    else:
        v[r][j] = value
    values[i] = ci.CONTAINERS[container](ArgIn(v, a.cell, a.layout, a.domain, a.header))
    if a.header and isinstance(values[i], pd.DataFrame):
        r -= 1
    if j is None and container in ("column", "frame"):
        j = 0
    if j is None:
        return values, f"item {r + 1}", (r + 1, None)
    return values, f"row {r + 1}, column {j + 1}", (r + 1, j + 1)


def _check_where(err: k.KPIError, case: Case, i: int, position: str | None, loc: Any) -> None:
    assert err.function == case.spec.excel_name
    assert case.spec.excel_name in str(err)
    assert err.argument == case.spec.args[i].name, str(err)
    assert f"argument '{err.argument}'" in str(err)
    if position is not None:
        assert err.position == position, str(err)
        assert position in str(err)
        # the structured location (issue 10 item 3): the position text is derived from it, never parsed
        assert err.location is not None, str(err)
        assert (err.location.row, err.location.col) == loc, str(err)


@pytest.mark.parametrize("case,target,bad,value,container", _bad_params())
def test_a_bad_cell_raises_the_typed_error_naming_where(case, target, bad, value, container):
    values, position, loc = _put(case, target, value, container)
    expected = k.KPIErrorValue if bad == "error" else EXPECTED[(target[3], bad)]
    with pytest.raises(k.KPIError) as info:
        case.call(values)
    err = info.value
    assert type(err) is expected, f"{type(err).__name__} (expected {expected.__name__}): {err}"
    if bad == "error":
        assert err.excel_error == value  # the error value propagates unchanged
    else:
        assert err.excel_error == ("#NUM!" if expected is k.KPIDomainError else "#VALUE!")
        assert repr(value) in str(err), str(err)
    _check_where(err, case, target[0], position, loc)


# ---------------------------------------------------------------- invariances
def _permutation(n: int) -> np.ndarray:
    p = np.random.default_rng(n).permutation(n)
    while n > 1 and (p == np.arange(n)).all():
        p = np.roll(p, 1)
    return p


def _permute(a: ArgIn) -> tuple[Any, np.ndarray]:
    if a.is_table:
        p = _permutation(len(a.value) - 1)
        body = a.value[1:]
        return [a.value[0]] + [body[i] for i in p], p
    p = _permutation(len(a.value))
    return [a.value[i] for i in p], p


@pytest.mark.parametrize("case", _cases("row permutation"))
def test_permuting_the_rows_of_aligned_arguments(case):
    """Row order carries no meaning: scalars and tables are unchanged, a per-row column is permuted alike."""
    base = case.call()
    values = case.values()
    perms = {}
    for i, a in enumerate(case.args):
        if a.layout == "rows" and a.is_range:
            values[i], perms[i] = _permute(a)
            assert values[i] != a.value
    assert perms, "no per-row argument to permute"
    res = case.call(values)
    rtol = _rtol(case)
    if case.spec.shape == "column":
        (p,) = {tuple(p) for p in perms.values()}  # one aligned permutation
        _result_equal(np.asarray(base, dtype=float)[list(p)], res, rtol)
    elif case.spec.excel_name in ROW_ORDER_FOLLOWS_INPUT:
        key = list(base.columns)
        _result_equal(base.sort_values(key, ignore_index=True), res.sort_values(key, ignore_index=True), rtol)
    else:
        _result_equal(base, res, rtol)


def _split_rows(a: ArgIn) -> list[Any]:
    """A table with every row whose summed cell holds a number split into two rows (a quarter, three quarters)."""
    j = TABLE_SUMMED_COLUMN[a.domain]
    out = [a.value[0]]
    for n, r in enumerate(a.value[1:]):
        if r[j] is None:
            out.append(list(r))
        else:
            first = r[j] / 4 if n % 2 else r[j] / 2  # uneven shares: no part is a fixed share of the whole
            out += [r[:j] + [first] + r[j + 1:], r[:j] + [r[j] - first] + r[j + 1:]]
    return out


def _split(v: Any, whole: bool = False) -> list[Any]:
    flat = v if isinstance(v, list) else [v]
    out: list[Any] = []
    for n, x in enumerate(flat):
        first = None if x is None else x / 4 if n % 2 else x / 2
        if whole and first is not None:
            first = math.floor(first)  # counts of trials stay whole numbers
        out += [None] if x is None else [first, x - first]  # exact for these values
    return out


def _total(v: Any) -> float:
    flat = v if isinstance(v, list) else [v]
    return float(sum(x for x in flat if x is not None))


@pytest.mark.parametrize("how", ["split", "total"])
@pytest.mark.parametrize("case", _cases("split a summed argument"))
def test_splitting_a_summed_argument(case, how):
    """Aggregate, then divide: a summed range split into more cells, or given as its total, gives the same KPI."""
    base = case.call()
    idx = [i for i, arg in enumerate(case.spec.args[: len(case.args)]) if arg.name in SUMMED[case.spec.excel_name]
           and case.args[i].domain != "default"]
    assert idx, "no summed argument in the call"
    for i in idx:
        values = case.values()
        a = case.args[i]
        if a.is_table:
            if how == "total":
                continue  # a table has no total form; its rows are split
            values[i] = _split_rows(a)
            assert len(values[i]) > len(a.value)
        else:
            whole = case.spec.excel_name in WHOLE_COUNTS
            values[i] = _split(values[i], whole) if how == "split" else _total(values[i])
        _result_equal(base, case.call(values), 0.0)


def _scale(a: ArgIn, f: float) -> Any:
    cols = a.money_columns
    if cols is None:
        return a.value

    def s(x: Any) -> Any:
        return x * f if isinstance(x, (int, float)) and not isinstance(x, bool) else x

    if a.is_table:
        return [a.value[0]] + [[s(x) if j in cols else x for j, x in enumerate(r)] for r in a.value[1:]]
    if a.is2d:
        return [[s(x) for x in r] for r in a.value]
    if isinstance(a.value, list):
        return [s(x) if not cols or j in cols else x for j, x in enumerate(a.value)]
    return s(a.value)


#: functions whose only money argument is optional: their calls without it have nothing to scale
OPTIONAL_MONEY = frozenset({"KPI_RFM_SUMMARY"})


def _money_cases() -> list[Any]:
    return [p for p in _cases("scale money") if p.values[0].spec.excel_name not in OPTIONAL_MONEY
            or any(a.money_columns is not None for a in p.values[0].args)]


def test_every_function_with_optional_money_is_scaled_in_some_call():
    scaled = {p.values[0].spec.excel_name for p in _money_cases()}
    assert OPTIONAL_MONEY <= scaled and OPTIONAL_MONEY <= set(_tested("scale money"))


@pytest.mark.parametrize("factor", [4.0, 0.1])
@pytest.mark.parametrize("case", _money_cases())
def test_scaling_money(case, factor):
    """Money in the input's unit: scaling money inputs scales money results and leaves the others unchanged."""
    base = case.call()
    money = [i for i, a in enumerate(case.args) if a.money_columns is not None]
    assert money, "no money argument in the call"
    values = [_scale(a, factor) if i in money else a.value for i, a in enumerate(case.args)]
    res = case.call(values)
    rtol = max(_rtol(case), RTOL if factor != 4.0 else 0.0)
    name, unit = case.spec.excel_name, case.spec.unit
    if unit == "table":
        money_cols = RESULT_MONEY_COLUMNS[name]
        assert money_cols <= set(base.columns)
        want = base.copy()
        for col in money_cols:
            want[col] = base[col] * factor
        _result_equal(want, res, rtol)
    elif unit == "money":
        want = base * factor if case.spec.shape == "column" else type(base)(base * factor)
        _result_equal(want, res, rtol)
    else:
        assert unit in ("fraction", "ratio", "count", "months", "points", "number", "duration"), unit
        _result_equal(base, res, rtol)
