"""The xlwings Lite bundle: a main.py and a requirements.txt exposing bizcase.

xlwings Lite runs Python in the browser (Pyodide) and keeps the code in the
workbook: a ``main.py`` whose functions and scripts it registers, and a
``requirements.txt`` it installs from. bizcase is pure Python, so the wheel
built from this repository (``python -m pip wheel --no-deps . -w dist``)
runs there once it is reachable by URL.
"""

from __future__ import annotations

from pathlib import Path

from udfs import functions
from udfs.errors import BizcaseError
from workbooks import buttons as registry
from workbooks.buttons import Button

MAIN = '''"""bizcase for xlwings Lite: every BC_ function and every workbook button."""

from udfs.functions import *  # noqa: F403  (BC_NPV, BC_IRR, ... registered by Lite)
from addin.macros import (  # noqa: F401  (the buttons' scripts)
{scripts}
)
'''
# Pyodide ships these; the bizcase wheel brings the rest of the code.
REQUIREMENTS = ("numpy", "scipy", "pandas", "pydantic", "openpyxl")


def function_names() -> list[str]:
    return sorted(n for n in dir(functions) if n.startswith("BC_"))


def main_source(buttons: tuple[Button, ...] | None = None) -> str:
    """The bundle's main.py, importing the script of every button (default: the registry).

    >>> source = main_source((Button("btnGo", "Cover", "M20", "Go", "bizcase_go", script="go"),))
    >>> source.splitlines()[-2:]
    ['    go,', ')']
    """
    buttons = registry.BUTTONS if buttons is None else buttons
    return MAIN.format(scripts="\n".join(f"    {b.script}," for b in buttons))


def write_lite_bundle(
    folder: str | Path, wheel_url: str | None = None, overwrite: bool = False
) -> list[Path]:
    """Write main.py and requirements.txt into ``folder``; return their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    main, requirements = folder / "main.py", folder / "requirements.txt"
    for path in (main, requirements):
        if path.exists() and not overwrite:
            raise BizcaseError(f"{path}: already exists; pass --force to overwrite it")
    main.write_text(main_source(), encoding="utf-8")
    lines = list(REQUIREMENTS)
    lines.append(
        wheel_url
        or "# bizcase: the URL of a bizcase wheel (python -m pip wheel "
        "--no-deps . -w dist), served with CORS allowed"
    )
    requirements.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [main, requirements]
