"""The portfolio history: every recorded rollup, in a SQL database.

``bizcase rollup --record`` stores the rollup's date, currency and exchange
rates, and for each case its id, file, fingerprint, currency, spec, every
input value, outputs, whether it was funded, and its KPI targets and actuals;
``bizcase review`` reads two rollups back to explain what changed
(:mod:`udfs.review`).

The store is a SQLite file by default (no server) or any SQLAlchemy URL, such
as ``postgresql+psycopg://host/db`` for one history shared by a product
organisation. Money and inputs are kept as JSON text, which SQLite and
PostgreSQL store alike and which keeps NaN (a case without an IRR).

The schema is versioned: the ``bizcase_schema`` table holds the version a
database is at, and :data:`MIGRATIONS` are the steps from each version to the
next, applied in order in one transaction when a database is opened. A later
bizcase adds a step and so reads every history an earlier one wrote; a
database newer than this version is refused rather than misread.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import sqlalchemy as sa

from udfs.errors import BizcaseError
from udfs.model import evaluate, input_values
from udfs.review import CaseRecord

from .layout import KPIS as KPI_SHEET

DEFAULT_DB = "bizcase-history.sqlite"
KPIS = {label: line for label, line, _ in KPI_SHEET.kpis}  # label -> model line

metadata_ = sa.MetaData()
schema_table = sa.Table("bizcase_schema", metadata_, sa.Column("version", sa.Integer))
rollups = sa.Table(
    "bizcase_rollups",
    metadata_,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("as_of", sa.Date, nullable=False, index=True),
    sa.Column("recorded_at", sa.DateTime, nullable=False),
    sa.Column("currency", sa.String(8), nullable=False),
    sa.Column("fx", sa.Text, nullable=False),  # JSON: code -> value of one unit
    sa.Column("npv", sa.Float, nullable=False),
    sa.Column("selected_npv", sa.Float, nullable=False),
    sa.Column("budget", sa.Float),
    sa.Column("bizcase_version", sa.String(40), nullable=False),
)
cases = sa.Table(
    "bizcase_cases",
    metadata_,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("rollup_id", sa.Integer, sa.ForeignKey("bizcase_rollups.id"), nullable=False),
    sa.Column("case_id", sa.String(200), nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("product_line", sa.Text, nullable=False),
    sa.Column("file", sa.Text, nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("currency", sa.String(8), nullable=False),
    sa.Column("fx_rate", sa.Float, nullable=False),
    sa.Column("npv", sa.Float, nullable=False),  # in the case's own currency
    sa.Column("capital", sa.Float, nullable=False),  # in the rollup's currency
    sa.Column("selected", sa.Boolean, nullable=False),
    sa.Column("recommendation", sa.Text, nullable=False),
    sa.Column("spec", sa.Text, nullable=False),  # JSON
    sa.Column("inputs", sa.Text, nullable=False),  # JSON
    sa.Column("outputs", sa.Text, nullable=False),  # JSON
    sa.Column("kpi_targets", sa.Text, nullable=False),  # JSON: kpi -> year -> amount
    sa.Column("kpi_actuals", sa.Text, nullable=False),  # JSON: kpi -> year -> amount
)


def _create_v1(conn) -> None:
    metadata_.create_all(conn, tables=[rollups, cases])


# Step i takes a database from version i to i + 1; never edit a released step.
MIGRATIONS: list[Callable] = [_create_v1]
SCHEMA_VERSION = len(MIGRATIONS)


class HistoryError(BizcaseError, ValueError):
    """The history database cannot be opened, or lacks what was asked of it."""


def db_url(db: str | None) -> str:
    """A SQLAlchemy URL from ``--db`` (a URL or a file path), ``BIZCASE_DB``, or the default.

    Examples
    --------
    >>> db_url("h.sqlite"), db_url("postgresql://u@host/db")
    ('sqlite:///h.sqlite', 'postgresql+psycopg://u@host/db')
    """
    db = db or os.environ.get("BIZCASE_DB") or DEFAULT_DB
    if "://" not in db:
        return f"sqlite:///{Path(db).expanduser()}"
    for plain in ("postgresql://", "postgres://"):
        if db.startswith(plain):  # SQLAlchemy's default driver is psycopg2; we ship psycopg 3
            return "postgresql+psycopg://" + db.removeprefix(plain)
    return db


def connect(db: str | None = None) -> sa.Engine:
    """Open (and create or migrate) the history at ``db``."""
    url = db_url(db)
    try:
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            migrate(conn)
    except sa.exc.ArgumentError as e:
        raise HistoryError(f"--db {url}: not a database URL ({e})") from None
    except (sa.exc.SQLAlchemyError, ImportError) as e:
        raise HistoryError(f"--db {_safe(url)}: cannot open the history ({_reason(e)})") from None
    return engine


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url


def _reason(e: Exception) -> str:
    return str(getattr(e, "orig", None) or e).strip().splitlines()[0]


def migrate(conn) -> int:
    """Bring the schema to :data:`SCHEMA_VERSION`; return the version found."""
    schema_table.create(conn, checkfirst=True)
    row = conn.execute(sa.select(schema_table.c.version)).first()
    found = row[0] if row else 0
    if found > SCHEMA_VERSION:
        raise HistoryError(
            f"history schema {found} is newer than this bizcase reads ({SCHEMA_VERSION}); "
            f"upgrade bizcase"
        )
    for step in MIGRATIONS[found:]:
        step(conn)
    if row is None:
        conn.execute(schema_table.insert().values(version=SCHEMA_VERSION))
    elif found < SCHEMA_VERSION:
        conn.execute(schema_table.update().values(version=SCHEMA_VERSION))
    return found


def _json(value) -> str:
    def plain(v):
        if isinstance(v, np.ndarray):
            return v.tolist()
        if isinstance(v, np.generic):
            return v.item()
        if isinstance(v, dict):
            return {str(k): plain(x) for k, x in v.items()}
        return v

    return json.dumps(plain(value), sort_keys=True, ensure_ascii=False, allow_nan=True)


def record(report, rolled, as_of: dt.date | None = None, db: str | None = None) -> tuple[int, str]:
    """Store a rollup's plan (:func:`udfs.portfolio.plan`) and ``read_cases``' cases.

    Returns the new rollup's id and the URL it went to (password hidden).
    """
    as_of = as_of or dt.date.today()
    rows = []
    for i, case in enumerate(report.aligned.cases):
        model, values = rolled.models[i]
        inputs = {**input_values(model), **values}
        evaluation = evaluate(model, inputs)
        action, _reason_text = report.recommendations[i]
        rows.append(
            {
                "case_id": case.id,
                "name": case.name,
                "product_line": case.product_line,
                "file": str(rolled.files[i]),
                "fingerprint": _fingerprint(model, values),
                "currency": case.currency,
                "fx_rate": case.fx_rate,
                "npv": case.extra.get("own_npv", case.npv),
                "capital": float(np.sum(case.capital)),
                "selected": bool(report.selected[i]),
                "recommendation": action,
                "spec": _json(model.spec.model_dump(mode="json")),
                "inputs": _json(inputs),
                "outputs": _json(evaluation.outputs),
                "kpi_targets": _json(kpi_targets(evaluation)),
                "kpi_actuals": _json(kpi_actuals(rolled.files[i], model.spec.meta.start_year)),
            }
        )
    fx = {c.currency: c.fx_rate for c in report.aligned.cases}
    totals = report.headlines()
    engine = connect(db)
    try:
        with engine.begin() as conn:
            rollup_id = conn.execute(
                rollups.insert().values(
                    as_of=as_of,
                    recorded_at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
                    currency=report.currency,
                    fx=_json(fx),
                    npv=totals["NPV"],
                    selected_npv=totals["SelectedNPV"],
                    budget=report.budget_total,
                    bizcase_version=metadata.version("bizcase"),
                )
            ).inserted_primary_key[0]
            conn.execute(cases.insert(), [{**r, "rollup_id": rollup_id} for r in rows])
    except sa.exc.SQLAlchemyError as e:
        raise HistoryError(f"--db {_safe(db_url(db))}: cannot record ({_reason(e)})") from None
    finally:
        engine.dispose()
    return rollup_id, _safe(db_url(db))


def _fingerprint(model, values) -> str:
    from .rollup import fingerprint

    return fingerprint(SimpleNamespace(model=model, values=values))


def kpi_targets(evaluation) -> dict[str, dict[str, float]]:
    """The KPIs sheet's targets: each KPI line summed by calendar year."""
    years = evaluation.lines["year"]
    out = {}
    for label, line in KPIS.items():
        row = evaluation.lines[line]
        out[label] = {str(int(y)): float(row[years == y].sum()) for y in np.unique(years)}
    return out


