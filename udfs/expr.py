"""A tiny expression language for model lines, with two back ends.

Each line of the business-case model is one expression over inputs, drivers
and other lines. :meth:`Expr.evaluate` computes it with numpy, vectorised over
periods and over trials (arrays of shape ``(trials, periods)``);
:meth:`Expr.excel` renders the same expression as an Excel formula for one
period column, so a row of the Calculations sheet holds one formula copied
across. Keeping both back ends on the same node makes the model exist once.

Numeric literals other than 0 and 1 are refused when rendering: every other
constant must come from an input (the FAST standard's "no hard-coded numbers").
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from . import finance


class Expr:
    """Base node: arithmetic operators build new nodes."""

    def __add__(self, other):
        return Op("+", self, wrap(other))

    def __radd__(self, other):
        return Op("+", wrap(other), self)

    def __sub__(self, other):
        return Op("-", self, wrap(other))

    def __rsub__(self, other):
        return Op("-", wrap(other), self)

    def __mul__(self, other):
        return Op("*", self, wrap(other))

    def __rmul__(self, other):
        return Op("*", wrap(other), self)

    def __truediv__(self, other):
        return Op("/", self, wrap(other))

    def __rtruediv__(self, other):
        return Op("/", wrap(other), self)

    def __neg__(self):
        return Neg(self)

    def __pow__(self, other):
        return Op("^", self, wrap(other))

    def refs(self) -> set:
        """What this expression reads, in any period: names of inputs, drivers and
        lines, and :class:`Result` nodes. The engine computes whole rows at once, so
        everything read (a previous period's value too) must be computed first."""
        return set()


def wrap(value) -> Expr:
    return value if isinstance(value, Expr) else Const(float(value))


class Context:
    """What evaluation and rendering need to resolve names.

    ``values`` maps line/driver/input names and :class:`Result` nodes to arrays
    (rows: (trials, periods + 1), period 0 first; scalars: (trials, 1)).
    ``cells`` maps scalar names and results to cell references, ``rows`` maps row
    names to (sheet prefix, row number), ``column_letter`` is the period column
    being rendered and ``first_column`` the column of period 0; ``whole_rows``
    is set inside :class:`RowSum`, where a row renders as its whole range.
    ``ranges`` maps names to a whole range's reference where it is not a row of
    the timeline (a table column such as ``Cases[NPV]``, a defined name):
    aggregates read it instead.
    """

    def __init__(
        self,
        values=None,
        cells=None,
        rows=None,
        column_letter=None,
        first_column="E",
        last_column="E",
        ranges=None,
    ):
        self.values = values or {}
        self.ranges = ranges or {}
        self.cells = cells or {}
        self.rows = rows or {}
        self.column_letter = column_letter
        self.first_column = first_column
        self.last_column = last_column
        self.whole_rows = False

    def range(self, name: str) -> str:
        """The reference of a whole row (or of a named range) that aggregates read."""
        if name in self.ranges:
            return self.ranges[name]
        prefix, row = self.rows[name]
        return f"{prefix}${self.first_column}${row}:${self.last_column}${row}"


@dataclass(frozen=True)
class Const(Expr):
    value: float

    def evaluate(self, ctx):
        return np.float64(self.value)

    def excel(self, ctx):
        if self.value not in (0.0, 1.0):
            raise ValueError(f"literal {self.value} in a calculation: make it an input")
        return str(int(self.value))


@dataclass(frozen=True)
class Text(Expr):
    """A string literal, for comparisons with text inputs (e.g. a method name)."""

    value: str

    def evaluate(self, ctx):
        return self.value

    def excel(self, ctx):
        return '"' + self.value.replace('"', '""') + '"'


@dataclass(frozen=True)
class Scalar(Expr):
    """An input or a driver: one value per trial, the same in every period."""

    name: str

    def evaluate(self, ctx):
        return ctx.values[self.name]

    def excel(self, ctx):
        return ctx.cells[self.name]

    def refs(self):
        return {self.name}


@dataclass(frozen=True)
class Row(Expr):
    """A line (or an input series) in the same period."""

    name: str

    def evaluate(self, ctx):
        return ctx.values[self.name]

    def excel(self, ctx):
        prefix, row = ctx.rows[self.name]
        if ctx.whole_rows:  # inside RowSum: the whole row, as an array
            return f"{prefix}${ctx.first_column}${row}:${ctx.last_column}${row}"
        return f"{prefix}{ctx.column_letter}{row}"

    def refs(self):
        return {self.name}


@dataclass(frozen=True)
class Prev(Expr):
    """A line in the previous period; the blank opening column (0) before period 0."""

    name: str

    def evaluate(self, ctx):
        v = ctx.values[self.name]
        return np.concatenate([np.zeros_like(v[..., :1]), v[..., :-1]], axis=-1)

    def excel(self, ctx):
        prefix, row = ctx.rows[self.name]
        return f"{prefix}{_previous_column(_period_column(ctx))}{row}"

    def refs(self):
        return {self.name}


@dataclass(frozen=True)
class CumSum(Expr):
    """Running total of a line from the first period to this one."""

    name: str

    def evaluate(self, ctx):
        return np.cumsum(ctx.values[self.name], axis=-1)

    def excel(self, ctx):
        prefix, row = ctx.rows[self.name]
        return f"SUM({prefix}${ctx.first_column}{row}:{_period_column(ctx)}{row})"

    def refs(self):
        return {self.name}


@dataclass(frozen=True)
class RunMax(Expr):
    """Largest value of a line so far."""

    name: str

    def evaluate(self, ctx):
        return np.maximum.accumulate(ctx.values[self.name], axis=-1)

    def excel(self, ctx):
        prefix, row = ctx.rows[self.name]
        return f"MAX({prefix}${ctx.first_column}{row}:{_period_column(ctx)}{row})"

    def refs(self):
        return {self.name}


@dataclass(frozen=True)
class Lag(Expr):
    """A line ``periods`` periods earlier (0 before period 0).

    ``periods`` is an expression (an input such as a depreciation life);
    rendered with INDEX on the line's row, not OFFSET, so it is not volatile.
    """

    name: str
    periods: Expr
    period_row: str = "period"

    def evaluate(self, ctx):
        v = ctx.values[self.name]
        k = np.broadcast_to(np.asarray(self.periods.evaluate(ctx), dtype=float), (*v.shape[:-1], 1))
        t = np.arange(v.shape[-1])
        source = t[None, :] - k  # the period to read, 0 = now
        idx = np.clip(source, 0, v.shape[-1] - 1).astype(int)
        taken = np.take_along_axis(v, np.broadcast_to(idx, v.shape), axis=-1)
        return np.where(source >= 0, taken, 0.0)

    def excel(self, ctx):
        prefix, row = ctx.rows[self.name]
        p_prefix, p_row = ctx.rows[self.period_row]
        t = f"{p_prefix}{_period_column(ctx)}${p_row}"
        k = self.periods.excel(ctx)
        rng = f"{prefix}${ctx.first_column}{row}:${ctx.last_column}{row}"
        return f"IF({t}-({k})>=0,INDEX({rng},{t}-({k})+1),0)"

    def refs(self):
        return self.periods.refs() | {self.name, self.period_row}


@dataclass(frozen=True)
class PeriodNumber(Expr):
    """0 in the first column (now), 1 in the next, ..."""

    def evaluate(self, ctx):
        n = ctx.values["__periods__"]
        return np.arange(0, n + 1, dtype=float)[None, :]

    def excel(self, ctx):
        _period_column(ctx)
        return f"COLUMN()-COLUMN(${ctx.first_column}$1)"


@dataclass(frozen=True)
class Neg(Expr):
    operand: Expr

    def evaluate(self, ctx):
        return -self.operand.evaluate(ctx)

    def excel(self, ctx):
        return f"-({self.operand.excel(ctx)})"

    def refs(self):
        return self.operand.refs()


_NUMPY_OPS = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "/": np.divide,
    "^": np.power,
}
_COMPARE = {
    ">=": np.greater_equal,
    ">": np.greater,
    "=": np.equal,
    "<": np.less,
    "<=": np.less_equal,
}


