"""BC_ROLLUP, BC_SELECT and BC_FRONTIER through xlwings' Office.js runtime.

Every call goes through ``xlwings.server.custom_functions_call`` with the body
Excel's custom-functions client sends (``tests/officejs.py``): each argument a
2-D list (a range as rows of cells, a single cell as ``[[x]]``, an omitted
optional argument as ``None``). Results must equal the engine
(:mod:`udfs.portfolio`) on the same numbers; bad input must come back as
``#VALUE!`` whose reason names the argument (a raised ``InputError``, which the
client shows on the cell's error flag), and an error cell is passed on.
"""

from __future__ import annotations

import numpy as np
import pytest
from officejs import FUNCTION_ARGUMENTS, cell, column, error_cell, error_result, row
from officejs import call as officejs_call

from udfs.errors import InputError
from udfs.portfolio import frontier, rollup_table, select

TABLE = [
    ["ID", "Product line", "Stage", "NPV", "Capital"],
    ["alpha", "Analytics", "growth", 1_200_000.0, 400_000.0],
    ["beta", "Devices", "concept", -150_000.0, 900_000.0],
    ["gamma", "Analytics", "mature", 830_000.5, 0.0],
    ["delta", "Payments", "growth", 2_500_000.0, 1_750_000.0],
    ["eps", "Devices", "decline", 90_000.0, 25_000.0],
]


def call(func_name: str, *args):
    """Call as Excel does: every argument present, an omitted optional one as None."""
    missing = len(FUNCTION_ARGUMENTS[func_name]) - len(args)
    return officejs_call(func_name, *args, *[None] * missing)


def _engine_table(frame) -> list[list]:
    return [list(frame.columns), *frame.values.tolist()]


# --- BC_ROLLUP --------------------------------------------------------------------------


def test_rollup_by_group_equals_the_engine_with_headers_and_total_row():
    got = call("BC_ROLLUP", TABLE, cell("Product line"), None)
    expected = _engine_table(rollup_table(TABLE[0], TABLE[1:], "Product line"))
    assert got == expected
    assert got[0] == ["Product line", "NPV", "Capital"]
    assert [r[0] for r in got[1:]] == ["Analytics", "Devices", "Payments", "Total"]
    assert got[1][1:] == [2_030_000.5, 400_000.0]
    assert got[-1][1:] == [4_470_000.5, 3_075_000.0]


def test_rollup_without_group_is_one_total_row_of_every_numeric_column():
    got = call("BC_ROLLUP", TABLE, None, None)
    assert got == [["group", "NPV", "Capital"], ["Total", 4_470_000.5, 3_075_000.0]]


def test_rollup_of_chosen_measures_sums_only_those():
    got = call("BC_ROLLUP", TABLE, cell("Stage"), row(["Capital"]))
    assert got == _engine_table(rollup_table(TABLE[0], TABLE[1:], "Stage", ["Capital"]))
    assert got[0] == ["Stage", "Capital"]


def test_rollup_reads_blank_cells_as_zero_and_a_blank_group_as_its_own():
    table = [["Line", "NPV"], ["A", 10.0], ["A", None], [None, 5.0]]
    assert call("BC_ROLLUP", table, cell("Line"), None) == [
        ["Line", "NPV"],
        ["A", 10.0],
        ["", 5.0],
        ["Total", 15.0],
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([TABLE[:1], None, None], r"^table: needs a header row and at least one data row"),
        ([TABLE, cell("Region"), None], r"^group_by: no column named 'Region'"),
        ([TABLE, None, row(["NPV", "Margin"])], r"^measures: no column named 'Margin'"),
        ([[["a", "a"], [1.0, 2.0]], None, None], r"^table: column names must be unique"),
        ([[TABLE[0], ["x", "A", "growth", error_cell("#VALUE!"), 1.0]], None, None], r"^table:"),
    ],
    ids=["header_only", "unknown_group", "unknown_measure", "duplicate_headers", "value_error"],
)
def test_rollup_bad_table_is_value_error_naming_the_argument(args, message):
    with pytest.raises(InputError, match=message):
        call("BC_ROLLUP", *args)


