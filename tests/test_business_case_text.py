"""Text from the spec is written as text, never as a formula, whatever it starts with.

For each of the characters a spreadsheet reads as the start of a formula
(``=``, ``+``, ``-``, ``@``), a spec whose every free text starts with it
(name, product line, owner, decision, notes, fixed cost names, role names,
gate names) is generated. Reloaded with openpyxl (formulas, not cached values)
each cell showing such text must be a string cell holding exactly the text;
and after LibreOffice has opened, recalculated and saved the workbook (one
``soffice`` call for the module), the Cover and the Inputs still show it
verbatim.
"""

from __future__ import annotations

import openpyxl
import pytest
from libreoffice import recalculate

from udfs.spec import Spec, parse_spec
from workbooks.business_case import write_business_case
from workbooks.examples import example_spec

PREFIXES = ("=", "+", "-", "@")
PREFIX_IDS = ("equals", "plus", "minus", "at")


def _texts(prefix: str) -> dict[str, object]:
    # Formula-like on purpose: read as formulas, most would compute to numbers.
    return {
        "name": f"{prefix}1+1",
        "product_line": f'{prefix}HYPERLINK("http://example.com","click")',
        "owner": f"{prefix}44 20 7946 0000",
        "decision": f"{prefix}SUM(A1:A3) approve the build",
        "notes": f"{prefix}2*3, a note",
        "fixed": [f"{prefix}Marketing", f"{prefix}1*2"],
        "roles": [f"{prefix}Engineering", f"{prefix}A1", f"{prefix}NOW()"],
        "gates": [f"{prefix}Beta", f"{prefix}TODAY()"],
    }


def text_spec(prefix: str) -> Spec:
    """The documented example with every free text starting with ``prefix``."""
    data = example_spec("analytics_addon").model_dump(mode="json")
    texts = _texts(prefix)
    for key in ("name", "product_line", "owner", "decision", "notes"):
        data["meta"][key] = texts[key]
    data["costs"]["fixed"] = [
        {"name": name, "amount": 100000.0 * (i + 1), "growth": 0.02}
        for i, name in enumerate(texts["fixed"])
    ]
    data["costs"]["headcount"] = [
        {"role": role, "fte": 2.0, "loaded_cost": 120000.0, "cost_growth": 0.03}
        for role in texts["roles"]
    ]
    data["risk"]["gates"] = [
        {"name": name, "probability": 0.8, "until_year": i + 1}
        for i, name in enumerate(texts["gates"])
    ]
    return parse_spec(data, f"text spec {prefix!r}")


def expected_cells(wb, spec: Spec) -> dict[tuple[str, str], str]:
    """(sheet, cell) -> the exact text the generator must have written there."""

    def label_of(name: str) -> tuple[str, str]:
        ((sheet, ref),) = wb.defined_names[name].destinations
        return sheet, "A" + ref.replace("$", "").lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")

    meta = spec.meta
    cells = {
        ("Cover", "A1"): meta.name,
        ("Cover", "A2"): f"{meta.product_line} · {meta.owner} · stage: {meta.stage}",
        ("Cover", "A5"): meta.decision,
    }
    for i, cost in enumerate(spec.costs.fixed, start=1):
        cells[label_of(f"In_Fixed{i}")] = cost.name
        cells[label_of(f"In_Fixed{i}Growth")] = f"{cost.name}: growth"
    for i, role in enumerate(spec.costs.headcount, start=1):
        cells[label_of(f"In_Role{i}FTE")] = f"{role.role}: FTE"
        cells[label_of(f"In_Role{i}Cost")] = f"{role.role}: loaded cost per FTE"
    for i, gate in enumerate(spec.risk.gates, start=1):
        cells[label_of(f"In_Gate{i}Probability")] = f"{gate.name}: probability of passing"
        cells[label_of(f"In_Gate{i}Year")] = f"{gate.name}: decided at the end of year"
    return cells


def _all_texts(prefix: str) -> list[str]:
    texts = _texts(prefix)
    flat = [texts[k] for k in ("name", "product_line", "owner", "decision", "notes")]
    return flat + texts["fixed"] + texts["roles"] + texts["gates"]


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> dict[str, object]:
    folder = tmp_path_factory.mktemp("business_case_text")
    return {
        prefix: write_business_case(text_spec(prefix), folder / f"text_{ident}.xlsx")
        for prefix, ident in zip(PREFIXES, PREFIX_IDS, strict=True)
    }


@pytest.fixture(scope="module")
def recalculated(generated, tmp_path_factory, soffice) -> dict[str, object]:
    outdir = tmp_path_factory.mktemp("business_case_text_libreoffice")
    outputs = recalculate(list(generated.values()), outdir, soffice=soffice)
    return dict(zip(generated, outputs, strict=True))


def _wrong_cells(wb, expected: dict[tuple[str, str], str]) -> list[str]:
    return [
        f"{sheet}!{ref}: expected text {text!r}; got {cell.value!r} (type {cell.data_type})"
        for (sheet, ref), text in expected.items()
        if (cell := wb[sheet][ref]).data_type != "s" or cell.value != text
    ]


@pytest.mark.parametrize("prefix", PREFIXES, ids=PREFIX_IDS)
def test_spec_text_is_written_as_text_where_it_is_shown(generated, prefix):
    wb = openpyxl.load_workbook(generated[prefix])
    expected = expected_cells(wb, text_spec(prefix))
    assert len(expected) == 3 + 2 * 2 + 3 * 2 + 2 * 2
    assert not _wrong_cells(wb, expected)


@pytest.mark.parametrize("prefix", PREFIXES, ids=PREFIX_IDS)
def test_no_cell_makes_spec_text_a_formula(generated, prefix):
    wb = openpyxl.load_workbook(generated[prefix])
    texts = _all_texts(prefix)
    holding = [
        cell
        for ws in wb.worksheets
        for row in ws.iter_rows()
        for cell in row
        if isinstance(cell.value, str) and any(t in cell.value for t in texts)
    ]
    formulas = [
        f"{c.parent.title}!{c.coordinate}: {c.value!r}" for c in holding if c.data_type != "s"
    ]
    assert not formulas
    # Every text is somewhere (meta.notes only in the hidden _bizcase spec record).
    assert all(any(t in c.value for c in holding) for t in texts)


@pytest.mark.parametrize("prefix", PREFIXES, ids=PREFIX_IDS)
def test_spec_text_survives_libreoffice_verbatim(recalculated, prefix):
    wb = openpyxl.load_workbook(recalculated[prefix])
    expected = expected_cells(wb, text_spec(prefix))
    assert not _wrong_cells(wb, expected)
