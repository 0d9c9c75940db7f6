"""The member center's use cases: the program as data, loyalty facts from the event log, replaying them.

Storage keeps two kinds of loyalty facts, in one ordered list per workspace:

- *derived* facts, made from events (order paid, refunded, completed; merges and unmerges of the
  data core): cleared and made again by ``liuyu rebuild``;
- *derived* facts also include reviews (``review_posted`` earns the review bonus);
- *kept* facts, operator and job actions (enroll, redeem, adjust, expiry runs, birthday bonuses):
  never cleared, so a rebuild replays them at the same place in the log.

Each fact has a position (the event ``seq`` it follows), so the order of a replay is the order in
which things happened live. Ledger entries, lots and tiers are what ``LoyaltyBook`` makes of them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import yaml

from liuyu.domain.engagement.segment import to_text
from liuyu.domain.errors import Conflict, InvalidInput, LiuyuError, NotFound
from liuyu.domain.eventlog import Event
from liuyu.domain.loyalty import (
    AccountsMerged,
    AccountsUnmerged,
    Adjust,
    BonusEarned,
    Enroll,
    ExpireDue,
    Fact,
    LoyaltyBook,
    OrderRefunded,
    Program,
    Redeem,
    ReturnWindowClosed,
    ReviewTiers,
    load_program,
)
from liuyu.domain.loyalty import coupon as coupon_rules
from liuyu.domain.loyalty.account import MemberAccount
from liuyu.domain.loyalty.benefit import benefits_now, consume
from liuyu.domain.loyalty.card import member_card
from liuyu.domain.loyalty.coupon import Cart, CartLine
from liuyu.domain.loyalty.facts import order_paid_from
from liuyu.domain.loyalty.member import Consents, Member
from liuyu.domain.loyalty.rules import PaidLine, bonus_rule
from liuyu.services import engagement

DEFAULT_PROGRAM: dict[str, Any] = {
    "code": "MEMBERS",
    "name": "会员计划",
    "timezone": "Asia/Shanghai",
    "return_window_days": 7,
    "auto_enroll_on_first_order": True,
    "expiry": {"mode": "end_of_year", "years_after": 1},
    "tier_policy": {"basis": "points_earned", "window_days": 365, "grace_days": 30},
    "tiers": [
        {"code": "MEMBER", "name": "普通会员", "threshold": 0},
        {"code": "SILVER", "name": "银卡会员", "threshold": 1000, "benefits": {"free_shipping": True}},
        {
            "code": "GOLD",
            "name": "金卡会员",
            "threshold": 5000,
            "benefits": {"discount_rate": "0.95", "free_shipping": True, "points_multiplier": "1.5"},
        },
    ],
    "rules": [{"id": "base", "kind": "base_rate", "points_per_yuan": 1, "effective_from": "2000-01-01T00:00:00+08:00"}],
}
"""The program a workspace runs until an admin sets its own: 1 point per yuan, three tiers."""

MAX_BATCH = 64  # the coupon table's batch column

# Facts of one position replay in this rank: a merge found on an event before that event's orders.
RANK = {"merged": 0, "event": 1, "kept": 2}
DERIVED_KINDS = frozenset({"order_paid", "order_refunded", "order_completed", "review_posted", "merged", "unmerged"})
#: The derived facts a customer's own events make (remade for them after an unmerge).
EVENT_KINDS = ("order_paid", "order_refunded", "order_completed", "review_posted")


def program_from_yaml(text: str) -> Program:
    """Parse and validate a program written in YAML; problems name the field path."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidInput(f"the program is not valid YAML: {exc}", field="program") from exc
    if not isinstance(data, Mapping):
        raise InvalidInput("the program must be a YAML mapping (code, tiers, rules, …)", field="program")
    return load_program(data)


def program_document(program: Program) -> dict[str, Any]:
    """The program as JSON-ready data, for storage and the API."""
    return program.model_dump(mode="json")


