"""Sheet buttons: shapes that run an xlwings script, or a VBA macro, when clicked.

A button is a DrawingML shape (``xdr:sp``) in the sheet's drawing part:

- xlwings Lite and xlwings Server bind ``@script(button="[name]Sheet!A1")``: the
  shape is named ``name`` and carries a hyperlink to the cell ``A1`` it covers;
  clicking it selects that cell and the add-in runs the script.
- Classic Excel runs the VBA Sub a shape's ``OnAction`` names. The shapes carry
  none: an .xlsx holds no VBA, and a shape naming a Sub the workbook lacks makes
  Excel say "Cannot run the macro" on every click. The classic route
  (``addin/bizcase.bas``, imported into the workbook saved as .xlsm) brings the
  Subs and a ``bizcase_assign_buttons`` Sub that sets each shape's ``OnAction``
  as :data:`BUTTONS` says.

An internal hyperlink on a drawing object is a ``hyperlink`` relationship of
the drawing part whose target is ``#Sheet!A1`` with no ``TargetMode`` (only
links out of the workbook are ``External``). That is what XlsxWriter writes for
objects linked with ``internal:`` (``xlsxwriter/url.py``, ``_target_mode``),
and its comparison tests check that output against files Excel saved.
LibreOffice keeps the shapes, names and links when it re-saves a file.

openpyxl neither writes shapes nor keeps them when it re-saves a file, so
:func:`add_buttons` edits the saved file in place through
:mod:`workbooks.package`: only the sheet, the drawing, their relationship parts
and ``[Content_Types].xml`` change; every other part is copied byte for byte.
Charts already in the drawing stay.
"""

from __future__ import annotations

import posixpath
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from openpyxl.utils.cell import column_index_from_string, get_column_letter

from udfs.errors import BizcaseError

from .package import (
    MAIN,
    OFFICE_RELS,
    Package,
    append,
    child,
    children,
    create,
    declare,
    elements,
    sheet_parts,
)

_XDR = "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing"
_A = "http://schemas.openxmlformats.org/drawingml/2006/main"
_DRAWING = f"{OFFICE_RELS}/drawing"
_HYPERLINK = f"{OFFICE_RELS}/hyperlink"
_DRAWING_TYPE = "application/vnd.openxmlformats-officedocument.drawing+xml"
_EMPTY_DRAWING = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<xdr:wsDr xmlns:xdr="{_XDR}" xmlns:a="{_A}"/>'
).encode()
_ANCHORS = ("twoCellAnchor", "oneCellAnchor", "absoluteAnchor")

# CT_Worksheet children that come after <drawing> (ECMA-376 Part 1, 18.3.1.99).
_AFTER_DRAWING = {
    "legacyDrawing",
    "legacyDrawingHF",
    "drawingHF",
    "picture",
    "oleObjects",
    "controls",
    "webPublishItems",
    "tableParts",
    "extLst",
}

FILL = "1F3864"  # the workbook's header blue
BORDER = "152849"
TEXT = "FFFFFF"
ROWS = 2
# A small top-left margin, so buttons in neighbouring blocks do not touch; the
# shape still covers (and stays anchored to) its cell.
INSET = 38100  # EMU, 3 pt


_VBA_TEXT = re.compile(r"[ !#-~]+")


@dataclass(frozen=True)
class Button:
    """One sheet button, and everything that runs it.

    ``name`` is the shape name xlwings Lite binds (``button="[name]Sheet!cell"``);
    the shape covers ``cell`` and ``columns`` columns by two rows from it, and
    links to ``cell``. ``macro`` is the VBA Sub the classic route assigns to it
    (not written into the file, which holds no VBA).

    For the buttons of the generated workbooks (:data:`BUTTONS`) also: ``script``,
    the ``addin.macros`` function xlwings Lite and Server run (it takes the
    book); ``classic``, the one the classic Sub runs on the calling workbook
    when it differs (empty: ``script``); ``workbook``, the kind of workbook
    that carries it (``"case"`` or ``"portfolio"``); ``help``, what it does.
    """

    name: str
    sheet: str
    cell: str
    label: str
    macro: str
    columns: int = 2
    script: str = ""
    classic: str = ""
    workbook: str = "case"
    help: str = ""

    def __post_init__(self):
        # The label becomes a VBA comment and string in addin/bizcase.bas, which the
        # VBA editor imports in the system's ANSI code page: plain ASCII, no quote.
        # (Names and macros are held to their rules where a file is written:
        # add_buttons.)
        if not _VBA_TEXT.fullmatch(self.label):
            raise ValueError(
                f"Button label: printable ASCII without a double quote; got {self.label!r}"
            )

    @property
    def binding(self) -> str:
        """The ``button=`` argument of the matching ``@script``."""
        return f"[{self.name}]{self.sheet}!{self.cell}"