@dataclass(frozen=True)
class Op(Expr):
    op: str
    left: Expr
    right: Expr

    def evaluate(self, ctx):
        a, b = self.left.evaluate(ctx), self.right.evaluate(ctx)
        if self.op in _COMPARE:
            if isinstance(a, str) or isinstance(b, str):
                return np.float64(_text(a) == _text(b)) if self.op == "=" else _bad(self.op)
            # Excel compares no error value: the comparison is the error (nan) too.
            missing = np.isnan(a) | np.isnan(b)
            return np.where(missing, np.nan, _COMPARE[self.op](a, b).astype(float))
        # x/0 is inf and 0/0 nan, as the outputs expect: the callers (model._compute,
        # evaluate_checks, Plan.headlines) set np.errstate once for the whole pass.
        return _NUMPY_OPS[self.op](a, b)

    def excel(self, ctx):
        return f"({self.left.excel(ctx)}{self.op}{self.right.excel(ctx)})"

    def refs(self):
        return self.left.refs() | self.right.refs()


def _text(value):
    return value.lower() if isinstance(value, str) else value


def _bad(op):
    raise TypeError(f"cannot compare text with {op}")


def compare(op: str, left, right) -> Expr:
    """A comparison giving 1 (true) or 0 (false), as ``(a>=b)*1`` in Excel."""
    return Op("*", Op(op, wrap(left), wrap(right)), Const(1.0))