@dataclass(frozen=True, slots=True)
class FactRecord:
    """One stored loyalty fact: what the domain fact needs, plus where it sits in the log."""

    key: str
    kind: str
    position: int
    at: datetime
    customer_id: int | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)
    actor: str = ""
    id: int = 0  # storage's own order among facts of the same position and rank

    @property
    def derived(self) -> bool:
        """True for facts made from events (cleared by a rebuild); False for operator and job actions."""
        return self.kind in DERIVED_KINDS

    def sort_key(self) -> tuple[int, int, int]:
        rank = RANK["merged"] if self.kind == "merged" else RANK["event" if self.derived else "kept"]
        return (self.position, rank, self.id)


def review_fact(seq: int, event: Event, customer_id: int) -> FactRecord:
    """A posted review earns the review bonus once per order reviewed (once per review when it names none)."""
    review = f"{event.source}:{event.external_id}"
    order_id = str(event.properties.get("order_id") or "").strip()[:150]
    ref = f"order:{order_id}" if order_id else review
    detail = {"review": review, **({"order": order_id} if order_id else {})}
    payload = {"kind": "review", "ref": ref, "channel": event.channel, "detail": detail}
    return FactRecord(f"bonus:review:{ref}", "review_posted", seq, event.utc(), customer_id, payload)


def facts_from_event(seq: int, event: Event, customer_id: int | None) -> list[FactRecord]:
    """The loyalty facts an event carries: a review, or an order snapshot's paid, refunded and completed."""
    if event.type == "review_posted" and customer_id is not None:
        return [review_fact(seq, event, customer_id)]
    order = event.order
    if order is None or customer_id is None:
        return []
    out: list[FactRecord] = []
    paid = order_paid_from(order, customer_id, event.channel)
    if paid is not None:
        lines = [{"line_id": x.line_id, "amount": str(x.amount), "category": x.category} for x in paid.lines]
        out.append(
            FactRecord(
                paid.key,
                "order_paid",
                seq,
                paid.at,
                customer_id,
                {"order_id": order.order_id, "channel": event.channel, "lines": lines},
            )
        )
    if order.refunded > 0:
        fen = int(order.refunded * 100)
        at = order.refunded_at or event.utc()
        key = f"order:{order.order_id}:refund:{fen}"
        full = order.paid is not None and order.refunded >= order.paid
        payload = {"order_id": order.order_id, "fen": fen, "full": full}
        out.append(FactRecord(key, "order_refunded", seq, at, customer_id, payload))
    if order.completed_at is not None:
        key = f"order:{order.order_id}:completed"
        out.append(
            FactRecord(key, "order_completed", seq, order.completed_at, customer_id, {"order_id": order.order_id})
        )
    return out


