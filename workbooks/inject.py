"""Put one sheet into an existing .xlsx without re-saving anything else.

openpyxl drops what it does not model (charts, images, some formatting) when
it re-saves a file, so a workbook a user has edited must not go through it.
This module builds the new sheet in a scratch openpyxl workbook, then copies
its parts (worksheet, drawing, charts) into the user's file and edits only the
four small parts that list them: ``[Content_Types].xml``, ``xl/workbook.xml``,
its relationships, and ``xl/styles.xml`` (the new sheet's styles are appended).
Every other part is copied byte for byte. A sheet of the same name is replaced.
"""

from __future__ import annotations

import io
import os
import posixpath
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree

from openpyxl import Workbook

from udfs.errors import BizcaseError

from .files import replace_atomically

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_WORKSHEET = f"{_REL_NS}/worksheet"


def _parts(z: zipfile.ZipFile) -> dict[str, bytes]:
    return {i.filename: z.read(i.filename) for i in z.infolist()}


def _rels_path(part: str) -> str:
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


def _targets(rels: bytes, base: str) -> list[tuple[str, str, str]]:
    """(Id, Type, absolute part name) of each relationship in a .rels part."""
    out = []
    for m in re.finditer(rb"<Relationship\b[^>]*/?>", rels):
        tag = m.group(0).decode()
        rid = re.search(r'\bId="([^"]+)"', tag).group(1)
        kind = re.search(r'\bType="([^"]+)"', tag).group(1)
        target = re.search(r'\bTarget="([^"]+)"', tag).group(1)
        if 'TargetMode="External"' in tag:
            continue
        path = (
            target.lstrip("/")
            if target.startswith("/")
            else posixpath.normpath(posixpath.join(posixpath.dirname(base), target))
        )
        out.append((rid, kind, path))
    return out


def _free(parts: dict, folder: str, stem: str) -> int:
    used = [int(m.group(1)) for p in parts if (m := re.fullmatch(rf"{folder}/{stem}(\d+)\.xml", p))]
    return max(used, default=0) + 1


def put_sheet(path: str | Path, sheet_book: Workbook) -> None:
    """Add (or replace) the single sheet of ``sheet_book`` in the workbook at ``path``."""
    path = Path(path)
    if not zipfile.is_zipfile(path):
        raise BizcaseError(f"{path}: not an Excel workbook (.xlsx)")
    buffer = io.BytesIO()
    sheet_book.save(buffer)
    with zipfile.ZipFile(buffer) as z:
        source = _parts(z)
    with zipfile.ZipFile(path) as z:
        target = _parts(z)
        infos = {i.filename: i for i in z.infolist()}
    name = sheet_book.worksheets[0].title
    _remove_sheet(target, name)

    # Copy the new sheet's parts under free names.
    sheet_no = _free(target, "xl/worksheets", "sheet")
    drawing_no = _free(target, "xl/drawings", "drawing")
    chart_no = _free(target, "xl/charts", "chart")
    renames = {"xl/worksheets/sheet1.xml": f"xl/worksheets/sheet{sheet_no}.xml"}
    for _rid, kind, part in _targets(
        source.get(_rels_path("xl/worksheets/sheet1.xml"), b""), "xl/worksheets/sheet1.xml"
    ):
        if kind.endswith("/drawing"):
            renames[part] = f"xl/drawings/drawing{drawing_no}.xml"
            for _, ckind, chart in _targets(source.get(_rels_path(part), b""), part):
                if ckind.endswith("/chart"):
                    renames[chart] = f"xl/charts/chart{chart_no}.xml"
                    chart_no += 1
    added_types = []
    content_types = source["[Content_Types].xml"].decode()
    for old, new in renames.items():
        data = source[old]
        if old == "xl/worksheets/sheet1.xml":
            data = _restyle(data, source["xl/styles.xml"], target)
        target[new] = data
        rels = _rels_path(old)
        if rels in source:
            text = source[rels].decode()
            for o, n in renames.items():
                text = text.replace(f'Target="/{o}"', f'Target="/{n}"')
            target[_rels_path(new)] = text.encode()
        kind = re.search(rf'PartName="/{re.escape(old)}" ContentType="([^"]+)"', content_types)
        added_types.append(f'<Override PartName="/{new}" ContentType="{kind.group(1)}"/>')

    # List the sheet in the workbook, its relationships and the content types.
    wb_rels = target["xl/_rels/workbook.xml.rels"].decode()
    ids = [int(i) for i in re.findall(r'Id="rId(\d+)"', wb_rels)]
    rid = f"rId{max(ids, default=0) + 1}"
    wb_rels = wb_rels.replace(
        "</Relationships>",
        f'<Relationship Id="{rid}" Type="{_WORKSHEET}" '
        f'Target="/{renames["xl/worksheets/sheet1.xml"]}"/></Relationships>',
    )
    target["xl/_rels/workbook.xml.rels"] = wb_rels.encode()
    workbook = target["xl/workbook.xml"].decode()
    prefix = re.search(rf'xmlns:(\w+)="{re.escape(_REL_NS)}"', workbook)
    if prefix is None:
        raise BizcaseError(f"{path}: xl/workbook.xml declares no relationship namespace")
    sheet_ids = [int(i) for i in re.findall(r'<sheet\b[^>]*\bsheetId="(\d+)"', workbook)]
    entry = (
        f'<sheet name="{_escape(name)}" sheetId="{max(sheet_ids, default=0) + 1}" '
        f'{prefix.group(1)}:id="{rid}"/>'
    )
    workbook = workbook.replace("</sheets>", entry + "</sheets>", 1)
    target["xl/workbook.xml"] = workbook.encode()
    types = target["[Content_Types].xml"].decode()
    target["[Content_Types].xml"] = types.replace(
        "</Types>", "".join(added_types) + "</Types>"
    ).encode()
    _write(path, target, infos)