def kpi_actuals(path: Path, start_year: int) -> dict[str, dict[str, float]]:
    """The actuals typed on a workbook's KPIs sheet (rows labelled Actual), by year.

    Year columns start with the case's first year where the KPIs layout puts
    it; a blank or non-numeric cell is no actual.
    """
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(str(path))
        sheet = book.get_sheet_by_name(KPI_SHEET.sheet).to_python()
    except Exception:  # no KPIs sheet, or an unreadable file: no actuals to record
        return {}
    out: dict[str, dict[str, float]] = {}
    label = None
    name, kind, first = (
        KPI_SHEET.label_column - 1,
        KPI_SHEET.kind_column - 1,
        KPI_SHEET.first_year_column - 1,
    )
    for row in sheet:
        if len(row) > kind and row[kind] == KPI_SHEET.target:  # "Revenue (EUR)": KPI, unit
            label = re.sub(r"\s*\([^)]*\)$", "", str(row[name]))
        if len(row) > kind and row[kind] == KPI_SHEET.actual and label in KPIS:
            values = {
                str(start_year + j): float(v)
                for j, v in enumerate(row[first:])
                if isinstance(v, int | float) and not isinstance(v, bool)
            }
            if values:
                out[label] = values
    return out


@dataclass
class Rollup:
    """A recorded rollup and its cases, as the review reads them."""

    id: int
    as_of: dt.date
    currency: str
    fx: dict[str, float]
    npv: float
    selected_npv: float
    budget: float | None
    cases: list[CaseRecord]


