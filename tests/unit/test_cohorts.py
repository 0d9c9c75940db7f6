"""Cohort retention: who bought again k months after the month of their first purchase."""

from __future__ import annotations

from datetime import date

import pytest

from liuyu.analytics.cohorts import average_curve, monthly_cohorts


def test_a_cohort_counts_customers_by_first_purchase_month_and_their_later_months() -> None:
    purchases = [
        ("a", date(2026, 1, 5)), ("a", date(2026, 2, 20)), ("a", date(2026, 4, 1)),
        ("b", date(2026, 1, 31)),
        ("c", date(2026, 2, 1)), ("c", date(2026, 3, 3)), ("c", date(2026, 3, 9)),
    ]  # fmt: skip
    january, february = monthly_cohorts(purchases, horizon=3, through=date(2026, 4, 30))
    assert (january.month, january.customers) == ("2026-01", 2)
    assert january.retained == (0.5, 0.0, 0.5)  # a in February and April, b never again
    assert (february.month, february.customers, february.retained) == ("2026-02", 1, (1.0, 0.0))


def test_months_not_yet_observed_are_left_out_rather_than_counted_as_lost() -> None:
    purchases = [("a", date(2026, 10, 1)), ("b", date(2026, 11, 2))]
    cohorts = monthly_cohorts(purchases, horizon=12, through=date(2026, 11, 22))
    assert [(c.month, len(c.retained)) for c in cohorts] == [("2026-10", 1), ("2026-11", 0)]


def test_a_year_boundary_is_one_month_apart() -> None:
    (cohort,) = monthly_cohorts([("a", date(2025, 12, 31)), ("a", date(2026, 1, 1))], horizon=2)
    assert cohort.retained == (1.0,)


def test_the_average_curve_weights_cohorts_by_size() -> None:
    purchases = [("a", date(2026, 1, 1)), ("a", date(2026, 2, 1))] + [(f"n{i}", date(2026, 2, 1)) for i in range(3)]
    cohorts = monthly_cohorts(purchases, horizon=2, through=date(2026, 3, 31))
    # month 1: January's 1 of 1 and February's 0 of 3 -> 1/4
    assert average_curve(cohorts)[0] == pytest.approx(0.25)


def test_no_purchases_no_cohorts_and_a_horizon_below_one_is_refused() -> None:
    assert monthly_cohorts([]) == []
    with pytest.raises(ValueError, match="horizon"):
        monthly_cohorts([("a", date(2026, 1, 1))], horizon=0)
