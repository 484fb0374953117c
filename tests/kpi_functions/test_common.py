"""Common tests run over every registered KPI (in the spirit of scikit-learn's
metrics common tests): the registry is complete, every function takes every
input format and gives the same answer, never mutates its inputs, and reports
empty, textual and error-valued input the same way.
"""

from __future__ import annotations

import copy
import inspect
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import kpi_functions as k
from kpi_functions import _docs

# The catalog of SPEC §4, written out here as the independent oracle that the
# registry is complete (the registry itself is the only list the code uses).
CATALOG = """
MRR ARR ARPU GROWTH_RATE CMGR MARGIN NET_UPSELL MRR_MOVEMENTS MRR_SCHEDULE
CHURN_RATE CHURN_CUSTOMERS CHURN_REVENUE RETENTION_RATE NRR GRR EXPANSION_RATE EXPANSION_MRR_GROWTH
NEW_CUSTOMERS UPSELL_RATE CROSS_SELL_RATE QUICK_RATIO COHORT_RETENTION SURVIVAL_CURVE SBG_FIT RETENTION_FORECAST
CAC CAC_PCT CLV CLV_LIFESPAN LTV_CAC CAC_PAYBACK REPEAT_PURCHASE_RATE BGNBD_FIT CLV_BGNBD
CONVERSION_RATE CPA ROI ROAS
NPS NPS_BREAKDOWN NPS_MOE CSAT HEALTH_SCORE
STICKINESS AVG_DURATION
""".split()

SPECS = list(k.REGISTRY.values())
IDS = [s.excel_name for s in SPECS]


def test_catalog_has_45_functions():
    assert len(CATALOG) == 45 and len(set(CATALOG)) == 45


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
    assert spec.example, "every KPI needs a registry example (docs, task pane, common tests)"
    doc = inspect.getdoc(spec.func)
    for section in ("Parameters", "Returns", "Examples"):
        assert section in doc, f"{spec.name} docstring lacks {section}"
    for a in spec.args:
        assert a.help, a.name
    params = inspect.signature(spec.func).parameters
    assert all(p.kind is p.POSITIONAL_OR_KEYWORD for p in params.values())


# ---------------------------------------------------------------- helpers
def _result_equal(a, b):
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True), check_dtype=False)
    elif isinstance(a, (pd.Series, np.ndarray)):
        np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), rtol=1e-9, equal_nan=True)
    else:
        assert type(a) is type(b)
        assert a == pytest.approx(b, rel=1e-9, nan_ok=True)


def _range_args(spec):
    return [i for i, a in enumerate(spec.args[: len(spec.example)]) if a.is_range and isinstance(spec.example[i], list)]


def _as_nested_none(v):
    """Excel-style: a 2-D list of rows (single column for a 1-D list)."""
    if v and isinstance(v[0], list):
        return [list(r) for r in v]
    return [[x] for x in v]


def _as_ndarray(v):
    arr = np.array(v, dtype=object)
    try:
        num = arr.astype(float)
        if all((x is None) or (isinstance(x, (int, float)) and not isinstance(x, bool)) for x in arr.reshape(-1)):
            return num
    except (TypeError, ValueError):
        pass
    return arr


def _as_pandas(v):
    if v and isinstance(v[0], list):
        return pd.DataFrame(v, columns=[f"c{i}" for i in range(len(v[0]))])
    return pd.Series(v, dtype=object if any(isinstance(x, str) for x in v) else None)


CONVERTERS = {"nested": _as_nested_none, "ndarray": _as_ndarray, "pandas": _as_pandas}


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_example_runs_and_returns_the_documented_type(spec):
    res = spec.func(*spec.example)
    if spec.shape == "scalar":
        assert type(res) in (float, int), type(res)
        if spec.unit == "count":
            assert type(res) is int
    elif spec.shape in ("table", "labelled"):
        assert isinstance(res, pd.DataFrame)
        if spec.shape == "labelled":
            assert list(res.columns) == ["label", "value"]
    else:
        assert isinstance(res, (pd.Series, np.ndarray))