@dataclass(frozen=True)
class Fn(Expr):
    """Excel functions with an exact numpy twin: MAX, MIN, ABS, IF, ROUNDUP."""

    name: str
    args: tuple[Expr, ...]

    def evaluate(self, ctx):
        vals = [a.evaluate(ctx) for a in self.args]
        if self.name == "MAX":
            return np.maximum(vals[0], vals[1])
        if self.name == "MIN":
            return np.minimum(vals[0], vals[1])
        if self.name == "ABS":
            return np.abs(vals[0])
        if self.name == "IF":
            cond = np.asarray(vals[0])
            return np.where(np.isnan(cond), np.nan, np.where(cond != 0, vals[1], vals[2]))
        if self.name == "ROUNDUP":  # ROUNDUP(x, 0) for positive x
            return np.ceil(np.round(vals[0], 12))
        raise ValueError(self.name)

    def excel(self, ctx):
        if ctx.whole_rows and self.name != "ABS":
            # Inside SUMPRODUCT, IF/MAX/MIN would not work element by element.
            raise ValueError(f"{self.name} inside a sum over the periods")
        args = ",".join(a.excel(ctx) for a in self.args)
        if self.name == "ROUNDUP":
            args += ",0"
        return f"{self.name}({args})"

    def refs(self):
        out = set()
        for a in self.args:
            out |= a.refs()
        return out


@dataclass(frozen=True)
class Terms(Expr):
    """A sum of signed terms, rendered flat (``a+b-c``) so a long one stays readable.

    Examples
    --------
    >>> ctx = Context({"a": 5.0, "b": 2.0}, {"a": "In_A", "b": "In_B"})
    >>> node = Terms((("+", Scalar("a")), ("-", Scalar("b")), ("+", Scalar("a"))))
    >>> float(node.evaluate(ctx)), node.excel(ctx)
    (8.0, '(In_A-In_B+In_A)')
    """

    terms: tuple[tuple[str, Expr], ...]

    def evaluate(self, ctx):
        total = np.float64(0.0)
        for sign, term in self.terms:
            total = total + term.evaluate(ctx) if sign == "+" else total - term.evaluate(ctx)
        return total

    def excel(self, ctx):
        text = "".join(f"{sign}{term.excel(ctx)}" for sign, term in self.terms)
        return f"({text.removeprefix('+')})"

    def refs(self):
        out = set()
        for _, term in self.terms:
            out |= term.refs()
        return out


