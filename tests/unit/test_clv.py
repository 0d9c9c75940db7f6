"""BG/NBD and Gamma-Gamma: fitted on data drawn from known parameters, they find those parameters again."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from liuyu.analytics.clv import (
    BgNbd,
    PurchaseForecaster,
    fit_bgnbd,
    fit_gamma_gamma,
    simulate_bgnbd,
    summarize,
)

TRUE = BgNbd(r=0.6, alpha=4.0, a=0.8, b=2.5)


@pytest.fixture(scope="module")
def simulated() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return simulate_bgnbd(TRUE, customers=6000, age=39.0, rng=np.random.default_rng(7))


def test_the_fit_recovers_the_parameters_the_customers_were_drawn_from(simulated) -> None:
    fitted = fit_bgnbd(*simulated)
    assert fitted.r == pytest.approx(TRUE.r, rel=0.2)
    assert fitted.alpha == pytest.approx(TRUE.alpha, rel=0.25)
    assert fitted.a == pytest.approx(TRUE.a, rel=0.35)
    assert fitted.b == pytest.approx(TRUE.b, rel=0.4)


def test_the_fitted_model_predicts_the_next_period_of_simulated_customers(simulated) -> None:
    frequency, recency, age = simulated
    fitted = fit_bgnbd(frequency, recency, age)
    # The population's expected purchases in its first 39 weeks matches what the simulation produced.
    assert fitted.expected_purchases_new(39.0) == pytest.approx(frequency.mean(), rel=0.1)


def test_a_customer_who_stopped_buying_long_ago_is_less_likely_alive_than_one_who_bought_lately() -> None:
    recent, lapsed = TRUE.p_alive([5, 5], [38.0, 5.0], [39.0, 39.0])
    assert recent > 0.8
    assert lapsed < 0.05


def test_a_one_time_buyer_is_alive_for_sure_under_bgnbd() -> None:
    # In BG/NBD a customer can only drop out right after a repeat purchase.
    assert TRUE.p_alive([0], [0.0], [39.0])[0] == pytest.approx(1.0)


def test_more_repeat_purchases_at_the_same_recency_mean_more_expected_purchases() -> None:
    expected = TRUE.expected_purchases(10.0, [1, 3, 8], [30.0, 30.0, 30.0], [39.0, 39.0, 39.0])
    assert expected[0] < expected[1] < expected[2]


def test_the_purchase_distribution_sums_to_one_and_its_mean_is_the_expected_purchases() -> None:
    frequency, recency, age = [0, 2, 7], [0.0, 12.0, 35.0], [39.0, 39.0, 39.0]
    pmf = TRUE.purchase_distribution(20.0, frequency, recency, age)
    assert pmf.sum(axis=1) == pytest.approx(np.ones(3))
    mean = (pmf * np.arange(pmf.shape[1])).sum(axis=1)
    assert mean == pytest.approx(TRUE.expected_purchases(20.0, frequency, recency, age), rel=1e-6)


def test_the_median_forecast_says_no_purchase_for_a_lapsed_one_time_buyer_and_some_for_a_regular() -> None:
    forecaster = PurchaseForecaster(TRUE)
    predicted = forecaster.predict(39.0, [0, 20], [0.0, 38.0], [39.0, 39.0])
    assert predicted[0] == 0
    assert predicted[1] >= 5
    chance = forecaster.chance_of_purchase(39.0, [0, 20], [0.0, 38.0], [39.0, 39.0])
    assert chance[0] < chance[1]


def test_gamma_gamma_recovers_spend_parameters_and_shrinks_towards_the_population_mean() -> None:
    rng = np.random.default_rng(3)
    p, q, v = 6.0, 4.0, 15.0
    customers = 4000
    frequency = rng.integers(1, 10, size=customers).astype(float)
    nu = rng.gamma(q, 1.0 / v, size=customers)
    mean_spend = np.array([rng.gamma(p, 1.0 / nu[i], size=int(f)).mean() for i, f in enumerate(frequency)])
    fitted = fit_gamma_gamma(frequency, mean_spend)
    population = p * v / (q - 1.0)
    assert fitted.p * fitted.v / (fitted.q - 1.0) == pytest.approx(population, rel=0.1)
    one_big, many_big = fitted.expected_spend([1, 50], [500.0, 500.0])
    assert population * 0.9 < one_big < many_big < 500.0


def test_several_orders_on_one_day_are_one_purchase_and_repeat_spend_excludes_the_first() -> None:
    rows = [
        ("GOLD-ALICE", date(1997, 1, 1), 10.0),
        ("GOLD-ALICE", date(1997, 1, 1), 5.0),
        ("GOLD-ALICE", date(1997, 1, 15), 30.0),
        ("GOLD-ALICE", date(1997, 2, 1), 50.0),
        ("BOB", date(1997, 1, 8), 20.0),
        ("BOB", date(1997, 4, 1), 99.0),  # after the end: not seen
    ]
    summary = summarize(rows, end=date(1997, 1, 29))
    assert summary.customer_ids == ("BOB", "GOLD-ALICE")
    assert list(summary.frequency) == [0, 1]
    assert summary.recency[1] == pytest.approx(2.0)
    assert summary.age[1] == pytest.approx(4.0)
    assert summary.mean_spend[1] == pytest.approx(30.0)


def test_expected_revenue_ranks_a_regular_big_spender_above_a_lapsed_small_one() -> None:
    from liuyu.analytics.clv import GammaGamma, PurchaseSummary, expected_revenue

    summary = PurchaseSummary(
        ("REGULAR", "LAPSED"),
        frequency=np.array([10.0, 1.0]),
        recency=np.array([38.0, 2.0]),
        age=np.array([39.0, 39.0]),
        mean_spend=np.array([80.0, 20.0]),
    )
    value = expected_revenue(TRUE, GammaGamma(p=6.0, q=4.0, v=15.0), 52.0, summary)
    assert value[0] > 10 * value[1] > 0