def domain_facts(program: Program, records: Iterable[FactRecord]) -> Iterator[Fact]:
    """Stored facts, in log order, as the domain's facts.

    Refunds are stored as the cumulative amount an order snapshot showed; each becomes the part
    not refunded before (a refund filed before its payment waits for it). Completed orders release
    their points at the first job run after the return window closes, so a replay releases them at
    the same place as the live run did.
    """
    refunded: dict[str, int] = {}
    paid: set[str] = set()
    held: dict[str, list[FactRecord]] = {}  # refunds of orders whose payment has not arrived yet
    waiting: dict[str, tuple[int, datetime]] = {}  # order -> (customer, window closes at)
    window = timedelta(days=program.return_window_days)

    def refund(record: FactRecord) -> Iterator[Fact]:
        order, fen = record.payload["order_id"], int(record.payload["fen"])
        before = refunded.get(order, 0)
        if fen > before:
            refunded[order] = fen
            amount = Decimal(fen - before) / 100
            yield OrderRefunded(record.customer_id or 0, order, str(fen), amount, record.at)

    for record in sorted(records, key=FactRecord.sort_key):
        p = record.payload
        if record.kind == "order_paid":
            lines = tuple(PaidLine(x["line_id"], Decimal(x["amount"]), x.get("category")) for x in p["lines"])
            yield _order_paid(record, lines)
            paid.add(p["order_id"])
            for early in held.pop(p["order_id"], []):
                yield from refund(early)
        elif record.kind == "order_refunded":
            if p["order_id"] in paid:
                yield from refund(record)
            else:
                held.setdefault(p["order_id"], []).append(record)
        elif record.kind == "order_completed":
            waiting.setdefault(p["order_id"], (record.customer_id or 0, record.at + window))
        elif record.kind == "merged":
            yield AccountsMerged(int(p["winner"]), record.customer_id or 0, record.at)
        elif record.kind == "unmerged":
            yield AccountsUnmerged(record.customer_id or 0, record.at)
        elif record.kind in ("review_posted", "bonus"):
            detail = tuple(sorted((str(k), str(v)) for k, v in (p.get("detail") or {}).items()))
            yield BonusEarned(
                record.customer_id or 0, p["kind"], p["ref"], record.at, str(p.get("channel", "other")), detail
            )
        elif record.kind == "enroll":
            yield Enroll(record.customer_id or 0, record.at, str(p.get("channel", "other")))
        elif record.kind == "redeem":
            yield Redeem(record.customer_id or 0, p["request_id"], int(p["points"]), record.at, p.get("reason", ""))
        elif record.kind == "adjust":
            yield Adjust(
                record.customer_id or 0, p["adjustment_id"], int(p["points"]), record.actor, p["reason"], record.at
            )
        elif record.kind == "job":
            due = sorted(
                (closes, order, customer) for order, (customer, closes) in waiting.items() if closes <= record.at
            )
            for closes, order, customer in due:
                del waiting[order]
                yield ReturnWindowClosed(customer, order, closes)
            yield ExpireDue(record.at)
            yield ReviewTiers(record.at)


def _order_paid(record: FactRecord, lines: tuple[PaidLine, ...]) -> Fact:
    from liuyu.domain.loyalty import OrderPaid

    p = record.payload
    return OrderPaid(record.customer_id or 0, p["order_id"], p["channel"], record.at, lines)


def build_book(program: Program, records: Iterable[FactRecord]) -> LoyaltyBook:
    """Replay stored facts; commands refused live (not enough points, not a member) are refused again."""
    book = LoyaltyBook(program)
    for fact in domain_facts(program, records):
        try:
            book.apply(fact)
        except LiuyuError:  # a bad fact from one channel file must not stop everyone's points
            continue
    return book


def components(merged: Iterable[tuple[int, int]], customers: Iterable[int]) -> dict[int, set[int]]:
    """Customers whose accounts ever merged share a history: group the given ones with everyone linked to them."""
    parent: dict[int, int] = {}

    def root(c: int) -> int:
        parent.setdefault(c, c)
        while parent[c] != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    for a, b in merged:
        parent[root(a)] = root(b)
    groups: dict[int, set[int]] = {}
    for c in list(parent):
        groups.setdefault(root(c), set()).add(c)
    out: dict[int, set[int]] = {}
    for c in customers:
        r = root(c)
        out[r] = groups.get(r, {c}) | {c}
    return out


# -- use cases ------------------------------------------------------------------------------
# ``uow`` is a unit of work with ``ingest`` (for the workspace lock), ``replay`` and ``loyalty``.


def set_program(uow: Any, workspace_id: int, text: str, *, actor: str, at: datetime) -> Program:
    """Validate a YAML program and make it the workspace's; past entries are replayed under its rule versions."""
    program = program_from_yaml(text)
    uow.ingest.lock_workspace(workspace_id)
    uow.loyalty.set_program(workspace_id, program_document(program), text, actor, at)
    # Tiers and settings may change what the stored rows say: write them again under the new program.
    uow.loyalty.materialize(workspace_id, uow.loyalty.all_customers(workspace_id), rewrite=True)
    return program


def _act(uow: Any, workspace_id: int, record: FactRecord, fact: Fact, component: set[int] | None = None) -> list[Any]:
    """Check an operator action against the member's replayed account, then store it and its entries.

    The action is the newest fact of the member, so the book replayed to check it is, with the
    action applied, the book a fresh replay would give: its rows are written without replaying twice.
    """
    customer = record.customer_id or 0
    if component is None:
        component = uow.loyalty.component_of(workspace_id, [customer])
    records = uow.loyalty.facts_of(workspace_id, component)
    book = build_book(uow.loyalty.program(workspace_id), records)
    entries = book.apply(fact)  # raises when refused: nothing is stored
    uow.loyalty.add_facts(workspace_id, [record])
    uow.loyalty.write(workspace_id, book, component, [*records, record])
    return entries


