"""The ``bizcase`` command line: headless use of the engine and the workbooks.

Every verb prints a human table by default and JSON with ``--json``; a failure
is one line on stderr and a non-zero exit status (1: bad input, 2: bad usage).
Help is plain text (``rich_markup_mode=None``): typer's rich panels label every
flag ``<bool>`` as if it took a value. Each command's help ends with one example,
in a ``\b`` paragraph so it is not re-wrapped and can be copied as it stands.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
from pathlib import Path
from typing import Annotated

import typer

from udfs.errors import BizcaseError
from workbooks.examples import EXAMPLES
from workbooks.version import TEMPLATE_VERSION

# Each command imports what it needs when it runs: numpy and pydantic (the model
# and the spec) only for the commands that read or write a case, pandas, scipy,
# openpyxl and rich only for those that use them. `bizcase evaluate` reads with
# python-calamine and never imports openpyxl, pandas or scipy
# (tests/test_cli_imports.py holds that), and `bizcase --help` imports neither
# numpy nor pydantic.

app = typer.Typer(
    name="bizcase",
    help="Business-case finance for product portfolios: metrics, workbooks, rollups.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
):
    """Business-case finance for product portfolios: metrics, workbooks, rollups."""
    if version:
        from importlib import metadata

        typer.echo(f"bizcase {metadata.version('bizcase')}")
        raise typer.Exit()
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())


def _fail(message: str, status: int = 1):
    typer.echo(f"bizcase: {message}", err=True)
    raise typer.Exit(status)


def _json_number(x: float):
    """JSON has no nan/inf: a metric that does not exist is null."""
    return None if x is None or not math.isfinite(x) else float(x)


@app.command()
def metrics(
    table: Annotated[
        Path | None,
        typer.Argument(
            metavar="TABLE",
            help="CSV or xlsx with columns project, product_line (optional), discount_rate, "
            "y0, y1, ... (annual flows, first at t=0). Default: the bundled example portfolio.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
):
    """NPV, IRR, MIRR, payback, discounted payback, ROI and PI for each project.

    \b
    Example (the bundled example portfolio):
      bizcase metrics --json
    """
    from udfs.metrics import project_metrics
    from workbooks.projects import example_projects_path, read_projects

    try:
        projects = read_projects(table or example_projects_path())
        result = project_metrics(projects.flows, projects.discount_rates, index=projects.names)
    except BizcaseError as e:
        _fail(str(e))
    if as_json:
        rows = [
            {
                "project": name,
                "product_line": line,
                **{k: int(v) if k == "irr_count" else _json_number(v) for k, v in row.items()},
            }
            for name, line, (_, row) in zip(
                projects.names, projects.product_lines, result.iterrows(), strict=True
            )
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    _print_metrics(result, projects.product_lines, title=str(table or "Example portfolio"))


@app.command()
def new(
    spec: Annotated[
        str | None,
        typer.Argument(
            metavar="SPEC", help="Spec file (.toml or .json); with --example, an example's name."
        ),
    ] = None,
    output: Annotated[
        Path,
        typer.Option("-o", "--output", help="Workbook (.xlsx), or a folder with --all-examples."),
    ] = Path("case.xlsx"),
    example: Annotated[
        bool,
        typer.Option(
            "--example",
            help=f"Use a bundled example: the documented one, or the one named "
            f"({', '.join(EXAMPLES)}).",
        ),
    ] = False,
    all_examples: Annotated[
        bool, typer.Option("--all-examples", help="Write every bundled example into the -o folder.")
    ] = False,
    generated: Annotated[
        int,
        typer.Option(
            "--generated", help="Write N varied demo cases into the -o folder.", show_default=False
        ),
    ] = 0,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
):
    """Generate the standard business-case workbook from a spec.

    \b
    Example (a bundled example; for your own: bizcase new my_case.toml -o my_case.xlsx):
      bizcase new --example analytics_addon -o case.xlsx
    """
    from udfs.spec import SpecError, load_spec
    from workbooks.business_case import write_business_case
    from workbooks.examples import example_spec
    from workbooks.examples.generated import varied_specs

    if generated < 0:
        _fail(f"--generated: must be 0 or more cases; got {generated}", status=2)
    if (all_examples or generated) and output.exists() and not output.is_dir():
        _fail(f"{output}: is a file; --all-examples and --generated write into a folder", status=2)
    try:
        if all_examples or generated:
            specs = {name: example_spec(name) for name in EXAMPLES} if all_examples else {}
            for spec_ in varied_specs(generated):
                specs[spec_.meta.id] = spec_
            for name, spec_ in specs.items():
                typer.echo(f"wrote {write_business_case(spec_, output / f'{name}.xlsx', force)}")
            return
        if example:
            loaded = example_spec(spec or next(iter(EXAMPLES)))
        elif spec is None:
            _fail("give a spec file, or --example [NAME]", status=2)
        else:
            loaded = load_spec(spec)
        path = write_business_case(loaded, output, overwrite=force)
    except SpecError as e:
        typer.echo(
            f"bizcase: {len(e.problems)} problem(s) in {e.source}; no file written:", err=True
        )
        for problem in e.problems:
            typer.echo(f"  - {problem}", err=True)
        raise typer.Exit(1) from None
    except BizcaseError as e:
        _fail(str(e))
    typer.echo(f"wrote {path}")


@app.command()
def evaluate(
    files: Annotated[
        list[Path], typer.Argument(metavar="FILE", help="Business-case workbooks (.xlsx).")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
    scenario: Annotated[
        str | None,
        typer.Option("--scenario", help="Low, Base or High instead of the workbook's In_Scenario."),
    ] = None,
    with_checks: Annotated[
        bool,
        typer.Option(
            "--checks",
            help="Also compute the model's checks (the Checks sheet); exit 4 if one fails.",
        ),
    ] = False,
):
    """The engine's outputs for a workbook's inputs (read by defined name).

    --json prints one line per file, in the order given (JSON Lines): an object of the
    Out_ names without the prefix (null where a result does not exist: no IRR, never
    pays back), or {"error": reason} for a file that could not be evaluated. One file
    gives one such object. Every file is tried; the exit status is 1 if any failed,
    each failure also one line on stderr. A terminal value above its limit share of
    NPV (In_TVShareLimit, default 75%) is flagged on stderr.

    --checks also computes the checks of the current template's Checks sheet (a
    workbook of an earlier template shows older ones) from the same inputs: each
    failing one is a line on stderr, --json adds "checks" (by name: ok,
    value, other, difference, warning), and the exit status is 4 when a check of the
    master check fails. Only the workbook can show a typed-over cell or a stale
    Sensitivity snapshot: `bizcase check` finds the first.

    \b
    Example:
      bizcase evaluate case.xlsx --json
    """
    from udfs.model import evaluate as evaluate_model
    from udfs.spec import SCENARIOS
    from workbooks.reader import read_business_case

    if scenario is not None and scenario.strip().lower() not in {s.lower() for s in SCENARIOS}:
        _fail(f"--scenario: must be one of {', '.join(SCENARIOS)}; got {scenario!r}", status=2)
    results, failures, checks = {}, {}, {}
    for path in files:
        try:
            case = read_business_case(path)
            result = evaluate_model(case.model, case.values, scenario)
            if with_checks:
                from udfs.model import evaluate_checks

                checks[str(path)] = evaluate_checks(case.model, case.values, scenario)
            results[str(path)] = (case, result)  # a file is either a result or a failure
        except (BizcaseError, ValueError) as e:
            failures[str(path)] = str(e)
    for path, (case, result) in results.items():
        share, limit = result.outputs["TerminalValueShare"], case.values["TVShareLimit"]
        if math.isfinite(share) and share > limit:
            typer.echo(
                f"bizcase: {path}: the terminal value is {share:.0%} of NPV, over the "
                f"{limit:.0%} limit (In_TVShareLimit)",
                err=True,
            )
    for path, found in checks.items():
        for c in found:
            if not c.ok:
                kind = "warning" if c.warning else "check failed"
                typer.echo(f"bizcase: {path}: {kind}: {c.label}", err=True)
    if as_json:
        for p in files:
            if str(p) in failures:
                record = {"error": failures[str(p)]}
            else:
                record = {k: _json_number(v) for k, v in results[str(p)][1].outputs.items()}
            if str(p) in checks:
                record["checks"] = {
                    c.name: {
                        "ok": c.ok,
                        "value": _json_number(c.value),
                        "other": _json_number(c.other),
                        "difference": _json_number(c.difference),
                        "warning": c.warning,
                    }
                    for c in checks[str(p)]
                }
            typer.echo(json.dumps(record))
    elif results:
        _print_cases(results)
    for reason in failures.values():
        typer.echo(f"bizcase: {reason}", err=True)
    if failures:
        raise typer.Exit(1)
    if any(not c.ok and not c.warning for found in checks.values() for c in found):
        raise typer.Exit(4)


@app.command()
def rollup(
    inputs: Annotated[
        list[Path], typer.Argument(metavar="PATH", help="Business-case workbooks or folders.")
    ],
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Portfolio workbook to write.")
    ] = Path("portfolio.xlsx"),
    budget: Annotated[
        float | None,
        typer.Option("--budget", help="Total capital available over the portfolio's years."),
    ] = None,
    budget_by_year: Annotated[
        str | None,
        typer.Option(
            "--budget-by-year",
            help="Capital limit per calendar year, comma-separated, from the "
            "first year of any case.",
        ),
    ] = None,
    rank_by: Annotated[str, typer.Option("--rank-by", help="npv, pi, irr, enpv or score.")] = "npv",
    value: Annotated[
        str, typer.Option("--value", help="What selection maximises: npv or enpv.")
    ] = "npv",
    simulate: Annotated[
        int,
        typer.Option(
            "--simulate", help="Monte Carlo trials per case for the portfolio Risk sheet (0: none)."
        ),
    ] = 0,
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed for --simulate.")] = None,
    correlation: Annotated[
        float,
        typer.Option("--correlation", help="Rank correlation between cases of one product line."),
    ] = 0.0,
    target: Annotated[
        float | None,
        typer.Option(
            "--target", help="Portfolio NPV target; reports the probability of missing it."
        ),
    ] = None,
    currency: Annotated[
        str | None,
        typer.Option(
            "--currency",
            help="The portfolio's currency (default: the cases' own, when they all share one).",
        ),
    ] = None,
    fx: Annotated[
        str | None,
        typer.Option(
            "--fx",
            help="Rates for cases in other currencies: the value of one unit in the portfolio "
            "currency, e.g. USD=0.92,GBP=1.17.",
        ),
    ] = None,
    settings: Annotated[
        Path | None,
        typer.Option(
            "--settings",
            help='Portfolio settings (TOML): currency = "EUR" and an [fx] table of CODE = RATE; '
            "--currency and --fx override it.",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the totals as JSON.")] = False,
    record: Annotated[
        bool,
        typer.Option("--record", help="Store this rollup in the portfolio history (see --db)."),
    ] = False,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="The recorded rollup's date, YYYY-MM-DD (default: today)."),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="History database: a SQLite file or a SQLAlchemy URL such as "
            "postgresql+psycopg://host/db (default: $BIZCASE_DB, else bizcase-history.sqlite).",
        ),
    ] = None,
):
    """Roll a folder of business cases up into a portfolio workbook, and choose what to fund.

    Every amount is in one currency: cases in another need a rate (--fx), or the rollup
    fails naming them and writes nothing. A case whose inputs equal another's (a copy)
    counts once. Exit status: 0 when every file rolled up, 3 when some could not be read
    (they are listed on the Exceptions sheet), 1 when nothing could be done, 2 for bad usage.

    \b
    Example (the cases `make demo` writes):
      bizcase rollup demo-output/cases -o p.xlsx --budget 20000000 --currency EUR --fx USD=0.92
    """
    from dataclasses import replace

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from udfs.portfolio import Settings, parse_rates, plan
    from workbooks.rollup import check_output, load_settings, read_cases, workbook_paths

    if budget is not None and budget_by_year is not None:
        _fail("give --budget or --budget-by-year, not both", status=2)
    if value not in ("npv", "enpv"):
        _fail(f"--value: must be npv or enpv; got {value!r}", status=2)
    by_year = None
    if budget_by_year is not None:
        try:
            by_year = [float(x) for x in budget_by_year.split(",")]
        except ValueError:
            _fail(
                f"--budget-by-year: expected numbers separated by commas; got {budget_by_year!r}",
                status=2,
            )
    for flag, amount in (
        ("--budget", budget),
        ("--target", target),
        *(("--budget-by-year", x) for x in by_year or ()),
    ):
        if amount is not None and not math.isfinite(amount):
            _fail(f"{flag}: must be a finite amount; got {amount}", status=2)
    for flag, amount in (("--budget", budget), *(("--budget-by-year", x) for x in by_year or ())):
        if amount is not None and amount < 0:
            _fail(f"{flag}: capital available must be 0 or more; got {amount:g}", status=2)
    if not -1.0 <= correlation <= 1.0:
        _fail(f"--correlation: must be from -1 to 1; got {correlation}", status=2)
    if simulate < 0:
        _fail(f"--simulate: must be 0 (none) or a number of trials; got {simulate}", status=2)
    as_of_date = _date(as_of, "--as-of") if as_of is not None else None
    try:
        options = load_settings(settings) if settings is not None else Settings()
        rates = {**options.rates, **(parse_rates(fx) if fx is not None else {})}
        found = workbook_paths(inputs)
        check_output(output, found.paths)
    except BizcaseError as e:
        _fail(str(e), status=2)
    except OSError as e:  # a name too long, a folder we may not list, ...
        _fail(f"{e.filename}: cannot be read ({e.strerror or e})", status=2)
    for _file, note in found.left_out:
        typer.echo(f"bizcase: {note}", err=True)
    paths = found.paths
    if not paths:
        _fail("no files to roll up")
    with Progress(
        TextColumn("reading cases"),
        BarColumn(),
        MofNCompleteColumn(),
        transient=True,
        console=Console(stderr=True),
    ) as progress:
        task = progress.add_task("read", total=len(paths))
        rolled = read_cases(
            paths, progress=lambda _: progress.advance(task), left_out=found.left_out
        )
    for copy, counted in rolled.duplicates:
        typer.echo(
            f"bizcase: {copy} has the same inputs as {counted}: a duplicate, counted once",
            err=True,
        )
    try:
        with Progress(
            TextColumn("simulating cases"),
            BarColumn(),
            MofNCompleteColumn(),
            transient=True,
            console=Console(stderr=True),
        ) as progress:
            task = progress.add_task("simulate", total=len(rolled.cases) if simulate else 0)
            asked = replace(
                options,
                currency=currency if currency is not None else options.currency,
                rates=rates,
                budget=budget,
                budget_by_year=None if by_year is None else tuple(by_year),
                rank_by=rank_by,
                value_key=value,
                trials=simulate,
                seed=seed,
                correlation=correlation,
                target=target,
            )
            report = plan(rolled, asked, progress=lambda k: progress.advance(task, k))
        from workbooks.portfolio_workbook import write_portfolio

        path = write_portfolio(report, output, overwrite=force)
        if record:
            from workbooks.history import record as record_rollup

            rollup_id, where = record_rollup(report, rolled, as_of_date, db)
            typer.echo(f"recorded rollup {rollup_id} in {where}", err=True)
    except BizcaseError as e:
        for _file, reason in rolled.exceptions:
            typer.echo(f"bizcase: skipped {reason}", err=True)
        _fail(str(e))
    totals = report.headlines()
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "cases": len(report.cases),
                    "currency": report.currency,
                    "fx": {c.currency: c.fx_rate for c in report.cases},
                    "npv": totals["NPV"],
                    "enpv": totals["eNPV"],
                    "capital": totals["Capital"],
                    "irr": _json_number(totals["IRR"]),
                    "mirr": _json_number(totals["MIRR"]),
                    "selected_npv": totals["SelectedNPV"],
                    "selected": report.selected_ids(),
                    "exceptions": [{"file": str(f), "reason": r} for f, r in rolled.exceptions],
                    "duplicates": [
                        {"file": str(f), "same_as": str(k)} for f, k in rolled.duplicates
                    ],
                    "left_out": [{"file": str(f), "reason": r} for f, r in rolled.left_out],
                    "simulation": None
                    if report.simulation is None
                    else {k: _json_number(v) for k, v in report.simulation.summary().items()},
                },
                indent=2,
            )
        )
    else:
        typer.echo(
            f"wrote {path}: {len(report.cases)} cases, in {report.currency}: NPV "
            f"{_money(totals['NPV'])}, eNPV {_money(totals['eNPV'])}, capital "
            f"{_money(totals['Capital'])}; funded {int(report.selected.sum())} with NPV "
            f"{_money(totals['SelectedNPV'])}"
        )
    for _file, reason in rolled.exceptions:
        typer.echo(f"bizcase: skipped {reason}", err=True)
    for file, name, cached, engine in rolled.overrides:
        typer.echo(
            f"bizcase: {file}: {name} in the file is {cached:,.6g} but the inputs give "
            f"{engine:,.6g} (a formula was edited or overwritten)",
            err=True,
        )
    if rolled.exceptions:
        raise typer.Exit(3)


@app.command()
def simulate(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="Business-case workbook (.xlsx).")],
    trials: Annotated[
        int | None,
        typer.Option("--trials", help="Number of trials (default: the spec's, else 10,000)."),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed",
            help="Random seed (default: the spec's); the same seed gives the same numbers.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
    write: Annotated[
        bool,
        typer.Option(
            "--write",
            help="Put a Risk sheet (summary, histogram, "
            "S-curve) into the workbook; nothing else changes.",
        ),
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="With --write: write into a read-only file too.")
    ] = False,
):
    """Monte Carlo of a business case's NPV from its workbook's inputs.

    Distributions come from the spec (risk.distributions), else from the Low/High
    scenario adjustments. Anything adjusted to make them usable (correlations moved to the
    nearest valid matrix) is reported on stderr and under "notes" in the JSON.

    \b
    Example:
      bizcase simulate case.xlsx --trials 100000 --seed 7 --json
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from udfs.risk import simulate as run_simulation
    from workbooks.files import refuse_read_only
    from workbooks.inject import put_sheet
    from workbooks.reader import read_business_case
    from workbooks.risk_sheet import risk_sheet

    try:
        if write:
            refuse_read_only(file, force)
        case = read_business_case(file)
        mc = case.model.spec.risk.monte_carlo
        n = trials if trials is not None else mc.trials
        with Progress(
            TextColumn("simulating"),
            BarColumn(),
            MofNCompleteColumn(),
            transient=True,
            console=Console(stderr=True),
        ) as progress:
            task = progress.add_task("trials", total=n)
            sim = run_simulation(
                case.model,
                n,
                seed if seed is not None else mc.seed,
                values=case.values,
                progress=lambda k: progress.advance(task, k),
            )
        if write:
            put_sheet(
                file, risk_sheet(sim, case.model.spec.meta.name, case.model.spec.meta.currency)
            )
    except (BizcaseError, ValueError) as e:
        _fail(str(e))
    for note in sim.notes:  # an input was adjusted: say so, and by how much
        typer.echo(f"bizcase: {file}: {note}", err=True)
    summary = sim.summary("NPV")
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "trials": sim.trials,
                    "seed": sim.seed,
                    **{k: _json_number(v) for k, v in summary.items()},
                    "irr": {k: _json_number(v) for k, v in sim.summary("IRR").items()},
                    "notes": list(sim.notes),
                },
                indent=2,
            )
        )
    else:
        cur = case.model.spec.meta.currency
        typer.echo(
            f"{case.model.spec.meta.name}: NPV over {sim.trials:,} trials (seed "
            f"{sim.seed}): mean {cur} {_money(summary['mean'])}, P10 "
            f"{_money(summary['p10'])}, P50 {_money(summary['p50'])}, P90 "
            f"{_money(summary['p90'])}; P(NPV < 0) {summary['prob_negative']:.1%}"
        )
        if write:
            typer.echo(f"wrote the Risk sheet into {file}")


