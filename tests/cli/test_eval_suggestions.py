"""How the suggestion test sets are built: held-out demo conversations, AFQMC partners as answers."""

from __future__ import annotations

from pathlib import Path

from liuyu.cli.eval_suggestions import afqmc_set, demo_set, recall_at, same_answer


def test_the_demo_set_holds_out_a_fifth_of_the_conversations_and_dedupes_the_rest() -> None:
    test = demo_set(people=400)
    assert test.asked and test.known
    share = len(test.asked) / (len(test.asked) + len({(p.question, p.answer) for p in test.known}))
    assert 0.05 < share < 0.6
    assert len({(p.question, p.answer) for p in test.known}) == len(test.known), "mined pairs are deduplicated"


def test_afqmc_partners_are_the_answers_and_every_text_b_is_known(tmp_path: Path) -> None:
    csv = tmp_path / "pairs.csv"
    csv.write_text(
        "text_a,text_b,label,source_file,source_id\n"
        "花呗怎么提额,怎样提高花呗额度,1,dev,0\n花呗怎么提额,借呗怎么还款,0,dev,1\n借呗能提前还吗,借呗怎么还款,1,dev,2\n",
        encoding="utf-8",
    )
    test = afqmc_set(csv)
    assert sorted(p.question for p in test.known) == ["借呗怎么还款", "怎样提高花呗额度"]
    assert test.asked == [("借呗能提前还吗", {"借呗怎么还款"}), ("花呗怎么提额", {"怎样提高花呗额度"})]
    found = [["借呗怎么还款"], ["借呗怎么还款", "怎样提高花呗额度"]]
    assert recall_at(found, test.asked, 1) == 0.5 and recall_at(found, test.asked, 3) == 1.0


def test_answers_naming_another_order_or_city_count_as_the_same_answer() -> None:
    assert same_answer(
        "亲，您的包裹已经到上海转运中心了，预计1-2天送达", "亲，您的包裹已经到杭州转运中心了，预计1-2天送达"
    )
    assert same_answer("这边马上帮您查询一下订单3312345哦~", "这边马上帮您查询一下订单99887766哦~")
    assert not same_answer("亲，支持7天无理由退换，运费险会自动理赔的", "已经为您登记换货，新的商品会在48小时内发出")
