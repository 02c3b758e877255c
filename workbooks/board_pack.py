"""The board pack: a PowerPoint deck of the portfolio, with native charts.

``bizcase report PORTFOLIO.xlsx -o board.pptx`` reads what the portfolio
workbook holds (the Cases table, the frontier on the Selection sheet, the Risk
sheet's Monte Carlo summary, the budget and the currency on the Summary sheet;
numbers the engine wrote there, not formulas), the case workbooks it names
(for each funded or flagged case: the decision asked, the scenario NPVs and a
tornado, computed by the engine), and the portfolio history when there is one
(the NPV bridge, :mod:`udfs.review`). Every chart is a chart part with its data
embedded, so it can be edited in PowerPoint.

Slides: the headline; the NPV bridge (with a history of two rollups or more);
the funded set against the budget, with the efficient frontier; portfolio risk
(P10/P50/P90 and the probability of missing the target); recommendations with
their reasons; one slide per funded or flagged case (flagged: recommended for
harvest or retirement, a decision to take).
"""

from __future__ import annotations

import math
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
from openpyxl.utils.cell import coordinate_to_tuple

from udfs.errors import BizcaseError

from .files import replace_atomically
from .reader import defined_names

FLAGGED = ("harvest", "retire")


@dataclass
class Portfolio:
    """What the deck shows of a portfolio workbook."""

    path: Path
    currency: str
    budget: float | None
    cases: list[dict]  # one per Cases row, keyed by the table's headers
    frontier: list[tuple[float, float, float, int]]  # budget, best value, capital, projects
    value_key: str
    risk: dict[str, float] = field(default_factory=dict)  # Mean, P10, ..., by defined name

    @property
    def npv(self) -> float:
        # numpy's sum, as the plan's headline (udfs.portfolio.HEADLINES), so it equals rollup's
        return float(np.sum([c["NPV"] for c in self.cases]))

    @property
    def enpv(self) -> float:
        return float(np.sum([c["eNPV"] for c in self.cases]))

    @property
    def funded(self) -> list[dict]:
        return [c for c in self.cases if c["Selected"]]


def _named_value(book, names: dict[str, str], name: str):
    """The value of the one cell a defined name refers to; None without the name.

    Read by name, not by position, so that a portfolio of any template version
    (whose Summary rows may sit elsewhere) gives its own figures."""
    if name not in names:
        return None
    sheet, cell = names[name].rsplit("!", 1)
    row, column = coordinate_to_tuple(cell.replace("$", ""))
    rows = book.get_sheet_by_name(sheet.strip("'").replace("''", "'")).to_python()
    if row > len(rows) or column > len(rows[row - 1]):
        return None
    value = rows[row - 1][column - 1]
    return None if value == "" else value


def read_portfolio(path: str | Path) -> Portfolio:
    """The engine's numbers a portfolio workbook (``bizcase rollup``'s output) holds."""
    from python_calamine import CalamineWorkbook

    path = Path(path)
    if not path.is_file():
        raise BizcaseError(f"{path}: no such file; expected a portfolio workbook (bizcase rollup)")
    try:
        with zipfile.ZipFile(path) as archive:
            names = defined_names(archive)
        book = CalamineWorkbook.from_path(str(path))
    except (OSError, zipfile.BadZipFile, KeyError, ElementTree.ParseError) as e:
        raise BizcaseError(f"{path}: cannot be read as a workbook ({e})") from None
    if "Port_NPV" not in names or "Cases" not in book.sheet_names:
        raise BizcaseError(
            f"{path}: not a bizcase portfolio workbook (no Port_NPV name or Cases sheet); "
            f"expected the output of bizcase rollup"
        )
    rows = book.get_sheet_by_name("Cases").to_python()
    header = [str(h) for h in rows[0]]
    cases = []
    for row in rows[1:]:
        if not row or row[0] in ("", None):
            continue
        case = dict(zip(header, row, strict=False))
        for key in ("IRR", "Payback", "PI"):
            if case.get(key) in ("", None):
                case[key] = math.nan
        cases.append(case)
    currency = _named_value(book, names, "Port_Currency")  # none before template 1.1
    currency = "" if currency is None else str(currency)
    budget = _named_value(book, names, "In_Budget")
    budget = budget if isinstance(budget, int | float) else None
    selection = book.get_sheet_by_name("Selection").to_python()
    value_key = str(selection[3][1]).removeprefix("Best ").lower()
    frontier = [
        (float(r[0]), float(r[1]), float(r[2]), int(r[3]))
        for r in selection[4:]
        if len(r) > 3 and isinstance(r[0], int | float) and not isinstance(r[0], bool)
    ]
    risk = {}
    if "Risk" in book.sheet_names:
        sheet = book.get_sheet_by_name("Risk").to_python()
        for name, ref in names.items():
            if name.startswith(("Port_NPV_", "Port_Prob")) and ref.startswith("Risk!"):
                r = int(ref.rsplit("$", 1)[1]) - 1
                risk[name] = float(sheet[r][1])
    return Portfolio(path, currency, budget, cases, frontier, value_key, risk)


