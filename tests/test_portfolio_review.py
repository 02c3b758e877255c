"""The portfolio history and the NPV bridge (``bizcase rollup --record``,
``bizcase review``; :mod:`workbooks.history`, :mod:`udfs.review`).

Two quarters of a small portfolio, recorded a quarter apart:

* 2026-09-30: atlas (EUR), beacon (EUR) and delta (USD at EUR 0.90);
* 2026-12-31: beacon is gone, comet (EUR) is new, delta is unchanged but USD is
  now worth EUR 0.95, and atlas is re-estimated in six driver families: more
  market share (12% -> 14%), a higher price (240 -> 260), dearer cost of goods
  (18% -> 22% of revenue) and marketing (350k -> 450k), more capex in year 1
  (250k -> 400k), a launch a year later (year 2 -> 3) and a higher discount
  rate (10% -> 11%).

What must hold, whatever the model computes: the components add up to the
recorded change (to 1e-6); cases added add their NPV and cases removed take
theirs away; more share and a higher price raise atlas' NPV, dearer costs,
more investment, a later launch and a higher rate lower it (atlas' NPV is
positive and its flows after launch positive); the dearer dollar raises the
value of delta's positive NPV by exactly its NPV x (0.95 - 0.90); inputs that
did not change contribute nothing. The same run goes through SQLite and, when
a server is given, PostgreSQL.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import openpyxl
import pytest
from libreoffice import read_values, recalculate
from typer.testing import CliRunner

from addin.cli import app
from udfs.model import build_model, evaluate, input_values
from udfs.review import CaseRecord, bridge
from udfs.spec import parse_spec
from workbooks.business_case import write_business_case
from workbooks.examples import example_spec

Q3, Q4 = "2026-09-30", "2026-12-31"
FX = {Q3: "USD=0.90", Q4: "USD=0.95"}
FIXTURE = Path(__file__).parent / "fixtures" / "history_1" / "history.sqlite"


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def spec(case_id: str, currency: str = "EUR", **changes):
    data = example_spec("analytics_addon").model_dump(mode="json")
    data["meta"].update(id=case_id, name=case_id.title(), currency=currency)
    for path, value in changes.items():
        section, key = path.split("__")
        data[section][key] = value
    return parse_spec(data, case_id)


def atlas_q4():
    s = spec("atlas")
    data = s.model_dump(mode="json")
    data["market"]["target_share"] = 0.14
    data["market"]["launch_year"] = 3
    data["pricing"]["price"] = 260
    data["costs"]["cogs_pct"] = 0.22
    data["costs"]["fixed"][0]["amount"] = 450000
    data["investment"]["capex"] = [400000, 50000, 0, 0, 120000]
    data["finance"]["discount_rate"] = 0.11
    return parse_spec(data, "atlas")


@pytest.fixture(scope="module")
def quarters(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("review")
    q3, q4 = root / "q3", root / "q4"
    write_business_case(spec("atlas"), q3 / "atlas.xlsx")
    write_business_case(spec("beacon", market__tam=300000), q3 / "beacon.xlsx")
    write_business_case(spec("delta", "USD", pricing__price=200), q3 / "delta.xlsx")
    # atlas' KPIs sheet: units 2029 far below any target (row 6, column E), revenue
    # 2029 far above it (row 10): one KPI off track, one on track
    write_business_case(atlas_q4(), q4 / "atlas.xlsx", actuals={"E6": 1, "E10": 1e12})
    write_business_case(spec("comet", market__sam_share=0.2), q4 / "comet.xlsx")
    write_business_case(spec("delta", "USD", pricing__price=200), q4 / "delta.xlsx")
    return {Q3: q3, Q4: q4}


def record(quarters, db, tmp_path, day, *extra):
    out = tmp_path / f"{day}.xlsx"
    result = run(
        "rollup", quarters[day], "-o", out, "--currency", "EUR", "--fx", FX[day],
        "--record", "--as-of", day, "--db", db, "--json", *extra,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def check_bridge(quarters, db, tmp_path):
    rollup_q3 = record(quarters, db, tmp_path, Q3)
    rollup_q4 = record(quarters, db, tmp_path, Q4, "--budget", "1")
    result = run("review", "--db", db, "--json")
    assert result.exit_code == 0, result.output
    review = json.loads(result.stdout)
    parts = review["components"]
    assert review["start"] == pytest.approx(rollup_q3["npv"], abs=1e-6)
    assert review["end"] == pytest.approx(rollup_q4["npv"], abs=1e-6)
    assert math.fsum(parts.values()) == pytest.approx(rollup_q4["npv"] - rollup_q3["npv"], abs=1e-6)
    q3 = {c: run("evaluate", quarters[Q3] / f"{c}.xlsx", "--json") for c in ("beacon", "delta")}
    q4 = {c: run("evaluate", quarters[Q4] / f"{c}.xlsx", "--json") for c in ("comet",)}
    npv = {c: json.loads(r.stdout)["NPV"] for c, r in {**q3, **q4}.items()}
    assert npv["comet"] > 0 and npv["beacon"] > 0 and npv["delta"] > 0
    assert parts["added"] == pytest.approx(npv["comet"], rel=1e-12)
    assert parts["removed"] == pytest.approx(-npv["beacon"], rel=1e-12)
    assert parts["currency"] == pytest.approx(npv["delta"] * (0.95 - 0.90), rel=1e-9)
    for up in ("market", "price"):
        assert parts[up] > 0, up
    for down in ("costs", "investment", "timing", "discount_rate"):
        assert parts[down] < 0, down
    assert parts["other"] == 0.0
    assert abs(parts["restated"]) < 1e-6
    # delta did not change: its whole bridge is the currency
    delta = review["by_case"]["delta"]
    assert all(abs(v) < 1e-6 for k, v in delta.items() if k != "currency")
    return review


def test_bridge_components_sum_to_the_change_with_the_right_signs_sqlite(quarters, tmp_path):
    review = check_bridge(quarters, tmp_path / "history.sqlite", tmp_path)
    off = {(k["case"], k["kpi"]): k["off_track"] for k in review["kpis"]}
    assert off == {("atlas", "Units sold"): True, ("atlas", "Revenue"): False}
    assert review["kpis"][0]["years"] == [2029]


def test_bridge_through_postgresql(quarters, tmp_path, postgres_url):
    import sqlalchemy as sa

    engine = sa.create_engine(postgres_url)
    with engine.begin() as conn:  # a clean history for this run
        for table in ("bizcase_cases", "bizcase_rollups", "bizcase_schema"):
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))
    engine.dispose()
    check_bridge(quarters, postgres_url, tmp_path)


def records(old_spec, new_spec, fx=(1.0, 1.0)):
    """Two CaseRecords of one case, as the history would keep them."""
    out = []
    for s, rate in zip((old_spec, new_spec), fx, strict=True):
        model = build_model(s)
        inputs = {
            k: v.tolist() if isinstance(v, np.ndarray) else v
            for k, v in input_values(model).items()
        }
        npv = evaluate(model).outputs["NPV"]
        out.append(CaseRecord("x", npv, rate, s.model_dump(mode="json"), inputs))
    return out


def test_a_change_in_one_family_is_all_in_that_component():
    old, new = records(spec("x"), spec("x", finance__discount_rate=0.12))
    b = bridge([old], [new])
    assert new.npv < old.npv
    assert b.components["discount_rate"] == pytest.approx(new.npv - old.npv, rel=1e-12)
    assert all(v == 0.0 for k, v in b.components.items() if k != "discount_rate")


def test_another_horizon_or_currency_is_restated_whole():
    for changed, fx in (
        (spec("x", meta__horizon=8), (1.0, 1.0)),
        (spec("x", "USD"), (1.0, 0.9)),
    ):
        old, new = records(spec("x"), changed, fx)
        b = bridge([old], [new])
        assert b.components["restated"] == pytest.approx(
            new.npv * fx[1] - old.npv * fx[0], rel=1e-12
        )
        assert all(v == 0.0 for k, v in b.components.items() if k != "restated")


def test_funded_set_change_is_reported(quarters, tmp_path):
    db = tmp_path / "h.sqlite"
    record(quarters, db, tmp_path, Q3)
    record(quarters, db, tmp_path, Q4, "--budget", "1")  # too little for any case
    funded = json.loads(run("review", "--db", db, "--json").stdout)["funded"]
    assert funded["added"] == [] and funded["kept"] == []
    assert sorted(funded["dropped"]) == ["atlas", "beacon", "delta"]  # beacon: removed


def review_workbook(quarters, tmp_path) -> Path:
    db = tmp_path / "h.sqlite"
    record(quarters, db, tmp_path, Q3)
    record(quarters, db, tmp_path, Q4)
    out = tmp_path / "review.xlsx"
    result = run("review", "--db", db, "-o", out, "--from", Q3, "--to", Q4)
    assert result.exit_code == 0, result.output
    return out


def test_review_workbook_holds_the_bridge_in_formulas_and_a_chart(quarters, tmp_path):
    out = review_workbook(quarters, tmp_path)
    ws = openpyxl.load_workbook(out)["Review"]
    labels = [ws.cell(row=r, column=1).value for r in range(5, 18)]
    assert labels[0] == f"NPV, {Q3}" and labels[12] == f"NPV, {Q4}"
    assert ws["B17"].value == "=SUM(B6:B16)" and ws["C17"].value == "=C5+B17"
    assert ws["D6"].value == "=MIN(C5,C6)"
    assert len(ws._charts) == 1 and ws._charts[0].grouping == "stacked"


def test_review_sheet_recalculated_by_libreoffice_closes_on_the_recorded_npv(
    quarters, tmp_path, soffice
):
    """LibreOffice computes the closing NPV (C17 = opening + every component) and the
    waterfall's columns; they must land on the NPV recorded for the second rollup (C18)."""
    out = review_workbook(quarters, tmp_path)
    (copy,) = recalculate([out], tmp_path / "lo", soffice=soffice)
    ws = read_values(copy)["Review"]
    assert ws["C17"].value == pytest.approx(ws["C18"].value, rel=1e-12)
    for r in range(6, 17):  # each bar: base + rise (or base + fall) spans the step
        before, after = ws[f"C{r - 1}"].value, ws[f"C{r}"].value
        top = ws[f"D{r}"].value + ws[f"E{r}"].value + ws[f"F{r}"].value
        assert (ws[f"D{r}"].value, top) == pytest.approx(
            (min(before, after), max(before, after)), rel=1e-12
        )


