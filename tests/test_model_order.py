"""The engine computes lines in the order their expressions need, not list order.

Each line, driver and output names what it reads (:meth:`udfs.expr.Expr.refs`);
evaluation sorts them so everything read comes first. The lists the model
keeps are the layout order of the workbook, free to change: shuffled, they
give the same numbers. A cycle, which the vectorised engine cannot compute,
is an error naming the lines in it.
"""

from __future__ import annotations

import random
from dataclasses import replace

import numpy as np
import pytest

from udfs import expr as X
from udfs.model import ModelError, build_model, evaluate_trials, evaluation_order
from udfs.spec import SCENARIOS
from workbooks.examples import EXAMPLES, example_spec


def _shuffled(model, seed: int):
    rng = random.Random(seed)
    for attribute in ("drivers", "lines", "outputs"):
        items = list(getattr(model, attribute))
        rng.shuffle(items)
        setattr(model, attribute, items)
    return model


@pytest.mark.parametrize("example", EXAMPLES)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_shuffling_the_lines_gives_the_same_evaluation(example, scenario):
    spec = example_spec(example)
    expected = evaluate_trials(build_model(spec), scenario=scenario)
    for seed in range(3):
        got = evaluate_trials(_shuffled(build_model(spec), seed), scenario=scenario)
        assert got.lines.keys() == expected.lines.keys()
        for name, row in expected.lines.items():
            np.testing.assert_array_equal(got.lines[name], row, err_msg=name)
        for name, value in expected.outputs.items():
            np.testing.assert_array_equal(got.outputs[name], value, err_msg=name)


def test_everything_comes_after_what_it_reads():
    model = _shuffled(build_model(example_spec("hardware")), 7)
    placed = set()
    produced = {getattr(item, "result", None) or item.name for item in evaluation_order(model)}
    for item in evaluation_order(model):
        assert item.expr.refs() & produced <= placed, item.name
        placed.add(getattr(item, "result", None) or item.name)
    assert len(placed) == len(model.drivers) + len(model.lines) + len(model.outputs)


def test_a_cycle_is_an_error_naming_it():
    # Revenue made to read EBITDA: revenue -> cogs/gross profit -> ebitda -> revenue.
    model = build_model(example_spec("hardware"))
    model.lines = [
        replace(line, expr=X.Row("ebitda")) if line.name == "revenue" else line
        for line in model.lines
    ]
    with pytest.raises(ModelError, match=r"model: .*revenue.* read each other in a cycle") as e:
        evaluate_trials(model)
    cycle = str(e.value).split(": ", 1)[1].split(" read each other")[0].split(" -> ")
    assert cycle[0] == cycle[-1]  # a closed path
    assert {"revenue", "ebitda"} <= set(cycle)


def test_a_previous_period_counts_as_a_dependency():
    # The engine computes whole rows: reading last period's value of a line needs
    # the line first, so a line reading its own previous period is a cycle too.
    model = build_model(example_spec("hardware"))
    model.lines = [
        replace(line, expr=X.Prev("wc_change")) if line.name == "wc_change" else line
        for line in model.lines
    ]
    with pytest.raises(ModelError, match="wc_change -> wc_change"):
        evaluation_order(model)


def test_a_name_defined_twice_is_an_error():
    model = build_model(example_spec("hardware"))
    (duplicate,) = [line for line in model.lines if line.name == "is_operating"]
    model.lines = [*model.lines, duplicate]
    with pytest.raises(ModelError, match="is_operating is defined twice"):
        evaluation_order(model)


def test_an_output_and_an_input_may_share_a_name():
    """The input IRRGuess is the user's fallback guess; the output IRRGuess is the
    periodic MIRR the IRR starts from. Outputs are read through their own nodes,
    so the two stay apart: the hardware case has a MIRR, so its IRR starting point
    is not the 50% typed as a guess."""
    model = build_model(example_spec("hardware"))
    trials = evaluate_trials(model, {"IRRGuess": 0.5})
    assert np.isfinite(trials.outputs["IRRGuess"][0])
    assert trials.outputs["IRRGuess"][0] != 0.5