@dataclass
class CaseDetail:
    """What a case slide needs from the case's own workbook (engine results)."""

    decision: str
    currency: str
    scenarios: dict[str, float]  # Low / Base / High -> NPV, in the case's currency
    tornado: list  # udfs.sensitivity.TornadoBar, widest first
    base: float


def case_detail(path: Path) -> CaseDetail:
    from udfs.model import evaluate
    from udfs.sensitivity import tornado

    from .reader import read_business_case

    case = read_business_case(path)
    scenarios = {
        s: evaluate(case.model, case.values, s).outputs["NPV"] for s in ("Low", "Base", "High")
    }
    base = evaluate(case.model, case.values).outputs["NPV"]
    return CaseDetail(
        case.model.spec.meta.decision,
        case.model.spec.meta.currency,
        scenarios,
        tornado(case.model, values=case.values)[:6],
        base,
    )


def money(x: float) -> str:
    return f"{x:,.0f}" if math.isfinite(x) else "-"


def _pct(x: float) -> str:
    return f"{x:.1%}" if isinstance(x, float) and math.isfinite(x) else "-"


def build_deck(portfolio: Portfolio, details: dict[str, CaseDetail], bridge=None, dates=None):
    """The presentation (python-pptx), 16:9."""
    from pptx import Presentation
    from pptx.util import Inches

    prs = Presentation()
    prs.slide_width, prs.slide_height = Inches(13.333), Inches(7.5)
    cur = portfolio.currency
    funded = portfolio.funded
    funded_npv = float(sum(c["NPV"] for c in funded))
    capital_used = float(sum(c["Capital"] for c in funded))

    s = _slide(prs, "Portfolio headline")
    _table(
        s,
        [
            ("Cases", str(len(portfolio.cases))),
            (f"Portfolio NPV, {cur}", money(portfolio.npv)),
            (f"Portfolio eNPV, {cur}", money(portfolio.enpv)),
            (f"Capital, all cases, {cur}", money(sum(c["Capital"] for c in portfolio.cases))),
            ("Funded cases", str(len(funded))),
            (f"Funded NPV, {cur}", money(funded_npv)),
            (
                f"Capital budget, {cur}",
                money(portfolio.budget) if portfolio.budget is not None else "none",
            ),
        ],
        left=0.6,
        top=1.5,
        width=6.5,
    )
    by_line: dict[str, float] = {}
    for c in portfolio.cases:
        by_line[c["Product line"] or "(none)"] = (
            by_line.get(c["Product line"] or "(none)", 0.0) + (c["NPV"])
        )
    _column(s, "NPV by product line", list(by_line), {"NPV": list(by_line.values())}, 7.4, 1.5)

    if bridge is not None:
        s = _slide(prs, f"What changed: NPV bridge, {dates[0]} to {dates[1]} ({cur})")
        _waterfall(s, bridge, dates)

    s = _slide(prs, f"Funded set against the budget ({cur})")
    _table(
        s,
        [("Case", "NPV", "Capital")]
        + [(c["ID"], money(c["NPV"]), money(c["Capital"])) for c in funded]
        + [
            ("Total funded", money(funded_npv), money(capital_used)),
            ("Budget", "", money(portfolio.budget) if portfolio.budget is not None else "none"),
        ],
        left=0.6,
        top=1.5,
        width=5.8,
    )
    if portfolio.frontier:
        _frontier(s, portfolio)

    s = _slide(prs, f"Portfolio risk: Monte Carlo of total NPV ({cur})")
    if portfolio.risk:
        r = portfolio.risk
        rows = [(k.removeprefix("Port_NPV_"), money(r[k])) for k in ("Port_NPV_P10",
                "Port_NPV_P50", "Port_NPV_P90", "Port_NPV_Mean") if k in r]  # fmt: skip
        rows.append(("P(NPV < 0)", _pct(r.get("Port_ProbNegative", math.nan))))
        if "Port_ProbMissTarget" in r:
            rows.append(("P(missing the target)", _pct(r["Port_ProbMissTarget"])))
        _table(s, rows, left=0.6, top=1.5, width=5.0)
        keys = [k for k in ("Port_NPV_P10", "Port_NPV_P50", "Port_NPV_P90") if k in r]
        _column(
            s, "P10 / P50 / P90", [k[-3:] for k in keys], {"NPV": [r[k] for k in keys]}, 6.2, 1.5
        )
    else:
        _text(s, "No simulation in this portfolio: roll up with --simulate N to see its risk.")

    s = _slide(prs, "Recommendations")
    _table(
        s,
        [("Case", "Action", "Why")]
        + [(c["ID"], str(c["Recommendation"]), str(c["Why"])) for c in portfolio.cases],
        left=0.4,
        top=1.3,
        width=12.5,
        widths=(2.2, 1.5, 8.8),
    )

    for c in portfolio.cases:
        if c["Selected"] or c["Recommendation"] in FLAGGED:
            _case_slide(prs, c, details.get(c["ID"]), cur)
    return prs


