"""Writing workbooks safely: never half a file, never an unasked-for overwrite."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from udfs.errors import BizcaseError


def save_atomically(workbook, path: str | Path, overwrite: bool = False, finish=None) -> Path:
    """Save through a temporary file in the same folder, then rename over ``path``.

    Refuses to replace an existing file unless ``overwrite``; the new file gets
    ordinary permissions (0666 less the umask), not the temporary file's 0600.
    ``finish(temporary_path)`` may edit the saved file before it takes ``path``.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise BizcaseError(f"{path}: already exists; pass --force to overwrite it")
    if path.suffix.lower() not in (".xlsx", ".xlsm"):
        raise BizcaseError(f"{path}: the workbook needs an .xlsx name")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".xlsx", dir=path.parent)
    os.close(fd)
    try:
        workbook.save(tmp)
        if finish is not None:  # e.g. add what openpyxl cannot write, before the rename
            finish(Path(tmp))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