def _lock_and_seen(uow: Any, workspace_id: int, key: str) -> FactRecord | None:
    uow.ingest.lock_workspace(workspace_id)
    return uow.loyalty.fact(workspace_id, key)


def redeem(
    uow: Any, workspace_id: int, customer_id: int, *, points: int, request_id: str, at: datetime, reason: str = ""
) -> dict[str, Any]:
    """Spend points once per request id; a retry returns the first answer, a short balance is refused."""
    if points <= 0:
        raise InvalidInput("points to redeem must be a positive whole number", field="points", value=points)
    if not request_id.strip():
        raise InvalidInput("a redemption needs a request id (its idempotency key)", field="request_id")
    key = f"redeem:{request_id}"
    component = uow.loyalty.lock_member(workspace_id, customer_id)  # other members' redemptions go on meanwhile
    seen, rebuilding = uow.loyalty.fact_and_rebuild(workspace_id, key)
    if seen is not None:
        if seen.customer_id != customer_id or int(seen.payload["points"]) != points:
            raise Conflict(f"request id {request_id} was already used for another redemption")
        return {"request_id": request_id, "points": points, "replayed": True}
    payload = {"request_id": request_id, "points": points, "reason": reason}
    record = FactRecord(key, "redeem", 0, at, customer_id, payload, str(customer_id))
    fact = Redeem(customer_id, request_id, points, at, reason)
    if rebuilding or not _spend(uow, workspace_id, record, fact, points, component):
        _act(uow, workspace_id, replace(record, position=uow.loyalty.log_end(workspace_id)), fact, component)
    return {"request_id": request_id, "points": points, "replayed": False}


def _spend(
    uow: Any, workspace_id: int, record: FactRecord, fact: Redeem | Adjust, points: int, component: set[int] | None
) -> bool:
    """Spend from the stored balances without replaying the member's history; False leaves it to ``_act``.

    ``record`` gets its position (the log's end) here, read with the balance.

    The stored rows are the replay of every fact so far, and spending looks only at the available
    balance and the lots, so one conditional update of the balance (which also queues concurrent
    spenders of the same member) and the lots summed from the entries decide exactly what a replay
    would. When the row cannot decide (not a member, balance short) the replay decides and words
    the refusal.
    """
    customer = record.customer_id or 0
    if component is None:
        component = uow.loyalty.component_of(workspace_id, [customer])
    primary = customer
    if len(component) > 1:  # merged at some time: the account may be someone else's now
        row = uow.loyalty.member(workspace_id, customer)
        if row is None:
            return False
        primary = row["customer_id"]
    spent = uow.loyalty.spend(workspace_id, primary, points)
    if spent is None:
        return False
    customers, program, log_end = spent
    account = MemberAccount.holding(program, primary, uow.loyalty.lots(workspace_id, customers, program), record.at)
    entries = account.apply_spending(fact)
    uow.loyalty.add_facts(workspace_id, [replace(record, position=log_end)], checked=True)
    uow.loyalty.add_entries(workspace_id, entries)
    return True