def _case_slide(prs, c: dict, detail: CaseDetail | None, cur: str) -> None:
    status = "funded" if c["Selected"] else f"flagged: {c['Recommendation']}"
    s = _slide(prs, f"{c['Name']} ({c['ID']}), {status}")
    decision = detail.decision if detail and detail.decision else "-"
    _text(s, f"Decision asked: {decision}", top=1.1)
    _table(
        s,
        [
            (f"NPV, {cur}", money(c["NPV"])),
            (f"eNPV, {cur}", money(c["eNPV"])),
            ("IRR", _pct(c["IRR"])),
            ("PI", f"{c['PI']:.2f}" if math.isfinite(c["PI"]) else "-"),
            ("Payback, years", f"{c['Payback']:.2f}" if math.isfinite(c["Payback"]) else "-"),
            (f"Capital, {cur}", money(c["Capital"])),
            ("Recommendation", f"{c['Recommendation']}: {c['Why']}"),
        ],
        left=0.4,
        top=1.7,
        width=5.2,
    )
    if detail is None:
        _text(s, "Case workbook not found: scenarios and tornado left out.", left=6.0, top=1.7)
        return
    own = detail.currency
    _column(
        s,
        f"NPV by scenario, {own}",
        list(detail.scenarios),
        {"NPV": list(detail.scenarios.values())},
        5.9,
        1.6,
        width=3.5,
    )
    bars = detail.tornado
    _tornado(s, bars, detail.base, own)


def _slide(prs, title: str):
    from pptx.enum.text import PP_ALIGN
    from pptx.util import Inches, Pt

    s = prs.slides.add_slide(prs.slide_layouts[5])
    heading = s.shapes.title
    # the layout's title box is sized for 4:3; the deck is 16:9
    heading.left, heading.top, heading.width, heading.height = (
        Inches(0.4), Inches(0.2), Inches(12.5), Inches(0.8)
    )  # fmt: skip
    heading.text = title
    heading.text_frame.paragraphs[0].font.size = Pt(26)
    heading.text_frame.paragraphs[0].alignment = PP_ALIGN.LEFT
    return s


