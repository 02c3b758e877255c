"""Edits of a saved package are namespace-aware (issue 10, item 1).

The same ``xl/workbook.xml`` can be spelled many ways: openpyxl without lxml
declares the relationships namespace on the root, openpyxl with lxml on each
``<sheet>``, Excel on the root next to ``mc:Ignorable`` prefixes that nothing
else uses, and any writer may bind the main namespace to a prefix. The Risk
sheet and the buttons must go into each spelling with the prefixes that
spelling binds, keeping every declaration (an undeclared ``mc:Ignorable``
prefix makes Excel refuse the part).
"""

from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
import pytest

from workbooks.buttons import Button, add_buttons, read_buttons
from workbooks.inject import put_sheet
from workbooks.package import Package, serialize, sheet_parts

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
X15 = "http://schemas.microsoft.com/office/spreadsheetml/2010/11/main"


def _sheets(names: list[str], r_on_root: bool, main_prefix: str, r_prefix: str) -> str:
    m = f"{main_prefix}:" if main_prefix else ""
    local = "" if r_on_root else f' xmlns:{r_prefix}="{R}"'
    return "".join(
        f'<{m}sheet{local} name="{n}" sheetId="{i}" {r_prefix}:id="rId{i}"/>'
        for i, n in enumerate(names, start=1)
    )


def spelled(kind: str, names: list[str]) -> str:
    """``xl/workbook.xml`` listing sheets ``names`` (relationships rId1, rId2, ...)."""
    if kind == "lxml":  # openpyxl with lxml: xmlns:r on each sheet
        return (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<workbook xmlns="{MAIN}"><sheets>'
            + _sheets(names, False, "", "r")
            + "</sheets></workbook>"
        )
    if kind == "excel":  # Excel: mc:Ignorable names a prefix nothing else uses
        return (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<workbook xmlns="{MAIN}" xmlns:r="{R}" xmlns:mc="{MC}" mc:Ignorable="x15" '
            f'xmlns:x15="{X15}"><sheets>' + _sheets(names, True, "", "r") + "</sheets>"
            '<definedNames><definedName name="Local" localSheetId="1">Inputs!$A$1'
            "</definedName></definedNames></workbook>"
        )
    # A prefixed main namespace and an unusual relationships prefix.
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<x:workbook xmlns:x="{MAIN}" '
        f'xmlns:rel="{R}"><x:sheets>'
        + _sheets(names, True, "x", "rel")
        + "</x:sheets></x:workbook>"
    )


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    book = openpyxl.Workbook()
    book.active.title = "Cover"
    book.create_sheet("Inputs")
    path = tmp_path_factory.mktemp("package") / "base.xlsx"
    book.save(path)
    return path


def respelled(base: Path, folder: Path, kind: str) -> Path:
    path = folder / f"{kind}.xlsx"
    with zipfile.ZipFile(base) as src, zipfile.ZipFile(path, "w") as out:
        rels = ElementTree.fromstring(src.read("xl/_rels/workbook.xml.rels"))
        sheet_rids = [r.get("Id") for r in rels if r.get("Type").endswith("/worksheet")]
        assert sheet_rids == ["rId1", "rId2"]  # what spelled() refers to
        for name in src.namelist():
            data = src.read(name)
            if name == "xl/workbook.xml":
                data = spelled(kind, ["Cover", "Inputs"]).encode()
            out.writestr(name, data)
    return path


def risk_book() -> openpyxl.Workbook:
    book = openpyxl.Workbook()
    book.active.title = "Risk"
    book.active["A1"] = "Risk"
    book.active["A1"].font = openpyxl.styles.Font(bold=True)
    return book