@app.command()
def sensitivity(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="Business-case workbook (.xlsx).")],
    output: Annotated[
        str, typer.Option("--output", help="The output to study, e.g. NPV, eNPV, IRR.")
    ] = "NPV",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
):
    """One-way tornado of an output, and the break-even value of each driver.

    Each driver moves alone to its Low and High scenario adjustments; one that neither
    scenario moves gets -20% and +20%, one that only one scenario moves stays at +0% on
    the other side. Break-even is the change in the driver (and the driver's value, in
    its unit) at which the output is zero.

    \b
    Example:
      bizcase sensitivity case.xlsx --output eNPV
    """
    from udfs.sensitivity import breakeven, tornado
    from workbooks.reader import read_business_case

    try:
        case = read_business_case(file)
        bars = tornado(case.model, output, values=case.values)
        points = {b.key: breakeven(case.model, b.key, output, case.values) for b in bars}
    except (BizcaseError, ValueError) as e:
        _fail(str(e))
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "driver": b.key,
                        "low_change": b.low_change,
                        "high_change": b.high_change,
                        f"{output.lower()}_low": _json_number(b.npv_low),
                        f"{output.lower()}_high": _json_number(b.npv_high),
                        "breakeven_change": None if points[b.key] is None else points[b.key].change,
                        "breakeven_value": None if points[b.key] is None else points[b.key].value,
                        "breakeven_unit": None if points[b.key] is None else points[b.key].unit,
                    }
                    for b in bars
                ],
                indent=2,
            )
        )
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"{case.model.spec.meta.name}: sensitivity of {output}", title_justify="left"
    )
    for h in (
        "Driver",
        "Low",
        "High",
        f"{output} at low",
        f"{output} at high",
        "Swing",
        "Break-even change",
        "Driver at break-even",
    ):
        table.add_column(h, justify="left" if h == "Driver" else "right", no_wrap=True)
    for b in bars:
        p = points[b.key]
        table.add_row(
            b.label,
            f"{b.low_change:+.0%}",
            f"{b.high_change:+.0%}",
            _money(b.npv_low),
            _money(b.npv_high),
            _money(b.swing),
            "none in range" if p is None else f"{p.change:+.1%}",
            "" if p is None else _in_unit(p.value, p.unit),
        )
    Console(width=max(shutil.get_terminal_size().columns, 140)).print(table)


