"""Errors carry a structured location; the position text is derived from it."""

from __future__ import annotations

import numpy as np
import pytest

import kpi_functions as k
from kpi_functions import KPIDomainError, KPIErrorValue, KPIInputError, Location


class TestLocation:
    def test_text_of_an_item_and_a_cell(self):
        assert Location(3).text == "item 3"
        assert Location(4, 2).text == "row 4, column 2"
        assert Location(4, 2, "user_id").text == "row 4, column 2 (user_id)"
        assert str(Location(1)) == "item 1"

    def test_an_error_derives_its_position_from_the_location(self):
        err = KPIDomainError("KPI_X", "must not be negative", argument="a", location=Location(2), value=-1,
                             has_value=True)
        assert err.location == Location(2) and err.position == "item 2"
        assert str(err) == "KPI_X: argument 'a', item 2: -1 must not be negative"

    def test_a_location_may_be_given_as_position(self):
        err = KPIInputError("KPI_X", "is text", argument="a", position=Location(1, 2))
        assert err.location == Location(1, 2) and err.position == "row 1, column 2"

    def test_a_position_text_alone_stays_valid(self):
        err = KPIErrorValue("KPI_X", "#N/A", argument="a", position="row 2, column 1")
        assert err.location is None and err.position == "row 2, column 1"
        assert str(err) == "KPI_X: argument 'a', row 2, column 1: the input holds the error #N/A"

    def test_no_location(self):
        err = KPIInputError("KPI_X", "is wrong")
        assert err.location is None and err.position is None and str(err) == "KPI_X: is wrong"

    def test_library_errors_carry_a_location(self):
        with pytest.raises(KPIDomainError) as info:
            k.nps([10, -1])
        assert info.value.location == Location(2) and info.value.position == "item 2"
        with pytest.raises(KPIErrorValue) as info2:
            k.nps([[10], ["#N/A"]])
        assert info2.value.location == Location(2, 1)


class TestRelocation:
    def test_reanchored_onto_a_tables_rows(self):
        err = KPIDomainError("KPI_X", "must not be negative", argument="a", location=Location(2), value=-1,
                             has_value=True)
        moved = err.reanchored(np.array([5, 7, 9]), 3)
        assert type(moved) is KPIDomainError and moved.location == Location(7, 3)
        assert str(moved) == "KPI_X: argument 'a', row 7, column 3: -1 must not be negative"
        assert moved.excel_error == "#NUM!" and moved.value == -1
        assert err.location == Location(2)  # the original is unchanged

    def test_reanchored_keeps_an_error_values_code(self):
        err = KPIErrorValue("KPI_X", "#REF!", argument="a", location=Location(1))
        moved = err.reanchored([10], None, argument="b")
        assert type(moved) is KPIErrorValue and moved.excel_error == "#REF!"
        assert str(moved) == "KPI_X: argument 'b', item 10: the input holds the error #REF!"

    def test_relocated_keeps_the_location_unless_given(self):
        err = KPIInputError("KPI_X", "is text", argument="a", position="row 2")
        same = err.relocated(reason="is other text")
        assert same.position == "row 2" and str(same) == "KPI_X: argument 'a', row 2: is other text"
        gone = err.relocated(None)
        assert gone.position is None and gone.location is None