def test_review_needs_two_rollups_and_known_dates(quarters, tmp_path):
    db = tmp_path / "h.sqlite"
    result = run("review", "--db", db)
    assert result.exit_code == 1 and "needs two recorded rollups; found 0" in result.stderr
    record(quarters, db, tmp_path, Q3)
    record(quarters, db, tmp_path, Q4)
    result = run("review", "--db", db, "--from", "2026-06-30", "--to", Q4)
    assert result.exit_code == 1
    assert f"--from 2026-06-30: no rollup recorded that day; recorded: {Q3}, {Q4}" in (
        result.stderr
    )
    result = run("review", "--db", db, "--from", "30/09/2026", "--to", Q4)
    assert result.exit_code == 2 and "--from: expected a date YYYY-MM-DD" in result.stderr


def test_a_history_newer_than_this_version_is_refused(tmp_path):
    import sqlite3

    db = tmp_path / "future.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE bizcase_schema (version INTEGER)")
        conn.execute("INSERT INTO bizcase_schema VALUES (99)")
    result = run("review", "--db", db)
    assert result.exit_code == 1
    assert "history schema 99 is newer than this bizcase reads (1); upgrade bizcase" in (
        result.stderr
    )


def test_the_default_history_comes_from_bizcase_db(quarters, tmp_path, monkeypatch):
    db = tmp_path / "env.sqlite"
    monkeypatch.setenv("BIZCASE_DB", str(db))
    result = run(
        "rollup", quarters[Q3], "-o", tmp_path / "p.xlsx", "--currency", "EUR",
        "--fx", FX[Q3], "--record",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert db.exists() and "recorded rollup 1" in result.stderr


def test_a_history_written_by_version_1_is_still_read(tmp_path):
    """tests/fixtures/history_1 was written by the first schema (see its README):
    the review reads it, and the bridge still adds up to its recorded NPVs."""
    copy = tmp_path / "history.sqlite"
    copy.write_bytes(FIXTURE.read_bytes())
    result = run("review", "--db", copy, "--json")
    assert result.exit_code == 0, result.output
    review = json.loads(result.stdout)
    assert (review["from"], review["to"]) == (Q3, Q4)
    assert math.fsum(review["components"].values()) == pytest.approx(
        review["end"] - review["start"], abs=1e-6
    )


@pytest.fixture
def postgres_url():
    """A PostgreSQL server for the history tests: ``BIZCASE_TEST_POSTGRES_URL``
    (``.ci/run`` starts one); skipped without it unless ``BIZCASE_REQUIRE_POSTGRES=1``."""
    url = os.environ.get("BIZCASE_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("BIZCASE_REQUIRE_POSTGRES") == "1":
            pytest.fail("BIZCASE_REQUIRE_POSTGRES=1 but BIZCASE_TEST_POSTGRES_URL is not set")
        pytest.skip("no PostgreSQL server: set BIZCASE_TEST_POSTGRES_URL to run this test")
    return url


def test_an_unreachable_database_is_one_line_naming_it(quarters, tmp_path):
    url = "postgresql://nobody:secret@127.0.0.1:9/none"  # port 9 (discard): nothing listens
    result = run(
        "rollup", quarters[Q3], "-o", tmp_path / "p.xlsx", "--currency", "EUR",
        "--fx", FX[Q3], "--record", "--db", url,
    )  # fmt: skip
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(
        "bizcase: --db postgresql+psycopg://nobody:***@127.0.0.1:9/none: cannot open the history"
    )
    assert "secret" not in result.stderr