def test_rollup_passes_on_an_error_cell_in_the_table():
    table = [TABLE[0], ["x", "A", "growth", error_cell("#DIV/0!"), 1.0]]
    assert call("BC_ROLLUP", table, None, None) == error_result("#DIV/0!")


# --- BC_SELECT ---------------------------------------------------------------------------


def test_select_returns_the_one_zero_column_of_the_engines_choice():
    got = call("BC_SELECT", column([10.0, 7.0, 6.0]), column([5.0, 4.0, 3.0]), cell(7.0))
    assert got == [[0], [1], [1]]


def _random_instance(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    n, years = 12, 3
    costs = rng.integers(0, 20, (n, years)).astype(float)
    return {
        "values": np.round(rng.uniform(-0.3, 1.0, n) * 1e6, 2),
        "costs": costs,
        "budget": np.floor(costs.sum(axis=0) * 0.5),
        "mandatory": [False, False, True] + [False] * (n - 3),
        "groups": ["a", "a", None, "b", None, "b", "b", None, None, None, None, None],
        "depends_on": [-1, -1, -1, -1, 3, -1, -1, 0, -1, -1, 8, -1],  # 0-based
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_select_with_every_constraint_equals_the_engine(seed):
    inst = _random_instance(seed)
    got = call(
        "BC_SELECT",
        column(inst["values"].tolist()),
        inst["costs"].tolist(),  # one column per year
        row(inst["budget"].tolist()),
        column([1 if m else 0 for m in inst["mandatory"]]),
        column(inst["groups"]),  # None: a blank cell
        column([None if i < 0 else i + 1 for i in inst["depends_on"]]),  # Excel row numbers
    )
    expected = select(
        inst["values"],
        inst["costs"],
        inst["budget"],
        inst["mandatory"],
        inst["groups"],
        inst["depends_on"],
    )
    assert got == [[int(x)] for x in expected]
    assert got[2] == [1]  # the mandatory one


def test_select_reads_true_false_as_mandatory_and_a_row_of_values():
    got = call(
        "BC_SELECT",
        row([10.0, 7.0, 6.0]),
        column([5.0, 4.0, 3.0]),
        cell(7.0),
        row([True, False, False]),
        None,
        None,
    )
    assert got == [[1], [0], [0]]


def test_select_dependency_is_by_row_number():
    # row 3 needs row 1: funding row 3 alone is not allowed
    args = column([1.0, 5.0, 9.0]), column([6.0, 3.0, 3.0]), cell(6.0), None, None
    assert call("BC_SELECT", *args, column([None, None, 1])) == [[0], [1], [0]]
    assert call("BC_SELECT", *args, None) == [[0], [1], [1]]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            [column([10.0, 7.0, 6.0]), column([5.0, 4.0]), cell(7.0)],
            r"^costs: need one row per project \(3\); got 2",
        ),
        (
            [column([10.0, 7.0]), column([5.0, "x"]), cell(7.0)],
            r"^costs: expected a number; got 'x'",
        ),
        (
            [column([10.0, 7.0]), column([5.0, 4.0]), cell("lots")],
            r"^budget: expected a number; got 'lots'",
        ),
        (
            [column([10.0, 7.0]), column([5.0, 4.0]), row([7.0, 1.0])],
            r"^budget: one number or one per cost column \(1\); got 2",
        ),
        (
            [column([10.0, 7.0]), column([5.0, 4.0]), cell(7.0), column([1])],
            r"^mandatory: need one cell per project \(2\); got 1",
        ),
        (
            [column([10.0, 7.0]), column([5.0, 4.0]), cell(7.0), None, column(["g"] * 3)],
            r"^groups: need one cell per project \(2\); got 3",
        ),
        (
            [column([10.0, 7.0]), column([5.0, 4.0]), cell(7.0), None, None, column(["a", None])],
            r"^depends_on: expected a number; got 'a'",
        ),
        (
            [column([10.0, 7.0]), column([5.0, 4.0]), cell(7.0), column([1, 1])],
            r"^mandatory: the mandatory projects alone exceed the budget",
        ),
        (
            [column(["x", None]), column([5.0, 4.0]), cell(7.0)],
            r"^values: expected a number; got .x.",
        ),
    ],
    ids=[
        "costs_rows",
        "costs_text",
        "budget_text",
        "budget_columns",
        "mandatory_length",
        "groups_length",
        "depends_on_text",
        "mandatory_over_budget",
        "no_values",
    ],
)
def test_select_bad_input_is_value_error_naming_the_argument(args, message):
    with pytest.raises(InputError, match=message):
        call("BC_SELECT", *args)


