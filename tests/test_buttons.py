"""Sheet buttons added to a saved workbook (DESIGN.md "Macros", "What a sheet
button is"; issues 6 and 10): a named shape covering a cell, hyperlinked to that
cell for xlwings Lite, and naming no macro (an .xlsx holds none; the classic
route assigns them from VBA).

The buttons go into a generated business case: three on the Cover, whose
drawing already holds the charts, and one on Inputs, which has no drawing yet.
LibreOffice re-saves the result (one ``soffice`` call for the module) and must
write the shapes back with their names, links and labels.
"""

from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
import pytest
from libreoffice import recalculate

from udfs.errors import BizcaseError
from workbooks.business_case import build_workbook
from workbooks.buttons import Button, add_buttons, read_buttons
from workbooks.examples import example_spec
from workbooks.files import save_atomically

HYPERLINK = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink"
CHART = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/chart"
XDR = "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing"
A = "http://schemas.openxmlformats.org/drawingml/2006/main"

BUTTONS = [
    Button("btnMonteCarlo", "Cover", "M3", "Run Monte Carlo", "run_monte_carlo"),
    Button("btnSensitivity", "Cover", "M6", "Run sensitivity", "run_sensitivity"),
    Button("btnCheck", "Cover", "M9", "Check model integrity", "check_model", columns=3),
    Button("btnRebuild", "Inputs", "F1", "Rebuild from Inputs", "rebuild_business_case"),
]
SPACED = Button("btnGo", "My Sheet", "B2", "Go & run", "go")

# CT_Worksheet's children in schema order (ECMA-376 Part 1, 18.3.1.99).
WORKSHEET_ORDER = (
    "sheetPr dimension sheetViews sheetFormatPr cols sheetData sheetCalcPr sheetProtection "
    "protectedRanges scenarios autoFilter sortState dataConsolidate customSheetViews "
    "mergeCells phoneticPr conditionalFormatting dataValidations hyperlinks printOptions "
    "pageMargins pageSetup headerFooter rowBreaks colBreaks customProperties cellWatches "
    "ignoredErrors smartTags drawing legacyDrawing legacyDrawingHF drawingHF picture "
    "oleObjects controls webPublishItems tableParts extLst"
).split()


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {name: z.read(name) for name in z.namelist()}


def relationships(rels: bytes) -> list[dict]:
    """The attributes of each relationship in a .rels part."""
    return [dict(r.attrib) for r in ElementTree.fromstring(rels)]


def top_level_children(xml: bytes) -> list[str]:
    """Local names of the root element's children, in document order."""
    names, depth = [], 0
    for closing, name, empty in re.findall(rb"<(/?)([\w:]+)[^>]*?(/?)>", xml):
        if closing:
            depth -= 1
            continue
        if depth == 1:
            names.append(name.decode().rpartition(":")[2])
        depth += not empty
    return names


@pytest.fixture(scope="module")
def built(tmp_path_factory, soffice):
    """(before, after) parts of the business case, the files, and LibreOffice's re-saves."""
    root = tmp_path_factory.mktemp("buttons")
    # A workbook without the template's own buttons, so only this test's buttons count.
    original = save_atomically(
        build_workbook(example_spec("analytics_addon")), root / "original.xlsx"
    )
    path = root / "case.xlsx"
    shutil.copyfile(original, path)
    add_buttons(path, BUTTONS)

    spaced = root / "spaced.xlsx"
    book = openpyxl.Workbook()
    book.active.title = "My Sheet"
    book.save(spaced)
    add_buttons(spaced, [SPACED])

    saved = recalculate([path, spaced], root / "lo", soffice=soffice)
    return {
        "root": root,
        "before": parts(original),
        "after": parts(path),
        "path": path,
        "spaced": spaced,
        "lo": dict(zip(["case", "spaced"], saved, strict=True)),
    }


def test_read_buttons_returns_each_button_with_its_linked_cell_and_no_macro(built):
    found = {(b["sheet"], b["name"]): b for b in read_buttons(built["path"])}
    assert set(found) == {(b.sheet, b.name) for b in BUTTONS}
    for button in BUTTONS:
        shape = found[button.sheet, button.name]
        assert shape["cell"] == button.cell
        assert shape["anchor"] == button.cell  # the shape sits on the cell it links to
        assert shape["target"] == f"{button.sheet}!{button.cell}"
        assert shape["macro"] == ""  # a missing macro would be "Cannot run the macro"
        assert shape["label"] == button.label


