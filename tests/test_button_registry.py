"""One button registry (``workbooks.buttons.BUTTONS``) drives every place a button
shows up (issue 12, item 3): the shapes in the generated workbooks, the scripts'
``button=`` bindings, the classic entry points, the Lite bundle's imports,
``addin/bizcase.bas`` and the README's table.

A made-up button added to the registry must appear in each of them; the
committed ``bizcase.bas`` and README table must be what the generators make of
the registry today (regenerate both with ``python -m addin.bas``).
"""

from __future__ import annotations

import re
import types

import pytest
import xlwings as xw
import xlwings.server

import addin.macros as macros
import workbooks.buttons as registry
from addin import bas
from addin.lite import main_source, write_lite_bundle
from workbooks.business_case import write_business_case
from workbooks.buttons import BUTTONS, Button, buttons_of, read_buttons
from workbooks.examples import example_spec

FAKE = Button(
    "btnFake",
    "Cover",
    "M19",
    "Fake it",
    "bizcase_fake",
    script="run_fake",
    help="a button made up by the test",
)


@pytest.fixture
def with_fake(monkeypatch):
    """The registry with FAKE added, and a script of that name in addin.macros."""
    calls = []

    def run_fake(book: xw.Book):
        calls.append(book)
        return book

    monkeypatch.setattr(registry, "BUTTONS", (*BUTTONS, FAKE))
    monkeypatch.setattr(macros, "run_fake", run_fake, raising=False)
    return calls


def test_a_new_button_gets_its_shape_in_the_generated_case(with_fake, tmp_path):
    path = write_business_case(example_spec("saas"), tmp_path / "case.xlsx")
    shapes = {b["name"]: b for b in read_buttons(path)}
    assert set(shapes) == {b.name for b in buttons_of("case")} | {FAKE.name}
    fake = shapes[FAKE.name]
    assert (fake["sheet"], fake["cell"], fake["label"]) == (FAKE.sheet, FAKE.cell, FAKE.label)


def test_a_new_button_gets_its_sub_and_assignment_in_the_vba_module(with_fake):
    text = bas.vba_module()
    assert re.search(
        r'^Sub bizcase_fake\(\)\n    RunPython "import addin.macros as m; m.bizcase_fake\(\)"\n'
        r"End Sub$",
        text,
        flags=re.MULTILINE,
    )
    assert 'Case "btnFake": action = "bizcase_fake"' in text


def test_a_new_button_gets_its_script_imported_by_the_lite_bundle(with_fake, tmp_path):
    assert "    run_fake," in main_source().splitlines()
    (main, _) = write_lite_bundle(tmp_path, wheel_url="https://example.org/b.whl")
    assert "    run_fake," in main.read_text(encoding="utf-8").splitlines()


def test_a_new_button_gets_its_row_in_the_readme_table(with_fake):
    rows = registry.markdown_table().splitlines()
    assert rows[-1] == (
        "| Fake it | `btnFake` (Cover!M19) | `run_fake` | `bizcase_fake` "
        "| a button made up by the test |"
    )


def test_a_new_button_gets_its_binding_and_its_classic_entry_point(with_fake, monkeypatch):
    module = types.ModuleType("fake_main")
    module.run_fake = macros.button_script(macros.run_fake)
    (meta,) = xlwings.server.custom_scripts_meta(module)
    assert meta["button"] == "[btnFake]Cover!M19"

    book = object()
    monkeypatch.setattr(xw.Book, "caller", staticmethod(lambda: book))
    macros.bizcase_fake()  # what the .bas Sub runs through RunPython
    assert with_fake == [book]


def test_a_script_no_button_names_is_refused():
    def run_nothing(book: xw.Book):
        return book

    with pytest.raises(LookupError, match="0 buttons name the script 'run_nothing'"):
        macros.button_script(run_nothing)


def test_an_unknown_classic_entry_point_is_an_attribute_error():
    with pytest.raises(AttributeError, match="bizcase_nothing"):
        macros.bizcase_nothing  # noqa: B018


def test_the_rebuild_sub_runs_the_file_writing_twin_in_classic(monkeypatch):
    """Lite cannot write files, so btnRebuild's classic entry runs ``classic``, not ``script``."""
    (rebuild,) = [b for b in BUTTONS if b.name == "btnRebuild"]
    ran = []
    monkeypatch.setattr(macros, rebuild.classic, ran.append)
    monkeypatch.setattr(xw.Book, "caller", staticmethod(lambda: "the calling book"))
    getattr(macros, rebuild.macro)()
    assert ran == ["the calling book"]


def test_every_script_and_sub_of_the_registry_exists_once():
    scripts = [b.script for b in BUTTONS]
    subs = [b.macro for b in BUTTONS]
    assert len(set(scripts)) == len(scripts) and len(set(subs)) == len(subs)
    assert list(macros.SCRIPTS) == scripts
    for b in BUTTONS:
        assert callable(getattr(macros, b.script)), b.script
        assert callable(getattr(macros, b.macro)), b.macro
        assert b.workbook in ("case", "portfolio"), b.name


def test_the_committed_vba_module_is_the_generators_output_with_crlf():
    expected = bas.vba_module().replace("\n", "\r\n").encode("utf-8")
    assert bas.BAS.read_bytes() == expected, "regenerate it: python -m addin.bas"


def test_the_readme_table_is_the_registrys():
    text = bas.README.read_text(encoding="utf-8")
    assert bas.readme_with_table(text) == text, "regenerate it: python -m addin.bas"


@pytest.mark.parametrize("label", ['Say "hi"', "Run – now", "Two\nlines", "Costs in €"])
def test_a_label_the_vba_module_cannot_hold_is_refused(label):
    # The label is written into bizcase.bas as a comment and a string; the VBA editor
    # reads that file in the ANSI code page, so quotes, line breaks and non-ASCII break it.
    with pytest.raises(ValueError, match="printable ASCII"):
        Button("btnGo", "Cover", "M20", label, "bizcase_go")


def test_classic_entry_points_are_one_function_each_and_listed():
    for button in BUTTONS:
        assert getattr(macros, button.macro) is getattr(macros, button.macro)
        assert button.macro in dir(macros)
    assert not hasattr(macros, "bizcase_no_such_button")