def _text(slide, text: str, left=0.6, top=1.5, width=12.0):
    from pptx.util import Inches, Pt

    box = slide.shapes.add_textbox(Inches(left), Inches(top), Inches(width), Inches(0.5))
    box.text_frame.word_wrap = True
    box.text_frame.text = text
    box.text_frame.paragraphs[0].font.size = Pt(16)


def _table(slide, rows, left, top, width, widths=None):
    from pptx.util import Inches, Pt

    n_cols = len(rows[0])
    shape = slide.shapes.add_table(
        len(rows), n_cols, Inches(left), Inches(top), Inches(width), Inches(0.3 * len(rows))
    )
    table = shape.table
    if widths:
        for j, w in enumerate(widths):
            table.columns[j].width = Inches(w)
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            cell = table.cell(i, j)
            cell.text = str(value)
            cell.text_frame.paragraphs[0].font.size = Pt(14 if len(rows) < 9 else 11)
    return table


def _column(slide, title, categories, series, left, top, width=5.6, height=4.2):
    from pptx.chart.data import CategoryChartData
    from pptx.enum.chart import XL_CHART_TYPE
    from pptx.util import Inches

    data = CategoryChartData(number_format="#,##0")
    data.categories = categories
    for name, values in series.items():
        data.add_series(name, values)
    chart = slide.shapes.add_chart(
        XL_CHART_TYPE.COLUMN_CLUSTERED,
        Inches(left),
        Inches(top),
        Inches(width),
        Inches(height),
        data,
    ).chart
    chart.has_title = True
    chart.chart_title.text_frame.text = title
    chart.has_legend = False
    _axis(chart)
    return chart


def _axis(chart) -> None:
    """Thousands separators on the value axis, whatever the data's own format."""
    ticks = chart.value_axis.tick_labels
    ticks.number_format, ticks.number_format_is_linked = "#,##0", False


def _waterfall(slide, bridge, dates) -> None:
    """A stacked column chart whose first series (the base) is invisible."""
    from pptx.chart.data import CategoryChartData
    from pptx.dml.color import RGBColor
    from pptx.enum.chart import XL_CHART_TYPE
    from pptx.util import Inches

    rows = [(label, amount) for _key, label, amount in bridge.rows() if amount != 0.0]
    categories = [f"NPV {dates[0]}", *(label.split(" (")[0] for label, _ in rows)]
    categories.append(f"NPV {dates[1]}")
    base, rise, fall, total = [0.0], [0.0], [0.0], [bridge.start]
    running = bridge.start
    for _label, amount in rows:
        after = running + amount
        base.append(min(running, after))
        rise.append(max(amount, 0.0))
        fall.append(max(-amount, 0.0))
        total.append(0.0)
        running = after
    base.append(0.0), rise.append(0.0), fall.append(0.0), total.append(bridge.end)
    data = CategoryChartData(number_format="#,##0")
    data.categories = categories
    for name, values in (("Base", base), ("Rise", rise), ("Fall", fall), ("NPV", total)):
        data.add_series(name, values)
    chart = slide.shapes.add_chart(
        XL_CHART_TYPE.COLUMN_STACKED, Inches(0.5), Inches(1.3), Inches(8.2), Inches(5.8), data
    ).chart
    chart.has_legend = False
    _axis(chart)
    plot = chart.plots[0]
    plot.gap_width, plot.overlap = 40, 100
    hidden = plot.series[0].format
    hidden.fill.background()
    hidden.line.fill.background()
    for series, colour in zip(list(plot.series)[1:], ("2E7D32", "C62828", "1F4E79"), strict=True):
        series.format.fill.solid()
        series.format.fill.fore_color.rgb = RGBColor.from_string(colour)
    _table(
        slide,
        [("Component", "NPV")]
        + [(f"NPV {dates[0]}", money(bridge.start))]
        + [(label.split(" (")[0], money(amount)) for _k, label, amount in bridge.rows()]
        + [(f"NPV {dates[1]}", money(bridge.end))],
        left=8.9,
        top=1.3,
        width=4.2,
    )


