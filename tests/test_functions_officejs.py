"""The BC_ Excel functions through xlwings' Office.js runtime (xlwings Lite / Server).

Each call goes through ``xlwings.server.custom_functions_call`` with the body
Excel's custom-functions client sends (see ``tests/officejs.py``), so argument
conversion, optional-argument defaults and error values are xlwings' own.
Results are compared with the engine (:mod:`udfs.finance`) on the same numbers,
or with Microsoft's published worked examples.
"""

from __future__ import annotations

import datetime as dt

import pytest
import xlwings.server
from officejs import (
    FUNCTION_ARGUMENTS,
    OPTIONAL_ARGUMENTS,
    call,
    cell,
    column,
    error_cell,
    error_result,
    row,
    serial,
)

import udfs.functions
from udfs import finance
from udfs.errors import InputError

SHAPES = {"row": row, "column": column}

FLOWS = [-40_000.0, 5_000.0, 8_000.0, 12_000.0, 30_000.0]
DATES = [dt.date(2020, 1, 1), dt.date(2020, 7, 15), dt.date(2021, 3, 1), dt.date(2022, 1, 1)]
DATED_FLOWS = [-1_000.0, 300.0, 400.0, 600.0]
SERIALS = [serial(d) for d in DATES]


@pytest.fixture(params=sorted(SHAPES))
def shape(request):
    """A range laid out as a row or as a column: both must give the same result."""
    return SHAPES[request.param]


def _value(result):
    """The single value of a 1 x 1 result."""
    assert isinstance(result, list) and len(result) == 1 and len(result[0]) == 1, result
    return result[0][0]


# --- normal calls equal the engine -------------------------------------------

# (function, arguments with ranges as lists, engine on the same numbers)
RANGE_CASES = {
    "npv_business_case_default": (
        "BC_NPV",
        [0.08, FLOWS, None],
        lambda: finance.npv(0.08, FLOWS),
    ),
    "npv_first_period_0": ("BC_NPV", [0.08, FLOWS, 0], lambda: finance.npv(0.08, FLOWS)),
    "npv_first_period_1_is_excel_npv": (
        "BC_NPV",
        [0.08, FLOWS, 1],
        lambda: finance.excel_npv(0.08, FLOWS),
    ),
    "xnpv": (
        "BC_XNPV",
        [0.1, DATED_FLOWS, SERIALS],
        lambda: finance.xnpv(0.1, DATED_FLOWS, DATES),
    ),
    "irr": ("BC_IRR", [FLOWS, None], lambda: finance.irr(FLOWS)),
    "irr_guess_picks_the_nearer_root": (
        "BC_IRR",
        [[-100.0, 230.0, -132.0], 0.25],
        lambda: finance.irr([-100.0, 230.0, -132.0], 0.25),
    ),
    "xirr": ("BC_XIRR", [DATED_FLOWS, SERIALS, None], lambda: finance.xirr(DATED_FLOWS, DATES)),
    "xirr_guess": (
        "BC_XIRR",
        [DATED_FLOWS, SERIALS, 0.3],
        lambda: finance.xirr(DATED_FLOWS, DATES, 0.3),
    ),
    "mirr": ("BC_MIRR", [FLOWS, 0.1, 0.12], lambda: finance.mirr(FLOWS, 0.1, 0.12)),
    "payback": ("BC_PAYBACK", [FLOWS], lambda: finance.payback(FLOWS)),
    "dpayback": ("BC_DPAYBACK", [0.08, FLOWS], lambda: finance.discounted_payback(0.08, FLOWS)),
    "roi": ("BC_ROI", [FLOWS], lambda: finance.roi(FLOWS)),
    "pi": ("BC_PI", [0.08, FLOWS], lambda: finance.profitability_index(0.08, FLOWS)),
    "enpv": (
        "BC_ENPV",
        [0.1, [-100.0, -50.0, 80.0, 120.0], [0, 0, 1, 2], [0.6, 0.5]],
        lambda: finance.enpv(0.1, [-100.0, -50.0, 80.0, 120.0], [0, 0, 1, 2], [0.6, 0.5]),
    ),
}


