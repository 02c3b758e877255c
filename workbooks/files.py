"""Writing workbooks safely: never half a file, never an unasked-for overwrite."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from udfs.errors import BizcaseError


def replace_atomically(path: Path, write, mode: int | None = None) -> None:
    """Call ``write(temporary_path)``, then rename the result over ``path``.

    The temporary file sits in the same folder (so the rename is atomic) and is
    removed if anything fails: ``path`` is never half-written. The result gets
    ``mode``, or ordinary permissions (0666 less the umask) rather than 0600.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        if mode is None:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def refuse_read_only(path: Path, force: bool) -> None:
    """A file its owner made read-only is only replaced when asked (``--force``)."""
    if not force and path.exists() and not path.stat().st_mode & 0o222:
        raise BizcaseError(f"{path}: is read-only; pass --force to replace it anyway")


def save_atomically(workbook, path: str | Path, overwrite: bool = False, finish=None) -> Path:
    """Save an openpyxl workbook atomically (see :func:`replace_atomically`).

    Refuses to replace an existing file unless ``overwrite``.
    ``finish(temporary_path)`` may edit the saved file before it takes ``path``.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise BizcaseError(f"{path}: already exists; pass --force to overwrite it")
    if path.suffix.lower() == ".xlsm":
        # An .xlsm name promises a macro-enabled package (another content type, a
        # VBA project); Excel refuses an .xlsx package under that name.
        raise BizcaseError(
            f"{path}: bizcase writes workbooks without macros; expected an .xlsx name, "
            "got .xlsm (for the classic buttons, import addin/bizcase.bas in Excel and "
            "save as .xlsm there)"
        )
    if path.suffix.lower() != ".xlsx":
        raise BizcaseError(
            f"{path}: the workbook needs an .xlsx name, got {path.suffix or 'no extension'!r}"
        )
    path.parent.mkdir(parents=True, exist_ok=True)

    def write(tmp: Path) -> None:
        workbook.save(tmp)
        if finish is not None:  # e.g. add what openpyxl cannot write, before the rename
            finish(tmp)

    replace_atomically(path, write)
    return path