@dataclass(frozen=True)
class Choose(Expr):
    """``CHOOSE(index, a, b, c)``: the option the 1-based index picks."""

    index: Expr
    options: tuple[Expr, ...]

    def evaluate(self, ctx):
        k = np.asarray(self.index.evaluate(ctx))
        result = np.zeros(np.broadcast(k, *[o.evaluate(ctx) for o in self.options]).shape)
        for i, option in enumerate(self.options, start=1):
            result = np.where(k == i, option.evaluate(ctx), result)
        return result

    def excel(self, ctx):
        return f"CHOOSE({self.index.excel(ctx)},{','.join(o.excel(ctx) for o in self.options)})"

    def refs(self):
        out = self.index.refs()
        for o in self.options:
            out |= o.refs()
        return out


def fmax(a, b) -> Expr:
    return Fn("MAX", (wrap(a), wrap(b)))


def fmin(a, b) -> Expr:
    return Fn("MIN", (wrap(a), wrap(b)))


def fabs(a) -> Expr:
    return Fn("ABS", (wrap(a),))


def fif(cond, a, b) -> Expr:
    return Fn("IF", (wrap(cond), wrap(a), wrap(b)))


def not_available_if(cond, value) -> Expr:
    """``IF(cond, NA(), value)``: an output that does not exist (e.g. never pays back)."""
    return fif(cond, NotAvailable(), value)


def roundup(a) -> Expr:
    return Fn("ROUNDUP", (wrap(a),))


# --- aggregates: outputs computed from whole rows ---------------------------