def add_buttons(path: str | Path, buttons: list[Button]) -> None:
    """Add ``buttons`` to the workbook at ``path``, editing the file in place.

    A shape of the same name already on that sheet is replaced, so adding the
    same buttons twice leaves one of each.
    """
    package = Package.open(path)
    sheets = sheet_parts(package)
    by_sheet: dict[str, list[Button]] = defaultdict(list)
    for button in buttons:
        _check(button, sheets, package.path)
        if any(b.name == button.name for b in by_sheet[button.sheet]):
            raise BizcaseError(
                f"{path}: two buttons named {button.name!r} on sheet {button.sheet!r}; "
                "expected one name per button"
            )
        by_sheet[button.sheet].append(button)
    for sheet, group in by_sheet.items():
        drawing = _drawing_of(package, sheets[sheet])
        _add_shapes(package, drawing, group)
    package.save()


def read_buttons(path: str | Path) -> list[dict]:
    """Every shape (``xdr:sp``) in the workbook's drawings, sheet by sheet.

    Each is a dict: ``sheet``, ``name``, ``label`` (its text), ``macro`` (the
    ``macro`` attribute, ``""`` when none), ``anchor`` (the cell its top-left
    corner sits in), and from its click hyperlink ``target`` (``"Cover!M3"``,
    ``None`` when it has no internal link) and ``cell`` (``"M3"``, the linked
    cell when it is on the shape's own sheet).
    """
    package = Package.open(path)
    found = []
    for sheet, sheet_part in sheet_parts(package).items():
        for rel in package.relationships(sheet_part):
            if rel.type != _DRAWING or rel.part not in package:
                continue
            links = {r.id: r.target for r in package.relationships(rel.part)}
            for anchor in elements(package.xml(rel.part).documentElement):
                start = child(anchor, _XDR, "from")
                corner = None
                if start is not None:
                    col = int(_text(child(start, _XDR, "col")) or 0)
                    row = int(_text(child(start, _XDR, "row")) or 0)
                    corner = f"{get_column_letter(col + 1)}{row + 1}"
                for shape in anchor.getElementsByTagNameNS(_XDR, "sp"):
                    props = _path(shape, "nvSpPr", "cNvPr")
                    click = child(props, _A, "hlinkClick") if props is not None else None
                    target = None
                    if click is not None:
                        link = links.get(click.getAttributeNS(OFFICE_RELS, "id"), "")
                        if link.startswith("#"):
                            target = link[1:]
                    link_sheet, _, cell = (target or "").rpartition("!")
                    found.append(
                        {
                            "sheet": sheet,
                            "name": props.getAttribute("name") if props is not None else None,
                            "label": "".join(
                                _text(t) for t in shape.getElementsByTagNameNS(_A, "t")
                            ),
                            "macro": shape.getAttribute("macro"),
                            "anchor": corner,
                            "target": None if target is None else f"{_unquote(link_sheet)}!{cell}",
                            "cell": cell if target and _unquote(link_sheet) == sheet else None,
                        }
                    )
    return found


def _text(element) -> str:
    if element is None:
        return ""
    return "".join(n.data for n in element.childNodes if n.nodeType == n.TEXT_NODE)


def _path(element, *locals_):
    """The descendant reached through ``xdr:`` children of these local names."""
    for local in locals_:
        if element is None:
            return None
        element = child(element, _XDR, local)
    return element


def _check(button: Button, sheets: dict, path: Path) -> None:
    where = f"{path}, button {button.name!r}"
    if not button.name or re.search(r"[\s\[\]!]", button.name):
        raise BizcaseError(
            f"{where}: name must be non-empty without spaces, brackets or '!'; got {button.name!r}"
        )
    if button.sheet not in sheets:
        raise BizcaseError(
            f"{where}: no sheet named {button.sheet!r}; expected one of {', '.join(sheets)}"
        )
    if not re.fullmatch(r"[A-Z]{1,3}[1-9][0-9]*", button.cell):
        raise BizcaseError(f"{where}: cell must be a single cell like 'M3', got {button.cell!r}")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", button.macro):
        raise BizcaseError(f"{where}: macro must be a VBA Sub name, got {button.macro!r}")
    if not isinstance(button.columns, int) or button.columns < 1:
        raise BizcaseError(f"{where}: columns must be a whole number >= 1, got {button.columns!r}")