@app.command()
def check(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="Business-case workbook (.xlsx).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
):
    """Check a business case's calculations against its template.

    Finds numbers typed over formulas, edited formulas, broken references, rows whose
    formula changes from column to column, and moved or deleted names. Exit status 4
    when it finds problems.

    \b
    Example:
      bizcase check case.xlsx
    """
    from workbooks.integrity import check_workbook
    from workbooks.reader import CalamineSource

    try:
        problems = check_workbook(file)
    except (BizcaseError, ValueError) as e:
        _fail(str(e))
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {"sheet": p.sheet, "cell": p.cell, "kind": p.kind, "detail": p.detail}
                    for p in problems
                ],
                indent=2,
            )
        )
    elif problems:
        for problem in problems:
            typer.echo(str(problem))
        typer.echo(f"{file}: {len(problems)} problem(s)", err=True)
    else:
        version, _ = CalamineSource(file).recorded()  # no need to read the case again
        typer.echo(
            f"{file}: every calculation matches the template"
            if version == TEMPLATE_VERSION
            else f"{file}: template {version}: every timeline row is consistent "
            f"(`bizcase upgrade` moves it to template {TEMPLATE_VERSION})"
        )
    if problems:
        raise typer.Exit(4)


@app.command()
def upgrade(
    old: Annotated[Path, typer.Argument(metavar="FILE", help="Business-case workbook to upgrade.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="The new workbook.")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
):
    """Rebuild a business case in the current template, carrying over its inputs.

    Inputs are carried by their defined names, KPI actuals by cell; anything that is not
    carried over is listed.

    \b
    Example:
      bizcase upgrade case.xlsx -o case-upgraded.xlsx
    """
    from workbooks.integrity import upgrade_workbook

    try:
        result = upgrade_workbook(old, output, overwrite=force)
    except (BizcaseError, ValueError) as e:
        _fail(str(e))
    moved = (
        f" (template {result.source_version} -> {TEMPLATE_VERSION}, inputs matched by name)"
        if result.source_version != TEMPLATE_VERSION
        else ""
    )
    typer.echo(f"wrote {result.path}: {result.carried} inputs carried over{moved}")
    for item in result.not_carried:
        typer.echo(f"not carried over: {item}", err=True)


addin_app = typer.Typer(
    help="Set up Excel: the xlwings Lite bundle.", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(addin_app, name="addin")


@app.command()
def review(
    date_from: Annotated[
        str | None, typer.Option("--from", help="The earlier rollup's date, YYYY-MM-DD.")
    ] = None,
    date_to: Annotated[
        str | None, typer.Option("--to", help="The later rollup's date, YYYY-MM-DD.")
    ] = None,
    db: Annotated[
        str | None,
        typer.Option("--db", help="History database (as for rollup --record)."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write a Review workbook here.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the review as JSON.")] = False,
):
    """Explain the change in portfolio NPV between two recorded rollups.

    The bridge: cases added, cases removed, re-estimates of continuing cases by driver
    family (market and volume, price, costs, investment, timing, discount rate, other
    inputs, replaced one family at a time in that order), currency rates, and anything
    restated; the components sum to the change. Also KPI actuals against target and the
    funded set's change. Default: the last two rollups in the history.

    \b
    Example:
      bizcase review --db demo-output/history.sqlite --from 2026-09-30 --to 2026-12-31
    """
    from udfs.review import bridge, funded_change, kpi_by_line, kpi_status
    from workbooks.history import load_pair

    start = _date(date_from, "--from") if date_from is not None else None
    end = _date(date_to, "--to") if date_to is not None else None
    if (start is None) != (end is None):
        _fail("give both --from and --to, or neither (the last two rollups)", status=2)
    try:
        old, new = load_pair(db, start, end)
        result = bridge(old.cases, new.cases)
        kpis = kpi_status(new.cases)
        lines = kpi_by_line(kpis)
        funded = funded_change(old.cases, new.cases)
        if output is not None:
            from workbooks.review_sheet import write_review

            write_review(output, old, new, result, kpis, lines, funded, overwrite=force)
    except BizcaseError as e:
        _fail(str(e))
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "from": old.as_of.isoformat(),
                    "to": new.as_of.isoformat(),
                    "currency": new.currency,
                    "start": result.start,
                    "end": result.end,
                    "change": result.change,
                    "components": {k: v for k, _, v in result.rows()},
                    "by_case": result.by_case,
                    "kpis": [
                        {
                            "case": s.case,
                            "product_line": s.product_line,
                            "kpi": s.kpi,
                            "years": s.years,
                            "actual": s.actual,
                            "target": s.target,
                            "off_track": s.off_track,
                        }
                        for s in kpis
                    ],
                    "funded": {
                        "added": funded.funded,
                        "dropped": funded.unfunded,
                        "kept": funded.kept,
                        "selected_npv": [old.selected_npv, new.selected_npv],
                    },
                },
                indent=2,
            )
        )
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"NPV bridge, {old.as_of} to {new.as_of} ({new.currency})")
    table.add_column("Component")
    table.add_column("NPV", justify="right")
    table.add_row(f"Portfolio NPV, {old.as_of}", _money(result.start))
    for _key, label, amount in result.rows():
        table.add_row(label, _money(amount))
    table.add_row(f"Portfolio NPV, {new.as_of}", _money(result.end))
    Console().print(table)
    for s in kpis:
        if s.off_track:
            typer.echo(
                f"off track: {s.case} {s.kpi} {_money(s.actual)} against {_money(s.target)} "
                f"({', '.join(map(str, s.years))})"
            )
    typer.echo(
        f"funded set: +{len(funded.funded)} ({', '.join(funded.funded) or '-'}), "
        f"-{len(funded.unfunded)} ({', '.join(funded.unfunded) or '-'}), "
        f"{len(funded.kept)} kept"
    )
    if output is not None:
        typer.echo(f"wrote {output}")


@app.command()
def report(
    portfolio: Annotated[
        Path, typer.Argument(metavar="PORTFOLIO", help="A portfolio workbook (bizcase rollup).")
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help="The deck to write (.pptx).")],
    cases: Annotated[
        list[Path] | None,
        typer.Option(
            "--cases",
            help="Folder of the case workbooks (default: the portfolio's folder and its "
            "cases/ subfolder), for the case slides' scenarios and tornado.",
        ),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="History for the NPV bridge slide (default: $BIZCASE_DB, else "
            "bizcase-history.sqlite if it exists; none: no bridge slide).",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
):
    """Write the board pack: a PowerPoint deck of the portfolio with native, editable charts.

    Slides: the headline; the NPV bridge between the last two recorded rollups (when there
    is a history); the funded set against the budget with the efficient frontier; portfolio
    risk (P10/P50/P90, when the rollup was simulated); recommendations and their reasons;
    one slide per funded or flagged (harvest, retire) case.

    \b
    Example (after make demo):
      bizcase report demo-output/portfolio.xlsx -o board.pptx --db demo-output/history.sqlite
    """
    from workbooks.board_pack import FLAGGED, build_deck, case_detail, read_portfolio, write_deck
    from workbooks.history import DEFAULT_DB

    try:
        book = read_portfolio(portfolio)
        folders = cases or [portfolio.parent, portfolio.parent / "cases"]
        details = {}
        for c in book.cases:
            if not (c["Selected"] or c["Recommendation"] in FLAGGED):
                continue
            found = [
                f / str(c["File"]) for f in folders if c["File"] and (f / str(c["File"])).is_file()
            ]
            if found:
                details[c["ID"]] = case_detail(found[0])
            else:
                typer.echo(
                    f"bizcase: {c['File']}: not found in {', '.join(map(str, folders))}; "
                    "its slide has no scenarios or tornado",
                    err=True,
                )
        bridge_result, dates = None, None
        db = (
            db
            or os.environ.get("BIZCASE_DB")
            or (DEFAULT_DB if Path(DEFAULT_DB).is_file() else None)
        )
        if db is not None:
            from udfs.review import bridge
            from workbooks.history import list_rollups, load_pair

            if len(list_rollups(db)) >= 2:
                old, new = load_pair(db)
                bridge_result, dates = bridge(old.cases, new.cases), (old.as_of, new.as_of)
                if new.currency != book.currency:
                    typer.echo(
                        f"bizcase: the history is in {new.currency}, the portfolio in "
                        f"{book.currency}; no bridge slide",
                        err=True,
                    )
                    bridge_result = None
        path = write_deck(build_deck(book, details, bridge_result, dates), output, force)
    except BizcaseError as e:
        _fail(str(e))
    typer.echo(f"wrote {path}")


def _date(text: str, flag: str):
    import datetime as dt

    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        _fail(f"{flag}: expected a date YYYY-MM-DD; got {text!r}", status=2)


@addin_app.command("lite")
def addin_lite(
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Folder for main.py and requirements.txt.")
    ] = Path("bizcase-lite"),
    wheel_url: Annotated[
        str | None,
        typer.Option("--wheel-url", help="Where xlwings Lite can download the bizcase wheel."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files.")] = False,
):
    """Write main.py and requirements.txt for xlwings Lite (every BC_ function and button).

    Paste them into the Lite editor's main.py and requirements.txt tabs.

    \b
    Example (give the address where you put the wheel):
      bizcase addin lite -o lite --wheel-url https://example.org/bizcase-0.1.0-py3-none-any.whl
    """
    from addin.lite import write_lite_bundle

    try:
        paths = write_lite_bundle(output, wheel_url, overwrite=force)
    except BizcaseError as e:
        _fail(str(e))
    for path in paths:
        typer.echo(f"wrote {path}")


def _print_cases(results) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(shutil.get_terminal_size().columns, 150))
    out = Table(
        title="Business cases (engine results for each workbook's inputs)", title_justify="left"
    )
    for header in (
        "Case",
        "Scenario",
        "NPV",
        "eNPV",
        "IRR",
        "Payback",
        "Peak funding",
        "Break-even",
        "TV share",
    ):
        out.add_column(
            header, justify="left" if header in ("Case", "Scenario") else "right", no_wrap=True
        )
    for _, (case, r) in results.items():
        o = r.outputs
        currency = case.model.spec.meta.currency
        out.add_row(
            case.model.spec.meta.name,
            r.scenario,
            f"{currency} {_money(o['NPV'])}",
            _money(o["eNPV"]),
            _percent(o["IRR"]),
            _years(o["Payback"]),
            _money(o["PeakFunding"]),
            "never" if not math.isfinite(o["BreakEvenYear"]) else f"{o['BreakEvenYear']:.0f}",
            _percent(o["TerminalValueShare"])
            + (" (over limit)" if o["TerminalValueShare"] > case.values["TVShareLimit"] else ""),
        )
    console.print(out)


def _print_metrics(result, product_lines, title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(shutil.get_terminal_size().columns, 120))
    out = Table(title=title, title_justify="left")
    for header in (
        "Project",
        "Line",
        "NPV",
        "IRR",
        "MIRR",
        "Payback",
        "Disc. payback",
        "ROI",
        "PI",
    ):
        text = header in ("Project", "Line")
        out.add_column(header, justify="left" if text else "right", no_wrap=True)
    for (name, row), line in zip(result.iterrows(), product_lines, strict=True):
        irr = _percent(row["irr"]) + ("*" if row["irr_count"] > 1 else "")
        out.add_row(
            str(name),
            line,
            _money(row["npv"]),
            irr,
            _percent(row["mirr"]),
            _years(row["payback"]),
            _years(row["discounted_payback"]),
            _percent(row["roi"]),
            _ratio(row["profitability_index"]),
        )
    console.print(out)
    console.print(
        "IRR '-': no rate makes the NPV zero; '*': several rates do (Excel's "
        "choice is shown; MIRR is the safer measure). Payback 'never': the "
        "cumulative cash flow stays negative.",
        style="dim",
    )


def _money(x: float) -> str:
    return f"{x:,.0f}" if math.isfinite(x) else "-"


def _percent(x: float) -> str:
    return f"{x:.1%}" if math.isfinite(x) else "-"


def _years(x: float) -> str:
    return "never" if not math.isfinite(x) else f"{x:.2f} y"


def _in_unit(x: float, unit: str) -> str:
    """A driver's value with its unit, to four significant digits: "4.47%", "42.6%/yr",
    "149,100 units/yr", "89.47 EUR/unit", "3.669 x base"."""
    if unit.startswith("%"):  # a fraction shown as a percentage; "%/yr" keeps its "/yr"
        return f"{float(f'{x * 100:.3g}'):g}%{unit[1:]}"
    rounded = float(f"{x:.4g}")
    number = f"{rounded:,.0f}" if abs(rounded) >= 1000 else f"{rounded:.4g}"
    return f"{number} {unit}"


def _ratio(x: float) -> str:
    return f"{x:.2f}" if math.isfinite(x) else "-"


def main() -> None:
    """Run the command line; a failure nobody foresaw is still one line, not a traceback.

    Typer runs non-standalone so that Ctrl-C inside a command (which it turns into
    status 130 silently) gets the same one line as Ctrl-C anywhere else.
    ``BIZCASE_DEBUG=1`` shows the traceback of an unexpected error, for a bug report.
    """
    try:
        status = app(standalone_mode=False)
    except KeyboardInterrupt:
        status = 130
    except typer.Abort:  # standard input closed while a command read it
        typer.echo("bizcase: aborted", err=True)
        sys.exit(1)
    except Exception as e:
        if hasattr(e, "show") and hasattr(e, "exit_code"):  # bad usage: the parser's message
            e.show()
            sys.exit(e.exit_code)
        if os.environ.get("BIZCASE_DEBUG") == "1":
            raise
        typer.echo(
            f"bizcase: unexpected error ({type(e).__name__}: {e}); please report it with "
            "the command you ran (BIZCASE_DEBUG=1 shows the details)",
            err=True,
        )
        sys.exit(70)
    if status == 130:  # typer's status for Ctrl-C; no command exits with it
        typer.echo("bizcase: interrupted", err=True)
    sys.exit(status if isinstance(status, int) else 0)


if __name__ == "__main__":
    main()