def _excel_args(args, shape):
    """Lists become ranges in ``shape``; scalars become single cells (None stays omitted)."""
    return [shape(a) if isinstance(a, list) else (None if a is None else cell(a)) for a in args]


@pytest.mark.parametrize("case", sorted(RANGE_CASES))
def test_range_function_equals_engine_for_row_and_column(case, shape):
    func_name, args, engine = RANGE_CASES[case]
    result = call(func_name, *_excel_args(args, shape))
    assert _value(result) == pytest.approx(engine(), rel=1e-12)


def test_npv_reads_a_block_row_by_row():
    block = [[-40_000.0, 5_000.0], [8_000.0, 12_000.0], [30_000.0, None]]
    result = call("BC_NPV", cell(0.08), block, None)
    assert _value(result) == pytest.approx(finance.npv(0.08, FLOWS), rel=1e-12)


SCALAR_CASES = {
    "ecv": ("BC_ECV", [30.0, 0.8, 0.5, 5.0, 3.0], lambda: finance.ecv(30.0, 0.8, 0.5, 5.0, 3.0)),
    "cagr": ("BC_CAGR", [100.0, 121.0, 2.0], lambda: finance.cagr(100.0, 121.0, 2.0)),
    "ltv_default_rate": ("BC_LTV", [100.0, 0.8, 0.05, None], lambda: finance.ltv(100, 0.8, 0.05)),
    "ltv_with_rate": (
        "BC_LTV",
        [100.0, 0.8, 0.05, 0.01],
        lambda: finance.ltv(100.0, 0.8, 0.05, 0.01),
    ),
    "cac_payback": (
        "BC_CAC_PAYBACK",
        [1_200.0, 100.0, 0.8],
        lambda: finance.cac_payback(1_200.0, 100.0, 0.8),
    ),
}


@pytest.mark.parametrize("case", sorted(SCALAR_CASES))
def test_scalar_function_equals_engine(case):
    func_name, args, engine = SCALAR_CASES[case]
    result = call(func_name, *_excel_args(args, row))
    assert _value(result) == pytest.approx(engine(), rel=1e-12)


@pytest.mark.parametrize("horizon", [1, 3, 7])
def test_som_spills_one_row_of_horizon_years(horizon):
    args = [1_000.0, 0.1, 0.5, 0.2, 2.0, float(horizon)]
    result = call("BC_SOM", *(cell(a) for a in args))
    expected = finance.som(*args).tolist()
    assert len(result) == 1
    assert len(result[0]) == horizon
    assert result[0] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("func_name", "args", "position"),
    [
        ("BC_NPV", [0.08, FLOWS, None], 2),
        ("BC_IRR", [[-100.0, 230.0, -132.0], None], 1),
        ("BC_XIRR", [DATED_FLOWS, SERIALS, None], 2),
        ("BC_LTV", [100.0, 0.8, 0.05, None], 3),
    ],
)
def test_blank_cell_in_optional_argument_acts_as_omitted(func_name, args, position):
    omitted = _excel_args(args, row)
    blank = list(omitted)
    blank[position] = cell(None)
    assert call(func_name, *blank) == call(func_name, *omitted)


# --- Microsoft's worked examples ---------------------------------------------

MS_VALUES = [-10_000.0, 2_750.0, 4_250.0, 3_250.0, 2_750.0]
MS_DATES = [
    dt.date(2008, 1, 1),
    dt.date(2008, 3, 1),
    dt.date(2008, 10, 30),
    dt.date(2009, 2, 15),
    dt.date(2009, 4, 1),
]


