"""Monte Carlo of a business case (:mod:`udfs.risk`): exactness, seeding, convergence.

What the simulation must get right, each proved against something independent
of the sampler:

* zero-width distributions reproduce the deterministic NPV exactly (``==``),
  for every trial, in every example;
* a seed fixes every number; another seed changes them;
* for a driver that enters the NPV linearly (a case with tax credits on
  losses, no terminal value and no working capital, where NPV is an affine
  function of the price change; the test checks that first), the sample mean
  of the NPV converges to the NPV at the distribution's analytic mean, within
  four standard errors, for each of the six distribution types;
* each sampler draws from the distribution it names (mean within four standard
  errors of the closed form, Kolmogorov-Smirnov against scipy's);
* Iman-Conover rank correlation reaches the target Spearman correlation
  without changing any marginal;
* invalid distributions and correlations are refused, one message per problem;
* the summary, histogram and S-curve agree with numpy on the samples.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from udfs import risk
from udfs.errors import InputError
from udfs.model import adjustment_names, build_model, evaluate
from udfs.sensitivity import with_changes
from udfs.spec import SCENARIO_DRIVERS, Distribution, SpecError, parse_spec
from workbooks.examples import EXAMPLES, example_spec
from workbooks.examples.generated import varied_specs

SE_LIMIT = 4.0  # standard errors a sample mean may stray from its expectation
SPEARMAN_TOLERANCE = 0.03

# Tax credited on losses, no terminal value, no working capital, revenue from a
# market build: NPV is affine in the relative change of the price.
LINEAR_CASE = {
    "meta": {"name": "Linear case", "start_year": 2027, "horizon": 6},
    "market": {
        "tam": 100_000,
        "tam_growth": 0.05,
        "sam_share": 0.5,
        "target_share": 0.2,
        "years_to_target": 3,
    },
    "pricing": {"price": 120.0, "price_change": 0.02},
    "costs": {
        "cogs_pct": 0.3,
        "variable_opex_pct": 0.05,
        "fixed": [{"name": "Marketing", "amount": 200_000}],
    },
    "investment": {"development": [800_000, 300_000], "capex": [400_000]},
    "finance": {
        "discount_rate": 0.1,
        "tax_rate": 0.25,
        "losses": "credit",
        "terminal_value": "none",
        "working_capital_pct": 0.0,
    },
}

#: One distribution of each type, wide enough to matter, all above -100%.
DISTRIBUTIONS = {
    "triangular": Distribution(type="triangular", low=-0.4, mode=0.1, high=0.3),
    "pert": Distribution(type="pert", low=-0.4, mode=0.1, high=0.3),
    "uniform": Distribution(type="uniform", low=-0.4, high=0.3),
    "normal": Distribution(type="normal", mean=0.05, sd=0.15),
    "lognormal": Distribution(type="lognormal", median=1.0, sigma=0.25),
    "discrete": Distribution(
        type="discrete", values=[-0.3, 0.0, 0.2], probabilities=[0.25, 0.5, 0.25]
    ),
}

#: Every type made zero-width: each draws x = 0 exactly.
ZERO_WIDTH = [
    Distribution(type="fixed", value=0.0),
    Distribution(type="triangular", low=0.0, mode=0.0, high=0.0),
    Distribution(type="pert", low=0.0, mode=0.0, high=0.0),
    Distribution(type="uniform", low=0.0, high=0.0),
    Distribution(type="normal", mean=0.0, sd=0.0),
    Distribution(type="lognormal", median=1.0, sigma=0.0),
    Distribution(type="discrete", values=[0.0], probabilities=[1.0]),
]


def _linear_model():
    return build_model(parse_spec(LINEAR_CASE))


def _specs():
    return {name: example_spec(name) for name in EXAMPLES} | {
        s.meta.name: s for s in varied_specs(3)
    }


def _zero_width_for(drivers) -> dict[str, Distribution]:
    """A zero-width distribution of a different type for each driver, cycling."""
    return {key: ZERO_WIDTH[i % len(ZERO_WIDTH)] for i, key in enumerate(drivers)}


def _spy_on_draws(monkeypatch) -> dict[str, list[np.ndarray]]:
    """Record the relative changes simulate() hands the model, per driver."""
    seen: dict[str, list[np.ndarray]] = {}
    real = risk.evaluate_trials

    def spy(model, values, scenario):
        for key in SCENARIO_DRIVERS:
            value = values.get(adjustment_names(key)[0])
            if isinstance(value, np.ndarray) and value.ndim == 1:
                seen.setdefault(key, []).append(value.copy())
        return real(model, values, scenario)

    monkeypatch.setattr(risk, "evaluate_trials", spy)
    return seen


# --- exactness with zero width --------------------------------------------------------


@pytest.mark.parametrize("name", list(_specs()))
def test_zero_width_distributions_reproduce_the_deterministic_npv_exactly(name):
    spec = _specs()[name]
    model = build_model(spec)
    expected = evaluate(model, scenario="Base").outputs
    sim = risk.simulate(
        model, 300, seed=9, distributions=_zero_width_for(SCENARIO_DRIVERS), correlations={}
    )
    assert sim.npv.shape == (300,)
    assert np.all(sim.npv == expected["NPV"])
    assert np.all(sim.outputs["eNPV"] == expected["eNPV"])
    summary = sim.summary()
    assert summary["p10"] == summary["p50"] == summary["p90"] == expected["NPV"]


@pytest.mark.parametrize("kind", [d.type for d in ZERO_WIDTH])
def test_each_zero_width_type_on_several_drivers_reproduces_the_npv(kind):
    model = build_model(example_spec("analytics_addon"))
    expected = evaluate(model, scenario="Base").outputs["NPV"]
    dist = next(d for d in ZERO_WIDTH if d.type == kind)
    drivers = {k: dist for k in ("price", "target_share", "development", "fixed_opex")}
    sim = risk.simulate(model, 200, seed=4, distributions=drivers, correlations={})
    assert np.all(sim.npv == expected)


def test_zero_width_simulation_of_edited_inputs_reproduces_their_npv():
    model = build_model(example_spec("hardware"))
    values = {"DiscountRate": 0.13, "COGSPct": 0.41}
    expected = evaluate(model, values, "Base").outputs["NPV"]
    assert expected != evaluate(model, scenario="Base").outputs["NPV"]
    sim = risk.simulate(
        model, 100, 2, distributions=_zero_width_for(SCENARIO_DRIVERS), values=values
    )
    assert np.all(sim.npv == expected)


def test_a_case_without_scenarios_or_distributions_simulates_to_its_npv():
    model = _linear_model()
    assert risk.default_distributions(model) == {}
    sim = risk.simulate(model, 50, 1)
    assert sim.drivers == {}
    assert np.all(sim.npv == evaluate(model).outputs["NPV"])


# --- seeding --------------------------------------------------------------------------


def test_the_same_seed_gives_identical_runs():
    model = build_model(example_spec("analytics_addon"))  # spec distributions + a correlation
    first = risk.simulate(model, 2_000, seed=123)
    second = risk.simulate(model, 2_000, seed=123)
    assert first.outputs.keys() == second.outputs.keys()
    for name, values in first.outputs.items():
        np.testing.assert_array_equal(values, second.outputs[name], err_msg=name)
    assert first.summary() == second.summary()


def test_a_different_seed_gives_different_draws():
    model = build_model(example_spec("analytics_addon"))
    first = risk.simulate(model, 2_000, seed=123)
    other = risk.simulate(model, 2_000, seed=124)
    assert np.unique(first.npv).size > 1000  # the run is not degenerate
    assert not np.array_equal(first.npv, other.npv)
    assert first.summary()["mean"] != other.summary()["mean"]


def test_chunking_and_progress_do_not_change_the_numbers():
    model = build_model(example_spec("analytics_addon"))
    reported = []
    whole = risk.simulate(model, 3_000, seed=8)
    chunked = risk.simulate(model, 3_000, seed=8, progress=reported.append, chunk=700)
    np.testing.assert_array_equal(whole.npv, chunked.npv)
    assert reported == [700, 700, 700, 700, 200]


# --- convergence for a driver that enters linearly -----------------------------------


@pytest.mark.parametrize("driver", ["price", "revenue"])
def test_npv_of_the_linear_case_is_affine_in_the_driver(driver):
    model = _linear_model()
    x = np.array([-0.5, 0.0, 0.7])
    y = with_changes(model, {driver: x})
    slope_left = (y[1] - y[0]) / 0.5
    slope_right = (y[2] - y[1]) / 0.7
    assert slope_left > 0
    assert slope_right == pytest.approx(slope_left, rel=1e-12)


@pytest.mark.parametrize("kind", list(DISTRIBUTIONS))
def test_sample_mean_of_npv_converges_to_npv_at_the_analytic_mean(kind):
    model = _linear_model()
    dist = DISTRIBUTIONS[kind]
    x = np.array([-0.5, 0.0, 0.7])
    y = with_changes(model, {"price": x})
    assert (y[2] - y[1]) / 0.7 == pytest.approx((y[1] - y[0]) / 0.5, rel=1e-12)  # affine
    trials = 20_000
    sim = risk.simulate(model, trials, seed=31, distributions={"price": dist}, correlations={})
    at_mean = with_changes(model, {"price": np.array([risk.analytic_mean(dist)])})[0]
    standard_error = sim.npv.std(ddof=1) / np.sqrt(trials)
    assert standard_error > 0
    assert abs(sim.npv.mean() - at_mean) <= SE_LIMIT * standard_error


def test_sample_mean_converges_for_the_revenue_factor_too():
    model = _linear_model()
    dist = DISTRIBUTIONS["lognormal"]
    sim = risk.simulate(model, 20_000, seed=5, distributions={"revenue": dist}, correlations={})
    at_mean = with_changes(model, {"revenue": np.array([risk.analytic_mean(dist)])})[0]
    standard_error = sim.npv.std(ddof=1) / np.sqrt(sim.trials)
    assert abs(sim.npv.mean() - at_mean) <= SE_LIMIT * standard_error


# --- the samplers ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(DISTRIBUTIONS))
def test_sampler_mean_matches_the_analytic_mean(kind):
    dist = DISTRIBUTIONS[kind]
    draws = risk.sample(dist, 50_000, np.random.default_rng(77))
    standard_error = draws.std(ddof=1) / np.sqrt(draws.size)
    assert abs(draws.mean() - risk.analytic_mean(dist)) <= SE_LIMIT * standard_error


def _scipy_distribution(dist: Distribution):
    span = dist.high - dist.low
    return {
        "triangular": lambda: stats.triang((dist.mode - dist.low) / span, dist.low, span),
        "pert": lambda: stats.beta(
            1 + 4 * (dist.mode - dist.low) / span,
            1 + 4 * (dist.high - dist.mode) / span,
            dist.low,
            span,
        ),
        "uniform": lambda: stats.uniform(dist.low, span),
        "normal": lambda: stats.norm(dist.mean, dist.sd),
        # x = multiplier - 1, the multiplier lognormal with this median and sigma
        "lognormal": lambda: stats.lognorm(dist.sigma, -1.0, dist.median),
    }[dist.type]()


@pytest.mark.parametrize("kind", [k for k in DISTRIBUTIONS if k != "discrete"])
def test_sampler_draws_from_the_named_distribution(kind):
    dist = DISTRIBUTIONS[kind]
    draws = risk.sample(dist, 20_000, np.random.default_rng(5))
    result = stats.kstest(draws, _scipy_distribution(dist).cdf)
    assert result.pvalue > 1e-3, result


def test_discrete_sampler_draws_each_value_with_its_probability():
    dist = DISTRIBUTIONS["discrete"]
    n = 40_000
    draws = risk.sample(dist, n, np.random.default_rng(6))
    assert set(np.unique(draws)) == set(dist.values)
    for value, p in zip(dist.values, dist.probabilities, strict=True):
        share = np.mean(draws == value)
        assert abs(share - p) <= SE_LIMIT * np.sqrt(p * (1 - p) / n)


@pytest.mark.parametrize("kind", ["triangular", "pert", "uniform"])
def test_bounded_samplers_stay_within_their_bounds(kind):
    dist = DISTRIBUTIONS[kind]
    draws = risk.sample(dist, 20_000, np.random.default_rng(1))
    assert draws.min() >= dist.low and draws.max() <= dist.high


# --- rank correlation -----------------------------------------------------------------

TARGET = np.array(
    [
        [1.0, 0.6, -0.3, 0.1],
        [0.6, 1.0, 0.0, 0.4],
        [-0.3, 0.0, 1.0, -0.3],
        [0.1, 0.4, -0.3, 1.0],
    ]
)


def _independent_columns(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.column_stack(
        [
            risk.sample(DISTRIBUTIONS["triangular"], n, rng),
            risk.sample(DISTRIBUTIONS["lognormal"], n, rng),
            risk.sample(DISTRIBUTIONS["uniform"], n, rng),
            risk.sample(DISTRIBUTIONS["pert"], n, rng),
        ]
    )


def test_rank_correlate_reaches_the_target_spearman_correlation():
    samples = _independent_columns(20_000, 3)
    reordered = risk.rank_correlate(samples, TARGET, np.random.default_rng(4))
    spearman = stats.spearmanr(reordered).statistic
    np.testing.assert_allclose(spearman, TARGET, atol=SPEARMAN_TOLERANCE)


def test_rank_correlate_leaves_every_marginal_unchanged():
    samples = _independent_columns(5_000, 3)
    reordered = risk.rank_correlate(samples, TARGET, np.random.default_rng(4))
    assert not np.array_equal(reordered, samples)
    for j in range(samples.shape[1]):
        np.testing.assert_array_equal(np.sort(reordered[:, j]), np.sort(samples[:, j]))


def test_rank_correlate_refuses_a_matrix_that_is_not_positive_definite():
    impossible = np.array([[1.0, 0.9, 0.9], [0.9, 1.0, -0.9], [0.9, -0.9, 1.0]])
    with pytest.raises(InputError, match=r"^correlations: .*not positive definite"):
        risk.rank_correlate(
            _independent_columns(100, 1)[:, :3], impossible, np.random.default_rng()
        )


CORRELATED = {
    "price": DISTRIBUTIONS["triangular"],
    "target_share": DISTRIBUTIONS["pert"],
    "development": DISTRIBUTIONS["lognormal"],
}
PAIRS = {("price", "target_share"): -0.4, ("price", "development"): 0.5}


def test_simulation_draws_have_the_spec_rank_correlation_and_unchanged_marginals(monkeypatch):
    model = build_model(example_spec("analytics_addon"))
    draws = _spy_on_draws(monkeypatch)
    risk.simulate(model, 20_000, 17, CORRELATED, PAIRS)
    correlated = {k: np.concatenate(v) for k, v in draws.items()}
    draws.clear()
    risk.simulate(model, 20_000, 17, CORRELATED, {})
    independent = {k: np.concatenate(v) for k, v in draws.items()}
    assert correlated.keys() == independent.keys() == CORRELATED.keys()
    for (a, b), rho in PAIRS.items():
        got = stats.spearmanr(correlated[a], correlated[b]).statistic
        assert got == pytest.approx(rho, abs=SPEARMAN_TOLERANCE), (a, b)
    got = stats.spearmanr(correlated["target_share"], correlated["development"]).statistic
    assert got == pytest.approx(0.0, abs=SPEARMAN_TOLERANCE)
    for key in CORRELATED:
        np.testing.assert_array_equal(np.sort(correlated[key]), np.sort(independent[key]))
        assert not np.array_equal(correlated[key], independent[key])


def test_simulation_uses_the_spec_correlation_by_default(monkeypatch):
    spec = example_spec("analytics_addon")
    ((a, b),) = [tuple(c.drivers) for c in spec.risk.correlations]
    rank = spec.risk.correlations[0].rank
    draws = _spy_on_draws(monkeypatch)
    risk.simulate(build_model(spec), 20_000, 2)
    got = stats.spearmanr(np.concatenate(draws[a]), np.concatenate(draws[b])).statistic
    assert got == pytest.approx(rank, abs=SPEARMAN_TOLERANCE)


def test_simulation_refuses_correlations_that_are_not_positive_definite():
    model = build_model(example_spec("analytics_addon"))
    impossible = {
        ("price", "target_share"): 0.9,
        ("price", "development"): 0.9,
        ("target_share", "development"): -0.9,
    }
    with pytest.raises(InputError, match=r"^correlations: .*not positive definite"):
        risk.simulate(model, 500, 1, CORRELATED, impossible)


def test_a_spec_with_impossible_correlations_fails_to_simulate_with_input_error():
    data = {
        **LINEAR_CASE,
        "risk": {
            "distributions": {
                k: {"type": "uniform", "low": -0.1, "high": 0.1}
                for k in ("price", "tam", "fixed_opex")
            },
            "correlations": [
                {"drivers": ["price", "tam"], "rank": 0.9},
                {"drivers": ["price", "fixed_opex"], "rank": 0.9},
                {"drivers": ["tam", "fixed_opex"], "rank": -0.9},
            ],
        },
    }
    model = build_model(parse_spec(data))
    with pytest.raises(InputError, match=r"not positive definite"):
        risk.simulate(model, 500, 1)


# --- invalid distributions ------------------------------------------------------------


def _spec_problems(risk_section: dict) -> list[str]:
    with pytest.raises(SpecError) as caught:
        parse_spec({**LINEAR_CASE, "risk": risk_section}, "case.toml")
    assert str(caught.value).splitlines() == [f"case.toml, {p}" for p in caught.value.problems]
    return caught.value.problems


def test_invalid_distributions_give_one_message_per_problem():
    problems = _spec_problems(
        {
            "distributions": {
                "price": {"type": "triangular", "low": 0.1, "mode": 0.0, "high": 0.2},
                "target_share": {
                    "type": "discrete",
                    "values": [0.0, 0.1],
                    "probabilities": [0.5, 0.4],
                },
                "colour": {"type": "uniform", "low": -0.1, "high": 0.1},
                "tam": {"type": "pert", "low": -0.1, "mode": 0.3, "high": 0.2},
            },
            "correlations": [{"drivers": ["price", "fixed_opex"], "rank": 0.3}],
        }
    )
    assert len(problems) == 5, problems
    assert problems[0] == "risk.distributions.price: needs low <= mode <= high; got 0.1, 0.0, 0.2"
    assert problems[1].startswith("risk.distributions.target_share: ")
    assert "adding up to 0.9" in problems[1]
    assert problems[2].startswith("risk.distributions.colour: not a driver; choose from tam,")
    assert problems[3] == "risk.distributions.tam: needs low <= mode <= high; got -0.1, 0.3, 0.2"
    assert problems[4] == (
        "risk.correlations[0]: 'fixed_opex' has no distribution in risk.distributions"
    )


def test_discrete_values_and_probabilities_of_different_lengths_are_one_problem():
    problems = _spec_problems(
        {
            "distributions": {
                "price": {"type": "discrete", "values": [0.0, 0.1], "probabilities": [1.0]}
            }
        }
    )
    assert len(problems) == 1
    assert problems[0].startswith("risk.distributions.price: needs values and probabilities")
    assert "got 2 values" in problems[0]


def test_field_level_errors_in_a_distribution_name_the_field():
    problems = _spec_problems(
        {"distributions": {"price": {"type": "gamma", "low": -1.5, "mode": 0.0, "high": 0.2}}}
    )
    assert len(problems) == 2, problems
    assert any(p.startswith("risk.distributions.price.type: must be one of") for p in problems)
    assert any(p.startswith("risk.distributions.price.low: ") for p in problems)


@pytest.mark.parametrize(
    "pair",
    [["price", "price"], ["price", "tam", "price"]],
    ids=["self-correlation", "three-drivers"],
)
def test_a_correlation_that_does_not_pair_two_drivers_is_a_problem(pair):
    problems = _spec_problems(
        {
            "distributions": {
                "price": {"type": "uniform", "low": -0.1, "high": 0.1},
                "tam": {"type": "uniform", "low": -0.1, "high": 0.1},
            },
            "correlations": [{"drivers": pair, "rank": 0.3}],
        }
    )
    assert len(problems) == 1, problems
    assert problems[0].startswith("risk.correlations[0]")


def test_simulate_refuses_a_distribution_for_an_unknown_driver():
    with pytest.raises(InputError, match=r"^distributions: 'colour' is not a driver"):
        risk.simulate(_linear_model(), 100, 1, {"colour": DISTRIBUTIONS["uniform"]}, {})


def test_simulate_refuses_a_correlation_naming_a_driver_without_distribution():
    with pytest.raises(InputError, match=r"^correlations: price and tam both need a distribution"):
        risk.simulate(
            _linear_model(), 100, 1, {"price": DISTRIBUTIONS["uniform"]}, {("price", "tam"): 0.5}
        )


def test_simulate_refuses_draws_that_take_a_driver_below_zero():
    wide = Distribution(type="normal", mean=0.0, sd=0.6)
    with pytest.raises(InputError, match=r"^distributions\.price: draws must stay above -100%"):
        risk.simulate(_linear_model(), 2_000, 1, {"price": wide}, {})


@pytest.mark.parametrize("trials", [0, -5, 5_000_001])
def test_simulate_refuses_a_trial_count_out_of_range(trials):
    with pytest.raises(InputError, match=r"^trials: must be from 1 to 5,000,000"):
        risk.simulate(_linear_model(), trials, 1)


# --- summary, histogram, S-curve ------------------------------------------------------


@pytest.fixture(scope="module")
def mixed_sign_run():
    """Price from -95% to +50%: some trials lose money, a few have no IRR at all."""
    wide = Distribution(type="uniform", low=-0.95, high=0.5)
    return risk.simulate(_linear_model(), 5_000, 21, {"price": wide}, {})


def test_summary_is_numpy_on_the_samples(mixed_sign_run):
    npv = mixed_sign_run.npv
    summary = mixed_sign_run.summary()
    assert 0.05 < summary["prob_negative"] < 0.95  # both signs occur: the check means something
    assert summary["mean"] == pytest.approx(np.mean(npv), rel=1e-12)
    assert summary["std"] == pytest.approx(np.std(npv), rel=1e-12)
    for key, q in (("p10", 10), ("p50", 50), ("p90", 90)):
        assert summary[key] == pytest.approx(np.percentile(npv, q), rel=1e-12), key
    assert summary["prob_negative"] == np.count_nonzero(npv < 0) / npv.size
    assert summary["valid_trials"] == npv.size
    assert summary["p10"] < summary["p50"] < summary["p90"]


def test_summary_of_an_output_leaves_out_trials_where_it_does_not_exist(mixed_sign_run):
    irr = mixed_sign_run.outputs["IRR"]
    finite = irr[np.isfinite(irr)]
    assert 0 < finite.size < irr.size  # the wide price range leaves some trials without an IRR
    summary = mixed_sign_run.summary("IRR")
    assert summary["valid_trials"] == finite.size
    assert summary["mean"] == pytest.approx(finite.mean(), rel=1e-12)
    assert summary["p50"] == pytest.approx(np.percentile(finite, 50), rel=1e-12)


def test_histogram_counts_every_trial_once(mixed_sign_run):
    counts, edges = mixed_sign_run.histogram(bins=30)
    assert counts.size == 30 and edges.size == 31
    assert counts.sum() == mixed_sign_run.trials
    assert edges[0] == mixed_sign_run.npv.min() and edges[-1] == mixed_sign_run.npv.max()
    assert np.all(np.diff(edges) > 0)


def test_s_curve_is_monotone_from_the_minimum_to_the_maximum(mixed_sign_run):
    probability, values = mixed_sign_run.s_curve(points=101)
    np.testing.assert_allclose(probability, np.arange(101) / 100, atol=1e-15)
    assert np.all(np.diff(values) >= 0)
    assert values[0] == mixed_sign_run.npv.min() and values[-1] == mixed_sign_run.npv.max()
    assert values[50] == pytest.approx(mixed_sign_run.summary()["p50"], rel=1e-12)


# --- portfolio ------------------------------------------------------------------------


def _case_samples(n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(40)
    return [
        rng.normal(1e6, 3e5, n),
        rng.triangular(-2e5, 4e5, 9e5, n),
        rng.lognormal(13, 0.4, n) - 5e5,
    ]


def test_portfolio_without_correlation_sums_the_cases_trial_by_trial():
    samples = _case_samples(3_000)
    sim = risk.simulate_portfolio(samples, ["A", "A", "B"], 0.0, seed=1, target=1.5e6)
    np.testing.assert_array_equal(sim.total, samples[0] + samples[1] + samples[2])
    summary = sim.summary()
    assert summary["prob_below_target"] == np.mean(sim.total < 1.5e6)
    assert summary["p50"] == np.percentile(sim.total, 50)


def test_portfolio_correlates_cases_of_one_product_line_only():
    samples = _case_samples(20_000)
    sim = risk.simulate_portfolio(samples, ["A", "A", "B"], 0.5, seed=2)
    reordered = risk.rank_correlate(
        np.column_stack(samples),
        np.array([[1, 0.5, 0], [0.5, 1, 0], [0, 0, 1.0]]),
        np.random.default_rng(2),
    )
    np.testing.assert_allclose(sim.total, reordered.sum(axis=1), rtol=1e-12)
    spearman = stats.spearmanr(reordered).statistic
    assert spearman[0, 1] == pytest.approx(0.5, abs=SPEARMAN_TOLERANCE)
    assert spearman[0, 2] == pytest.approx(0.0, abs=SPEARMAN_TOLERANCE)
    independent = risk.simulate_portfolio(samples, ["A", "A", "B"], 0.0)
    assert sim.total.mean() == pytest.approx(independent.total.mean(), rel=1e-12)
    assert sim.total.std() > independent.total.std()  # positive correlation widens the spread