def test_the_link_is_an_internal_hyperlink_relationship_of_the_drawing(built):
    links = [
        r
        for name, part in built["after"].items()
        if name.startswith("xl/drawings/_rels/")
        for r in relationships(part)
        if r["Type"] == HYPERLINK
    ]
    targets = sorted(r["Target"] for r in links)
    assert targets == sorted(f"#{b.sheet}!{b.cell}" for b in BUTTONS)
    assert not any("TargetMode" in r for r in links)  # internal, as Excel writes it


def test_a_sheet_name_with_a_space_is_quoted_in_the_link(built):
    rels = parts(built["spaced"])["xl/drawings/_rels/drawing1.xml.rels"].decode()
    assert "Target=\"#'My Sheet'!B2\"" in rels
    (shape,) = read_buttons(built["spaced"])
    assert (shape["target"], shape["cell"], shape["label"]) == ("My Sheet!B2", "B2", "Go & run")


def test_the_cover_charts_stay_in_its_drawing(built):
    before, after = built["before"], built["after"]
    rels = "xl/drawings/_rels/drawing1.xml.rels"
    charts_before = [r for r in relationships(before[rels]) if r["Type"] == CHART]
    charts_after = [r for r in relationships(after[rels]) if r["Type"] == CHART]
    assert len(charts_before) == 3
    assert charts_after == charts_before
    frames = rb"<(?:\w+:)?graphicFrame\b"
    assert len(re.findall(frames, after["xl/drawings/drawing1.xml"])) == 3
    assert openpyxl.load_workbook(built["path"])["Cover"]._charts  # still charts to openpyxl


def test_every_other_part_is_byte_identical(built):
    before, after = built["before"], built["after"]
    added = set(after) - set(before)
    assert added == {
        "xl/worksheets/_rels/sheet2.xml.rels",
        "xl/drawings/drawing4.xml",
        "xl/drawings/_rels/drawing4.xml.rels",
    }
    assert set(before) <= set(after)
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {
        "[Content_Types].xml",
        "xl/worksheets/sheet2.xml",  # Inputs: gains its <drawing>
        "xl/drawings/drawing1.xml",  # Cover's drawing: gains the shapes
        "xl/drawings/_rels/drawing1.xml.rels",
    }
    assert not [p for p in built["root"].iterdir() if p.name.startswith(".case-")]


def test_a_new_drawing_is_listed_where_the_schema_puts_it(built):
    after = built["after"]
    children = top_level_children(after["xl/worksheets/sheet2.xml"])
    assert children.count("drawing") == 1
    assert children == sorted(children, key=WORKSHEET_ORDER.index)
    # right after the page setup and what the schema puts between (header, footer, breaks)
    between = children[children.index("pageSetup") + 1 : children.index("drawing")]
    assert set(between) <= {"headerFooter", "rowBreaks", "colBreaks"}, between
    rels = after["xl/worksheets/_rels/sheet2.xml.rels"].decode()
    assert 'Target="../drawings/drawing4.xml"' in rels
    assert (
        '<Override PartName="/xl/drawings/drawing4.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.drawing+xml"/>'
    ) in after["[Content_Types].xml"].decode()


def test_shape_ids_are_unique_within_each_drawing(built):
    for name, xml in built["after"].items():
        if name.startswith("xl/drawings/drawing"):
            ids = re.findall(rb'<(?:\w+:)?cNvPr\b[^>]*?\bid="(\d+)"', xml)
            assert len(ids) == len(set(ids)), name


def test_no_shape_names_a_macro_the_xlsx_cannot_hold(built):
    """Excel desktop runs a shape's ``macro`` on a click and fails when the workbook
    lacks it; Excel itself writes ``macro=""`` for a shape with none."""
    shapes = [
        shape
        for name, xml in built["after"].items()
        if name.startswith("xl/drawings/drawing")
        for shape in ElementTree.fromstring(xml).iter(f"{{{XDR}}}sp")
    ]
    assert len(shapes) == len(BUTTONS)
    assert [s.get("macro") for s in shapes] == [""] * len(BUTTONS)


