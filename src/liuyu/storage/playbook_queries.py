"""Queries behind the built-in playbooks, mixed into ``SqlJourneys``: member-center date triggers
(points about to expire, a tier upgrade), category baskets for co-purchase statistics, and each
customer's main category (what the cross-category playbook suggests a neighbour of)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, and_, func, select

from liuyu.analytics.copurchase import adjacent_categories
from liuyu.domain.engagement.segment import Node
from liuyu.storage import tables as t
from liuyu.storage.ingest_store import chunks
from liuyu.storage.loyalty_tables import loyalty_members, loyalty_tier_changes
from liuyu.storage.segments import compile_segment

MEMBER_TRAITS = ("points_expiry", "tier_upgrade")


class PlaybookQueries:
    conn: Connection

    def member_date_matches(
        self, workspace_id: int, trait: str, target: date, timezone: str, audience: Node | None, now: datetime
    ) -> list[int]:
        """Live customers whose member account has points expiring on ``target`` (local day), or
        who moved up a tier that day."""
        zone = ZoneInfo(timezone)
        start = datetime.combine(target, datetime.min.time(), tzinfo=zone).astimezone(UTC)
        end = start + timedelta(days=1)
        found = (
            self._expiring(workspace_id, start, end)
            if trait == "points_expiry"
            else self._upgraded(workspace_id, start, end)
        )
        if not found:
            return []
        c = t.customers
        query = select(c.c.id).where(
            c.c.workspace_id == workspace_id,
            c.c.id.in_(sorted(found)),
            c.c.merged_into.is_(None),
            c.c.erased_at.is_(None),
        )
        if audience is not None:
            query = query.where(c.c.id.in_(compile_segment(audience, workspace_id, now)))
        return sorted(int(cid) for cid in self.conn.execute(query).scalars())

    def _expiring(self, workspace_id: int, start: datetime, end: datetime) -> set[int]:
        from liuyu.storage.loyalty_store import SqlLoyalty

        loyalty = SqlLoyalty(self.conn)
        program = loyalty.program(workspace_id)
        m = loyalty_members
        members = self.conn.execute(
            select(m.c.customer_id, m.c.customers).where(m.c.workspace_id == workspace_id, m.c.available > 0)
        ).all()
        primary_of = {int(c): int(primary) for primary, customers in members for c in {primary, *(customers or [])}}
        found: set[int] = set()
        for part in chunks(sorted(primary_of), 5000):  # lots summed set-wise, not member by member
            for lot in loyalty.lots(workspace_id, part, program):
                if lot.available > 0 and lot.expires_at is not None and start <= lot.expires_at < end:
                    found.add(primary_of.get(int(lot.customer_id), int(lot.customer_id)))
        return found

    def _upgraded(self, workspace_id: int, start: datetime, end: datetime) -> set[int]:
        from liuyu.storage.loyalty_store import SqlLoyalty

        order = {tier.code: i for i, tier in enumerate(SqlLoyalty(self.conn).program(workspace_id).tiers)}
        tc = loyalty_tier_changes
        rows = self.conn.execute(
            select(tc.c.customer_id, tc.c.from_tier, tc.c.to_tier).where(
                tc.c.workspace_id == workspace_id, tc.c.at >= start, tc.c.at < end
            )
        )
        return {
            int(cid)
            for cid, before, after in rows
            if order.get(after, -1) > order.get(before, 0 if before is None else len(order))
        }

    # -- co-purchase ------------------------------------------------------------------------

    def category_baskets(self, workspace_id: int) -> list[set[str]]:
        """The categories of each paid order of the workspace."""
        o, line = t.orders, t.order_lines
        query = (
            select(o.c.id, line.c.category)
            .select_from(o.join(line, line.c.order_pk == o.c.id))
            .where(o.c.workspace_id == workspace_id, o.c.paid_fen.is_not(None), line.c.category.is_not(None))
            .distinct()
        )
        baskets: dict[int, set[str]] = {}
        for order_id, category in self.conn.execute(query):
            baskets.setdefault(int(order_id), set()).add(str(category))
        return list(baskets.values())

    def main_categories(self, workspace_id: int, customer_ids: Collection[int]) -> dict[int, set[str]]:
        """Every category each customer bought in paid orders."""
        o, line = t.orders, t.order_lines
        found: dict[int, set[str]] = {}
        for part in chunks(sorted(customer_ids), 5000):
            query = (
                select(o.c.customer_id, line.c.category)
                .select_from(o.join(line, and_(line.c.order_pk == o.c.id, line.c.category.is_not(None))))
                .where(o.c.workspace_id == workspace_id, o.c.customer_id.in_(part), o.c.paid_fen.is_not(None))
                .group_by(o.c.customer_id, line.c.category)
                .order_by(o.c.customer_id, func.count().desc())
            )
            for cid, category in self.conn.execute(query):
                found.setdefault(int(cid), set()).add(str(category))
        return found

    def suggested_categories(self, workspace_id: int, customer_ids: Collection[int]) -> dict[int, str]:
        """For each customer, the best neighbour (by lift) of a category they buy that they have not
        bought yet; customers with none are left out."""
        neighbours = adjacent_categories(self.category_baskets(workspace_id))
        suggestions: dict[int, str] = {}
        for cid, bought in self.main_categories(workspace_id, customer_ids).items():
            options = [a for c in sorted(bought) for a in neighbours.get(c, []) if a.category not in bought]
            if options:
                suggestions[cid] = max(options, key=lambda a: (a.lift, a.confidence, a.category)).category
        return suggestions
