"""The per-batch membership check (touched customers only, per-customer subqueries) agrees with a
full refresh for tag(), bought_category() and plain trait clauses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, insert

from liuyu.domain.engagement.segment import parse
from liuyu.services.engagement import save_segment
from liuyu.storage import tables as t
from liuyu.storage.uow import SqlUnitOfWork

NOW = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
EXPRESSIONS = (
    'not tag("已投诉") and bought_category("坚果") and order_count >= 1',
    'tag("VIP") or (city = "上海" and days_since_last_order <= 30)',
    'bought_category("茶") and not bought_category("咖啡")',
)


def test_rechecking_touched_customers_matches_a_full_refresh(engine: Engine) -> None:
    with SqlUnitOfWork(engine) as uow:
        ws = uow.accounts.create_workspace("qimu", "栖木", NOW)
        saved = [
            save_segment(uow, ws, name=f"s{i}", tree=parse(e), actor="t", now=NOW)["id"]
            for i, e in enumerate(EXPRESSIONS)
        ]
        uow.commit()
    ids = range(1, 13)
    with engine.begin() as conn:  # customers arrive after the segments were saved: none is a member yet
        conn.execute(
            insert(t.customers),
            [{"id": i, "workspace_id": ws, "anchor_seq": i, "city": "上海" if i % 2 else "北京"} for i in ids],
        )
        conn.execute(
            insert(t.customer_traits),
            [
                {
                    "customer_id": i,
                    "workspace_id": ws,
                    "event_count": 1,
                    "order_count": 1 + i % 3,
                    "total_spent_fen": 100,
                    "aov_fen": 100,
                    "last_order_at": NOW - timedelta(days=10 * i),
                    "channels": [],
                    "categories": [],
                }
                for i in ids
            ],
        )
        tags = [(i, "已投诉") for i in ids if i % 4 == 0] + [(i, "VIP") for i in ids if i % 5 == 0]
        conn.execute(
            insert(t.customer_tags),
            [
                {"workspace_id": ws, "customer_id": i, "tag": tag, "source": "manual", "reason": "", "at": NOW}
                for i, tag in tags
            ],
        )
        conn.execute(
            insert(t.orders),
            [
                {
                    "id": i,
                    "workspace_id": ws,
                    "platform": "tmall",
                    "order_id": f"T{i}",
                    "customer_id": i,
                    "status": "paid",
                    "total_fen": 100,
                    "paid_fen": 100,
                    "refunded_fen": 0,
                    "currency": "CNY",
                    "channel": "tmall",
                    "last_seq": i,
                }
                for i in ids
            ],
        )
        categories = ["坚果", "茶", "咖啡"]
        conn.execute(
            insert(t.order_lines),
            [
                {
                    "order_pk": i,
                    "line_no": 1,
                    "workspace_id": ws,
                    "title": "x",
                    "quantity": 1,
                    "category": categories[i % 3],
                }
                for i in ids
            ],
        )
    with SqlUnitOfWork(engine) as uow:
        uow.engagement.update_members_of(ws, list(ids), NOW)
        incremental = {s: uow.engagement.member_ids(ws, s) for s in saved}
        for s, expression in zip(saved, EXPRESSIONS, strict=True):
            uow.engagement.refresh_members(ws, s, parse(expression), NOW)
        full = {s: uow.engagement.member_ids(ws, s) for s in saved}
        counts = {s: uow.engagement.segment(ws, s)["member_count"] for s in saved}
    assert incremental == full
    assert all(full.values()), "each expression has members here, so the check compares something"
    assert counts == {s: len(members) for s, members in full.items()}
