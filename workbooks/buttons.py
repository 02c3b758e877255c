"""Sheet buttons: shapes that run a macro or an xlwings script when clicked.

A button is a DrawingML shape (``xdr:sp``) in the sheet's drawing part. It runs
a script two ways at once:

- xlwings Lite and xlwings Server bind ``@script(button="[name]Sheet!A1")``: the
  shape is named ``name`` and carries a hyperlink to the cell ``A1`` it covers;
  clicking it selects that cell and the add-in runs the script.
- Classic Excel runs the VBA Sub named in the shape's ``macro`` attribute
  (``[0]!run_monte_carlo``, ``[0]`` meaning this workbook) once the workbook
  holds the Sub (xlwings "Import Functions", saved as .xlsm).

An internal hyperlink on a drawing object is a ``hyperlink`` relationship of
the drawing part whose target is ``#Sheet!A1`` with no ``TargetMode`` (only
links out of the workbook are ``External``). That is what XlsxWriter writes for
objects linked with ``internal:`` (``xlsxwriter/url.py``, ``_target_mode``),
and its comparison tests check that output against files Excel saved. The
``[0]!`` macro prefix is how Excel itself stores a shape's assigned macro.
LibreOffice keeps the shapes, names and links when it re-saves a file, but
drops the ``macro`` attribute.

openpyxl neither writes shapes nor keeps them when it re-saves a file, so
:func:`add_buttons` edits the saved file in place, like :mod:`workbooks.inject`:
only the sheet, the drawing, their relationship parts and ``[Content_Types].xml``
change; every other part is copied byte for byte. Charts already in the
drawing stay.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

from openpyxl.utils.cell import column_index_from_string, get_column_letter

from udfs.errors import BizcaseError

from .inject import _escape, _free, _parts, _rels_path, _write

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_XDR = "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing"
_A = "http://schemas.openxmlformats.org/drawingml/2006/main"
_DRAWING = f"{_REL_NS}/drawing"
_HYPERLINK = f"{_REL_NS}/hyperlink"
_DRAWING_TYPE = "application/vnd.openxmlformats-officedocument.drawing+xml"

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


@dataclass(frozen=True)
class Button:
    """One sheet button.

    ``name`` is the shape name xlwings Lite binds (``button="[name]Sheet!cell"``);
    the shape covers ``cell`` and ``columns`` columns by two rows from it, and
    links to ``cell``. ``macro`` is the VBA Sub classic Excel runs.
    """

    name: str
    sheet: str
    cell: str
    label: str
    macro: str
    columns: int = 2

    @property
    def binding(self) -> str:
        """The ``button=`` argument of the matching ``@script``."""
        return f"[{self.name}]{self.sheet}!{self.cell}"


def add_buttons(path: str | Path, buttons: list[Button]) -> None:
    """Add ``buttons`` to the workbook at ``path``, editing the file in place.

    A shape of the same name already on that sheet is replaced, so adding the
    same buttons twice leaves one of each.
    """
    path = Path(path)
    if not zipfile.is_zipfile(path):
        raise BizcaseError(f"{path}: not an Excel workbook (.xlsx)")
    with zipfile.ZipFile(path) as z:
        parts = _parts(z)
        infos = {i.filename: i for i in z.infolist()}
    sheets = _sheet_parts(parts, path)
    by_sheet: dict[str, list[Button]] = defaultdict(list)
    for button in buttons:
        _check(button, sheets, path)
        if any(b.name == button.name for b in by_sheet[button.sheet]):
            raise BizcaseError(
                f"{path}: two buttons named {button.name!r} on sheet {button.sheet!r}; "
                "expected one name per button"
            )
        by_sheet[button.sheet].append(button)
    for sheet, group in by_sheet.items():
        drawing = _drawing_of(parts, sheets[sheet], path)
        _add_shapes(parts, drawing, group)
    _write(path, parts, infos)


def read_buttons(path: str | Path) -> list[dict]:
    """Every shape (``xdr:sp``) in the workbook's drawings, sheet by sheet.

    Each is a dict: ``sheet``, ``name``, ``label`` (its text), ``macro`` (the
    ``macro`` attribute, ``""`` when none), ``anchor`` (the cell its top-left
    corner sits in), and from its click hyperlink ``target`` (``"Cover!M3"``,
    ``None`` when it has no internal link) and ``cell`` (``"M3"``, the linked
    cell when it is on the shape's own sheet).
    """
    path = Path(path)
    if not zipfile.is_zipfile(path):
        raise BizcaseError(f"{path}: not an Excel workbook (.xlsx)")
    with zipfile.ZipFile(path) as z:
        parts = _parts(z)
    ns = {"xdr": _XDR, "a": _A}
    found = []
    for sheet, sheet_part in _sheet_parts(parts, path).items():
        for rel in _relationships(parts.get(_rels_path(sheet_part), b"")).values():
            if rel["Type"] != _DRAWING:
                continue
            drawing = _resolve(sheet_part, rel["Target"])
            if drawing not in parts:
                continue
            links = _relationships(parts.get(_rels_path(drawing), b""))
            root = ElementTree.fromstring(parts[drawing])
            for anchor in root:
                start = anchor.find("xdr:from", ns)
                corner = None
                if start is not None:
                    col = int(start.findtext("xdr:col", "0", ns))
                    row = int(start.findtext("xdr:row", "0", ns))
                    corner = f"{get_column_letter(col + 1)}{row + 1}"
                for shape in anchor.iter(f"{{{_XDR}}}sp"):
                    props = shape.find("xdr:nvSpPr/xdr:cNvPr", ns)
                    click = props.find("a:hlinkClick", ns) if props is not None else None
                    target = None
                    if click is not None:
                        link = links.get(click.get(f"{{{_REL_NS}}}id", ""))
                        if link and link["Target"].startswith("#"):
                            target = link["Target"][1:]
                    link_sheet, _, cell = (target or "").rpartition("!")
                    found.append(
                        {
                            "sheet": sheet,
                            "name": props.get("name") if props is not None else None,
                            "label": "".join(t.text or "" for t in shape.iter(f"{{{_A}}}t")),
                            "macro": shape.get("macro", ""),
                            "anchor": corner,
                            "target": None if target is None else f"{_unquote(link_sheet)}!{cell}",
                            "cell": cell if target and _unquote(link_sheet) == sheet else None,
                        }
                    )
    return found


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


def _sheet_parts(parts: dict, path: Path) -> dict[str, str]:
    """Sheet name -> worksheet part name, in workbook order."""
    try:
        workbook = ElementTree.fromstring(parts["xl/workbook.xml"])
    except KeyError:
        raise BizcaseError(f"{path}: not an Excel workbook (no xl/workbook.xml)") from None
    rels = _relationships(parts.get("xl/_rels/workbook.xml.rels", b""))
    out = {}
    for sheet in workbook.iter(f"{{{_MAIN}}}sheet"):
        rel = rels.get(sheet.get(f"{{{_REL_NS}}}id", ""))
        if rel is not None:
            out[sheet.get("name")] = _resolve("xl/workbook.xml", rel["Target"])
    return out


def _relationships(rels: bytes) -> dict[str, dict]:
    """Id -> attributes (``Type``, ``Target``, maybe ``TargetMode``) of a .rels part."""
    if not rels:
        return {}
    root = ElementTree.fromstring(rels)
    return {r.get("Id"): dict(r.attrib) for r in root.iter(f"{{{_PKG_REL_NS}}}Relationship")}


def _resolve(source: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(source), target))


def _new_id(rels: str) -> str:
    used = [int(i) for i in re.findall(r'\bId="rId(\d+)"', rels)]
    return f"rId{max(used, default=0) + 1}"


def _add_relationship(rels: str, kind: str, target: str) -> tuple[str, str]:
    if not rels:
        rels = (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<Relationships xmlns="{_PKG_REL_NS}"></Relationships>'
        )
    rid = _new_id(rels)
    entry = f'<Relationship Id="{rid}" Type="{kind}" Target="{_escape(target)}"/>'
    if rels.rstrip().endswith("/>") and "</Relationships>" not in rels:  # <Relationships/>
        rels = re.sub(
            r"<Relationships\b([^>]*)/>", rf"<Relationships\1>{entry}</Relationships>", rels
        )
    else:
        rels = rels.replace("</Relationships>", entry + "</Relationships>", 1)
    return rels, rid


def _drawing_of(parts: dict, sheet_part: str, path: Path) -> str:
    """The sheet's drawing part, created (and listed) when it has none."""
    rels_part = _rels_path(sheet_part)
    rels = parts.get(rels_part, b"").decode()
    for rel in _relationships(rels.encode()).values():
        if rel["Type"] == _DRAWING:
            drawing = _resolve(sheet_part, rel["Target"])
            if drawing not in parts:
                raise BizcaseError(
                    f"{path}: {sheet_part} lists a drawing {drawing} that is missing"
                )
            return drawing
    drawing = f"xl/drawings/drawing{_free(parts, 'xl/drawings', 'drawing')}.xml"
    parts[drawing] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<xdr:wsDr xmlns:xdr="{_XDR}" xmlns:a="{_A}" xmlns:r="{_REL_NS}"></xdr:wsDr>'
    ).encode()
    rels, rid = _add_relationship(
        rels, _DRAWING, posixpath.relpath(drawing, posixpath.dirname(sheet_part))
    )
    parts[rels_part] = rels.encode()
    parts[sheet_part] = _insert_drawing(parts[sheet_part].decode(), rid).encode()
    types = parts["[Content_Types].xml"].decode()
    parts["[Content_Types].xml"] = types.replace(
        "</Types>", f'<Override PartName="/{drawing}" ContentType="{_DRAWING_TYPE}"/></Types>', 1
    ).encode()
    return drawing


