"""RFM quintiles within a workspace, and the grid names operators use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from liuyu.domain.engagement.rfm import BuyerRow, RfmScore, grid, quintile_scores, score

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def test_ten_distinct_values_fall_two_by_two_into_the_five_scores() -> None:
    assert quintile_scores([10, 1, 9, 2, 8, 3, 7, 4, 6, 5]) == [5, 1, 5, 1, 4, 2, 4, 2, 3, 3]


def test_equal_values_always_get_the_same_score_even_across_a_quintile_boundary() -> None:
    scores = quintile_scores([1, 1, 1, 1, 1, 1, 1, 2, 3, 4])
    assert set(scores[:7]) == {1}
    assert scores[7:] == [4, 5, 5]


def test_a_recent_frequent_big_spender_scores_555_and_an_old_one_off_buyer_111() -> None:
    buyers = [
        BuyerRow(i, NOW - timedelta(days=10 * i), order_count=10 - i, total_spent=Decimal(1000 - 100 * i))
        for i in range(10)
    ]
    scores = {s.customer_id: s for s in score(buyers)}
    assert scores[0].cell == "R5F5M5"
    assert scores[0].grid_name == "champions"
    assert scores[9].cell == "R1F1M1"
    assert scores[9].grid_name == "hibernating"


def test_no_buyers_give_no_scores_and_one_buyer_gets_the_lowest() -> None:
    assert score([]) == []
    assert score([BuyerRow(7, NOW, 3, Decimal(50))]) == [RfmScore(7, 1, 1, 1)]


def test_the_grid_counts_every_cell_including_empty_ones() -> None:
    cells = grid([RfmScore(1, 5, 1, 3), RfmScore(2, 5, 1, 2), RfmScore(3, 1, 5, 5)])
    assert len(cells) == 25
    assert cells[(5, 1)] == 2
    assert cells[(1, 5)] == 1
    assert sum(cells.values()) == 3


def test_a_lapsed_frequent_buyer_is_one_we_cannot_lose() -> None:
    assert RfmScore(1, 1, 5, 5).grid_name == "cannot_lose"
    assert RfmScore(1, 5, 1, 1).grid_name == "new"
