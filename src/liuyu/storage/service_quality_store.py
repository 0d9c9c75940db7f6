"""SQL side of quality inspection: rubrics, teams, results, overrides, CSAT, report facts, attachments."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, insert, or_, select, update

from liuyu.storage.service_quality_tables import (
    agent_teams,
    attachments,
    conversation_facts,
    csat,
    qa_overrides,
    qa_results,
    qa_rubrics,
)
from liuyu.storage.service_tables import conversations, messages
from liuyu.storage.tables import metadata


def _dict(row: Any) -> dict[str, Any]:
    return dict(row._mapping)


class SqlQualityStore:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # -- rubric and teams ------------------------------------------------------------------------

    def rubric(self, workspace_id: int) -> dict[str, Any] | None:
        row = self.conn.execute(select(qa_rubrics).where(qa_rubrics.c.workspace_id == workspace_id)).first()
        return _dict(row) if row else None

    def save_rubric(self, workspace_id: int, rubric: dict[str, Any], actor: str, now: datetime) -> int:
        current = self.rubric(workspace_id)
        values = {"rubric": rubric, "updated_by": actor, "updated_at": now}
        if current is None:
            self.conn.execute(insert(qa_rubrics).values(workspace_id=workspace_id, version=1, **values))
            return 1
        version = int(current["version"]) + 1
        self.conn.execute(
            update(qa_rubrics).where(qa_rubrics.c.workspace_id == workspace_id).values(version=version, **values)
        )
        return version

    def teams(self, workspace_id: int) -> dict[str, str]:
        rows = self.conn.execute(select(agent_teams).where(agent_teams.c.workspace_id == workspace_id))
        return {r.agent: r.team for r in rows}

    def set_team(self, workspace_id: int, agent: str, team: str | None) -> None:
        where = and_(agent_teams.c.workspace_id == workspace_id, agent_teams.c.agent == agent)
        self.conn.execute(agent_teams.delete().where(where))
        if team:
            self.conn.execute(insert(agent_teams).values(workspace_id=workspace_id, agent=agent, team=team))

    def sla_policy(self, workspace_id: int) -> dict[str, Any] | None:
        """The workspace's SLA policy as stored by the tickets area (``ticket_settings.config``), if any."""
        settings = metadata.tables.get("ticket_settings")
        if settings is None:
            return None
        config = self.conn.execute(select(settings.c.config).where(settings.c.workspace_id == workspace_id)).scalar()
        if not isinstance(config, dict):
            return None
        found = config.get("sla") or config.get("sla_policy")
        if isinstance(found, list):
            found = found[0] if found else None
        return found if isinstance(found, dict) else None

    # -- results and overrides -------------------------------------------------------------------

    def result(self, workspace_id: int, conversation_id: int) -> dict[str, Any] | None:
        row = self.conn.execute(
            select(qa_results).where(
                qa_results.c.workspace_id == workspace_id, qa_results.c.conversation_id == conversation_id
            )
        ).first()
        return _dict(row) if row else None

    def save_result(self, row: dict[str, Any]) -> int:
        current = self.result(row["workspace_id"], row["conversation_id"])
        if current is None:
            return int(self.conn.execute(insert(qa_results).values(**row)).inserted_primary_key[0])
        self.conn.execute(update(qa_results).where(qa_results.c.id == current["id"]).values(**row))
        return int(current["id"])

    def add_override(self, row: dict[str, Any]) -> None:
        self.conn.execute(insert(qa_overrides).values(**row))

    def overrides(self, result_id: int) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            select(qa_overrides).where(qa_overrides.c.result_id == result_id).order_by(qa_overrides.c.id)
        )
        return [_dict(r) for r in rows]

    def results(self, workspace_id: int, since: datetime | None, until: datetime | None) -> list[dict[str, Any]]:
        query = select(qa_results).where(qa_results.c.workspace_id == workspace_id)
        if since is not None:
            query = query.where(qa_results.c.inspected_at >= since)
        if until is not None:
            query = query.where(qa_results.c.inspected_at < until)
        return [_dict(r) for r in self.conn.execute(query.order_by(qa_results.c.inspected_at))]

    # -- CSAT and facts --------------------------------------------------------------------------

    def add_csat(self, row: dict[str, Any]) -> bool:
        """False when this answer (``external_id``) is already stored."""
        known = self.conn.execute(
            select(csat.c.id).where(
                csat.c.workspace_id == row["workspace_id"], csat.c.external_id == row["external_id"]
            )
        ).first()
        if known:
            return False
        self.conn.execute(insert(csat).values(**row))
        return True

    def latest_csat(self, conversation_id: int) -> int | None:
        return self.conn.execute(  # type: ignore[no-any-return]
            select(csat.c.score)
            .where(csat.c.conversation_id == conversation_id)
            .order_by(csat.c.at.desc(), csat.c.id.desc())
            .limit(1)
        ).scalar()

    def save_facts(self, row: dict[str, Any]) -> None:
        where = conversation_facts.c.conversation_id == row["conversation_id"]
        if self.conn.execute(select(conversation_facts.c.conversation_id).where(where)).first():
            self.conn.execute(update(conversation_facts).where(where).values(**row))
        else:
            self.conn.execute(insert(conversation_facts).values(**row))

    def set_facts_qa(self, conversation_id: int, total: float) -> None:
        self.conn.execute(
            update(conversation_facts)
            .where(conversation_facts.c.conversation_id == conversation_id)
            .values(qa_total=total)
        )

    def due(self, limit: int) -> list[tuple[int, int]]:
        """(workspace, conversation) whose facts are missing or older than the conversation's last
        change, or resolved ones not inspected since they were resolved: the job's backlog."""
        c, f, r = conversations, conversation_facts, qa_results
        stale_facts = or_(f.c.conversation_id.is_(None), f.c.computed_at < c.c.updated_at)
        uninspected = and_(c.c.status == "resolved", or_(r.c.id.is_(None), r.c.inspected_at < c.c.resolved_at))
        query = (
            select(c.c.workspace_id, c.c.id)
            .select_from(c.outerjoin(f, f.c.conversation_id == c.c.id).outerjoin(r, r.c.conversation_id == c.c.id))
            .where(or_(stale_facts, uninspected))
            .order_by(c.c.updated_at, c.c.id)
            .limit(limit)
        )
        return [(int(ws), int(cid)) for ws, cid in self.conn.execute(query)]

    def email_thread(self, workspace_id: int, message_ids: Sequence[str]) -> str | None:
        """The conversation key of the email thread one of these Message-IDs belongs to, if any."""
        if not message_ids:
            return None
        return self.conn.execute(  # type: ignore[no-any-return]
            select(conversations.c.conversation_key)
            .select_from(messages.join(conversations, conversations.c.id == messages.c.conversation_id))
            .where(
                messages.c.workspace_id == workspace_id,
                messages.c.channel == "email",
                messages.c.external_id.in_(list(message_ids)),
            )
            .order_by(messages.c.sent_at)
            .limit(1)
        ).scalar()

    # -- attachments -----------------------------------------------------------------------------

    def add_attachment(self, row: dict[str, Any]) -> int:
        return int(self.conn.execute(insert(attachments).values(**row)).inserted_primary_key[0])

    def attachment(self, workspace_id: int, attachment_id: int) -> dict[str, Any] | None:
        row = self.conn.execute(
            select(attachments).where(attachments.c.workspace_id == workspace_id, attachments.c.id == attachment_id)
        ).first()
        return _dict(row) if row else None

    def message_attachments(self, workspace_id: int, message_ids: Sequence[int]) -> list[dict[str, Any]]:
        if not message_ids:
            return []
        rows = self.conn.execute(
            select(attachments)
            .where(attachments.c.workspace_id == workspace_id, attachments.c.message_id.in_(list(message_ids)))
            .order_by(attachments.c.id)
        )
        return [_dict(r) for r in rows]