_TAG = re.compile(r"""<(/?)([\w.:-]+)((?:[^>"']|"[^"]*"|'[^']*')*?)(/?)>""")


def _insert_drawing(sheet: str, rid: str) -> str:
    """Put ``<drawing r:id=.../>`` where CT_Worksheet's element order wants it."""
    depth, root_tag, position = 0, None, None
    for m in _TAG.finditer(sheet):
        closing, name, attributes, empty = m.groups()
        if closing:
            depth -= 1
            if depth == 0:
                position = m.start() if position is None else position
                break
            continue
        if root_tag is None:
            root_tag = (name, attributes)
        elif depth == 1 and name.rpartition(":")[2] in _AFTER_DRAWING and position is None:
            position = m.start()
        if not empty:
            depth += 1
    if root_tag is None or position is None:
        raise BizcaseError("worksheet XML has no closing </worksheet>")
    prefix = _prefix(root_tag[0])
    declared = re.search(rf'xmlns:(\w+)="{re.escape(_REL_NS)}"', root_tag[1])
    if declared:
        element = f'<{prefix}drawing {declared.group(1)}:id="{rid}"/>'
    else:
        element = f'<{prefix}drawing xmlns:r="{_REL_NS}" r:id="{rid}"/>'
    return sheet[:position] + element + sheet[position:]