def adjust(
    uow: Any,
    workspace_id: int,
    customer_id: int,
    *,
    points: int,
    adjustment_id: str,
    operator: str,
    reason: str,
    at: datetime,
) -> dict[str, Any]:
    """Grant (positive) or take back (negative) points, always with the operator and a reason."""
    if points == 0:
        raise InvalidInput("an adjustment moves at least one point", field="points", value=points)
    if not reason.strip():
        raise InvalidInput("an adjustment needs a reason", field="reason")
    key = f"adjust:{adjustment_id}"
    component = uow.loyalty.lock_member(workspace_id, customer_id)
    seen, rebuilding = uow.loyalty.fact_and_rebuild(workspace_id, key)
    if seen is not None:
        return {"adjustment_id": adjustment_id, "points": points, "replayed": True}
    payload = {"adjustment_id": adjustment_id, "points": points, "reason": reason}
    record = FactRecord(key, "adjust", 0, at, customer_id, payload, operator)
    fact = Adjust(customer_id, adjustment_id, points, operator, reason, at)
    # A deduction the balance covers is a spending; a grant may pay debts, which only a replay knows.
    if rebuilding or points > 0 or not _spend(uow, workspace_id, record, fact, -points, component):
        _act(uow, workspace_id, replace(record, position=uow.loyalty.log_end(workspace_id)), fact, component)
    return {"adjustment_id": adjustment_id, "points": points, "replayed": False}


def enroll(
    uow: Any,
    workspace_id: int,
    customer_id: int,
    *,
    channel: str,
    at: datetime,
    consents: Mapping[str, bool] | None = None,
    actor: str = "",
) -> dict[str, Any]:
    """Make a customer a member (enrolling twice keeps the first enrollment)."""
    if uow.replay.customer(workspace_id, customer_id) is None:
        raise NotFound(f"no customer {customer_id}")
    key = f"enroll:{customer_id}"
    if _lock_and_seen(uow, workspace_id, key) is None:
        payload = {"channel": channel, "consents": dict(consents or {})}
        record = FactRecord(key, "enroll", uow.loyalty.log_end(workspace_id), at, customer_id, payload, actor)
        _act(uow, workspace_id, record, Enroll(customer_id, at, channel))
    member = uow.loyalty.member(workspace_id, customer_id)
    assert member is not None
    return member


def run_due(uow: Any, workspace_id: int, *, at: datetime) -> dict[str, int]:
    """The daily job: release points whose return window has closed, expire due lots, review tiers,
    expire unused coupons and award the birthday bonuses due this month."""
    uow.ingest.lock_workspace(workspace_id)
    before = uow.loyalty.points_by_kind(workspace_id)
    record = FactRecord(f"job:{at.isoformat()}", "job", uow.loyalty.log_end(workspace_id), at)
    uow.loyalty.add_facts(workspace_id, [record])
    uow.loyalty.materialize(workspace_id, uow.loyalty.all_customers(workspace_id))
    after = uow.loyalty.points_by_kind(workspace_id)
    done = {kind: after.get(kind, 0) - before.get(kind, 0) for kind in ("released", "expired")}
    return {
        **done,
        "coupons_expired": uow.loyalty.expire_coupons(workspace_id, at),
        "birthday_bonuses": award_birthdays(uow, workspace_id, at=at),
    }


def award_birthdays(uow: Any, workspace_id: int, *, at: datetime) -> int:
    """Give the birthday bonus to members whose birthday month it is, once a year; returns how many got it.

    The birthday is the customer profile's (an ``identify`` trait or an order's buyer data). Each award
    is a kept fact, so a rebuild gives it again at the same place in the log.
    """
    program = uow.loyalty.program(workspace_id)
    if bonus_rule(program, "birthday", at) is None:
        return 0
    local = at.astimezone(program.zone)
    end = uow.loyalty.log_end(workspace_id)
    candidates: list[FactRecord] = []
    for primary, born in uow.loyalty.member_birthdays(workspace_id):
        if born.month != local.month:
            continue
        ref = f"{primary}:{local.year}"
        payload = {"kind": "birthday", "ref": ref, "detail": {"birthday": f"{born:%m-%d}", "year": str(local.year)}}
        candidates.append(FactRecord(f"bonus:birthday:{ref}", "bonus", end, at, primary, payload, "job"))
    known = uow.loyalty.known_keys(workspace_id, [r.key for r in candidates])
    candidates = [r for r in candidates if r.key not in known]
    if not candidates:
        return 0
    book = uow.loyalty.book(workspace_id, [r.customer_id for r in candidates])
    awarded = [r for r, fact in zip(candidates, domain_facts(program, candidates), strict=True) if book.apply(fact)]
    uow.loyalty.add_facts(workspace_id, awarded)
    if awarded:
        uow.loyalty.materialize(workspace_id, [r.customer_id for r in awarded])
    return len(awarded)


