"""Put one sheet into an existing .xlsx without re-saving anything else.

openpyxl drops what it does not model (charts, images, some formatting) when
it re-saves a file, so a workbook a user has edited must not go through it.
This module builds the new sheet in a scratch openpyxl workbook, then copies
its parts (worksheet, drawing, charts) into the user's file and edits only the
four small parts that list them: ``[Content_Types].xml``, ``xl/workbook.xml``,
its relationships, and ``xl/styles.xml`` (the new sheet's styles are appended).
Every other part is copied byte for byte. A sheet of the same name is replaced.
All XML is edited namespace-aware through :mod:`workbooks.package`.
"""

from __future__ import annotations

import posixpath
from pathlib import Path

from openpyxl import Workbook

from udfs.errors import BizcaseError

from .package import (
    MAIN,
    OFFICE_RELS,
    Package,
    append,
    child,
    children,
    copy_into,
    create,
    sheet_parts,
)

_WORKSHEET = f"{OFFICE_RELS}/worksheet"
# The first number format id free for custom formats (ECMA-376 Part 1, 18.8.30).
_FIRST_CUSTOM_FORMAT = 164


def put_sheet(path: str | Path, sheet_book: Workbook) -> None:
    """Add (or replace) the single sheet of ``sheet_book`` in the workbook at ``path``."""
    package = Package.open(path)
    source = Package.of_workbook(sheet_book)
    name = sheet_book.worksheets[0].title
    remove_sheet(package, name)
    (source_sheet,) = sheet_parts(source).values()

    # Copy the sheet and everything it points at (drawing, charts) under free names.
    renames = _copy_tree(source, package, source_sheet)
    new_sheet = renames[source_sheet]
    _restyle(source, package, new_sheet)

    # List the sheet in the workbook and its relationships.
    rid = package.add_relationship(
        "xl/workbook.xml", _WORKSHEET, posixpath.relpath(new_sheet, "xl")
    )
    workbook = package.edit("xl/workbook.xml").documentElement
    sheets = child(workbook, MAIN, "sheets")
    if sheets is None:
        raise BizcaseError(f"{package.where}: xl/workbook.xml lists no <sheets>")
    ids = [int(s.getAttribute("sheetId") or 0) for s in children(sheets, MAIN, "sheet")]
    sheets.appendChild(
        create(
            sheets,
            MAIN,
            "sheet",
            {"name": name, "sheetId": max(ids, default=0) + 1, (OFFICE_RELS, "id"): rid},
        )
    )
    package.save()


def _copy_tree(source: Package, target: Package, root: str) -> dict[str, str]:
    """Copy part ``root`` of ``source`` and the parts it reaches into ``target``
    under free names (``sheetN.xml``, ``drawingN.xml``, ...); return old -> new."""
    renames: dict[str, str] = {}
    pending = [root]
    while pending:
        part = pending.pop(0)
        if part in renames:
            continue
        folder, filename = posixpath.split(part)
        stem, ext = posixpath.splitext(filename)
        new = target.free_name(folder, stem.rstrip("0123456789"), ext)
        renames[part] = new
        target.write(new, source.read(part))
        target.set_content_type(new, source.content_type(part))
        pending += [r.part for r in source.relationships(part) if r.part is not None]
    for old, new in renames.items():
        for rel in source.relationships(old):
            target.add_relationship(
                new,
                rel.type,
                rel.target
                if rel.part is None
                else posixpath.relpath(renames[rel.part], posixpath.dirname(new)),
                external=rel.external,
            )
    return renames


def remove_sheet(package: Package, name: str) -> None:
    """Drop a sheet of this name, the parts only it reaches, and every reference to them."""
    workbook = package.xml("xl/workbook.xml").documentElement
    sheets = child(workbook, MAIN, "sheets")
    listed = children(sheets, MAIN, "sheet") if sheets is not None else []
    doomed = [s for s in listed if s.getAttribute("name") == name]
    if not doomed:
        return
    package.edit("xl/workbook.xml")
    sheet = doomed[0]
    position = listed.index(sheet)
    rid = sheet.getAttributeNS(OFFICE_RELS, "id")
    sheets.removeChild(sheet)
    # Sheet-local names point at sheets by position.
    names = child(workbook, MAIN, "definedNames")
    for defined in children(names, MAIN, "definedName") if names is not None else []:
        if not defined.hasAttribute("localSheetId"):
            continue
        local = int(defined.getAttribute("localSheetId"))
        if local == position:
            names.removeChild(defined)
        elif local > position:
            defined.setAttribute("localSheetId", str(local - 1))
    part = next(r.part for r in package.relationships("xl/workbook.xml") if r.id == rid)
    package.remove_relationship("xl/workbook.xml", rid)
    # What the sheet reaches (its drawing, charts, ...) goes too, unless a part
    # that stays still points at it.
    reached, pending = [], [part]
    while pending:
        current = pending.pop()
        if current in reached or current not in package:
            continue
        reached.append(current)
        pending += [r.part for r in package.relationships(current) if r.part]
    kept = {
        r.part
        for other in package.names()
        if other not in reached and not other.endswith(".rels")
        for r in package.relationships(other)
    }
    for current in reached:
        if current == part or current not in kept:
            package.remove(current)