def test_xnpv_matches_microsofts_worked_example(shape):
    # https://support.microsoft.com/en-us/office/xnpv-function-1b42bbf6-370f-4532-a0eb-d67c16b664b7
    # rate 9%, the five flows and dates above -> 2086.65 (dates sent as serial numbers,
    # which is what a date cell holds)
    dates = [serial(d) for d in MS_DATES]
    result = call("BC_XNPV", cell(0.09), shape(MS_VALUES), shape(dates))
    assert round(_value(result), 2) == 2086.65


def test_xirr_matches_microsofts_worked_example(shape):
    # https://support.microsoft.com/en-us/office/xirr-function-de1242ec-6477-445b-b11b-a303ad9adc9d
    # -> 0.373362535; Excel stops iterating once "accurate within 0.000001 percent"
    # (same page), so agreement is to 1e-8.
    dates = [serial(d) for d in MS_DATES]
    result = call("BC_XIRR", shape(MS_VALUES), shape(dates), None)
    assert _value(result) == pytest.approx(0.373362535, abs=1e-8)


def test_npv_first_period_1_matches_microsofts_npv_example():
    # https://support.microsoft.com/en-us/office/npv-function-8672cb67-2576-4d07-b67b-ac28acf2a568
    # NPV(10%, -10000, 3000, 4200, 6800) = 1188.44
    result = call("BC_NPV", cell(0.10), row([-10_000.0, 3_000.0, 4_200.0, 6_800.0]), cell(1))
    assert round(_value(result), 2) == 1188.44


def test_mirr_matches_microsofts_worked_example():
    # https://support.microsoft.com/en-us/office/mirr-function-b020f038-7492-4fb4-93c1-35c345b53524
    # MIRR(A2:A7, 10%, 12%) = 13% (after five years)
    flows = [-120_000.0, 39_000.0, 30_000.0, 21_000.0, 37_000.0, 46_000.0]
    result = call("BC_MIRR", column(flows), cell(0.10), cell(0.12))
    assert round(_value(result), 2) == 0.13


def test_xnpv_accepts_dates_sent_as_formatted_numbers():
    # A date-formatted value can arrive as a FormattedNumber cell value; its
    # basicValue is the serial number.
    dates = [
        {"type": "FormattedNumber", "basicValue": serial(d), "numberFormat": "m/d/yyyy"}
        for d in MS_DATES
    ]
    result = call("BC_XNPV", cell(0.09), row(MS_VALUES), row(dates))
    assert round(_value(result), 2) == 2086.65


# --- blanks, text and booleans inside a range are skipped --------------------

NOISE = [None, "n/a", "5", True, False]  # blank, text, a number as text, TRUE, FALSE


def _with_noise(numbers):
    """The numbers with a blank, text, numeric text and both booleans between them."""
    out = []
    for i, x in enumerate(numbers):
        out.append(x)
        if i < len(NOISE):
            out.append(NOISE[i])
    return out


SKIPPING_CASES = {
    "BC_NPV": (lambda v: [cell(0.08), v, None], lambda n: finance.npv(0.08, n)),
    "BC_IRR": (lambda v: [v, None], finance.irr),
    "BC_MIRR": (lambda v: [v, cell(0.1), cell(0.12)], lambda n: finance.mirr(n, 0.1, 0.12)),
    "BC_PAYBACK": (lambda v: [v], finance.payback),
    "BC_DPAYBACK": (lambda v: [cell(0.08), v], lambda n: finance.discounted_payback(0.08, n)),
    "BC_ROI": (lambda v: [v], finance.roi),
    "BC_PI": (lambda v: [cell(0.08), v], lambda n: finance.profitability_index(0.08, n)),
}


@pytest.mark.parametrize("func_name", sorted(SKIPPING_CASES))
def test_blanks_text_and_booleans_in_range_are_skipped(func_name, shape):
    make_args, engine = SKIPPING_CASES[func_name]
    noisy = _with_noise(FLOWS)
    assert len(noisy) == len(FLOWS) + len(NOISE)  # the noise really is in the range
    result = call(func_name, *make_args(shape(noisy)))
    assert _value(result) == pytest.approx(engine(FLOWS), rel=1e-12)


