"""SQL side of the knowledge base: articles, chunks, FAQ pairs, feedback, gaps and the bot's turns."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, case, delete, func, insert, select, update

from liuyu.storage.knowledge_tables import (
    kb_articles,
    kb_bot_settings,
    kb_bot_turns,
    kb_chunks,
    kb_faqs,
    kb_feedback,
    kb_gaps,
    kb_mined,
    kb_state,
)
from liuyu.storage.service_tables import conversations, messages


def _dict(row: Any) -> dict[str, Any]:
    return dict(row._mapping)


class SqlKnowledge:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # -- revision --------------------------------------------------------------------------------

    def revision(self, workspace_id: int) -> str:
        """``token:revision``; an index cached at another value is stale."""
        row = self.conn.execute(
            select(kb_state.c.token, kb_state.c.revision).where(kb_state.c.workspace_id == workspace_id)
        ).first()
        return f"{row.token}:{row.revision}" if row else "-"

    def bump(self, workspace_id: int, now: datetime) -> None:
        """Tell every process that its cached index of this workspace is stale."""
        done = self.conn.execute(
            update(kb_state)
            .where(kb_state.c.workspace_id == workspace_id)
            .values(revision=kb_state.c.revision + 1, updated_at=now)
        )
        if not done.rowcount:
            self.conn.execute(
                insert(kb_state).values(workspace_id=workspace_id, revision=1, token=uuid.uuid4().hex, updated_at=now)
            )

    def chunk_article(self, workspace_id: int, chunk_id: int) -> int | None:
        found = self.conn.execute(
            select(kb_chunks.c.article_id).where(kb_chunks.c.workspace_id == workspace_id, kb_chunks.c.id == chunk_id)
        ).scalar()
        return int(found) if found is not None else None

    def faq_exists(self, workspace_id: int, faq_id: int) -> bool:
        found = self.conn.execute(
            select(kb_faqs.c.id).where(kb_faqs.c.workspace_id == workspace_id, kb_faqs.c.id == faq_id)
        ).first()
        return found is not None

    # -- articles --------------------------------------------------------------------------------

    def article_by_name(self, workspace_id: int, name: str) -> dict[str, Any] | None:
        row = self.conn.execute(
            select(kb_articles).where(kb_articles.c.workspace_id == workspace_id, kb_articles.c.name == name)
        ).first()
        return _dict(row) if row else None

    def save_article(
        self,
        workspace_id: int,
        values: dict[str, Any],
        chunks: Sequence[tuple[str, str, bytes | None]],
        now: datetime,
    ) -> int:
        """Insert or replace an article and all its chunks (heading, text, vector)."""
        current = self.article_by_name(workspace_id, values["name"])
        values = {**values, "chunk_count": len(chunks), "updated_at": now}
        if current is None:
            article_id = int(
                self.conn.execute(
                    insert(kb_articles).values(workspace_id=workspace_id, created_at=now, **values)
                ).inserted_primary_key[0]
            )
        else:
            article_id = int(current["id"])
            self.conn.execute(update(kb_articles).where(kb_articles.c.id == article_id).values(**values))
            self.conn.execute(delete(kb_chunks).where(kb_chunks.c.article_id == article_id))
        if chunks:
            self.conn.execute(
                insert(kb_chunks),
                [
                    {
                        "workspace_id": workspace_id,
                        "article_id": article_id,
                        "position": n,
                        "heading": heading,
                        "text": text,
                        "vector": vector,
                    }
                    for n, (heading, text, vector) in enumerate(chunks)
                ],
            )
        return article_id

    def delete_article(self, workspace_id: int, article_id: int) -> bool:
        self.conn.execute(
            delete(kb_chunks).where(kb_chunks.c.workspace_id == workspace_id, kb_chunks.c.article_id == article_id)
        )
        done = self.conn.execute(
            delete(kb_articles).where(kb_articles.c.workspace_id == workspace_id, kb_articles.c.id == article_id)
        )
        return bool(done.rowcount)

    def articles(self, workspace_id: int) -> list[dict[str, Any]]:
        """Every article with its usage: suggestions inserted, marked helpful and unhelpful, the last
        unhelpful mark (an article marked unhelpful since its last update is stale)."""
        f = kb_feedback.c
        usage = (
            select(
                f.article_id,
                func.sum(case((f.action == "inserted", 1), else_=0)).label("inserted"),
                func.sum(case((f.action == "helpful", 1), else_=0)).label("helpful"),
                func.sum(case((f.action == "unhelpful", 1), else_=0)).label("unhelpful"),
                func.max(case((f.action == "unhelpful", f.at), else_=None)).label("last_unhelpful_at"),
            )
            .where(f.workspace_id == workspace_id, f.source == "chunk")
            .group_by(f.article_id)
            .subquery()
        )
        rows = self.conn.execute(
            select(
                kb_articles,
                func.coalesce(usage.c.inserted, 0).label("inserted"),
                func.coalesce(usage.c.helpful, 0).label("helpful"),
                func.coalesce(usage.c.unhelpful, 0).label("unhelpful"),
                usage.c.last_unhelpful_at,
            )
            .select_from(kb_articles.outerjoin(usage, usage.c.article_id == kb_articles.c.id))
            .where(kb_articles.c.workspace_id == workspace_id)
            .order_by(kb_articles.c.name)
        )
        return [_dict(r) for r in rows]

    def chunks(self, workspace_id: int, article_id: int) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            select(kb_chunks.c.id, kb_chunks.c.position, kb_chunks.c.heading, kb_chunks.c.text)
            .where(kb_chunks.c.workspace_id == workspace_id, kb_chunks.c.article_id == article_id)
            .order_by(kb_chunks.c.position)
        )
        return [_dict(r) for r in rows]

    # -- what the index is built from ------------------------------------------------------------

    def index_chunks(self, workspace_id: int) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            select(
                kb_chunks.c.id,
                kb_chunks.c.article_id,
                kb_chunks.c.heading,
                kb_chunks.c.text,
                kb_chunks.c.vector,
                kb_articles.c.title,
            )
            .join(kb_articles, kb_articles.c.id == kb_chunks.c.article_id)
            .where(kb_chunks.c.workspace_id == workspace_id)
            .order_by(kb_chunks.c.id)
        )
        return [_dict(r) for r in rows]

    def index_faqs(self, workspace_id: int) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            select(kb_faqs.c.id, kb_faqs.c.question, kb_faqs.c.answer, kb_faqs.c.support, kb_faqs.c.vector)
            .where(kb_faqs.c.workspace_id == workspace_id)
            .order_by(kb_faqs.c.id)
        )
        return [_dict(r) for r in rows]

    # -- FAQ mining ------------------------------------------------------------------------------

    def unmined_resolved(self, workspace_id: int, limit: int) -> list[int]:
        mined = select(kb_mined.c.conversation_id).where(kb_mined.c.conversation_id == conversations.c.id)
        rows = self.conn.execute(
            select(conversations.c.id)
            .where(
                conversations.c.workspace_id == workspace_id,
                conversations.c.status == "resolved",
                ~mined.exists(),
            )
            .order_by(conversations.c.id)
            .limit(limit)
        )
        return [int(r.id) for r in rows]

    def thread(self, conversation_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
        """Customer messages and replies (no notes) of each conversation, in time order."""
        out: dict[int, list[dict[str, Any]]] = {i: [] for i in conversation_ids}
        if not conversation_ids:
            return out
        rows = self.conn.execute(
            select(messages.c.conversation_id, messages.c.direction, messages.c.sender, messages.c.text)
            .where(messages.c.conversation_id.in_(list(conversation_ids)), messages.c.direction != "note")
            .order_by(messages.c.conversation_id, messages.c.sent_at, messages.c.id)
        )
        for r in rows:
            out[r.conversation_id].append(_dict(r))
        return out

    def add_faq(self, workspace_id: int, values: dict[str, Any], now: datetime) -> tuple[int, bool]:
        """Insert a pair, or count one more conversation for a pair already known (same digest);
        returns the pair's id and whether it is new."""
        found = self.conn.execute(
            select(kb_faqs.c.id).where(kb_faqs.c.workspace_id == workspace_id, kb_faqs.c.digest == values["digest"])
        ).scalar()
        if found is not None:
            self.conn.execute(
                update(kb_faqs).where(kb_faqs.c.id == found).values(support=kb_faqs.c.support + 1, updated_at=now)
            )
            return int(found), False
        inserted = self.conn.execute(
            insert(kb_faqs).values(workspace_id=workspace_id, created_at=now, updated_at=now, **values)
        )
        return int(inserted.inserted_primary_key[0]), True

    def mark_mined(self, workspace_id: int, conversation_id: int, faq_id: int | None, now: datetime) -> None:
        self.conn.execute(
            insert(kb_mined).values(
                conversation_id=conversation_id, workspace_id=workspace_id, faq_id=faq_id, mined_at=now
            )
        )

    def faqs(self, workspace_id: int, limit: int = 200) -> list[dict[str, Any]]:
        f = kb_feedback.c
        used = (
            select(f.source_id, func.count().label("inserted"))
            .where(f.workspace_id == workspace_id, f.source == "faq", f.action.in_(("inserted", "helpful")))
            .group_by(f.source_id)
            .subquery()
        )
        rows = self.conn.execute(
            select(
                kb_faqs.c.id,
                kb_faqs.c.question,
                kb_faqs.c.answer,
                kb_faqs.c.support,
                kb_faqs.c.updated_at,
                func.coalesce(used.c.inserted, 0).label("used"),
            )
            .select_from(kb_faqs.outerjoin(used, used.c.source_id == kb_faqs.c.id))
            .where(kb_faqs.c.workspace_id == workspace_id)
            .order_by(kb_faqs.c.support.desc(), kb_faqs.c.id)
            .limit(limit)
        )
        return [_dict(r) for r in rows]

    # -- feedback and gaps -----------------------------------------------------------------------

    def add_feedback(self, row: dict[str, Any]) -> bool:
        """Record one action once (an agent clicking twice counts once)."""
        keys = ("message_id", "source", "source_id", "action", "actor")
        exists = self.conn.execute(
            select(kb_feedback.c.id).where(and_(*(kb_feedback.c[k] == row[k] for k in keys)))
        ).first()
        if exists:
            return False
        self.conn.execute(insert(kb_feedback).values(**row))
        return True

    def add_gap(
        self,
        workspace_id: int,
        message_id: int,
        conversation_id: int,
        reason: str,
        detail: dict[str, Any],
        now: datetime,
    ) -> bool:
        exists = self.conn.execute(
            select(kb_gaps.c.id).where(
                kb_gaps.c.workspace_id == workspace_id, kb_gaps.c.message_id == message_id, kb_gaps.c.reason == reason
            )
        ).first()
        if exists:
            return False
        self.conn.execute(
            insert(kb_gaps).values(
                workspace_id=workspace_id,
                message_id=message_id,
                conversation_id=conversation_id,
                reason=reason,
                detail=detail,
                created_at=now,
            )
        )
        return True

    def gaps(self, workspace_id: int, *, reason: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        query = (
            select(
                kb_gaps.c.id,
                kb_gaps.c.reason,
                kb_gaps.c.conversation_id,
                kb_gaps.c.message_id,
                kb_gaps.c.detail,
                kb_gaps.c.created_at,
                messages.c.text.label("question"),
                messages.c.channel,
            )
            .join(messages, messages.c.id == kb_gaps.c.message_id)
            .where(kb_gaps.c.workspace_id == workspace_id)
        )
        if reason:
            query = query.where(kb_gaps.c.reason == reason)
        rows = self.conn.execute(query.order_by(kb_gaps.c.created_at.desc(), kb_gaps.c.id.desc()).limit(limit))
        return [_dict(r) for r in rows]

    # -- messages the suggestions and the bot read -----------------------------------------------

    def message(self, workspace_id: int, message_id: int) -> dict[str, Any] | None:
        row = self.conn.execute(
            select(messages).where(messages.c.workspace_id == workspace_id, messages.c.id == message_id)
        ).first()
        return _dict(row) if row else None

    def latest_inbound(self, conversation_id: int) -> dict[str, Any] | None:
        row = self.conn.execute(
            select(messages)
            .where(messages.c.conversation_id == conversation_id, messages.c.direction == "in")
            .order_by(messages.c.sent_at.desc(), messages.c.id.desc())
            .limit(1)
        ).first()
        return _dict(row) if row else None

    def message_ids(self, workspace_id: int, channel: str, external_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Inbound messages by their channel id."""
        if not external_ids:
            return {}
        rows = self.conn.execute(
            select(messages).where(
                messages.c.workspace_id == workspace_id,
                messages.c.channel == channel,
                messages.c.direction == "in",
                messages.c.external_id.in_(list(external_ids)),
            )
        )
        return {r.external_id: _dict(r) for r in rows}

    def human_replied(self, conversation_id: int, bot_actor: str) -> bool:
        found = self.conn.execute(
            select(messages.c.id)
            .where(
                messages.c.conversation_id == conversation_id,
                messages.c.direction == "out",
                messages.c.sender != bot_actor,
            )
            .limit(1)
        ).first()
        return found is not None

    # -- the bot ---------------------------------------------------------------------------------

    def bot_setting(self, workspace_id: int, channel: str) -> dict[str, Any] | None:
        row = self.conn.execute(
            select(kb_bot_settings).where(
                kb_bot_settings.c.workspace_id == workspace_id, kb_bot_settings.c.channel == channel
            )
        ).first()
        return _dict(row) if row else None

    def bot_settings(self, workspace_id: int) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            select(kb_bot_settings)
            .where(kb_bot_settings.c.workspace_id == workspace_id)
            .order_by(kb_bot_settings.c.channel)
        )
        return [_dict(r) for r in rows]

    def save_bot_setting(self, workspace_id: int, channel: str, values: dict[str, Any], now: datetime) -> None:
        if self.bot_setting(workspace_id, channel) is None:
            self.conn.execute(
                insert(kb_bot_settings).values(
                    workspace_id=workspace_id, channel=channel, updated_at=now, **{"enabled": False, **values}
                )
            )
        else:
            self.conn.execute(
                update(kb_bot_settings)
                .where(kb_bot_settings.c.workspace_id == workspace_id, kb_bot_settings.c.channel == channel)
                .values(updated_at=now, **values)
            )

    def add_bot_turn(self, row: dict[str, Any]) -> int:
        return int(self.conn.execute(insert(kb_bot_turns).values(**row)).inserted_primary_key[0])

    def bot_turns(self, conversation_id: int) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            select(kb_bot_turns).where(kb_bot_turns.c.conversation_id == conversation_id).order_by(kb_bot_turns.c.at)
        )
        return [_dict(r) for r in rows]

    def has_turn(self, message_id: int) -> bool:
        return (
            self.conn.execute(select(kb_bot_turns.c.id).where(kb_bot_turns.c.message_id == message_id)).first()
            is not None
        )

    def bot_turn_by_reply(self, workspace_id: int, reply_id: int) -> dict[str, Any] | None:
        row = self.conn.execute(
            select(kb_bot_turns).where(kb_bot_turns.c.workspace_id == workspace_id, kb_bot_turns.c.reply_id == reply_id)
        ).first()
        return _dict(row) if row else None

    def flag_turn(self, turn_id: int) -> None:
        self.conn.execute(update(kb_bot_turns).where(kb_bot_turns.c.id == turn_id).values(flagged=True))

    def bot_conversations(self, workspace_id: int, since: datetime) -> list[dict[str, Any]]:
        """Per conversation the bot took part in since ``since``: its turns, status and messages."""
        turns = self.conn.execute(
            select(kb_bot_turns)
            .where(kb_bot_turns.c.workspace_id == workspace_id, kb_bot_turns.c.at >= since)
            .order_by(kb_bot_turns.c.conversation_id, kb_bot_turns.c.at)
        ).all()
        by_conversation: dict[int, dict[str, Any]] = {}
        for t in turns:
            entry = by_conversation.setdefault(t.conversation_id, {"channel": t.channel, "turns": []})
            entry["turns"].append(_dict(t))
        ids = sorted(by_conversation)
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            for c in self.conn.execute(
                select(conversations.c.id, conversations.c.status).where(conversations.c.id.in_(part))
            ):
                by_conversation[c.id]["status"] = c.status
            for m in self.conn.execute(
                select(messages.c.conversation_id, messages.c.direction, messages.c.sender, messages.c.sent_at).where(
                    messages.c.conversation_id.in_(part), messages.c.direction.in_(("in", "out"))
                )
            ):
                by_conversation[m.conversation_id].setdefault("messages", []).append(_dict(m))
        return [{"conversation_id": i, **v} for i, v in sorted(by_conversation.items())]

    # -- erasure ---------------------------------------------------------------------------------

    def scrub_customer(self, workspace_id: int, customer_ids: list[int], now: datetime) -> int:
        """FAQ pairs mined from these customers' conversations are deleted (their text is a copy of
        what the customer wrote); other conversations that gave the same pair are mined again."""
        conversation_ids = select(conversations.c.id).where(
            conversations.c.workspace_id == workspace_id, conversations.c.customer_id.in_(customer_ids)
        )
        faq_ids = list(
            self.conn.execute(
                select(kb_mined.c.faq_id).where(
                    kb_mined.c.conversation_id.in_(conversation_ids), kb_mined.c.faq_id.is_not(None)
                )
            ).scalars()
        )
        if not faq_ids:
            return 0
        self.conn.execute(
            delete(kb_mined).where(kb_mined.c.faq_id.in_(faq_ids), kb_mined.c.conversation_id.not_in(conversation_ids))
        )
        self.conn.execute(update(kb_mined).where(kb_mined.c.faq_id.in_(faq_ids)).values(faq_id=None))
        done = self.conn.execute(
            delete(kb_faqs).where(kb_faqs.c.workspace_id == workspace_id, kb_faqs.c.id.in_(faq_ids))
        )
        self.bump(workspace_id, now)
        return int(done.rowcount or 0)
