"""Argument coercion shared by the engine: one place that turns user input into
float arrays and names the argument when it cannot.

Every engine function accepts one project (1-D flows) or a batch (2-D,
projects x periods); these helpers normalise both to 2-D and remember which
shape to hand back.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from .errors import InputError

EXCEL_EPOCH = dt.date(1899, 12, 30)  # serial 0 in Excel's 1900 date system
_EPOCH_SERIAL = (dt.date(1970, 1, 1) - EXCEL_EPOCH).days  # 25569


def flows(values, name: str = "values") -> tuple[np.ndarray, bool]:
    """Return ``(array of shape (projects, periods), was_one_project)``."""
    arr = np.asarray(values)
    if arr.dtype.kind not in "biuf":
        raise InputError(f"{name}: must be numbers; got {_describe_non_numeric(arr)}")
    arr = arr.astype(float, copy=False)
    if arr.ndim not in (1, 2):
        raise InputError(
            f"{name}: must be 1-D (one project) or 2-D (projects x periods); got {arr.ndim}-D"
        )
    if arr.size == 0:
        raise InputError(f"{name}: must hold at least one value; got none")
    bad = ~np.isfinite(arr)
    if bad.any():
        where = np.argwhere(bad)[0]
        raise InputError(
            f"{name}: must be finite numbers; got {arr[tuple(where)]} "
            f"at position {tuple(int(i) for i in where)}"
        )
    one = arr.ndim == 1
    return (arr[None, :] if one else arr), one


def rate(value, name: str, projects: int) -> np.ndarray:
    """A rate per project, shape (projects, 1); each must be finite and > -1."""
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf":
        raise InputError(f"{name}: must be a number; got {_describe_non_numeric(arr)}")
    arr = arr.astype(float, copy=False)
    if arr.ndim > 1 or (arr.ndim == 1 and arr.size not in (1, projects)):
        raise InputError(
            f"{name}: must be one rate or one per project ({projects}); got shape {arr.shape}"
        )
    if not np.all(np.isfinite(arr)) or np.any(arr <= -1):
        raise InputError(
            f"{name}: must be a finite rate greater than -1 (-100%); got "
            f"{_first_bad(arr, lambda a: ~np.isfinite(a) | (a <= -1))}"
        )
    return np.broadcast_to(arr.reshape(-1, 1), (projects, 1))


def numbers(value, name: str) -> np.ndarray:
    """Any numeric array (scalars included), finite, as float."""
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf":
        raise InputError(f"{name}: must be numbers; got {_describe_non_numeric(arr)}")
    arr = arr.astype(float, copy=False)
    if not np.all(np.isfinite(arr)):
        raise InputError(
            f"{name}: must be finite; got {_first_bad(arr, lambda a: ~np.isfinite(a))}"
        )
    return arr


def excel_days(dates, name: str = "dates") -> np.ndarray:
    """Dates as whole Excel serial days (float array, same shape).

    Accepts ``datetime.date``/``datetime``, numpy ``datetime64`` and Excel serial
    numbers; fractions of a day are dropped, as Excel does for XNPV/XIRR.
    """
    arr = np.asarray(dates)
    if arr.dtype.kind == "M":
        days = arr.astype("datetime64[D]").astype(np.int64) + _EPOCH_SERIAL
        return days.astype(float)
    if arr.dtype.kind in "biuf":
        arr = arr.astype(float)
        if not np.all(np.isfinite(arr)) or np.any(arr < 0):
            raise InputError(
                f"{name}: serial dates must be finite and >= 0; got "
                f"{_first_bad(arr, lambda a: ~np.isfinite(a) | (a < 0))}"
            )
        return np.floor(arr)
    if arr.dtype == object:
        out = np.empty(arr.shape, dtype=float)
        for index, item in np.ndenumerate(arr):
            out[index] = _one_day(item, name, index)
        return out
    raise InputError(
        f"{name}: must be dates or Excel serial numbers; got {_describe_non_numeric(arr)}"
    )


def _one_day(item, name, index) -> float:
    if isinstance(item, dt.datetime):
        item = item.date()
    if isinstance(item, dt.date):
        return float((item - EXCEL_EPOCH).days)
    if isinstance(item, np.datetime64):
        return float(item.astype("datetime64[D]").astype(np.int64) + _EPOCH_SERIAL)
    if isinstance(item, (int, float, np.number)) and not isinstance(item, bool):
        if np.isfinite(item) and item >= 0:
            return float(np.floor(item))
    raise InputError(
        f"{name}: position {tuple(int(i) for i in index)} must be a date or an "
        f"Excel serial number; got {item!r}"
    )


def unwrap(result: np.ndarray, one: bool):
    """Scalar for one project, array for a batch."""
    return float(result[0]) if one else result


def _describe_non_numeric(arr: np.ndarray) -> str:
    """The first item that is not a number, as the user wrote it."""
    for index, item in np.ndenumerate(arr):
        if isinstance(item, (bool, np.bool_)) or not isinstance(item, (int, float, np.number)):
            if isinstance(item, (str, np.str_)):
                try:
                    float(item)
                    continue  # numeric text: numpy turned a mixed list into strings
                except ValueError:
                    pass
            where = f" at position {tuple(int(i) for i in index)}" if arr.ndim else ""
            return f"{str(item)!r}{where}"
    return f"text ({arr.dtype})"


def _first_bad(arr: np.ndarray, is_bad) -> str:
    flat = np.atleast_1d(arr).ravel()
    bad = flat[is_bad(flat)]
    return repr(float(bad[0])) if bad.size else "an invalid value"
