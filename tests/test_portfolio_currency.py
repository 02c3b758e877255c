"""One currency per portfolio: ``bizcase rollup --currency --fx --settings``, the
Cases table, ``BC_ROLLUP``/``BC_SELECT``/``BC_FRONTIER`` and the refresh button.

The four shipped examples are two EUR cases (analytics_addon, sunset) and two
USD cases (hardware, saas). Each is evaluated here on its own (openpyxl
reader, engine) in its own currency; the expected portfolio numbers are then
worked by hand from those: at USD 1 = EUR 0.92,

    Port_NPV = NPV(analytics_addon) + NPV(sunset) + 0.92 x (NPV(hardware) + NPV(saas))

and LibreOffice, recalculating the portfolio workbook, must give that.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import openpyxl
import pytest
from libreoffice import read_values, recalculate
from officejs import FUNCTION_ARGUMENTS, cell, column
from officejs import call as officejs_call
from typer.testing import CliRunner
from xlbook import book_json, run_script, written

import addin.macros as macros
from addin.cli import app
from udfs.errors import InputError
from udfs.model import evaluate
from udfs.portfolio import Settings, parse_rates, plan, select
from workbooks.business_case import write_business_case
from workbooks.examples import EXAMPLES, example_spec
from workbooks.portfolio_workbook import CASE_COLUMNS
from workbooks.reader import read_business_case
from workbooks.rollup import read_cases

RTOL = 1e-9
USD = 0.92  # EUR per USD
EUR_CASES = ("analytics_addon", "sunset")
USD_CASES = ("hardware", "saas")


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def cases(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("currency") / "cases"
    for name in EXAMPLES:
        write_business_case(example_spec(name), folder / f"{name}.xlsx")
    return folder


@pytest.fixture(scope="module")
def own(cases) -> dict[str, dict]:
    """Each case on its own, in its own currency: currency, NPV, eNPV, capital."""
    out = {}
    for name in EXAMPLES:
        case = read_business_case(cases / f"{name}.xlsx")
        ev = evaluate(case.model, case.values)
        out[name] = {
            "currency": case.model.spec.meta.currency,
            "npv": ev.outputs["NPV"],
            "enpv": ev.outputs["eNPV"],
            "capital": -float(np.sum(ev.lines["development"]) + np.sum(ev.lines["capex"])),
        }
    return out


def test_the_examples_are_two_eur_and_two_usd_cases(own):
    assert {n for n, c in own.items() if c["currency"] == "EUR"} == set(EUR_CASES)
    assert {n for n, c in own.items() if c["currency"] == "USD"} == set(USD_CASES)


# --- refused without rates, and nothing written ---------------------------------------


def test_mixed_currencies_without_rates_fail_naming_cases_and_currencies(cases, tmp_path):
    target = tmp_path / "portfolio.xlsx"
    result = run("rollup", cases, "-o", target)
    assert result.exit_code == 1
    assert "EUR: analytics_addon, sunset" in result.stderr
    assert "USD: hardware, saas" in result.stderr
    assert "Traceback" not in result.stderr
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary file left either


def test_a_missing_rate_fails_naming_the_cases_and_leaves_an_existing_file_alone(cases, tmp_path):
    target = tmp_path / "portfolio.xlsx"
    target.write_bytes(b"last quarter's portfolio")
    result = run("rollup", cases, "-o", target, "--currency", "EUR", "--fx", "GBP=1.17", "--force")
    assert result.exit_code == 1
    assert "no rate to EUR for USD: hardware, saas" in result.stderr
    assert target.read_bytes() == b"last quarter's portfolio"


@pytest.mark.parametrize(
    ("fx", "message"),
    [
        ("USD", r"--fx: expected CODE=RATE"),
        ("USD=abc", r"--fx, USD: the rate must be a positive number; got 'abc'"),
        ("USD=-0.9", r"--fx, USD: the rate must be a positive number"),
        ("USD=nan", r"--fx, USD: the rate must be a positive number"),
        ("USD=0.92,EUR=2", r"--fx, EUR: the portfolio's own currency has the rate 1"),
        ("=0.9", r"--fx: expected CODE=RATE"),
    ],
)
def test_bad_rates_are_refused_with_the_reason(cases, tmp_path, fx, message):
    result = run("rollup", cases, "-o", tmp_path / "p.xlsx", "--currency", "EUR", "--fx", fx)
    assert result.exit_code in (1, 2), result.stdout
    assert re.search(message, result.stderr), result.stderr
    assert not (tmp_path / "p.xlsx").exists()


def test_parse_rates_reads_codes_in_any_case():
    assert parse_rates("usd=0.92, gbp=1.17,") == {"USD": 0.92, "GBP": 1.17}
    with pytest.raises(InputError, match=r"--fx, USD: the rate must be a positive number"):
        parse_rates("USD=0")


# --- converted exactly with rates: LibreOffice recalculates the workbook ---------------


@pytest.fixture(scope="module")
def converted(cases, own, tmp_path_factory, soffice):
    root = tmp_path_factory.mktemp("converted")
    target = root / "portfolio.xlsx"
    result = run("rollup", cases, "-o", target, "--currency", "EUR", "--fx", f"USD={USD}")
    assert result.exit_code == 0, result.stderr
    (out,) = recalculate([target], root / "lo", soffice=soffice)
    return target, read_values(out)


def _name(wb, name: str):
    ((sheet, ref),) = list(wb.defined_names[name].destinations)
    return wb[sheet][ref.replace("$", "")].value


def _hand(own, key: str, rate: float = USD) -> float:
    return math.fsum(own[n][key] for n in EUR_CASES) + rate * math.fsum(
        own[n][key] for n in USD_CASES
    )


def test_port_npv_after_libreoffice_is_the_sum_of_converted_case_npvs(converted, own):
    _, wb = converted
    assert _name(wb, "Port_Currency") == "EUR"
    assert _name(wb, "Port_NPV") == pytest.approx(_hand(own, "npv"), rel=RTOL)
    assert _name(wb, "Port_eNPV") == pytest.approx(_hand(own, "enpv"), rel=RTOL)
    assert _name(wb, "Port_Capital") == pytest.approx(_hand(own, "capital"), rel=RTOL)
    # not the unconverted sum: the USD cases matter
    unconverted = math.fsum(c["npv"] for c in own.values())
    assert abs(_name(wb, "Port_NPV") - unconverted) > 1e-3 * abs(unconverted)


def test_every_port_name_is_the_plans_value_and_blank_where_the_plan_has_none(converted, cases):
    # The plan of the same folder and settings, evaluated by the engine, against what
    # LibreOffice computes from the rendered formulas. No budget was given: Headroom
    # does not exist (nan in the plan, an empty cell in the workbook).
    _, wb = converted
    settings = Settings(currency="EUR", rates={"USD": USD})
    headlines = plan(read_cases(sorted(cases.iterdir())), settings).headlines()
    assert math.isnan(headlines["Headroom"])
    assert _name(wb, "Port_Headroom") in (None, "")
    for name, want in headlines.items():
        if name != "Headroom":
            assert np.isfinite(want), name
            assert _name(wb, f"Port_{name}") == pytest.approx(want, rel=RTOL), name


def test_cases_table_shows_currency_rate_own_and_converted_npv(converted, own):
    _, wb = converted
    ws = wb["Cases"]
    header = [c.value for c in ws[1]]
    assert header == list(CASE_COLUMNS)
    col = {h: i for i, h in enumerate(header)}
    rows = {r[0]: r for r in ws.iter_rows(min_row=2, values_only=True) if r[0]}
    assert set(rows) == set(EXAMPLES)
    for name, row in rows.items():
        rate = USD if name in USD_CASES else 1.0
        assert row[col["Currency"]] == own[name]["currency"]
        assert row[col["FX rate"]] == rate
        assert row[col["NPV in own currency"]] == pytest.approx(own[name]["npv"], rel=RTOL)
        assert row[col["NPV"]] == pytest.approx(rate * own[name]["npv"], rel=RTOL)
        assert row[col["eNPV"]] == pytest.approx(rate * own[name]["enpv"], rel=RTOL)
        assert row[col["Capital"]] == pytest.approx(rate * own[name]["capital"], rel=RTOL)


def test_budget_is_labelled_in_the_portfolio_currency(converted):
    _, wb = converted
    assert "EUR" in wb["Summary"]["A6"].value
    assert wb["Capital"]["A1"].value.endswith("EUR")


def test_the_budget_is_in_the_portfolio_currency(cases, own, tmp_path):
    """hardware alone (USD): a EUR budget between 0.92 and 1.0 times its USD capital
    funds it at USD 1 = EUR 0.92 and not at USD 1 = EUR 1."""
    budget = 0.96 * own["hardware"]["capital"]
    for rate, funded in ((USD, ["hardware"]), (1.0, [])):
        result = run(
            "rollup",
            cases / "hardware.xlsx",
            "-o",
            tmp_path / f"p{rate}.xlsx",
            "--currency",
            "EUR",
            "--fx",
            f"USD={rate}",
            "--budget",
            budget,
            "--json",
        )
        assert result.exit_code == 0, result.stderr
        assert json.loads(result.stdout)["selected"] == funded


def test_cases_that_share_a_currency_need_no_option(cases, own, tmp_path):
    files = [cases / f"{n}.xlsx" for n in EUR_CASES]
    result = run("rollup", *files, "-o", tmp_path / "p.xlsx", "--json")
    assert result.exit_code == 0, result.stderr
    got = json.loads(result.stdout)
    assert got["currency"] == "EUR"
    assert got["fx"] == {"EUR": 1.0}
    assert got["npv"] == pytest.approx(math.fsum(own[n]["npv"] for n in EUR_CASES), rel=RTOL)


def test_a_usd_portfolio_converts_the_eur_cases(cases, own, tmp_path):
    result = run("rollup", cases, "-o", tmp_path / "p.xlsx", "--currency", "usd", "--fx",
                 "EUR=1.08", "--json")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    got = json.loads(result.stdout)
    want = 1.08 * math.fsum(own[n]["npv"] for n in EUR_CASES) + math.fsum(
        own[n]["npv"] for n in USD_CASES
    )
    assert got["currency"] == "USD"
    assert got["npv"] == pytest.approx(want, rel=RTOL)


# --- the settings file ---------------------------------------------------------------------


def test_settings_file_gives_currency_and_rates_and_the_command_line_overrides(
    cases, own, tmp_path
):
    settings = tmp_path / "portfolio.toml"
    settings.write_text('currency = "EUR"\n\n[fx]\nUSD = 0.92\nGBP = 1.17\n')
    result = run("rollup", cases, "-o", tmp_path / "a.xlsx", "--settings", settings, "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["npv"] == pytest.approx(_hand(own, "npv"), rel=RTOL)
    result = run("rollup", cases, "-o", tmp_path / "b.xlsx", "--settings", settings, "--fx",
                 "USD=1.1", "--json")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["npv"] == pytest.approx(_hand(own, "npv", 1.1), rel=RTOL)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('currency = "EUR"\nbudget = 5\n', r"unknown setting\(s\) budget"),
        ('currency = "EUR"\n[fx]\nUSD = -1\n', r"fx, USD: the rate must be a positive number"),
        ('currency = "EUR"\n[fx]\nUSD = "0.92"\n', r"fx, USD: expected a number"),
        ("currency = 3\n", r"currency: expected a currency code"),
        ("currency = \n", r"not a valid TOML file"),
        ('fx = "USD=0.92"\n', r"fx: expected a table"),
    ],
)
def test_bad_settings_file_is_refused_naming_file_and_setting(cases, tmp_path, text, message):
    settings = tmp_path / "portfolio.toml"
    settings.write_text(text)
    result = run("rollup", cases, "-o", tmp_path / "p.xlsx", "--settings", settings)
    assert result.exit_code == 2
    assert str(settings) in result.stderr
    assert re.search(message, result.stderr), result.stderr
    assert not (tmp_path / "p.xlsx").exists()


# --- the Excel functions ---------------------------------------------------------------------


def call(func_name: str, *args):
    missing = len(FUNCTION_ARGUMENTS[func_name]) - len(args)
    return officejs_call(func_name, *args, *[None] * missing)


TABLE = [
    ["ID", "Currency", "NPV"],
    ["a", "EUR", 100.0],
    ["b", "USD", 50.0],
    ["c", "EUR", 10.0],
]


def test_bc_rollup_refuses_to_add_two_currencies():
    with pytest.raises(InputError, match=r"^table: the Currency column holds EUR, USD"):
        call("BC_ROLLUP", TABLE, None, None)


def test_bc_rollup_by_currency_gives_one_row_per_currency_and_no_total():
    assert call("BC_ROLLUP", TABLE, cell("Currency"), None) == [
        ["Currency", "NPV"],
        ["EUR", 110.0],
        ["USD", 50.0],
    ]


def test_bc_rollup_of_one_currency_keeps_its_total():
    table = [TABLE[0], TABLE[1], TABLE[3]]
    assert call("BC_ROLLUP", table, None, None) == [["group", "NPV"], ["Total", 110.0]]


def test_bc_select_and_frontier_refuse_mixed_currencies_and_accept_one():
    values, costs = column([10.0, 7.0, 6.0]), column([5.0, 4.0, 3.0])
    mixed = column(["EUR", "USD", "EUR"])
    with pytest.raises(InputError, match=r"^currencies: the amounts are in EUR, USD"):
        call("BC_SELECT", values, costs, cell(7.0), None, None, None, mixed)
    with pytest.raises(InputError, match=r"^currencies: the amounts are in EUR, USD"):
        call("BC_FRONTIER", values, costs, None, mixed)
    same = column(["EUR", "eur", "EUR"])
    got = call("BC_SELECT", values, costs, cell(7.0), None, None, None, same)
    assert got == [[int(x)] for x in select([10.0, 7.0, 6.0], [5.0, 4.0, 3.0], 7.0)]
    with pytest.raises(InputError, match=r"^currencies: need one cell per project \(3\); got 2"):
        call("BC_SELECT", values, costs, cell(7.0), None, None, None, column(["EUR", "EUR"]))


# --- the refresh button ----------------------------------------------------------------------


def test_refresh_refuses_a_case_in_another_currency_without_a_rate(converted):
    target, _ = converted
    payload = book_json(target, "portfolio.xlsx")
    sheet = [s["name"] for s in payload["sheets"]].index("Cases")
    values = payload["sheets"][sheet]["values"]
    header = values[0]
    saas = next(r for r in values[1:] if r[0] == "saas")
    saas[header.index("FX rate")] = ""  # a rate deleted by hand
    with pytest.raises(Exception, match=r"no rate to EUR for saas \(USD\)"):
        run_script(macros, "refresh_portfolio", payload)


def test_refresh_of_converted_cases_keeps_the_funded_set(cases, tmp_path):
    target = tmp_path / "p.xlsx"
    result = run("rollup", cases, "-o", target, "--currency", "EUR", "--fx", f"USD={USD}",
                 "--budget", 5_000_000)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    payload = book_json(target, "p.xlsx")
    sheet = [s["name"] for s in payload["sheets"]].index("Cases")
    header = payload["sheets"][sheet]["values"][0]
    rows = [r for r in payload["sheets"][sheet]["values"][1:] if r[0]]
    funded = [r[header.index("Selected")] for r in rows]
    assert 0 < sum(funded) < len(rows)
    actions = run_script(macros, "refresh_portfolio", payload)
    letter = openpyxl.utils.get_column_letter(CASE_COLUMNS.index("Selected") + 1)
    cells = written(actions, sheet)
    assert [cells[f"{letter}{i}"] for i in range(2, len(rows) + 2)] == funded