@pytest.mark.parametrize("kind", ["lxml", "excel", "prefixed"])
def test_a_sheet_goes_into_every_spelling_of_the_workbook_part(base, tmp_path, kind):
    path = respelled(base, tmp_path, kind)
    put_sheet(path, risk_book())
    put_sheet(path, risk_book())  # replacing it must work on our own output too
    with zipfile.ZipFile(path) as z:
        xml = z.read("xl/workbook.xml")
        rels = {
            r.get("Id"): r.get("Target")
            for r in ElementTree.fromstring(z.read("xl/_rels/workbook.xml.rels"))
        }
        names = z.namelist()
    root = ElementTree.fromstring(xml)  # well-formed: every prefix declared
    sheets = root.findall(f"{{{MAIN}}}sheets/{{{MAIN}}}sheet")
    assert [s.get("name") for s in sheets] == ["Cover", "Inputs", "Risk"]
    targets = [rels[s.get(f"{{{R}}}id")] for s in sheets]
    assert all(t.removeprefix("/").removeprefix("xl/") in "".join(names) for t in targets)
    assert len([n for n in names if n.startswith("xl/worksheets/sheet")]) == 3
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Cover", "Inputs", "Risk"]
    assert book["Risk"]["A1"].value == "Risk" and book["Risk"]["A1"].font.b


def test_declarations_only_mc_ignorable_names_are_kept(base, tmp_path):
    path = respelled(base, tmp_path, "excel")
    put_sheet(path, risk_book())
    with zipfile.ZipFile(path) as z:
        xml = z.read("xl/workbook.xml").decode()
    assert 'mc:Ignorable="x15"' in xml
    assert f'xmlns:x15="{X15}"' in xml
    assert xml.startswith('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>')
    # The new sheet uses the root's r: prefix rather than declaring its own.
    assert re.search(r'<sheet name="Risk" sheetId="3" r:id="rId\d+"/>', xml)
    # The sheet-local name stays on Inputs (still at position 1).
    local = ElementTree.fromstring(xml).find(f"{{{MAIN}}}definedNames/{{{MAIN}}}definedName")
    assert local.get("localSheetId") == "1"


def test_a_prefixed_main_namespace_gets_prefixed_elements(base, tmp_path):
    path = respelled(base, tmp_path, "prefixed")
    put_sheet(path, risk_book())
    with zipfile.ZipFile(path) as z:
        xml = z.read("xl/workbook.xml").decode()
    assert re.search(r'<x:sheet name="Risk" sheetId="3" rel:id="rId\d+"/>', xml)


@pytest.mark.parametrize("kind", ["lxml", "excel", "prefixed"])
def test_buttons_go_into_every_spelling(base, tmp_path, kind):
    path = respelled(base, tmp_path, kind)
    add_buttons(path, [Button("btnGo", "Inputs", "B2", "Go", "go")])
    (shape,) = read_buttons(path)
    assert (shape["sheet"], shape["name"], shape["cell"]) == ("Inputs", "btnGo", "B2")


def test_untouched_parts_are_written_back_byte_for_byte(base, tmp_path):
    path = tmp_path / "copy.xlsx"
    shutil.copyfile(base, path)
    with zipfile.ZipFile(path) as z:
        before = {n: z.read(n) for n in z.namelist()}
    package = Package.open(path)
    package.xml("xl/workbook.xml")  # read, not edited
    package.save()
    with zipfile.ZipFile(path) as z:
        assert {n: z.read(n) for n in z.namelist()} == before


def test_attribute_line_breaks_and_tabs_survive_a_rewrite():
    from xml.dom import minidom

    doc = minidom.parseString(b'<a xmlns="urn:x" t="one&#10;two&#9;three">x &amp; y</a>')
    again = minidom.parseString(serialize(doc))
    assert again.documentElement.getAttribute("t") == "one\ntwo\tthree"
    assert again.documentElement.firstChild.data == "x & y"


def test_a_copied_sheet_keeps_its_links_out_of_the_workbook(base, tmp_path):
    path = tmp_path / "copy.xlsx"
    shutil.copyfile(base, path)
    book = risk_book()
    book.active["A2"].hyperlink = "https://example.org/method"
    put_sheet(path, book)
    package = Package.open(path)
    sheet = sheet_parts(package)
    (link,) = package.relationships(sheet["Risk"])
    assert (link.target, link.external, link.part) == ("https://example.org/method", True, None)
    assert openpyxl.load_workbook(path)["Risk"]["A2"].hyperlink.target == (
        "https://example.org/method"
    )