def test_enpv_blank_value_is_a_zero_flow_that_keeps_its_stage():
    values, stages = [-100.0, None, 80.0, 120.0], [0, 0, 1, 2]
    result = call("BC_ENPV", cell(0.1), row(values), row(stages), row([0.6, 0.5]))
    expected = finance.enpv(0.1, [-100.0, 0.0, 80.0, 120.0], stages, [0.6, 0.5])
    assert _value(result) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("func_name", ["BC_XNPV", "BC_XIRR"])
def test_dated_blank_value_is_a_zero_flow_on_its_date(func_name, shape):
    # Values and dates pair up cell by cell, so a blank cannot be skipped; it is
    # a zero flow, as LibreOffice reads it (udfs.functions.dated_flows).
    values = [-1_000.0, None, 400.0, 700.0]
    zeroed = [-1_000.0, 0.0, 400.0, 700.0]
    if func_name == "BC_XNPV":
        result = call(func_name, cell(0.1), shape(values), shape(SERIALS))
        expected = finance.xnpv(0.1, zeroed, DATES)
    else:
        result = call(func_name, shape(values), shape(SERIALS), None)
        expected = finance.xirr(zeroed, DATES)
    assert _value(result) == pytest.approx(expected, rel=1e-12)


def test_range_of_only_blanks_and_text_is_value_error_naming_values():
    with pytest.raises(InputError, match=r"^values: the range holds no numbers"):
        call("BC_PAYBACK", row([None, "x", True]))


@pytest.mark.parametrize(
    ("func_name", "args", "expected"),
    [
        # Excel's IRR over a range without numbers is #NUM! (no rate to find);
        # MIRR has no negative and no positive flow (#DIV/0!); NPV adds no terms (0).
        ("BC_IRR", [row([None, "x", True]), None], error_result("#NUM!")),
        ("BC_MIRR", [row([None, "x"]), cell(0.1), cell(0.1)], error_result("#DIV/0!")),
        ("BC_NPV", [cell(0.1), row([None, "x", False]), cell(1)], [[0.0]]),
    ],
    ids=["irr", "mirr", "npv"],
)
def test_range_without_numbers_gives_excels_answer(func_name, args, expected):
    assert call(func_name, *args) == expected


# --- error values in arguments are passed on ---------------------------------
# The module's contract (udfs/functions.py docstring; Excel's and LibreOffice's
# NPV behave the same): an error value in a range is passed on. IRR is the
# exception: Excel's IRR answers #VALUE! for any error in its values.

ERROR_IN_RANGE_CASES = {
    "npv_values": ("BC_NPV", lambda e: [cell(0.08), row([-100.0, e, 60.0]), None], "#DIV/0!"),
    "xnpv_values": (
        "BC_XNPV",
        lambda e: [cell(0.1), row([-1_000.0, e, 600.0]), row(SERIALS[:3])],
        "#DIV/0!",
    ),
    "xnpv_dates": (
        "BC_XNPV",
        lambda e: [cell(0.1), row(DATED_FLOWS[:3]), row([SERIALS[0], e, SERIALS[2]])],
        "#REF!",
    ),
    "xirr_dates": (
        "BC_XIRR",
        lambda e: [row(DATED_FLOWS[:3]), row([SERIALS[0], SERIALS[1], e]), None],
        "#N/A",
    ),
    "mirr_values": (
        "BC_MIRR",
        lambda e: [row([-100.0, e, 60.0, 70.0]), cell(0.1), cell(0.1)],
        "#DIV/0!",
    ),
    "payback_values": ("BC_PAYBACK", lambda e: [row([-100.0, 60.0, e, 60.0])], "#N/A"),
    "dpayback_values": ("BC_DPAYBACK", lambda e: [cell(0.1), row([-100.0, e, 90.0])], "#NUM!"),
    "roi_values": ("BC_ROI", lambda e: [row([-100.0, e, 150.0])], "#REF!"),
    "pi_values": ("BC_PI", lambda e: [cell(0.1), row([-100.0, e, 150.0])], "#NAME?"),
    "enpv_values": (
        "BC_ENPV",
        lambda e: [cell(0.1), row([-100.0, e, 150.0]), row([0, 0, 1]), row([0.5])],
        "#N/A",
    ),
    "enpv_probabilities": (
        "BC_ENPV",
        lambda e: [cell(0.1), row([-100.0, 150.0]), row([0, 1]), row([e])],
        "#DIV/0!",
    ),
}


