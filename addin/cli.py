"""The ``bizcase`` command line: headless use of the engine and the workbooks.

Every verb prints a human table by default and JSON with ``--json``; a failure
is one line on stderr and a non-zero exit status (1: bad input, 2: bad usage).
"""

from __future__ import annotations

import json
import math
import shutil
import sys
from importlib import metadata
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from udfs.errors import BizcaseError
from udfs.metrics import project_metrics
from workbooks.projects import example_path, read_projects

app = typer.Typer(
    name="bizcase",
    help="Business-case finance for product portfolios: metrics, workbooks, rollups.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
):
    """Business-case finance for product portfolios: metrics, workbooks, rollups."""
    if version:
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
            help="CSV or xlsx with columns project, product_line (optional), discount_rate, "
            "y0, y1, ... (annual flows, first at t=0). Default: the bundled example portfolio."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
):
    """NPV, IRR, MIRR, payback, discounted payback, ROI and PI for each project.

    Example: bizcase metrics projects.csv --json
    """
    try:
        projects = read_projects(table or example_path())
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


def _print_metrics(result, product_lines, title: str) -> None:
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
    return "never" if x == math.inf else f"{x:.2f} y"


def _ratio(x: float) -> str:
    return f"{x:.2f}" if math.isfinite(x) else "-"


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("bizcase: interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