def _prefix(qualified: str) -> str:
    """``"x:"`` for ``"x:worksheet"``, ``""`` for ``"worksheet"``."""
    prefix, colon, _ = qualified.rpartition(":")
    return prefix + colon


def _add_shapes(parts: dict, drawing: str, buttons: list[Button]) -> None:
    xml = parts[drawing].decode()
    rels = parts.get(_rels_path(drawing), b"").decode()
    root = re.search(r"<([\w.-]+:)?wsDr\b((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>", xml)
    if root is None:
        raise BizcaseError(f"{drawing}: not a spreadsheet drawing (no wsDr element)")
    declared = {
        uri: p or "" for p, uri in re.findall(r'xmlns(?::([\w.-]+))?="([^"]*)"', root.group(2))
    }
    prefixes, extra = {}, []
    for key, uri in (("xdr", _XDR), ("a", _A), ("r", _REL_NS)):
        if uri in declared:
            prefixes[key] = declared[uri] + ":" if declared[uri] else ""
        else:
            prefix = key
            while prefix in declared.values():
                prefix += "x"
            declared[uri] = prefix
            prefixes[key] = prefix + ":"
            extra.append(f' xmlns:{prefix}="{uri}"')
    if extra:
        end = root.end() - (2 if root.group(0).endswith("/>") else 1)
        xml = xml[:end] + "".join(extra) + xml[end:]

    xdr = prefixes["xdr"]
    for button in buttons:
        xml, rels = _remove_shape(xml, rels, button.name, xdr)
    shape_id = max([int(i) for i in re.findall(r'<[\w.:-]*cNvPr\b[^>]*?\bid="(\d+)"', xml)] or [1])
    anchors = []
    for button in buttons:
        rels, rid = _add_relationship(
            rels, _HYPERLINK, f"#{_sheet_ref(button.sheet)}!{button.cell}"
        )
        shape_id += 1
        anchors.append(_anchor(button, shape_id, rid, prefixes))
    closing = f"</{xdr}wsDr>"
    if closing in xml:
        at = xml.rindex(closing)
        xml = xml[:at] + "".join(anchors) + xml[at:]
    else:  # an empty <xdr:wsDr .../>
        xml = re.sub(r"/>\s*$", ">" + "".join(anchors) + closing, xml.rstrip())
    parts[drawing] = xml.encode()
    parts[_rels_path(drawing)] = rels.encode()