@pytest.mark.parametrize("case", sorted(ERROR_IN_RANGE_CASES))
def test_error_value_in_range_is_passed_on(case):
    func_name, make_args, code = ERROR_IN_RANGE_CASES[case]
    assert call(func_name, *make_args(error_cell(code))) == error_result(code)


ERROR_IN_SCALAR_CASES = {
    "npv_rate": ("BC_NPV", [None, FLOWS, None], 0, "#N/A"),
    "xnpv_rate": ("BC_XNPV", [None, DATED_FLOWS, SERIALS], 0, "#DIV/0!"),
    "irr_guess": ("BC_IRR", [FLOWS, None], 1, "#NUM!"),
    "mirr_finance_rate": ("BC_MIRR", [FLOWS, None, 0.1], 1, "#N/A"),
    "dpayback_rate": ("BC_DPAYBACK", [None, FLOWS], 0, "#REF!"),
    "pi_rate": ("BC_PI", [None, FLOWS], 0, "#N/A"),
    "ecv_npv": ("BC_ECV", [None, 0.8, 0.5, 5.0, 3.0], 0, "#DIV/0!"),
    "cagr_end_value": ("BC_CAGR", [100.0, None, 2.0], 1, "#N/A"),
    "som_tam": ("BC_SOM", [None, 0.1, 0.5, 0.2, 2.0, 3.0], 0, "#N/A"),
    "ltv_churn": ("BC_LTV", [100.0, 0.8, None, None], 2, "#DIV/0!"),
    "cac_payback_cac": ("BC_CAC_PAYBACK", [None, 100.0, 0.8], 0, "#NUM!"),
}


@pytest.mark.parametrize("case", sorted(ERROR_IN_SCALAR_CASES))
def test_error_value_in_single_cell_argument_is_passed_on(case):
    func_name, args, position, code = ERROR_IN_SCALAR_CASES[case]
    excel_args = _excel_args(args, row)
    excel_args[position] = cell(error_cell(code))
    assert call(func_name, *excel_args) == error_result(code)


@pytest.mark.parametrize("code", ["#N/A", "#DIV/0!", "#REF!"])
def test_error_value_in_irr_values_is_value_error_naming_values(code):
    with pytest.raises(InputError, match=rf"^values: the range holds {code}"):
        call("BC_IRR", column([-100.0, error_cell(code), 60.0, 70.0]), None)


def test_value_error_in_range_is_value_error_naming_the_argument():
    with pytest.raises(InputError, match=r"^values: .*#VALUE!"):
        call("BC_NPV", cell(0.08), row([-100.0, error_cell("#VALUE!"), 60.0]), None)


# --- bad input: #VALUE! with the reason --------------------------------------