def _restyle(source: Package, target: Package, sheet_part: str) -> None:
    """Append the new sheet's cell styles to the target's styles; renumber its indices.

    The sheet's fonts, fills and number formats are copied with each cell style
    it uses; borders are not (the generated sheets draw none).
    """
    src = source.xml("xl/styles.xml").documentElement
    src_fonts = _items(src, "fonts", "font")
    src_fills = _items(src, "fills", "fill")
    src_formats = {
        f.getAttribute("numFmtId"): f.getAttribute("formatCode")
        for f in _items(src, "numFmts", "numFmt")
    }
    src_xfs = _items(src, "cellXfs", "xf")

    sheet = target.edit(sheet_part)
    styled = [  # (element, attribute) holding a cellXfs index
        *((c, "s") for c in sheet.getElementsByTagNameNS(MAIN, "c")),
        *((r, "s") for r in sheet.getElementsByTagNameNS(MAIN, "row")),
        *((c, "style") for c in sheet.getElementsByTagNameNS(MAIN, "col")),
    ]
    used = sorted({int(e.getAttribute(a)) for e, a in styled if e.hasAttribute(a)} - {0})
    if not used:
        return

    styles = target.edit("xl/styles.xml").documentElement
    fonts = _list(styles, "fonts")
    fills = _list(styles, "fills")
    xfs = _list(styles, "cellXfs")
    formats = child(styles, MAIN, "numFmts")
    taken = [
        int(f.getAttribute("numFmtId"))
        for f in (children(formats, MAIN, "numFmt") if formats is not None else [])
    ]
    next_format = max([_FIRST_CUSTOM_FORMAT - 1, *taken]) + 1
    mapping = {}
    for index in used:
        if index >= len(src_xfs):
            raise BizcaseError(f"{source.where}: cell style {index} is not defined")
        xf = copy_into(xfs, src_xfs[index])
        font = copy_into(fonts, src_fonts[int(xf.getAttribute("fontId") or 0)])
        xf.setAttribute("fontId", str(children(fonts, MAIN, "font").index(font)))
        fill = copy_into(fills, src_fills[int(xf.getAttribute("fillId") or 0)])
        xf.setAttribute("fillId", str(children(fills, MAIN, "fill").index(fill)))
        xf.setAttribute("borderId", "0")
        code = src_formats.get(xf.getAttribute("numFmtId") or "0")
        if code is not None:
            if formats is None:  # numFmts comes first in CT_Stylesheet
                formats = create(styles, MAIN, "numFmts")
                styles.insertBefore(formats, styles.firstChild)
            append(formats, MAIN, "numFmt", {"numFmtId": next_format, "formatCode": code})
            xf.setAttribute("numFmtId", str(next_format))
            next_format += 1
        mapping[index] = children(xfs, MAIN, "xf").index(xf)
    for group, item in ((fonts, "font"), (fills, "fill"), (xfs, "xf"), (formats, "numFmt")):
        if group is not None:
            group.setAttribute("count", str(len(children(group, MAIN, item))))
    for element, attribute in styled:
        if element.hasAttribute(attribute):
            element.setAttribute(
                attribute, str(mapping.get(int(element.getAttribute(attribute)), 0))
            )


def _items(styles, group: str, item: str) -> list:
    parent = child(styles, MAIN, group)
    return children(parent, MAIN, item) if parent is not None else []


def _list(styles, group: str):
    found = child(styles, MAIN, group)
    if found is None:
        raise BizcaseError(f"xl/styles.xml: no <{group}> list; expected the one every workbook has")
    return found