def _frontier(slide, portfolio: Portfolio) -> None:
    from pptx.chart.data import XyChartData
    from pptx.enum.chart import XL_CHART_TYPE
    from pptx.util import Inches

    data = XyChartData()
    series = data.add_series(f"Best {portfolio.value_key.upper()}")
    for budget, value, _used, _n in portfolio.frontier:
        series.add_data_point(budget, value)
    chart = slide.shapes.add_chart(
        XL_CHART_TYPE.XY_SCATTER_LINES, Inches(6.8), Inches(1.5), Inches(6.1), Inches(4.6), data
    ).chart
    chart.has_title = True
    chart.chart_title.text_frame.text = (
        f"Efficient frontier: best {portfolio.value_key.upper()} by capital budget"
    )
    chart.has_legend = False
    _axis(chart)
    chart.category_axis.tick_labels.number_format = "#,##0"
    chart.category_axis.tick_labels.number_format_is_linked = False


def _tornado(slide, bars, base: float, currency: str) -> None:
    from pptx.chart.data import CategoryChartData
    from pptx.enum.chart import XL_CHART_TYPE, XL_LEGEND_POSITION, XL_TICK_LABEL_POSITION
    from pptx.util import Inches, Pt

    data = CategoryChartData(number_format="#,##0")
    data.categories = [b.label for b in reversed(bars)]
    data.add_series("Low setting", [b.npv_low - base for b in reversed(bars)])
    data.add_series("High setting", [b.npv_high - base for b in reversed(bars)])
    chart = slide.shapes.add_chart(
        XL_CHART_TYPE.BAR_CLUSTERED, Inches(9.4), Inches(1.6), Inches(3.8), Inches(5.6), data
    ).chart
    chart.font.size = Pt(10)
    chart.plots[0].overlap, chart.plots[0].gap_width = 100, 40
    chart.has_title = True
    chart.chart_title.text_frame.text = f"Tornado: NPV change, {currency}"
    chart.has_legend = True
    chart.legend.position, chart.legend.include_in_layout = XL_LEGEND_POSITION.BOTTOM, False
    _axis(chart)
    # labels at the left edge, clear of bars that fall below zero
    chart.category_axis.tick_label_position = XL_TICK_LABEL_POSITION.LOW


def _axis_ids(prs) -> None:
    """Make every chart's axis ids unsigned, as the schema requires (xsd:unsignedInt).

    python-pptx's chart templates carry negative ids such as -2068027336; Excel
    and LibreOffice accept them, Microsoft's validator (rightly) does not.
    """
    tags = ("{http://schemas.openxmlformats.org/drawingml/2006/chart}axId",
            "{http://schemas.openxmlformats.org/drawingml/2006/chart}crossAx")  # fmt: skip
    for slide in prs.slides:
        for shape in slide.shapes:
            if not shape.has_chart:
                continue
            space = shape.chart._chartSpace
            ids: dict[str, str] = {}
            for element in space.iter(*tags):
                old = element.get("val")
                ids.setdefault(old, str(100 + len(ids)))
                element.set("val", ids[old])


def write_deck(prs, path: str | Path, overwrite: bool = False) -> Path:
    path = Path(path)
    if path.suffix.lower() != ".pptx":
        raise BizcaseError(f"{path}: the deck needs a .pptx name, got {path.suffix or 'none'!r}")
    if path.exists() and not overwrite:
        raise BizcaseError(f"{path}: already exists; pass --force to overwrite it")
    path.parent.mkdir(parents=True, exist_ok=True)
    _axis_ids(prs)
    replace_atomically(path, lambda tmp: prs.save(str(tmp)))
    return path