# -- reading a member -----------------------------------------------------------------------


def _account(uow: Any, workspace_id: int, customer_id: int) -> tuple[LoyaltyBook, Any]:
    book = uow.loyalty.book(workspace_id, [customer_id])
    account = book.account_of(customer_id)
    if account is None:
        raise NotFound(f"customer {customer_id} is not a member")
    return book, account


def _member(uow: Any, workspace_id: int, customer_id: int, program: Program) -> Member:
    row = uow.loyalty.member(workspace_id, customer_id)
    if row is None:
        raise NotFound(f"customer {customer_id} is not a member")
    consents = Consents(**{k: bool(v) for k, v in row["consents"].items() if k in Consents.__dataclass_fields__})
    known = uow.loyalty.birthdays(workspace_id, row["customers"])
    born = next((known[c] for c in [row["customer_id"], *row["customers"]] if c in known), None)
    return Member(
        row["customer_id"],
        row["member_no"],
        program.code,
        row["join_channel"],
        row["joined_at"],
        consents,
        birthday=born,
        enrolled_by=row["enrolled_by"],
    )


def card(uow: Any, workspace_id: int, customer_id: int, *, at: datetime) -> dict[str, Any]:
    """The member card: tier and progress, points available and pending, what expires when, coupons, benefits."""
    book, account = _account(uow, workspace_id, customer_id)
    shown = member_card(account, at)
    member = _member(uow, workspace_id, customer_id, book.program)
    progress = shown.progress
    return {
        "customer_id": account.primary,
        "customers": sorted(account.customer_ids),
        "member_no": member.member_no,
        "join_channel": member.join_channel,
        "joined_at": member.joined_at.isoformat(),
        "enrolled_by": member.enrolled_by,
        "consents": asdict(member.consents),
        "tier": {
            "code": shown.tier,
            "name": book.program.tier(shown.tier).name,
            "value": str(progress.value),
            "next_tier": progress.next_tier,
            "next_threshold": None if progress.next_threshold is None else str(progress.next_threshold),
            "remaining": str(progress.remaining),
            "basis": book.program.tier_policy.basis,
        },
        "points": {"available": shown.available, "pending": shown.pending, "debt": shown.debt},
        "next_expiry": None
        if shown.next_expiry is None
        else {"at": shown.next_expiry[0].isoformat(), "points": shown.next_expiry[1]},
        "expiring": [{"at": when.isoformat(), "points": points} for when, points in shown.expiring],
        "tier_history": [
            {"at": c.at.isoformat(), "from": c.from_tier, "to": c.to_tier, "reason": c.reason}
            for c in account.tier.history
        ],
        "coupons": uow.loyalty.coupons(workspace_id, sorted(account.customer_ids)),
        "benefits": benefits(uow, workspace_id, customer_id, at=at, book=book),
    }


def ledger(uow: Any, workspace_id: int, customer_id: int, **filters: Any) -> list[dict[str, Any]]:
    """The entries of the member's account (every customer merged into it), newest first."""
    _, account = _account(uow, workspace_id, customer_id)
    return uow.loyalty.entries(workspace_id, account.customer_ids, **filters)


# -- benefits -------------------------------------------------------------------------------


def benefits(
    uow: Any, workspace_id: int, customer_id: int, *, at: datetime, book: LoyaltyBook | None = None
) -> list[dict[str, Any]]:
    """What may this member have now? Standing benefits and the consumable ones with their used flag."""
    if book is None:
        book, account = _account(uow, workspace_id, customer_id)
    else:
        account = book.account_of(customer_id)
    member = _member(uow, workspace_id, customer_id, book.program)
    used = uow.loyalty.benefit_keys(workspace_id, customer_id)
    return [asdict(b) for b in benefits_now(book.program, member, account.tier.code, at, used)]