def _remove_shape(xml: str, rels: str, name: str, xdr: str) -> tuple[str, str]:
    """Drop anchors holding a shape named ``name``, and the hyperlinks only they used."""
    pattern = re.compile(
        rf"<{xdr}(twoCellAnchor|oneCellAnchor|absoluteAnchor)\b.*?</{xdr}\1>", re.S
    )
    named = re.compile(
        rf'<{xdr}sp\b.*?<{xdr}cNvPr\b[^>]*?\bname="{re.escape(_escape(name))}"', re.S
    )
    doomed = [m for m in pattern.finditer(xml) if named.search(m.group(0))]
    for m in reversed(doomed):
        xml = xml[: m.start()] + xml[m.end() :]
    for m in doomed:
        for rid in re.findall(r'\b[\w.-]+:id="([^"]+)"', m.group(0)):
            if f'"{rid}"' in xml:  # still used by another shape
                continue
            for tag in re.findall(r"<Relationship\b[^>]*/>", rels):
                if f'Id="{rid}"' in tag and f'Type="{_HYPERLINK}"' in tag:
                    rels = rels.replace(tag, "", 1)
    return xml, rels


def _anchor(button: Button, shape_id: int, rid: str, prefixes: dict) -> str:
    x, a, r = prefixes["xdr"], prefixes["a"], prefixes["r"]
    col = column_index_from_string(re.match(r"[A-Z]+", button.cell).group(0)) - 1
    row = int(re.search(r"\d+", button.cell).group(0)) - 1

    def corner(tag: str, c: int, rw: int, offset: int) -> str:
        return (
            f"<{x}{tag}><{x}col>{c}</{x}col><{x}colOff>{offset}</{x}colOff>"
            f"<{x}row>{rw}</{x}row><{x}rowOff>{offset}</{x}rowOff></{x}{tag}>"
        )

    label = _escape(button.label)
    return (
        f"<{x}twoCellAnchor>"
        + corner("from", col, row, INSET)
        + corner("to", col + button.columns, row + ROWS, 0)
        + f'<{x}sp macro="[0]!{_escape(button.macro)}" textlink="">'
        f"<{x}nvSpPr>"
        f'<{x}cNvPr id="{shape_id}" name="{_escape(button.name)}" descr="{label}">'
        f'<{a}hlinkClick {r}id="{rid}" tooltip="{label}"/>'
        f"</{x}cNvPr><{x}cNvSpPr/></{x}nvSpPr>"
        f"<{x}spPr>"
        f'<{a}prstGeom prst="roundRect"><{a}avLst/></{a}prstGeom>'
        f'<{a}solidFill><{a}srgbClr val="{FILL}"/></{a}solidFill>'
        f'<{a}ln w="9525"><{a}solidFill><{a}srgbClr val="{BORDER}"/></{a}solidFill></{a}ln>'
        f"</{x}spPr>"
        f"<{x}txBody>"
        f'<{a}bodyPr vertOverflow="clip" horzOverflow="clip" wrap="square" '
        f'lIns="45720" tIns="0" rIns="45720" bIns="0" rtlCol="0" anchor="ctr"/>'
        f"<{a}lstStyle/>"
        f'<{a}p><{a}pPr algn="ctr"/><{a}r><{a}rPr lang="en-US" sz="1000" b="1">'
        f'<{a}solidFill><{a}srgbClr val="{TEXT}"/></{a}solidFill>'
        f'<{a}latin typeface="+mn-lt"/></{a}rPr>'
        f"<{a}t>{label}</{a}t></{a}r></{a}p>"
        f"</{x}txBody>"
        f"</{x}sp>"
        f"<{x}clientData/>"
        f"</{x}twoCellAnchor>"
    )


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


#: The buttons of the generated workbooks: shape name -> (sheet, cell it covers, label,
#: classic macro). addin.macros binds its scripts to these names and cells.
CASE_BUTTONS = {
    "btnMonteCarlo": ("Cover", "M4", "Run Monte Carlo", "bizcase_monte_carlo"),
    "btnSensitivity": ("Cover", "M7", "Run sensitivity", "bizcase_sensitivity"),
    "btnCheck": ("Cover", "M10", "Check the model", "bizcase_check"),
    "btnRebuild": ("Cover", "M13", "Rebuild in latest template", "bizcase_rebuild"),
}
PORTFOLIO_BUTTONS = {
    "btnRefresh": ("Summary", "B20", "Refresh the selection", "bizcase_refresh"),
}


def buttons_of(table: dict) -> list[Button]:
    return [
        Button(name, sheet, cell, label, macro)
        for name, (sheet, cell, label, macro) in table.items()
    ]