@dataclass(frozen=True)
class Aggregate(Expr):
    """A function of whole rows, giving one value per trial (an output).

    ``kind``: SUM, LAST (the last period's value), MIN, MAX, SUMIF_POS, SUMIF_NEG,
    SUMPRODUCT, IRR, IRR_FROM_1 (the row without its first column), MIRR, COUNT
    (how many numbers), ROWS (how many entries), and on flows with their times
    (rows: flows, times in periods; ``x`` a periodic
    rate): PV_AT = sum(f (1+x)^-t), PV_AT_NEG the same over outflows, ABS_PV_AT
    over the flows' absolute values,
    FV_AT_POS = sum over inflows of f (1+x)^(T-t) with T the second argument,
    DPV_AT = sum(f t (1+x)^(-t-1)) (minus the derivative of PV_AT).
    Outputs that do not exist are nan in the engine and #N/A / #NUM! in Excel.
    """

    kind: str
    rows: tuple[str, ...]
    args: tuple[Expr, ...] = ()

    def evaluate(self, ctx):
        data = [ctx.values[r] for r in self.rows]
        extra = [a.evaluate(ctx) for a in self.args]
        k = self.kind
        if k == "SUM":
            out = data[0].sum(axis=-1)
        elif k == "LAST":
            out = data[0][..., -1]
        elif k == "MIN":
            out = data[0].min(axis=-1)
        elif k == "MAX":
            out = data[0].max(axis=-1)
        elif k == "COUNT":
            out = np.isfinite(data[0]).sum(axis=-1)
        elif k == "ROWS":
            out = np.full(data[0].shape[:-1], data[0].shape[-1])
        elif k in ("PV_AT", "PV_AT_NEG", "ABS_PV_AT", "DPV_AT"):
            f, t = data
            f = np.where(f < 0, f, 0.0) if k == "PV_AT_NEG" else f
            f = np.abs(f) if k == "ABS_PV_AT" else f
            base = 1 + extra[0]
            if k == "DPV_AT":
                out = (f * t * base ** (-t - 1)).sum(axis=-1)
            else:
                out = (f * base**-t).sum(axis=-1)
        elif k == "FV_AT_POS":
            f, t = data
            out = (np.where(f > 0, f, 0.0) * (1 + extra[0]) ** (extra[1] - t)).sum(axis=-1)
        elif k == "SUMIF_POS":
            out = np.where(data[0] > 0, data[0], 0.0).sum(axis=-1)
        elif k == "SUMIF_NEG":
            out = np.where(data[0] < 0, data[0], 0.0).sum(axis=-1)
        elif k == "SUMPRODUCT":
            out = (data[0] * data[1]).sum(axis=-1)
        elif k == "MIRR":
            f, r = (np.broadcast_to(x, (*data[0].shape[:-1], 1))[..., 0] for x in extra)
            out = _of_numbers(finance.mirr, data[0], f, r)
        elif k in ("IRR", "IRR_FROM_1"):
            guess = np.broadcast_to(extra[0], (*data[0].shape[:-1], 1))[..., 0]
            flows = data[0] if k == "IRR" else data[0][..., 1:]
            guess = np.where(guess > -1, guess, finance.DEFAULT_GUESS)
            out = _of_numbers(lambda v, g: finance.irr(v, guess=g), flows, guess)
        else:
            raise ValueError(k)
        return np.asarray(out, dtype=float)[..., None]

    def excel(self, ctx):
        ranges = [ctx.range(r) for r in self.rows]
        extra = [a.excel(ctx) for a in self.args]
        k = self.kind
        if k == "SUM":
            return f"SUM({ranges[0]})"
        if k == "LAST":
            prefix, row = ctx.rows[self.rows[0]]
            return f"{prefix}${ctx.last_column}${row}"
        if k == "MIN":
            return f"MIN({ranges[0]})"
        if k == "MAX":
            return f"MAX({ranges[0]})"
        if k in ("COUNT", "ROWS"):
            return f"{k}({ranges[0]})"
        if k == "PV_AT":
            return f"SUMPRODUCT({ranges[0]},(1+{extra[0]})^(-{ranges[1]}))"
        if k == "ABS_PV_AT":
            return f"SUMPRODUCT(ABS({ranges[0]}),(1+{extra[0]})^(-{ranges[1]}))"
        if k == "PV_AT_NEG":
            return f"SUMPRODUCT(({ranges[0]}<0)*{ranges[0]},(1+{extra[0]})^(-{ranges[1]}))"
        if k == "DPV_AT":
            return f"SUMPRODUCT({ranges[0]},{ranges[1]},(1+{extra[0]})^(-{ranges[1]}-1))"
        if k == "FV_AT_POS":
            return (
                f"SUMPRODUCT(({ranges[0]}>0)*{ranges[0]},(1+{extra[0]})^({extra[1]}-{ranges[1]}))"
            )
        if k == "SUMIF_POS":
            return f'SUMIF({ranges[0]},">0")'
        if k == "SUMIF_NEG":
            return f'SUMIF({ranges[0]},"<0")'
        if k == "SUMPRODUCT":
            return f"SUMPRODUCT({ranges[0]},{ranges[1]})"
        if k == "MIRR":
            return f"MIRR({ranges[0]},{extra[0]},{extra[1]})"
        if k == "IRR":
            return f"IRR({ranges[0]},{extra[0]})"
        if k == "IRR_FROM_1":
            prefix, row = ctx.rows[self.rows[0]]
            second = column_letter(column_index(ctx.first_column) + 1)
            return f"IRR({prefix}${second}${row}:${ctx.last_column}${row},{extra[0]})"
        raise ValueError(k)

    def refs(self):
        out = set(self.rows)
        for a in self.args:
            out |= a.refs()
        return out


def _of_numbers(function, flows, *rates):
    """``function`` of each row of flows (with its rates) that holds only numbers; nan,
    Excel's error value, for a row with a nan or inf in it (a division by zero
    upstream), which the finance functions refuse as input.

    Examples
    --------
    MIRR of -100, 60, 60 at 10%: (60 x 1.1 + 60) / 100 = 1.26 over two periods,
    sqrt(1.26) - 1 = 12.25%; the row with a nan has none.

    >>> flows = np.array([[-100.0, 60.0, 60.0], [-100.0, np.nan, 60.0]])
    >>> _of_numbers(finance.mirr, flows, np.array([0.1, 0.1]), np.array([0.1, 0.1])).round(4)
    array([0.1225,    nan])
    """
    numbers = np.isfinite(flows).all(axis=-1)
    for rate in rates:
        numbers = numbers & np.isfinite(rate)
    out = function(
        np.where(numbers[..., None], flows, 0.0), *(np.where(numbers, r, 0.0) for r in rates)
    )
    return np.where(numbers, out, np.nan)