VALID_ARGS = {
    "BC_NPV": [0.08, FLOWS, None],
    "BC_XNPV": [0.1, DATED_FLOWS, SERIALS],
    "BC_IRR": [FLOWS, None],
    "BC_XIRR": [DATED_FLOWS, SERIALS, None],
    "BC_MIRR": [FLOWS, 0.1, 0.12],
    "BC_PAYBACK": [FLOWS],
    "BC_DPAYBACK": [0.08, FLOWS],
    "BC_ROI": [FLOWS],
    "BC_PI": [0.08, FLOWS],
    "BC_ENPV": [0.1, [-100.0, 150.0], [0, 1], [0.5]],
    "BC_ECV": [30.0, 0.8, 0.5, 5.0, 3.0],
    "BC_CAGR": [100.0, 121.0, 2.0],
    "BC_SOM": [1_000.0, 0.1, 0.5, 0.2, 2.0, 3.0],
    "BC_LTV": [100.0, 0.8, 0.05, None],
    "BC_CAC_PAYBACK": [1_200.0, 100.0, 0.8],
}
# Every argument that takes one number: (function, argument, position).
SCALAR_ARGUMENTS = [
    (func_name, name, position)
    for func_name, args in VALID_ARGS.items()
    for position, (name, value) in enumerate(zip(FUNCTION_ARGUMENTS[func_name], args, strict=True))
    if not isinstance(value, list)
]


def test_valid_arguments_are_valid():
    # The baseline that the bad-input tests below spoil one argument of.
    for func_name, args in VALID_ARGS.items():
        result = call(func_name, *_excel_args(args, row))
        assert all(isinstance(x, float) for x in result[0]), (func_name, result)


@pytest.mark.parametrize(
    ("func_name", "name", "position"),
    SCALAR_ARGUMENTS,
    ids=[f"{f}-{n}" for f, n, _ in SCALAR_ARGUMENTS],
)
def test_text_in_numeric_argument_is_value_error_naming_it(func_name, name, position):
    args = _excel_args(VALID_ARGS[func_name], row)
    args[position] = cell("ten percent")
    with pytest.raises(InputError, match=rf"^{name}: expected a number; got 'ten percent'"):
        call(func_name, *args)


REQUIRED_SCALARS = [a for a in SCALAR_ARGUMENTS if (a[0], a[1]) not in OPTIONAL_ARGUMENTS]


@pytest.mark.parametrize(
    ("func_name", "name", "position"),
    REQUIRED_SCALARS,
    ids=[f"{f}-{n}" for f, n, _ in REQUIRED_SCALARS],
)
def test_blank_required_argument_is_value_error_naming_it(func_name, name, position):
    args = _excel_args(VALID_ARGS[func_name], row)
    args[position] = cell(None)
    with pytest.raises(InputError, match=rf"^{name}: expected a number; got a blank cell"):
        call(func_name, *args)


@pytest.mark.parametrize("value", [True, False])
def test_boolean_rate_is_value_error_naming_rate(value):
    with pytest.raises(InputError, match=r"^rate: expected a number; got (True|False)"):
        call("BC_NPV", cell(value), row(FLOWS), None)


def test_range_where_one_value_is_required_is_value_error_naming_it():
    with pytest.raises(InputError, match=r"^rate: expected a single value; got a range of 2"):
        call("BC_NPV", row([0.08, 0.1]), row(FLOWS), None)


@pytest.mark.parametrize("first_period", [2, -1, 0.5])
def test_npv_first_period_other_than_0_or_1_is_value_error(first_period):
    with pytest.raises(InputError, match=r"^first_period: must be 0 or 1"):
        call("BC_NPV", cell(0.08), row(FLOWS), cell(first_period))