def consume_benefit(
    uow: Any, workspace_id: int, customer_id: int, *, kind: str, channel: str, at: datetime, value: str | None = None
) -> dict[str, Any]:
    """Take a consumable benefit once; a second request from any channel is refused."""
    uow.ingest.lock_workspace(workspace_id)
    book, account = _account(uow, workspace_id, customer_id)
    member = _member(uow, workspace_id, customer_id, book.program)
    used = uow.loyalty.benefit_keys(workspace_id, customer_id)
    taken = consume(book.program, member, account.tier.code, kind, at, used, channel=channel, value=value)
    uow.loyalty.add_benefit_use(workspace_id, taken)
    return asdict(taken)


# -- coupons --------------------------------------------------------------------------------


def issue_coupons(
    uow: Any, workspace_id: int, template_code: str, customer_ids: list[int], *, at: datetime, batch: str
) -> list[dict[str, Any]]:
    """One unique code per customer (one member or a list); codes are stable for a (batch, number)."""
    if not customer_ids:
        raise InvalidInput("name at least one customer to issue coupons to", field="customer_ids")
    program = uow.loyalty.program(workspace_id)
    template = _template(program, template_code)
    for customer in customer_ids:
        if uow.replay.customer(workspace_id, customer) is None:
            raise NotFound(f"no customer {customer}")
    uow.ingest.lock_workspace(workspace_id)
    start = uow.loyalty.coupons_in_batch(workspace_id, batch)
    made = coupon_rules.issue(
        template, customer_ids, at, batch=batch, secret=uow.loyalty.secret(workspace_id), start=start
    )
    uow.loyalty.add_coupons(workspace_id, made)
    return [_coupon_dict(c) for c in made]


def issue_to_segment(
    uow: Any, workspace_id: int, template_code: str, segment: str, *, at: datetime, run_key: str | None = None
) -> dict[str, Any]:
    """One coupon per customer in a segment's result now: a saved segment by name, or an expression.

    Idempotent per (template, run key): the batch is named after both, and customers who hold a
    coupon of that batch already are skipped, so running it again issues only to newcomers. The run
    key defaults to the segment's name (or a fingerprint of the expression); give another one
    (``2026-12``) for a new round.
    """
    program = uow.loyalty.program(workspace_id)
    template = _template(program, template_code)
    text = segment.strip()
    if not text:
        raise InvalidInput("name a saved segment or give a segment expression", field="segment")
    saved = next((s for s in uow.engagement.segments(workspace_id) if s["name"] == text), None)
    if saved is not None:
        refreshed = engagement.refresh_segment(uow, workspace_id, saved["id"], now=at)
        ids = list(uow.engagement.member_ids(workspace_id, saved["id"]))
        label = refreshed["name"]
    else:
        tree = engagement.read_expression(text=text)
        ids = uow.loyalty.segment_ids(workspace_id, tree, at)
        label = "expr-" + hashlib.sha256(to_text(tree).encode()).hexdigest()[:12]
    key = (run_key or label).strip()
    if not key:
        raise InvalidInput("a run key cannot be empty", field="run_key")
    batch = f"{template.code}@{key}"
    if len(batch) > MAX_BATCH:
        batch = f"{template.code[:30]}@{hashlib.sha256(key.encode()).hexdigest()[:24]}"
    uow.ingest.lock_workspace(workspace_id)
    holding = uow.loyalty.customers_in_batch(workspace_id, batch)
    new = [c for c in ids if c not in holding]
    start = uow.loyalty.coupons_in_batch(workspace_id, batch)
    made = coupon_rules.issue(template, new, at, batch=batch, secret=uow.loyalty.secret(workspace_id), start=start)
    uow.loyalty.add_coupons(workspace_id, made)
    return {
        "template": template.code,
        "segment": label,
        "batch": batch,
        "matched": len(ids),
        "issued": len(made),
        "already_held": len(ids) - len(new),
        "coupons": [_coupon_dict(c) for c in made],
    }


