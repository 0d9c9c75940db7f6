"""The SQL unit of work: one connection, one transaction, the repositories bound to it."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy import Connection, Engine

from liuyu.services.ports import Projection
from liuyu.storage.accounts import SqlAccounts
from liuyu.storage.customer_queries import SqlCustomerReads
from liuyu.storage.engagement_store import SqlEngagement
from liuyu.storage.imports_store import SqlImports
from liuyu.storage.ingest_store import SqlIngestStore
from liuyu.storage.journey_store import SqlJourneys
from liuyu.storage.knowledge_store import SqlKnowledge
from liuyu.storage.loyalty_store import SqlLoyalty
from liuyu.storage.messaging_store import SqlMessaging
from liuyu.storage.privacy_store import SqlPrivacy
from liuyu.storage.projections import PROJECTIONS
from liuyu.storage.replay_store import SqlReplayStore
from liuyu.storage.service_quality_store import SqlQualityStore
from liuyu.storage.service_store import SqlServiceStore
from liuyu.storage.suggestions_store import SqlSuggestions
from liuyu.storage.ticket_store import SqlTicketStore
from liuyu.storage.value_queries import SqlValueReads


class SqlUnitOfWork:
    """``with SqlUnitOfWork(engine) as uow: ...; uow.commit()``; leaving without commit rolls back."""

    conn: Connection

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __enter__(self) -> SqlUnitOfWork:
        self.conn = self.engine.connect()
        self._tx = self.conn.begin()
        self.ingest = SqlIngestStore(self.conn)
        self.accounts = SqlAccounts(self.conn)
        self.replay = SqlReplayStore(self.conn)
        self.imports = SqlImports(self.conn)
        self.privacy = SqlPrivacy(self.conn)
        self.reads = SqlCustomerReads(self.conn)
        self.suggestions = SqlSuggestions(self.conn)
        self.loyalty = SqlLoyalty(self.conn)
        self.engagement = SqlEngagement(self.conn)
        self.service = SqlServiceStore(self.conn)
        self.messaging = SqlMessaging(self.conn)
        self.knowledge = SqlKnowledge(self.conn)
        self.quality = SqlQualityStore(self.conn)
        self.value = SqlValueReads(self.conn)
        self.tickets = SqlTicketStore(self.conn)
        self.journeys = SqlJourneys(self.conn)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._tx.is_active:
            self._tx.rollback()
        self.conn.close()

    def projections(self) -> list[Projection]:
        """The registered projections, bound to this unit of work's connection."""
        return [factory(self.conn) for factory in PROJECTIONS]

    def commit(self) -> None:
        self._tx.commit()

    def rollback(self) -> None:
        self._tx.rollback()