@pytest.mark.parametrize(
    ("func_name", "args", "message"),
    [
        (
            "BC_XNPV",
            [cell(0.1), row([-1_000.0, "x", 600.0]), row(SERIALS[:3])],
            r"^values: cell 2 .*; got 'x'$",
        ),
        (
            "BC_XIRR",
            [row(DATED_FLOWS[:3]), row([SERIALS[0], None, SERIALS[2]]), None],
            r"^dates: cell 2 must be a date; got a blank cell$",
        ),
        (
            "BC_XIRR",
            [row(DATED_FLOWS[:3]), row([SERIALS[0], "1/2/2020", SERIALS[2]]), None],
            r"^dates: cell 2 must be a date; got '1/2/2020'$",
        ),
        (
            "BC_ENPV",
            [cell(0.1), row([-100.0, 150.0]), row([0, 1, 1]), row([0.5])],
            r"^stages: need one per value; got 3 stages for 2 values",
        ),
        (
            "BC_ENPV",
            [cell(0.1), row([-100.0, 150.0]), row([0, 1]), row([1.5])],
            r"^probabilities: must each be between 0 and 1",
        ),
        ("BC_ECV", [cell(30.0), cell(1.5), cell(0.5), cell(5.0), cell(3.0)], r"^p_technical: "),
        ("BC_LTV", [cell(100.0), cell(0.8), cell(0.0), None], r"^churn: must be in \(0, 1\]"),
        (
            "BC_SOM",
            [cell(1_000.0), cell(0.1), cell(0.5), cell(0.2), cell(2.0), cell(0.0)],
            r"^horizon: must be a whole number of years from 1 to 100",
        ),
    ],
    ids=[
        "xnpv-text-value",
        "xirr-blank-date",
        "xirr-text-date",
        "enpv-stage-count",
        "enpv-probability-range",
        "ecv-probability-range",
        "ltv-zero-churn",
        "som-zero-horizon",
    ],
)
def test_unusable_range_or_value_is_value_error_naming_the_argument(func_name, args, message):
    with pytest.raises(InputError, match=message):
        call(func_name, *args)


# --- no such number: Excel's own error values ---------------------------------

NO_RESULT_CASES = {
    "irr_all_positive_is_num": ("BC_IRR", [row([100.0, 60.0, 60.0]), None], "#NUM!"),
    "irr_all_negative_is_num": ("BC_IRR", [row([-100.0, -60.0]), None], "#NUM!"),
    "xirr_all_positive_is_num": (
        "BC_XIRR",
        [row([100.0, 60.0, 60.0]), row(SERIALS[:3]), None],
        "#NUM!",
    ),
    "xnpv_date_before_first_is_num": (
        "BC_XNPV",
        [cell(0.09), row([-100.0, 50.0, 60.0]), row([SERIALS[1], SERIALS[0], SERIALS[2]])],
        "#NUM!",
    ),
    "xirr_date_before_first_is_num": (
        "BC_XIRR",
        [row([-100.0, 50.0, 60.0]), row([SERIALS[1], SERIALS[0], SERIALS[2]]), None],
        "#NUM!",
    ),
    # Excel: "If the number of values in values is different from dates, XNPV [XIRR]
    # returns the #NUM! error value" (the XNPV and XIRR pages cited above).
    "xnpv_more_dates_than_values_is_num": (
        "BC_XNPV",
        [cell(0.09), row([-100.0, 50.0, 60.0]), row(SERIALS)],
        "#NUM!",
    ),
    "xirr_fewer_dates_than_values_is_num": (
        "BC_XIRR",
        [row(DATED_FLOWS), row(SERIALS[:3]), None],
        "#NUM!",
    ),
    "payback_never_is_na": ("BC_PAYBACK", [row([-100.0, 20.0, 20.0])], "#N/A"),
    "dpayback_never_is_na": ("BC_DPAYBACK", [cell(0.1), row([-100.0, 60.0, 50.0])], "#N/A"),
    "dpayback_rate_minus_100_percent_is_num": (
        "BC_DPAYBACK",
        [cell(-1.0), row([-100.0, 60.0, 60.0])],
        "#NUM!",
    ),
    "mirr_without_negative_is_div0": (
        "BC_MIRR",
        [row([100.0, 60.0, 60.0]), cell(0.1), cell(0.1)],
        "#DIV/0!",
    ),
    "mirr_without_positive_is_div0": (
        "BC_MIRR",
        [row([-100.0, -60.0]), cell(0.1), cell(0.1)],
        "#DIV/0!",
    ),
    "mirr_finance_rate_minus_100_percent_is_div0": (
        "BC_MIRR",
        [row([-100.0, 60.0, 60.0]), cell(-1.0), cell(0.1)],
        "#DIV/0!",
    ),
    "mirr_reinvest_rate_below_minus_100_percent_is_num": (
        "BC_MIRR",
        [row([-100.0, 60.0, 60.0]), cell(0.1), cell(-2.0)],
        "#NUM!",
    ),
    "npv_rate_minus_100_percent_is_div0": ("BC_NPV", [cell(-1.0), row(FLOWS), None], "#DIV/0!"),
    "roi_without_outflow_is_div0": ("BC_ROI", [row([100.0, 60.0])], "#DIV/0!"),
    "pi_without_outflow_is_div0": ("BC_PI", [cell(0.1), row([100.0, 60.0])], "#DIV/0!"),
    "pi_rate_minus_100_percent_is_num": ("BC_PI", [cell(-1.0), row(FLOWS)], "#NUM!"),
    "cagr_zero_periods_is_num": ("BC_CAGR", [cell(100.0), cell(121.0), cell(0.0)], "#NUM!"),
    "cagr_sign_change_is_num": ("BC_CAGR", [cell(100.0), cell(-50.0), cell(2.0)], "#NUM!"),
    "cac_payback_zero_margin_is_na": (
        "BC_CAC_PAYBACK",
        [cell(1_200.0), cell(100.0), cell(0.0)],
        "#N/A",
    ),
}