def list_rollups(db: str | None = None) -> list[tuple[int, dt.date, str, float]]:
    """(id, date, currency, NPV) of every recorded rollup, oldest first."""
    engine = connect(db)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(
                    rollups.c.id, rollups.c.as_of, rollups.c.currency, rollups.c.npv
                ).order_by(rollups.c.as_of, rollups.c.id)
            ).all()
    finally:
        engine.dispose()
    return [tuple(r) for r in rows]


def load_pair(
    db: str | None = None, start: dt.date | None = None, end: dt.date | None = None
) -> tuple[Rollup, Rollup]:
    """The two rollups to compare: the last two, or the last recorded on each date given."""
    listed = list_rollups(db)
    if len(listed) < 2 and (start is None or end is None):
        raise HistoryError(
            f"{_safe(db_url(db))}: a review needs two recorded rollups; found {len(listed)} "
            f"(record one with bizcase rollup ... --record)"
        )

    def on(day: dt.date, flag: str) -> int:
        ids = [r[0] for r in listed if r[1] == day]
        if not ids:
            dates = ", ".join(sorted({r[1].isoformat() for r in listed})) or "none"
            raise HistoryError(f"{flag} {day}: no rollup recorded that day; recorded: {dates}")
        return ids[-1]

    first = on(start, "--from") if start else listed[-2][0]
    second = on(end, "--to") if end else listed[-1][0]
    engine = connect(db)
    try:
        with engine.connect() as conn:
            pair = _load(conn, first), _load(conn, second)
    finally:
        engine.dispose()
    if pair[0].currency != pair[1].currency:
        raise HistoryError(
            f"review: the rollups of {pair[0].as_of} and {pair[1].as_of} are in "
            f"{pair[0].currency} and {pair[1].currency}; a bridge needs one currency"
        )
    return pair


def _load(conn, rollup_id: int) -> Rollup:
    r = conn.execute(sa.select(rollups).where(rollups.c.id == rollup_id)).mappings().one()
    rows = conn.execute(
        sa.select(cases).where(cases.c.rollup_id == rollup_id).order_by(cases.c.id)
    ).mappings()
    records = [
        CaseRecord(
            id=c["case_id"],
            npv=c["npv"],
            fx_rate=c["fx_rate"],
            spec=json.loads(c["spec"]),
            inputs=json.loads(c["inputs"]),
            name=c["name"],
            product_line=c["product_line"],
            selected=bool(c["selected"]),
            capital=c["capital"],
            kpi_actuals=json.loads(c["kpi_actuals"]),
            kpi_targets=json.loads(c["kpi_targets"]),
        )
        for c in rows
    ]
    return Rollup(
        r["id"],
        r["as_of"],
        r["currency"],
        json.loads(r["fx"]),
        r["npv"],
        r["selected_npv"],
        r["budget"],
        records,
    )
