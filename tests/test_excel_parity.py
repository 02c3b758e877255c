"""Excel parity, tested against other projects' published test data.

``tests/corpus/*.json`` holds cases taken from other projects' suites for the
Excel functions we also have (NPV, XNPV, IRR, XIRR, MIRR, RRI): LibreOffice's
function test documents, Apache POI, PhpSpreadsheet, HyperFormula, pyxirr,
formulas, xlcalculator's Excel-saved workbooks, numpy-financial,
o-spreadsheet and Formula.js. Each file names its source (repository, path, commit or
package) and each case the cell or test it comes from, the formula, Excel's
arguments and the value the source expects, to the precision it asserts.

Every case runs through xlwings' Office.js runtime against the ``BC_``
function (the body Excel sends, see ``tests/officejs.py``) and, where its
inputs are plain numbers and dates, against the engine (``udfs.finance``).
A case marked ``"difference"`` is one where we depart from the source on
purpose; it asserts our documented result (``"ours"``), and the key must be
listed in README.md's "Where we differ from Excel".

Argument encoding: a list is a range (a list of lists is a block, read row by
row); ``null`` is a blank cell; ``{"date": "YYYY-MM-DD"}`` is a date cell
(sent as its serial number); ``{"error": "#N/A"}`` is an error cell; a string
is text; trailing optional arguments may be left out.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from officejs import call, cell, column, error_cell, error_result, serial

from udfs import finance
from udfs.errors import InputError

CORPUS = Path(__file__).parent / "corpus"
README = Path(__file__).parent.parent / "README.md"
ERROR_CODES = {"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A"}


def _load():
    sources, cases = {}, []
    for path in sorted(CORPUS.glob("*.json")):
        data = json.loads(path.read_text())
        sources[path.stem] = data["source"]
        for case in data["cases"]:
            cases.append({**case, "file": path.stem})
    return sources, cases


SOURCES, CASES = _load()
IDS = [c["id"] for c in CASES]


# --- turning a case into Excel's payload ----------------------------------------


def _cell_value(item):
    """One cell as Office.js sends it."""
    if isinstance(item, dict) and "date" in item:
        return serial(dt.date.fromisoformat(item["date"]))
    if isinstance(item, dict) and "error" in item:
        return error_cell(item["error"])
    return item


def _excel_arg(arg):
    """A case argument as the 2-D list Excel passes: ranges as columns, blocks as given."""
    if isinstance(arg, list):
        if arg and isinstance(arg[0], list):
            return [[_cell_value(x) for x in r] for r in arg]
        return column([_cell_value(x) for x in arg])
    return cell(_cell_value(arg))


# Excel function -> (BC_ function, Excel's arguments in the BC_ function's order;
# trailing arguments it takes that the case leaves out are sent as omitted).
BC_CALLS = {
    "NPV": ("BC_NPV", lambda a: [*a, 1]),
    "NPV_T0": ("BC_NPV", lambda a: [*a, 0]),
    "XNPV": ("BC_XNPV", lambda a: a),
    "IRR": ("BC_IRR", lambda a: a),
    "XIRR": ("BC_XIRR", lambda a: a),
    "MIRR": ("BC_MIRR", lambda a: a),
    "RRI": ("BC_CAGR", lambda a: [a[1], a[2], a[0]]),  # RRI(nper, pv, fv)
}
BC_ARITY = {"BC_NPV": 3, "BC_XNPV": 3, "BC_IRR": 2, "BC_XIRR": 3, "BC_MIRR": 3, "BC_CAGR": 3}


def _bc_result(case):
    """What Excel receives from the BC_ function: a number, or an error code."""
    func_name, order = BC_CALLS[case["function"]]
    args = [_excel_arg(a) for a in order(case["args"])]
    args += [None] * (BC_ARITY[func_name] - len(args))
    try:
        result = call(func_name, *args)
    except InputError:
        return "#VALUE!"  # Office.js shows a raised error as #VALUE! with the reason
    value = result[0][0]
    if isinstance(value, dict):
        code = next(c for c in ERROR_CODES if error_result(c)[0][0] == value)
        return code
    return value


def _wanted(case):
    return case["ours"] if "difference" in case else case["expected"]


def _tolerance(case, wanted: float) -> float:
    """The source's precision: an absolute tolerance, or one relative to the value."""
    if "difference" in case:
        return case.get("ours_abs_tol", 0.0)
    return max(case.get("abs_tol", 0.0), case.get("rel_tol", 0.0) * abs(wanted))


def _npv_at(rate: float, case) -> tuple[float, float]:
    """NPV of the case's flows at ``rate`` and the sum of its terms' sizes, worked
    out here term by term (periods for IRR, days / 365 for XIRR), not by the engine."""
    values = _flat(case["args"][0])
    if case["function"] == "IRR":
        times = [float(t) for t in range(len(values))]
        pairs = [(v, t) for v, t in zip(values, times, strict=True) if _plain(v)]
        pairs = [(v, float(i)) for i, (v, _) in enumerate(pairs)]
    else:
        days = [
            dt.date.fromisoformat(d["date"]).toordinal() if isinstance(d, dict) else math.floor(d)
            for d in _flat(case["args"][1])
        ]
        pairs = [(v, (d - days[0]) / 365) for v, d in zip(values, days, strict=True)]
    # Scale by one term's exponent so none overflows: the sign is what matters.
    log_growth = math.log1p(rate)
    top = max(-t * log_growth for _, t in pairs)
    terms = [v * math.exp(-t * log_growth - top) for v, t in pairs]
    return math.fsum(terms), math.fsum(abs(x) for x in terms)


