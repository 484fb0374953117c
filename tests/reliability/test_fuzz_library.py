"""Fuzzing every registry function in Python with spreadsheet-shaped junk.

For every function of ``kpi_functions.REGISTRY`` (never a hand list) hypothesis
generates calls from the function's registry example: resampled rows, junk
cells (blanks, text, booleans, NaN, ±inf, Excel error values, dates as text,
datetimes, huge and tiny numbers), ragged and mismatched ranges, a single cell
where a range is expected, header rows in odd places, 1-D and 2-D shapes, and
every Python container the library accepts. Each call must

- return a result that satisfies the function's invariants
  (``reliability_oracles.check_result``), or raise a clean ``KPIError`` whose
  message names the function — never another exception type;
- agree with the slow reference written from the SPEC where there is one
  (``reliability_oracles.REFERENCES``): the same value, or the same error class.

numpy's RuntimeWarnings (overflow on the way to a #NUM!) are silenced here; what
counts is the outcome of the call.
"""

from __future__ import annotations

import copy
import warnings

import pytest
from hypothesis import given, note
from reliability_figures import LIBRARY_EXAMPLES, count, examples_for, fuzz_settings
from reliability_oracles import REFERENCES, Broken, check_error, check_result, compare, is_blank
from reliability_strategies import call_case

import kpi_functions as k

SPECS = list(k.REGISTRY.values())
IDS = [s.excel_name for s in SPECS]


def test_the_registry_is_fuzzed_whole():
    """The fuzz is parametrised over the registry itself: nothing can be left out."""
    assert len(SPECS) == len(k.REGISTRY) >= 45
    assert IDS == list(k.REGISTRY)


def run_one(spec, case) -> tuple[str, object]:
    """Call the function once; check the answer. Returns (outcome, result or error)."""
    before = copy.deepcopy(case.raw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            result = spec.func(*case.args)
        except k.KPIError as err:
            check_error(spec, err)
            outcome, value = "error", err
        except Exception as err:
            raise AssertionError(
                f"{spec.excel_name} raised {type(err).__name__} (not a KPIError): {err}\n{case.describe()}"
            ) from err
        else:
            try:
                check_result(spec, case.raw, result)
            except Broken as err:
                raise AssertionError(f"{err}\n{case.describe()}") from None
            outcome, value = "result", result
    # the inputs are never mutated
    assert _same(case.raw, before), f"{spec.excel_name} mutated its input\n{case.describe()}"
    if spec.excel_name in REFERENCES:
        problem, decided = compare(spec.excel_name, case.raw, value if outcome == "result" else None,
                                   value if outcome == "error" else None)
        assert problem is None, f"{spec.excel_name}: {problem}\n{case.describe()}"
        if decided:
            count("library cases compared with a reference")
    return outcome, value


def _same(a, b) -> bool:
    """Structural equality of raw arguments (blanks of any kind equal themselves)."""
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if type(a) is not type(b):
        return False
    if is_blank(a) and is_blank(b):
        return True
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return a is b


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_fuzz_every_function(spec):
    outcomes = {"result": 0, "error": 0}

    @fuzz_settings(examples_for(spec.excel_name, LIBRARY_EXAMPLES))
    @given(call_case(spec))
    def fuzz(case):
        note(case.describe())
        outcome, _ = run_one(spec, case)
        outcomes[outcome] += 1
        count("library cases", detail=spec.excel_name)
        count(f"library {outcome}s")

    fuzz()
    # the fuzz must reach valid inputs too, not only errors
    assert outcomes["result"] > 0, f"{spec.excel_name}: no generated case was valid; the strategy needs work"