def test_each_button_looks_like_a_button(built):
    ns = {"xdr": XDR, "a": A}
    root = ElementTree.fromstring(built["after"]["xl/drawings/drawing1.xml"])
    anchor = next(
        a for a in root if a.find("xdr:sp/xdr:nvSpPr/xdr:cNvPr[@name='btnMonteCarlo']", ns)
    )
    corners = [
        (
            int(anchor.findtext(f"xdr:{end}/xdr:col", None, ns)),
            int(anchor.findtext(f"xdr:{end}/xdr:row", None, ns)),
        )
        for end in ("from", "to")
    ]
    assert corners == [(12, 2), (14, 4)]  # from M3, two columns by two rows
    shape = anchor.find("xdr:sp", ns)
    assert shape.find("xdr:spPr/a:prstGeom", ns).get("prst") == "roundRect"
    assert shape.find("xdr:spPr/a:solidFill/a:srgbClr", ns).get("val") == "1F3864"
    assert shape.find("xdr:txBody/a:bodyPr", ns).get("anchor") == "ctr"
    assert shape.find("xdr:txBody/a:p/a:pPr", ns).get("algn") == "ctr"
    run = shape.find("xdr:txBody/a:p/a:r/a:rPr", ns)
    assert run.get("b") == "1"
    assert run.find("a:solidFill/a:srgbClr", ns).get("val") == "FFFFFF"


def test_openpyxl_still_loads_the_workbook(built):
    book = openpyxl.load_workbook(built["path"])
    assert book.sheetnames[:2] == ["Cover", "Inputs"]
    assert book["Inputs"]["A1"].value == "Inputs"


def test_adding_the_same_buttons_again_replaces_them(built, tmp_path):
    path = tmp_path / "again.xlsx"
    shutil.copyfile(built["path"], path)
    add_buttons(path, BUTTONS)
    assert sorted(b["name"] for b in read_buttons(path)) == sorted(b.name for b in BUTTONS)
    again = parts(path)
    links = [
        r
        for name, rels in again.items()
        if name.startswith("xl/drawings/_rels/")
        for r in relationships(rels)
        if r["Type"] == HYPERLINK
    ]
    assert len(links) == len(BUTTONS)  # no orphaned hyperlinks
    assert again["xl/worksheets/sheet2.xml"] == built["after"]["xl/worksheets/sheet2.xml"]


def test_libreoffice_writes_the_buttons_back_with_names_links_and_labels(built):
    saved = {(b["sheet"], b["name"]): b for b in read_buttons(built["lo"]["case"])}
    for button in BUTTONS:
        shape = saved[button.sheet, button.name]
        assert (shape["cell"], shape["anchor"], shape["label"]) == (
            button.cell,
            button.cell,
            button.label,
        )
    (spaced,) = read_buttons(built["lo"]["spaced"])
    assert (spaced["name"], spaced["target"]) == ("btnGo", "My Sheet!B2")
    lo = parts(built["lo"]["case"])
    cover = next(v for k, v in lo.items() if k.endswith("drawing1.xml.rels"))
    assert len([r for r in relationships(cover) if r["Type"] == CHART]) == 3


@pytest.mark.parametrize(
    ("button", "message"),
    [
        (Button("btnX", "Nowhere", "A1", "X", "x"), "no sheet named 'Nowhere'"),
        (Button("btnX", "Cover", "A1:B2", "X", "x"), "cell must be a single cell"),
        (Button("btn X", "Cover", "A1", "X", "x"), "name must be non-empty"),
        (Button("btnX", "Cover", "A1", "X", "x()"), "macro must be a VBA Sub name"),
        (Button("btnX", "Cover", "A1", "X", "x", columns=0), "columns must be"),
    ],
)
def test_a_bad_button_is_refused_and_the_file_left_alone(built, tmp_path, button, message):
    path = tmp_path / "bad.xlsx"
    shutil.copyfile(built["path"], path)
    before = path.read_bytes()
    with pytest.raises(BizcaseError, match=re.escape(message)):
        add_buttons(path, [button])
    assert path.read_bytes() == before