def claim_coupon(uow: Any, workspace_id: int, code: str, *, customer_id: int, at: datetime) -> dict[str, Any]:
    """A member claims a shared batch code (``DOUBLE11``) and gets their own coupon, once per batch.

    Claims queue on the workspace lock, and the coupon's code is the same for every claim of one
    member on one batch, so of several claims at once exactly one is stored; the others are refused.
    """
    program = uow.loyalty.program(workspace_id)
    shared = coupon_rules.batch_code(code)
    try:
        template = program.template_for_batch_code(shared)
    except KeyError:
        raise NotFound(f"no batch code {shared!r} in the program's coupon templates") from None
    if uow.loyalty.member(workspace_id, customer_id) is None:
        raise NotFound(f"customer {customer_id} is not a member")
    coupon = coupon_rules.claim_batch_code(template, shared, customer_id, at, secret=uow.loyalty.secret(workspace_id))
    uow.ingest.lock_workspace(workspace_id)
    if uow.loyalty.coupon(workspace_id, coupon.code) is not None:
        raise Conflict(f"customer {customer_id} has already claimed {shared} (coupon {coupon.code})")
    uow.loyalty.add_coupons(workspace_id, [coupon])
    return _coupon_dict(coupon)


def redeem_coupon(
    uow: Any,
    workspace_id: int,
    code: str,
    *,
    customer_id: int,
    order_id: str,
    channel: str,
    lines: list[tuple[Decimal, str | None]],
    at: datetime,
    shipping: Decimal = Decimal(0),
) -> dict[str, Any]:
    """Use a coupon on one order, exactly once: the status changes only if nobody changed it first."""
    stored = uow.loyalty.coupon_to_redeem(workspace_id, code.strip().upper())
    if stored is None:
        raise NotFound(f"no coupon {code}")
    found, program = stored
    template = _template(program, found.template)
    cart = Cart(channel, tuple(CartLine(amount, category) for amount, category in lines), shipping)
    used, amount = coupon_rules.redeem(
        found, template, program, customer_id=customer_id, cart=cart, order_id=order_id, at=at
    )
    if found.status != "redeemed" and not uow.loyalty.mark_redeemed(workspace_id, used, amount):
        raise Conflict(f"coupon {found.code} was redeemed by another request just now")
    return {**_coupon_dict(used), "discount": str(amount.quantize(Decimal("0.01")))}


def return_refunded_coupons(store: Any, workspace_id: int, records: Iterable[FactRecord]) -> int:
    """Full refunds give back the coupons redeemed on those orders, where the template or program says so.

    Only coupons redeemed before the refund come back, so replaying the refund in a rebuild decides
    the same way as the live run did. ``store`` is the loyalty store (``uow.loyalty``), which the
    projection calls this with. Returns how many came back.
    """
    refunds = {
        str(r.payload["order_id"]): r.at for r in records if r.kind == "order_refunded" and r.payload.get("full")
    }
    if not refunds:
        return 0
    used = [c for c in store.coupons_on_orders(workspace_id, sorted(refunds)) if c.status == "redeemed"]
    if not used:
        return 0
    program = store.program(workspace_id)
    returned = 0
    for coupon in used:
        refunded_at = refunds[coupon.order_id]
        if coupon.redeemed_at is not None and coupon.redeemed_at > refunded_at:
            continue
        try:
            template = program.template(coupon.template)
        except KeyError:
            continue  # a template the program no longer has keeps its coupons as they are
        back = coupon_rules.return_on_refund(coupon, template, program, order_id=coupon.order_id, at=refunded_at)
        if back is not coupon and store.put_back(workspace_id, back, coupon.order_id):
            returned += 1
    return returned


def _template(program: Program, code: str) -> Any:
    try:
        return program.template(code)
    except KeyError:
        known = ", ".join(t.code for t in program.coupon_templates) or "none yet"
        raise NotFound(f"no coupon template {code!r} in the program (templates: {known})") from None


def _coupon_dict(coupon: Any) -> dict[str, Any]:
    return {
        "code": coupon.code,
        "template": coupon.template,
        "customer_id": coupon.customer_id,
        "status": coupon.status,
        "issued_at": coupon.issued_at.isoformat(),
        "expires_at": coupon.expires_at.isoformat(),
        "order_id": coupon.order_id,
        "batch": coupon.batch,
    }