def _remove_sheet(parts: dict, name: str) -> None:
    """Drop a sheet of this name, its drawing and charts, and every reference to them."""
    workbook = parts["xl/workbook.xml"].decode()
    m = re.search(rf'<sheet\b[^>]*\bname="{re.escape(_escape(name))}"[^>]*/>', workbook)
    if not m:
        return
    tag = m.group(0)
    rid = re.search(r'\b\w+:id="([^"]+)"', tag).group(1)
    position = len(re.findall(r"<sheet\b", workbook[: m.start()]))
    workbook = workbook.replace(tag, "", 1)

    def shift(match):  # sheet-local names point at sheets by position
        local = int(match.group(2))
        if local == position:
            return ""
        return match.group(0).replace(
            f'localSheetId="{local}"', f'localSheetId="{local - (local > position)}"'
        )

    workbook = re.sub(
        r'(<definedName\b[^>]*localSheetId="(\d+)"[^>]*>.*?</definedName>)', shift, workbook
    )
    parts["xl/workbook.xml"] = workbook.encode()
    rels = parts["xl/_rels/workbook.xml.rels"].decode()
    sheet_part = next(p for r, _, p in _targets(rels.encode(), "xl/workbook.xml") if r == rid)
    rels = re.sub(rf'<Relationship\b[^>]*\bId="{rid}"[^>]*/>', "", rels)
    parts["xl/_rels/workbook.xml.rels"] = rels.encode()
    doomed = [sheet_part]
    for _, kind, part in _targets(parts.get(_rels_path(sheet_part), b""), sheet_part):
        if kind.endswith("/drawing"):
            doomed.append(part)
            doomed += [
                c
                for _, k, c in _targets(parts.get(_rels_path(part), b""), part)
                if k.endswith("/chart")
            ]
    types = parts["[Content_Types].xml"].decode()
    for part in doomed:
        parts.pop(part, None)
        parts.pop(_rels_path(part), None)
        types = re.sub(rf'<Override\b[^>]*PartName="/{re.escape(part)}"[^>]*/>', "", types)
    parts["[Content_Types].xml"] = types.encode()