@dataclass(frozen=True)
class IfError(Expr):
    """``IFERROR(a, b)``: b where a does not exist (nan in the engine)."""

    value: Expr
    fallback: Expr

    def evaluate(self, ctx):
        a = np.asarray(self.value.evaluate(ctx), dtype=float)
        return np.where(np.isfinite(a), a, self.fallback.evaluate(ctx))

    def excel(self, ctx):
        return f"IFERROR({self.value.excel(ctx)},{self.fallback.excel(ctx)})"

    def refs(self):
        return self.value.refs() | self.fallback.refs()


@dataclass(frozen=True)
class Blank(Expr):
    """No value: ``""`` in Excel (the cell shows nothing), nan in the engine."""

    def evaluate(self, ctx):
        return np.float64(np.nan)

    def excel(self, ctx):
        return '""'


@dataclass(frozen=True)
class NotAvailable(Expr):
    """A result that does not exist: ``NA()`` in Excel, nan in the engine."""

    def evaluate(self, ctx):
        return np.float64(np.nan)

    def excel(self, ctx):
        return "NA()"


@dataclass(frozen=True)
class Result(Expr):
    """A value computed once per trial from whole rows: an output, or a part of a check.

    Results are named apart from inputs, drivers and lines (the output IRRGuess
    and the input IRRGuess are two things); the node itself is the key under
    which ``ctx.values`` holds the value and ``ctx.cells`` the cell. ``scenario``
    names a copy of the model evaluated for that scenario (the workbook's
    ScenarioCalcs blocks); None is the selected scenario.
    """

    name: str
    scenario: str | None = None

    def evaluate(self, ctx):
        return ctx.values[self]

    def excel(self, ctx):
        return ctx.cells[self]

    def refs(self):
        return {self}

    def __str__(self):
        return f"{self.name} ({self.scenario})" if self.scenario else self.name


@dataclass(frozen=True)
class Match(Expr):
    """The 1-based position of a text in a list, ``MATCH(text, list, 0)``.

    Case-insensitive, as Excel's MATCH is; nan (#N/A) when the text is not in the
    list. ``list_name`` is the key of the list's cells in ``ctx.cells``.

    Examples
    --------
    >>> ctx = Context({"Scenario": "high"}, {"Scenario": "In_Scenario", "List": "List_S"})
    >>> node = Match(Scalar("Scenario"), ("Low", "Base", "High"), "List")
    >>> float(node.evaluate(ctx)), node.excel(ctx)
    (3.0, 'MATCH(In_Scenario,List_S,0)')
    >>> float(Match(Text("Medium"), ("Low", "Base", "High"), "List").evaluate(ctx))
    nan
    """

    value: Expr
    options: tuple[str, ...]
    list_name: str

    def evaluate(self, ctx):
        text = str(self.value.evaluate(ctx)).lower()
        folded = [o.lower() for o in self.options]
        return np.float64(folded.index(text) + 1 if text in folded else np.nan)

    def excel(self, ctx):
        return f"MATCH({self.value.excel(ctx)},{ctx.cells[self.list_name]},0)"

    def refs(self):
        return self.value.refs()