def _is_root(rate: float, case) -> bool:
    """The NPV is zero at ``rate`` to 1e-8 of its terms' size, or changes sign within
    four floats of it (near -100% a float cannot hold the root more closely)."""
    npv, size = _npv_at(rate, case)
    if abs(npv) <= 1e-8 * size:
        return True
    below, above = rate, rate
    for _ in range(4):
        below, above = math.nextafter(below, -1.0), math.nextafter(above, math.inf)
    return below > -1 and _npv_at(below, case)[0] * _npv_at(above, case)[0] <= 0


def _assert_matches(got, case):
    wanted = _wanted(case)
    if wanted == "root":
        # Our documented answer where others find no rate (or another one): a rate
        # at which the NPV is zero, checked here from the flows.
        assert isinstance(got, float) and got > -1, f"{case['id']}: expected a root, got {got!r}"
        assert _is_root(got, case), f"{case['id']}: the NPV at {got} is not zero"
        return
    if isinstance(wanted, str):
        assert got == wanted, f"{case['id']}: expected {wanted}, got {got!r}"
        return
    assert isinstance(got, float), f"{case['id']}: expected {wanted}, got {got!r}"
    tol = _tolerance(case, wanted)
    assert abs(got - wanted) <= tol, f"{case['id']}: expected {wanted} +/- {tol}, got {got!r}"


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_bc_function_through_office_js_matches_the_source(case):
    _assert_matches(_bc_result(case), case)


# --- the engine on the same numbers --------------------------------------------


def _plain(item) -> bool:
    if isinstance(item, dict):
        return "date" in item
    return isinstance(item, (int, float)) and not isinstance(item, bool)


def _flat(arg):
    """A range argument as the engine's 1-D list, blocks read row by row."""
    if not isinstance(arg, list):
        return [arg]
    return [x for r in arg for x in (r if isinstance(r, list) else [r])]


def _engine_value(item):
    return dt.date.fromisoformat(item["date"]) if isinstance(item, dict) else float(item)


def _numeric_date_in_calendar(item) -> bool:
    return isinstance(item, dict) or 1 <= math.floor(item) <= 2958465


def _engine_inputs(case):
    """The case's arguments for the engine, or None when they are not plain
    numbers and dates (blanks, text, errors and the like are the Excel layer's job)."""
    args = case["args"]
    flat = [_flat(a) for a in args]
    if not all(_plain(x) for a in flat for x in a):
        return None
    if case["function"] in ("XNPV", "XIRR"):
        dates = flat[2] if case["function"] == "XNPV" else flat[1]
        if not all(_numeric_date_in_calendar(x) for x in dates):
            return None  # serial numbers outside Excel's calendar: an Excel-cell check
    return [[_engine_value(x) for x in a] for a in flat]


ENGINE = {
    "NPV": lambda a: finance.excel_npv(a[0][0], a[1]),
    "NPV_T0": lambda a: finance.npv(a[0][0], a[1]),
    "XNPV": lambda a: finance.xnpv(a[0][0], a[1], a[2]),
    "IRR": lambda a: finance.irr(a[0], a[1][0] if len(a) > 1 else None),
    "XIRR": lambda a: finance.xirr(a[0], a[1], a[2][0] if len(a) > 2 else None),
    "MIRR": lambda a: finance.mirr(a[0], a[1][0], a[2][0]),
    "RRI": lambda a: finance.cagr(a[1][0], a[2][0], a[0][0]),
}
ENGINE_CASES = [c for c in CASES if _engine_inputs(c) is not None]


@pytest.mark.parametrize("case", ENGINE_CASES, ids=[c["id"] for c in ENGINE_CASES])
def test_engine_matches_the_source(case):
    """No result is ``nan``, bad input a ``ValueError`` (DESIGN.md): both stand for
    the error value the source expects; which error code is the Excel layer's job."""
    try:
        got = float(ENGINE[case["function"]](_engine_inputs(case)))
    except ValueError:
        got = "error"
    wanted = _wanted(case)
    if isinstance(wanted, str) and wanted != "root":
        assert got == "error" or np.isnan(got), f"{case['id']}: expected {wanted}, got {got}"
    else:
        _assert_matches(got, case)


# --- the corpus itself ----------------------------------------------------------


def test_corpus_has_several_hundred_cases_from_several_projects():
    assert len(CASES) >= 300
    assert len({s["project"] for s in SOURCES.values()}) >= 10
    assert len(IDS) == len(set(IDS))


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_every_source_is_cited(name):
    source = SOURCES[name]
    assert source["project"] and source["repository"] and source["path"]
    assert source["expected_values"]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_every_case_cites_where_it_comes_from_and_is_well_formed(case):
    assert case["where"] and case["formula"]
    assert case["function"] in BC_CALLS
    expected = case["expected"]
    assert isinstance(expected, (int, float)) or expected in ERROR_CODES
    if isinstance(expected, (int, float)):
        assert case.get("abs_tol", -1) >= 0 or case.get("rel_tol", -1) >= 0
    if "difference" in case:
        assert "ours" in case and case["ours"] != expected
        ours = case["ours"]
        assert ours == "root" or ours in ERROR_CODES or "ours_abs_tol" in case
        if ours == "root":
            assert case["function"] in ("IRR", "XIRR")


def _documented_differences() -> set[str]:
    text = README.read_text()
    section = text.split("### Where we differ from Excel", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z0-9-]+)` \|", section, flags=re.M))


def test_every_difference_is_documented_in_the_function_reference():
    used = {c["difference"] for c in CASES if "difference" in c}
    documented = _documented_differences()
    assert used <= documented, used - documented