@pytest.mark.parametrize("case", sorted(NO_RESULT_CASES))
def test_no_such_number_returns_excels_error_value(case):
    func_name, args, code = NO_RESULT_CASES[case]
    assert call(func_name, *args) == error_result(code)


# --- metadata Excel registers -------------------------------------------------


@pytest.fixture(scope="module")
def meta():
    return xlwings.server.custom_functions_meta(udfs.functions)


@pytest.fixture(scope="module")
def functions(meta):
    return {f["name"]: f for f in meta["functions"]}


def test_metadata_lists_exactly_the_bc_functions(functions):
    assert sorted(functions) == sorted(FUNCTION_ARGUMENTS)
    assert all(f["id"] == name for name, f in functions.items())


def test_metadata_lets_error_values_reach_the_functions(meta):
    # Without this, Excel would not call the function with an error argument at all.
    assert meta["allowErrorForDataTypeAny"] is True


@pytest.mark.parametrize("func_name", sorted(FUNCTION_ARGUMENTS))
def test_metadata_arguments_are_in_excels_order(functions, func_name):
    names = tuple(p["name"] for p in functions[func_name]["parameters"])
    assert names == FUNCTION_ARGUMENTS[func_name]


@pytest.mark.parametrize("func_name", sorted(FUNCTION_ARGUMENTS))
def test_metadata_describes_the_function(functions, func_name):
    description = functions[func_name]["description"]
    assert description.strip()
    assert not description.startswith("Python function")  # xlwings' placeholder


@pytest.mark.parametrize("func_name", sorted(FUNCTION_ARGUMENTS))
def test_metadata_describes_every_argument(functions, func_name):
    for param in functions[func_name]["parameters"]:
        assert param["description"].strip(), param
        assert not param["description"].startswith("Positional argument"), param


@pytest.mark.parametrize("func_name", sorted(FUNCTION_ARGUMENTS))
def test_metadata_marks_exactly_the_optional_arguments(functions, func_name):
    optional = {p["name"] for p in functions[func_name]["parameters"] if p.get("optional")}
    expected = {name for f, name in OPTIONAL_ARGUMENTS if f == func_name}
    assert optional == expected


def test_metadata_accepts_ranges_for_every_argument(functions):
    for func in functions.values():
        for param in func["parameters"]:
            assert param["dimensionality"] == "matrix", (func["name"], param)