def test_select_blank_value_is_value_error_naming_values():
    """A blank NPV leaves one project without a value; the reason must point at
    values, not at costs (which are fine)."""
    with pytest.raises(InputError, match=r"^values:"):
        call("BC_SELECT", column([10.0, None, 6.0]), column([5.0, 4.0, 3.0]), cell(7.0))


def test_select_dependency_on_a_missing_row_names_the_row_number_the_user_gave():
    """Row 2 needs row 7 of 2 projects: the reason must speak of row 7 (what the
    cell holds), not of the engine's 0-based index 6."""
    with pytest.raises(InputError, match=r"^depends_on: .*\b7\b") as raised:
        call(
            "BC_SELECT",
            column([10.0, 7.0]),
            column([5.0, 4.0]),
            cell(7.0),
            None,
            None,
            column([None, 7]),
        )
    assert "6" not in str(raised.value)


def test_select_infeasible_constraints_is_value_error_naming_the_arguments():
    """Two mandatory projects in one exclusive group: no funded set exists. The
    reason must say where the conflict is (mandatory/groups), as every other
    reason does, rather than only the solver's status."""
    with pytest.raises(InputError, match=r"^(mandatory|groups)\b"):
        call(
            "BC_SELECT",
            column([10.0, 7.0]),
            column([5.0, 4.0]),
            cell(9.0),
            column([True, True]),
            column(["g", "g"]),
            None,
        )


def test_select_passes_on_an_error_cell_in_values():
    got = call(
        "BC_SELECT", column([10.0, error_cell("#N/A"), 6.0]), column([5.0, 4.0, 3.0]), cell(7.0)
    )
    assert got == error_result("#N/A")


# --- BC_FRONTIER ---------------------------------------------------------------------------


@pytest.mark.parametrize("points", [None, 2, 7])
def test_frontier_equals_the_engine_over_budgets_from_zero_to_the_total(points):
    inst = _random_instance(4)
    got = call(
        "BC_FRONTIER",
        column(inst["values"].tolist()),
        inst["costs"].tolist(),
        None if points is None else cell(points),
    )
    k = 11 if points is None else points
    total = inst["costs"].sum()
    curve = frontier(inst["values"], inst["costs"], np.linspace(0.0, total, k))
    assert got[0] == ["Budget", "Value", "Capital used", "Projects"]
    assert len(got) == k + 1
    for got_row, point in zip(got[1:], curve.itertuples(index=False), strict=True):
        assert got_row[0] == pytest.approx(point.budget, rel=1e-12)
        assert got_row[1:] == [point.value, point.capital_used, point.projects]
    values = [r[1] for r in got[1:]]
    assert values == sorted(values)
    assert got[-1][0] == pytest.approx(total)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([column([10.0, 7.0]), column([5.0, 4.0]), cell(1)], r"^points: must be from 2 to 201"),
        ([column([10.0, 7.0]), column([5.0, 4.0]), cell(500)], r"^points: must be from 2 to 201"),
        ([column([10.0, 7.0]), column([5.0, 4.0]), cell("many")], r"^points: expected a number"),
        ([column([10.0, 7.0]), column([5.0, 4.0, 3.0]), None], r"^costs: need one row per"),
        ([column([None, "x"]), column([5.0, 4.0]), None], r"^values: the range holds no numbers"),
    ],
    ids=["too_few_points", "too_many_points", "points_text", "costs_rows", "no_values"],
)
def test_frontier_bad_input_is_value_error_naming_the_argument(args, message):
    with pytest.raises(InputError, match=message):
        call("BC_FRONTIER", *args)
