"""The projections kept beside the customer tables, in the order they run (see services.ports.Projection).

Each entry takes the unit of work's connection and returns a Projection bound to it. Add a line
here to register one; ingestion, rebuild and unmerge then keep it current.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection

from liuyu.services.ports import Projection
from liuyu.storage.engagement_store import SegmentMembership
from liuyu.storage.journey_store import JourneyTriggers
from liuyu.storage.loyalty_store import LoyaltyProjection
from liuyu.storage.service_store import ConversationCustomers
from liuyu.storage.tag_projection import EventTags
from liuyu.storage.ticket_store import TicketCustomers

PROJECTIONS: list[Callable[[Connection], Projection]] = [
    LoyaltyProjection,
    ConversationCustomers,
    TicketCustomers,  # after conversations: an undone merge reads the conversation's customer
    EventTags,  # before segment membership, so tag(...) clauses see this batch's tags
    SegmentMembership,
    JourneyTriggers,
]