def _drawing_of(package: Package, sheet_part: str) -> str:
    """The sheet's drawing part, created (and listed) when it has none."""
    for rel in package.relationships(sheet_part):
        if rel.type == _DRAWING:
            if rel.part not in package:
                raise BizcaseError(
                    f"{package.where}: {sheet_part} lists a drawing {rel.part} that is missing"
                )
            return rel.part
    drawing = package.free_name("xl/drawings", "drawing")
    package.write(drawing, _EMPTY_DRAWING)
    package.set_content_type(drawing, _DRAWING_TYPE)
    rid = package.add_relationship(
        sheet_part, _DRAWING, posixpath.relpath(drawing, posixpath.dirname(sheet_part))
    )
    # <drawing r:id=.../> goes where CT_Worksheet's element order wants it.
    worksheet = package.edit(sheet_part).documentElement
    after = next(
        (
            e
            for e in elements(worksheet)
            if e.namespaceURI == MAIN and e.localName in _AFTER_DRAWING
        ),
        None,
    )
    worksheet.insertBefore(create(worksheet, MAIN, "drawing", {(OFFICE_RELS, "id"): rid}), after)
    return drawing


def _add_shapes(package: Package, drawing: str, buttons: list[Button]) -> None:
    root = package.edit(drawing).documentElement
    if (root.namespaceURI, root.localName) != (_XDR, "wsDr"):
        raise BizcaseError(
            f"{package.where}, {drawing}: not a spreadsheet drawing (no wsDr element)"
        )
    # Declared once on the root, so the shapes do not each repeat them.
    for namespace in (_XDR, _A, OFFICE_RELS):
        declare(root, namespace)
    names = {b.name for b in buttons}
    for anchor in elements(root):
        if anchor.localName in _ANCHORS and any(
            props.getAttribute("name") in names
            for shape in children(anchor, _XDR, "sp")
            if (props := _path(shape, "nvSpPr", "cNvPr")) is not None
        ):
            _remove_anchor(package, drawing, root, anchor)
    ids = [
        int(p.getAttribute("id"))
        for p in root.getElementsByTagNameNS(_XDR, "cNvPr")
        if p.getAttribute("id").isdigit()
    ]
    shape_id = max(ids, default=1)
    for button in buttons:
        rid = package.add_relationship(
            drawing, _HYPERLINK, f"#{_sheet_ref(button.sheet)}!{button.cell}"
        )
        shape_id += 1
        _anchor(root, button, shape_id, rid)


def _remove_anchor(package: Package, drawing: str, root, anchor) -> None:
    """Drop an anchor, and the hyperlinks only it used."""
    root.removeChild(anchor)
    used = set()
    for element in root.getElementsByTagName("*"):
        for i in range(element.attributes.length):
            attr = element.attributes.item(i)
            if attr.namespaceURI == OFFICE_RELS:
                used.add(attr.value)
    links = {r.id for r in package.relationships(drawing) if r.type == _HYPERLINK}
    for element in [anchor, *anchor.getElementsByTagName("*")]:
        for i in range(element.attributes.length):
            attr = element.attributes.item(i)
            if attr.namespaceURI == OFFICE_RELS and attr.value in links - used:
                package.remove_relationship(drawing, attr.value)


def _anchor(root, button: Button, shape_id: int, rid: str) -> None:
    """Append a two-cell anchor holding the button's shape to the drawing ``root``."""
    col = column_index_from_string(re.match(r"[A-Z]+", button.cell).group(0)) - 1
    row = int(re.search(r"\d+", button.cell).group(0)) - 1

    def el(parent, namespace, local, attributes=None, text=None):
        return append(parent, namespace, local, attributes, text)

    anchor = el(root, _XDR, "twoCellAnchor")
    for tag, c, r, offset in (
        ("from", col, row, INSET),
        ("to", col + button.columns, row + ROWS, 0),
    ):
        corner = el(anchor, _XDR, tag)
        el(corner, _XDR, "col", text=c)
        el(corner, _XDR, "colOff", text=offset)
        el(corner, _XDR, "row", text=r)
        el(corner, _XDR, "rowOff", text=offset)
    shape = el(anchor, _XDR, "sp", {"macro": "", "textlink": ""})
    nv = el(shape, _XDR, "nvSpPr")
    props = el(nv, _XDR, "cNvPr", {"id": shape_id, "name": button.name, "descr": button.label})
    el(props, _A, "hlinkClick", {(OFFICE_RELS, "id"): rid, "tooltip": button.label})
    el(nv, _XDR, "cNvSpPr")
    sp_pr = el(shape, _XDR, "spPr")
    el(el(sp_pr, _A, "prstGeom", {"prst": "roundRect"}), _A, "avLst")
    el(el(sp_pr, _A, "solidFill"), _A, "srgbClr", {"val": FILL})
    el(el(el(sp_pr, _A, "ln", {"w": 9525}), _A, "solidFill"), _A, "srgbClr", {"val": BORDER})
    body = el(shape, _XDR, "txBody")
    el(
        body,
        _A,
        "bodyPr",
        {
            "vertOverflow": "clip",
            "horzOverflow": "clip",
            "wrap": "square",
            "lIns": 45720,
            "tIns": 0,
            "rIns": 45720,
            "bIns": 0,
            "rtlCol": 0,
            "anchor": "ctr",
        },
    )
    el(body, _A, "lstStyle")
    paragraph = el(body, _A, "p")
    el(paragraph, _A, "pPr", {"algn": "ctr"})
    run = el(paragraph, _A, "r")
    run_pr = el(run, _A, "rPr", {"lang": "en-US", "sz": 1000, "b": 1})
    el(el(run_pr, _A, "solidFill"), _A, "srgbClr", {"val": TEXT})
    el(run_pr, _A, "latin", {"typeface": "+mn-lt"})
    el(run, _A, "t", text=button.label)
    el(anchor, _XDR, "clientData")


