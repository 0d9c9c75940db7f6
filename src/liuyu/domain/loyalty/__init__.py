"""The member center's pure core: program rules, the points ledger, lots, tiers, benefits, coupons.

Everything here is plain data and functions: no database, no clock (time is passed in), no I/O.
Storage persists ``Entry`` rows and replays facts through ``LoyaltyBook``; the API and the console
call the same functions. See docs/loyalty.md.
"""

from liuyu.domain.loyalty.account import InsufficientPoints, MemberAccount
from liuyu.domain.loyalty.card import MemberCard, member_card
from liuyu.domain.loyalty.facts import (
    AccountsMerged,
    AccountsUnmerged,
    Adjust,
    BonusEarned,
    Enroll,
    ExpireDue,
    Fact,
    OrderPaid,
    OrderRefunded,
    Redeem,
    ReturnWindowClosed,
    ReviewTiers,
)
from liuyu.domain.loyalty.ledger import Entry, balances
from liuyu.domain.loyalty.program import InvalidProgram, Program, load_program
from liuyu.domain.loyalty.replay import LoyaltyBook, check, replay
from liuyu.domain.loyalty.rules import PaidLine

__all__ = [
    "AccountsMerged",
    "AccountsUnmerged",
    "Adjust",
    "BonusEarned",
    "Enroll",
    "Entry",
    "ExpireDue",
    "Fact",
    "InsufficientPoints",
    "InvalidProgram",
    "LoyaltyBook",
    "MemberAccount",
    "MemberCard",
    "OrderPaid",
    "OrderRefunded",
    "PaidLine",
    "Program",
    "Redeem",
    "ReturnWindowClosed",
    "ReviewTiers",
    "balances",
    "check",
    "load_program",
    "member_card",
    "replay",
]