@dataclass(frozen=True)
class RowSum(Expr):
    """The sum over the periods of an expression of rows, ``SUMPRODUCT(expr)``.

    The rows render as whole ranges, so only arithmetic, comparisons and ABS may
    appear inside (IF, MAX and MIN would not work element by element).

    Examples
    --------
    >>> ctx = Context({"__periods__": 2, "a": np.array([[1.0, 2.0, 3.0]]), "k": 2.0},
    ...               {"k": "In_K"}, {"a": ("Calc!", 7)}, first_column="E", last_column="G")
    >>> node = RowSum(compare(">=", Row("a"), Scalar("k")) * Row("a"))
    >>> float(node.evaluate(ctx)[0, 0]), node.excel(ctx)
    (5.0, 'SUMPRODUCT((((Calc!$E$7:$G$7>=In_K)*1)*Calc!$E$7:$G$7))')
    """

    operand: Expr

    def evaluate(self, ctx):
        v = np.asarray(self.operand.evaluate(ctx), dtype=float)
        shape = np.broadcast_shapes(v.shape, (1, ctx.values["__periods__"] + 1))
        return np.broadcast_to(v, shape).sum(axis=-1, keepdims=True)

    def excel(self, ctx):
        whole = copy.copy(ctx)
        whole.whole_rows = True
        return f"SUMPRODUCT({self.operand.excel(whole)})"

    def refs(self):
        return self.operand.refs()


@dataclass(frozen=True)
class IsNumber(Expr):
    """1 where a value exists (a finite number; not an error value in Excel), else 0."""

    operand: Expr

    def evaluate(self, ctx):
        return np.isfinite(np.asarray(self.operand.evaluate(ctx), dtype=float)).astype(float)

    def excel(self, ctx):
        return f"(ISNUMBER({self.operand.excel(ctx)})*1)"

    def refs(self):
        return self.operand.refs()


@dataclass(frozen=True)
class ErrorCount(Expr):
    """How many cells of some rows hold no number: nan or inf in the engine, an error
    value in Excel, ``SUMPRODUCT(ISERROR(range)*1)``.

    The workbook's range runs from the first to the last of the rows (on one
    sheet), so anything between them counts too: give it the rows of a whole block.
    """

    rows: tuple[str, ...]

    def evaluate(self, ctx):
        bad = [np.sum(~np.isfinite(ctx.values[r]), axis=-1, keepdims=True) for r in self.rows]
        return np.sum(bad, axis=0).astype(float)

    def excel(self, ctx):
        placed = [ctx.rows[r] for r in self.rows]
        prefix = placed[0][0]
        if any(p != prefix for p, _ in placed):
            raise ValueError("rows counted for errors lie on different sheets")
        first, last = min(r for _, r in placed), max(r for _, r in placed)
        return (
            f"SUMPRODUCT(ISERROR({prefix}${ctx.first_column}${first}:${ctx.last_column}${last})*1)"
        )

    def refs(self):
        return set(self.rows)


@dataclass(frozen=True)
class ChangedSince(Expr):
    """How many inputs differ from a copy of them taken at a snapshot.

    ``pairs`` are keys of ``ctx.cells`` naming (live range, copied range), rendered
    ``SUMPRODUCT((live<>copy)*1)+...``. The engine keeps no copies: it computes
    what the snapshot holds (the sensitivity table) from the very inputs it is
    given, so in the engine nothing has changed since: 0.
    """

    pairs: tuple[tuple[str, str], ...]

    def evaluate(self, ctx):
        return np.float64(0.0)

    def excel(self, ctx):
        return "+".join(
            f"SUMPRODUCT(({ctx.cells[live]}<>{ctx.cells[copied]})*1)" for live, copied in self.pairs
        )


def column_letter(index: int) -> str:
    """1 -> A, 27 -> AA (Excel's column names)."""
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def column_index(letters: str) -> int:
    """A -> 1, AA -> 27."""
    index = 0
    for char in letters:
        index = index * 26 + ord(char) - 64
    return index


def _period_column(ctx) -> str:
    """The column being rendered; a line of one period has none inside a row sum."""
    if ctx.whole_rows:
        raise ValueError("a line of one period (previous, running, lagged) inside a row sum")
    return ctx.column_letter


def _previous_column(letter: str) -> str:
    return column_letter(column_index(letter) - 1)