def _sheet_ref(sheet: str) -> str:
    """A sheet name as a reference writes it: quoted unless it is a plain word."""
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", sheet) and not re.fullmatch(
        r"[A-Za-z]{1,3}[0-9]+|[Rr]([0-9]+)?([Cc][0-9]*)?", sheet
    ):
        return sheet
    return "'" + sheet.replace("'", "''") + "'"


def _unquote(sheet: str) -> str:
    if len(sheet) >= 2 and sheet[0] == sheet[-1] == "'":
        return sheet[1:-1].replace("''", "'")
    return sheet


#: The buttons of the generated workbooks, the one list every other place is made
#: from: the shapes (:func:`buttons_of`), the scripts' ``button=`` bindings and the
#: classic entry points (``addin.macros``), the Lite bundle's imports
#: (``addin.lite``), ``addin/bizcase.bas`` (``python -m addin.bas``) and the README
#: table (:func:`markdown_table`). A new button is an entry here and its script.
BUTTONS: tuple[Button, ...] = (
    Button(
        "btnMonteCarlo",
        "Cover",
        "M4",
        "Run Monte Carlo",
        "bizcase_monte_carlo",
        script="run_monte_carlo",
        help="simulates NPV from the current inputs and writes the **Risk** sheet "
        "(summary and histogram values; `bizcase simulate --write` also adds the charts)",
    ),
    Button(
        "btnSensitivity",
        "Cover",
        "M7",
        "Run sensitivity",
        "bizcase_sensitivity",
        script="run_sensitivity",
        help="recomputes the tornado table on **Sensitivity** from the current inputs",
    ),
    Button(
        "btnCheck",
        "Cover",
        "M10",
        "Check the model",
        "bizcase_check",
        script="check_integrity",
        help="compares every `Out_` result with the engine on the same inputs and lists "
        "differences on an **Integrity** sheet (a difference means an edited formula or a "
        "typed-over number; `bizcase check` also names the cells)",
    ),
    Button(
        "btnRebuild",
        "Cover",
        "M13",
        "Rebuild in latest template",
        "bizcase_rebuild",
        script="rebuild_case",
        classic="rebuild_case_file",
        help="classic: writes `<name> (rebuilt).xlsx` beside the file in the current "
        "template with every input carried over; Lite cannot write files, so it says to "
        "run `bizcase upgrade`",
    ),
    Button(
        "btnRefresh",
        "Summary",
        "B20",
        "Refresh the selection",
        "bizcase_refresh",
        script="refresh_portfolio",
        workbook="portfolio",
        help="portfolio: re-ranks the cases and re-solves the funded set from the Cases "
        "table and `In_Budget`",
    ),
)


def buttons_of(workbook: str, registry: tuple[Button, ...] | None = None) -> list[Button]:
    """The buttons a ``workbook`` (``"case"``, ``"portfolio"``) carries.

    ``registry`` defaults to :data:`BUTTONS`, read when called.

    >>> [b.name for b in buttons_of("portfolio")]
    ['btnRefresh']
    """
    return [b for b in (BUTTONS if registry is None else registry) if b.workbook == workbook]


def markdown_table(registry: tuple[Button, ...] | None = None) -> str:
    """The README's table of the buttons, one row per button."""
    rows = [
        "| button | shape | script (Lite/Server) | classic macro | what it does |",
        "|---|---|---|---|---|",
    ]
    for b in BUTTONS if registry is None else registry:
        rows.append(
            f"| {b.label} | `{b.name}` ({b.sheet}!{b.cell}) | `{b.script}` | `{b.macro}` "
            f"| {b.help.replace('|', '&#124;')} |"
        )
    return "\n".join(rows) + "\n"