def _restyle(sheet: bytes, source_styles: bytes, parts: dict) -> bytes:
    """Append the new sheet's cell styles to the target's and renumber its ``s=`` indices."""
    ns = {"m": _MAIN}
    src = ElementTree.fromstring(source_styles)
    used = sorted({int(i) for i in re.findall(rb'<c\b[^>]*?\bs="(\d+)"', sheet)} - {0})
    if not used:
        return sheet
    styles = parts["xl/styles.xml"].decode()
    src_fonts = src.findall("m:fonts/m:font", ns)
    src_fills = src.findall("m:fills/m:fill", ns)
    src_formats = {
        f.get("numFmtId"): f.get("formatCode") for f in src.findall("m:numFmts/m:numFmt", ns)
    }
    src_xfs = src.findall("m:cellXfs/m:xf", ns)
    fonts = _count(styles, "fonts")
    fills = _count(styles, "fills")
    xfs = _count(styles, "cellXfs")
    format_ids = [int(i) for i in re.findall(r'numFmtId="(\d+)"', styles)]
    next_format = max([163, *format_ids]) + 1
    new_fonts, new_fills, new_formats, new_xfs, mapping = [], [], [], [], {}
    for index in used:
        xf = src_xfs[index]
        attrs = dict(xf.attrib)
        font = src_fonts[int(attrs.get("fontId", 0))]
        new_fonts.append(_xml(font))
        attrs["fontId"] = str(fonts + len(new_fonts) - 1)
        fill = src_fills[int(attrs.get("fillId", 0))]
        new_fills.append(_xml(fill))
        attrs["fillId"] = str(fills + len(new_fills) - 1)
        attrs["borderId"] = "0"
        code = src_formats.get(attrs.get("numFmtId", "0"))
        if code is not None:
            new_formats.append(f'<numFmt numFmtId="{next_format}" formatCode="{_escape(code)}"/>')
            attrs["numFmtId"] = str(next_format)
            next_format += 1
        attributes = " ".join(f'{k}="{v}"' for k, v in attrs.items())
        new_xfs.append(f"<xf {attributes}/>")
        mapping[index] = xfs + len(new_xfs) - 1
    styles = _append(styles, "fonts", new_fonts)
    styles = _append(styles, "fills", new_fills)
    styles = _append(styles, "cellXfs", new_xfs)
    if new_formats:
        if "<numFmts" in styles:
            styles = _append(styles, "numFmts", new_formats)
        else:
            styles = re.sub(
                r"(<styleSheet\b[^>]*>)",
                r"\1" + f'<numFmts count="'
                f'{len(new_formats)}">' + "".join(new_formats) + "</numFmts>",
                styles,
                count=1,
            )
    parts["xl/styles.xml"] = styles.encode()
    return re.sub(
        rb'(<c\b[^>]*?\bs=")(\d+)"',
        lambda m: m.group(1) + str(mapping.get(int(m.group(2)), 0)).encode() + b'"',
        sheet,
    )


def _count(styles: str, tag: str) -> int:
    block = re.search(rf"<{tag}\b[^>]*>(.*?)</{tag}>", styles, re.S)
    if block is None:
        return 0
    child = {"fonts": "font", "fills": "fill", "cellXfs": "xf", "numFmts": "numFmt"}[tag]
    return len(re.findall(rf"<{child}\b", block.group(1)))


def _append(styles: str, tag: str, items: list[str]) -> str:
    if not items:
        return styles
    total = _count(styles, tag) + len(items)
    styles = re.sub(rf"</{tag}>", "".join(items) + f"</{tag}>", styles, count=1)
    return re.sub(rf'(<{tag}\b[^>]*?count=")\d+"', rf'\g<1>{total}"', styles, count=1)


def _xml(element) -> str:
    """An element of the main namespace as the default-namespace XML styles.xml uses."""
    text = ElementTree.tostring(element, encoding="unicode")
    text = re.sub(r"\s?xmlns(:\w+)?=\"[^\"]+\"", "", text)
    return re.sub(r"<(/?)\w+:", r"<\1", text)  # whatever prefix ElementTree chose


def _escape(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")
    )


def _write(path: Path, parts: dict, infos: dict) -> None:
    """Rewrite the package atomically; untouched parts keep their original order first."""

    def write(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
            for name in [*[n for n in infos if n in parts], *[n for n in parts if n not in infos]]:
                z.writestr(name, parts[name])

    replace_atomically(path, write, mode=os.stat(path).st_mode & 0o777)