@pytest.mark.parametrize("conv", list(CONVERTERS))
@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_same_answer_for_every_input_format(spec, conv):
    base = spec.func(*spec.example)
    idx = _range_args(spec)
    if not idx:
        pytest.skip("no range arguments in the example")
    args = list(spec.example)
    for i in idx:
        v = args[i]
        if conv == "nested" and not (v and isinstance(v[0], list)) and spec.args[i].kind == "table":
            continue
        args[i] = CONVERTERS[conv](v)
    _result_equal(base, spec.func(*args))


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_inputs_are_not_mutated(spec):
    args = [_as_ndarray(a) if isinstance(a, list) else a for a in spec.example]
    args += [_as_pandas(a) for a in spec.example if isinstance(a, list)]
    args = args[: len(spec.example)]
    before = copy.deepcopy(args)
    spec.func(*args)
    for a, b in zip(args, before):
        if isinstance(a, pd.DataFrame):
            pd.testing.assert_frame_equal(a, b)
        elif isinstance(a, pd.Series):
            pd.testing.assert_series_equal(a, b)
        elif isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b)
        else:
            assert a == b


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_empty_input_is_undefined(spec):
    idx = [i for i, a in enumerate(spec.args) if a.is_range and not a.optional]
    args = list(spec.example)
    args[idx[0]] = []
    with pytest.raises(k.KPIUndefinedError) as info:
        spec.func(*args)
    assert info.value.excel_error == "#DIV/0!"
    assert spec.excel_name in str(info.value)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_all_blank_input_is_undefined(spec):
    idx = [i for i, a in enumerate(spec.args) if a.is_range and not a.optional]
    args = list(spec.example)
    v = args[idx[0]]
    if isinstance(v, list) and v and isinstance(v[0], list):
        args[idx[0]] = [[None] * len(v[0]) for _ in v]
    else:
        args[idx[0]] = [None, None, None]
    with pytest.raises(k.KPIUndefinedError):
        spec.func(*args)


def _first_numeric_cell(spec):
    """(arg index, row, col or None) of the first numeric cell in a 'range' argument."""
    for i, a in enumerate(spec.args[: len(spec.example)]):
        if a.kind != "range":
            continue
        v = spec.example[i]
        if isinstance(v, list):
            if v and isinstance(v[0], list):
                for r, row in enumerate(v):
                    for cidx, x in enumerate(row):
                        if isinstance(x, (int, float)) and not isinstance(x, bool):
                            return i, r, cidx
            else:
                for r, x in enumerate(v):
                    if isinstance(x, (int, float)) and not isinstance(x, bool):
                        return i, r, None
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            return i, None, None
    return None


def _replace(spec, value):
    loc = _first_numeric_cell(spec)
    if loc is None:
        return None
    i, r, cidx = loc
    args = copy.deepcopy(list(spec.example))
    if r is None:
        args[i] = value
    elif cidx is None:
        args[i][r] = value
    else:
        args[i][r][cidx] = value
    return args, spec.args[i].name


@pytest.mark.parametrize("bad", ["abc", "5", True])
@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_text_or_boolean_where_a_number_is_needed_is_a_value_error(spec, bad):
    got = _replace(spec, bad)
    if got is None:
        pytest.skip("no numeric range argument")
    args, argname = got
    with pytest.raises(k.KPIInputError) as info:
        spec.func(*args)
    err = info.value
    assert err.excel_error == "#VALUE!"
    msg = str(err)
    assert spec.excel_name in msg and argname in msg and repr(bad) in msg


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_error_value_in_the_input_propagates(spec):
    got = _replace(spec, "#N/A")
    if got is None:
        pytest.skip("no numeric range argument")
    args, _ = got
    with pytest.raises(k.KPIErrorValue) as info:
        spec.func(*args)
    assert info.value.excel_error == "#N/A"


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_infinity_is_out_of_domain(spec):
    got = _replace(spec, math.inf)
    if got is None:
        pytest.skip("no numeric range argument")
    args, _ = got
    with pytest.raises(k.KPIDomainError) as info:
        spec.func(*args)
    assert info.value.excel_error == "#NUM!"


def test_function_reference_is_in_sync_with_the_registry():
    path = Path(__file__).resolve().parents[2] / "docs" / "functions.md"
    assert path.read_text(encoding="utf-8") == _docs.render_markdown(), (
        "docs/functions.md is stale: run  python -m kpi_functions._docs docs/functions.md"
    )
