"""The bundled example specs and project table."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the names alone load without pydantic, for the command line's help
    from udfs.spec import Spec

#: Example name -> spec file, the documented example first.
EXAMPLES = {
    "analytics_addon": "analytics_addon.toml",
    "saas": "saas_subscription.toml",
    "hardware": "hardware_capex.toml",
    "sunset": "product_sunset.toml",
}


def example_path(name: str) -> Path:
    if name not in EXAMPLES:
        from udfs.errors import BizcaseError

        raise BizcaseError(
            f"--example: no example named {name!r}; choose from {', '.join(EXAMPLES)}"
        )
    return Path(str(resources.files(__name__) / EXAMPLES[name]))


def example_spec(name: str) -> Spec:
    from udfs.spec import load_spec

    return load_spec(example_path(name))
