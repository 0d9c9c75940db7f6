"""The 20/80 view: revenue share of the top customers, per group, and the curve behind it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from liuyu.analytics.pareto import concentration, concentration_by, pareto_curve


def test_when_two_of_ten_customers_bring_eighty_percent_the_share_is_point_eight() -> None:
    values = [400, 400] + [25] * 8
    result = concentration(values)
    assert result.top_revenue_share == pytest.approx(0.8)
    assert result.customers == 10
    assert result.revenue == Decimal(1000)


def test_equal_customers_have_no_concentration() -> None:
    assert concentration([50] * 7).top_revenue_share == pytest.approx(0.2)


def test_the_share_is_interpolated_when_twenty_percent_is_not_a_whole_customer() -> None:
    # 20% of 3 customers is 0.6 of the best one, who brings 60% of the revenue.
    assert concentration([60, 30, 10]).top_revenue_share == pytest.approx(0.36)


def test_the_curve_starts_at_zero_ends_at_one_and_never_falls() -> None:
    points = pareto_curve([Decimal("5.5"), 0, 100, 30, -20])
    assert points[0] == (0.0, 0.0)
    assert points[-1] == pytest.approx((1.0, 1.0))
    shares = [y for _, y in points]
    assert shares == sorted(shares)
    assert points[1][1] == pytest.approx(100 / 135.5)


def test_concentration_by_channel_adds_orders_per_customer_first() -> None:
    orders = [
        ("tmall", "GOLD-ALICE", 300),
        ("tmall", "GOLD-ALICE", 500),
        ("tmall", "BOB", 100),
        ("tmall", "CAROL", 50),
        ("tmall", "DAVE", 50),
        ("jd", "BOB", 10),
        *[("jd", name, 0) for name in ("CAROL", "DAVE", "ERIN", "FRANK")],
    ]
    result = concentration_by(orders, group=lambda o: o[0], customer=lambda o: o[1], amount=lambda o: o[2])
    assert result["tmall"].customers == 4
    assert result["tmall"].top_revenue_share == pytest.approx(0.8 * 800 / 1000)
    assert result["jd"].top_revenue_share == pytest.approx(1.0)


def test_a_top_share_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError):
        concentration([1, 2], top=1.5)
