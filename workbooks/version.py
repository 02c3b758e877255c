"""The template version every generated workbook records (``_bizcase!B1``), and
the migrations that carry a spec recorded by an earlier version into this one.

Kept apart from the generator so that reading a workbook does not import it.

History: 1.0, the first release; 1.1, period 0 (now) opens the timeline,
mid-period timing, working capital released at the horizon, terminal value on
a steady-state year, checks that recompute by another route; 1.2, the Checks
sheet shows each check as the model states it (figure, other route,
difference), the portfolio Summary gains Port_MIRR.
"""

from __future__ import annotations

from collections.abc import Callable

TEMPLATE_VERSION = "1.2"


def _nothing_renamed(spec: dict) -> dict:
    """A step that only added fields or changed formulas: an older spec lacks the
    new fields and takes their defaults."""
    return spec


#: One migration per template version step, (from, to) -> a function that edits the
#: spec dict a workbook of ``from`` recorded into the shape ``to`` reads: renamed
#: or moved fields. Inputs a version adds need none (they take the spec's defaults).
MIGRATIONS: dict[tuple[str, str], Callable[[dict], dict]] = {
    ("1.0", "1.1"): _nothing_renamed,
    ("1.1", "1.2"): _nothing_renamed,
}


def version_key(version: str) -> tuple[int, ...]:
    """``"1.10"`` -> ``(1, 10)``, so that versions compare as numbers."""
    return tuple(int(part) for part in version.split("."))


def migrate(spec: dict, version: str) -> dict:
    """A spec recorded by template ``version``, as this template reads it.

    Runs each step from ``version`` on, in version order, once.

    Examples
    --------
    >>> migrate({"meta": {"name": "Atlas"}}, "1.0")
    {'meta': {'name': 'Atlas'}}
    """
    for (source, _), step in sorted(MIGRATIONS.items(), key=lambda s: version_key(s[0][0])):
        if version_key(source) >= version_key(version):
            spec = step(spec)
    return spec
