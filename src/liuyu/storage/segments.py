"""Segments on the database: compile a segment tree to a SQLAlchemy ``select`` of customer ids.

Values are always bound parameters, never pasted into SQL. Each name in an expression is
looked up in a :class:`FieldRegistry`; the member center adds ``tier`` and ``points`` to
:data:`FIELDS` when it lands (``FIELDS.add_value("tier", lambda scope: …, kind="text")``).

Conventions that keep SQL and :func:`liuyu.domain.engagement.segment.explain` in agreement:
a comparison never matches an unknown (NULL) value, so ``not x > 1`` includes customers with
no value; ``days_since_…`` counts whole days; money is typed in yuan and stored in fen.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Engine,
    Select,
    and_,
    exists,
    false,
    func,
    literal_column,
    not_,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.types import Boolean

from liuyu.domain.engagement.segment import And, Call, Compare, InList, Node, Not, Or, Value, explain, walk
from liuyu.domain.engagement.segment import Clause as Explanation
from liuyu.domain.errors import InvalidInput
from liuyu.domain.orders import from_fen
from liuyu.storage import tables as t
from liuyu.storage.engagement_tables import customer_scores

Clause = ColumnElement[bool]

#: Kinds of value fields: how a typed value turns into a condition on the stored column.
#: ``number`` is a whole-number quantity (counts, scores); ``real`` a fraction compared as typed.
KINDS = ("number", "real", "text", "money", "days_since")


@dataclass(frozen=True, slots=True)
class Scope:
    """What every condition is relative to: the workspace, and "now" for day counts.

    ``correlated``: the query checks a few given customers (membership upkeep), so subqueries
    look up each customer's own rows instead of reading every holder of a tag or category.
    """

    workspace_id: int
    now: datetime
    correlated: bool = False


@dataclass(frozen=True, slots=True)
class ValueField:
    """A field compared with ``=``, ``>``, ``in``…: ``column`` gives its SQL expression per customer."""

    column: Callable[[Scope], ColumnElement[Any]]
    kind: str = "number"
    help: str = ""


@dataclass(frozen=True, slots=True)
class PredicateField:
    """A field called like ``tag("…")``: ``clause`` gives the condition "has any of these"."""

    clause: Callable[[Scope, tuple[Value, ...]], Clause]
    help: str = ""


@dataclass
class FieldRegistry:
    """The names an expression may use; other parts of liuyu add theirs."""

    values: dict[str, ValueField] = field(default_factory=dict)
    predicates: dict[str, PredicateField] = field(default_factory=dict)

    def add_value(
        self, name: str, column: Callable[[Scope], ColumnElement[Any]], kind: str = "number", help: str = ""
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown field kind {kind!r}; one of {KINDS}")
        self.values[name] = ValueField(column, kind, help)

    def add_predicate(self, name: str, clause: Callable[[Scope, tuple[Value, ...]], Clause], help: str = "") -> None:
        self.predicates[name] = PredicateField(clause, help)

    def names(self) -> list[str]:
        return sorted(self.values) + [f"{name}(…)" for name in sorted(self.predicates)]


# -- the built-in fields --------------------------------------------------------------------

c, tr = t.customers, t.customer_traits
PAID_ORDER = t.orders.c.paid_fen.is_not(None)  # the orders the traits count as purchases


def _bought(column: ColumnElement[Any]) -> Callable[[Scope, tuple[Value, ...]], Clause]:
    def clause(scope: Scope, args: tuple[Value, ...]) -> Clause:
        bought = (
            select(t.orders.c.customer_id)
            .join(t.order_lines, t.order_lines.c.order_pk == t.orders.c.id)
            .where(t.orders.c.workspace_id == scope.workspace_id, PAID_ORDER, column.in_([str(a) for a in args]))
        )
        if scope.correlated:
            bought = bought.where(t.orders.c.customer_id == c.c.id)
        return c.c.id.in_(bought)

    return clause


def _category_count(scope: Scope) -> ColumnElement[Any]:
    bought = (
        select(func.count(t.order_lines.c.category.distinct()))
        .select_from(t.orders.join(t.order_lines, t.order_lines.c.order_pk == t.orders.c.id))
        .where(t.orders.c.workspace_id == scope.workspace_id, t.orders.c.customer_id == c.c.id, PAID_ORDER)
        .scalar_subquery()
    )
    return bought


def _tagged(scope: Scope, args: tuple[Value, ...]) -> Clause:
    tagged = select(t.customer_tags.c.customer_id).where(
        t.customer_tags.c.workspace_id == scope.workspace_id, t.customer_tags.c.tag.in_([str(a) for a in args])
    )
    if scope.correlated:
        tagged = tagged.where(t.customer_tags.c.customer_id == c.c.id)
    return c.c.id.in_(tagged)


def _used_channel(scope: Scope, args: tuple[Value, ...]) -> Clause:
    return JsonArrayHasAny(tr.c.channels, tuple(str(a) for a in args))


def default_fields() -> FieldRegistry:
    """The fields every workspace has, over customers, customer_traits, tags and orders."""
    fields = FieldRegistry()
    fields.add_value("order_count", lambda s: func.coalesce(tr.c.order_count, 0), help="paid orders")
    fields.add_value("total_spent", lambda s: func.coalesce(tr.c.total_spent_fen, 0), "money", "paid minus refunded")
    fields.add_value("aov", lambda s: func.coalesce(tr.c.aov_fen, 0), "money", "average order value")
    fields.add_value("days_since_last_order", lambda s: tr.c.last_order_at, "days_since")
    fields.add_value("days_since_first_order", lambda s: tr.c.first_order_at, "days_since")
    fields.add_value("days_since_last_seen", lambda s: c.c.last_seen, "days_since")
    for name in ("city", "province", "gender"):
        fields.add_value(name, lambda s, name=name: c.c[name], "text")
    fields.add_value("preferred_channel", lambda s: tr.c.preferred_channel, "text", "the channel with most events")
    fields.add_value("category_count", _category_count, help="distinct categories bought in paid orders")
    fields.add_predicate("tag", _tagged, "has any of these tags")
    fields.add_predicate("channel", _used_channel, "has used any of these channels")
    fields.add_predicate("bought_category", _bought(t.order_lines.c.category), "a paid order had this category")
    fields.add_predicate("bought_sku", _bought(t.order_lines.c.sku), "a paid order had this SKU")
    for name, kind, help in SCORE_FIELDS:
        fields.add_value(name, lambda s, name=name: _score(s, name), kind, help)
    return fields


#: Computed by ``liuyu traits refresh`` (liuyu.services.engagement.refresh_traits).
SCORE_FIELDS = (
    ("rfm_r", "number", "recency score 1-5 (5 = bought most recently)"),
    ("rfm_f", "number", "frequency score 1-5"),
    ("rfm_m", "number", "monetary score 1-5"),
    ("rfm_cell", "text", 'the RFM cell, e.g. "R5F3M4"'),
    ("lifecycle", "text", "prospect, new_member, first_purchase, repeat, loyal, at_risk, dormant, churned"),
    ("p_alive", "real", "chance (0-1) the customer still buys, from the BG/NBD fit"),
    ("predicted_purchases", "real", "expected purchases over the workspace's horizon (90 days unless set)"),
)


def _score(scope: Scope, name: str) -> ColumnElement[Any]:
    sc = customer_scores
    return (
        select(sc.c[name]).where(sc.c.workspace_id == scope.workspace_id, sc.c.customer_id == c.c.id).scalar_subquery()
    )


#: The registry used when none is given; extend it, do not replace it.
FIELDS = default_fields()


# -- JSON arrays, the one place where SQLite and PostgreSQL differ ---------------------------


class JsonArrayHasAny(ColumnElement[bool]):
    """True when a JSON array column holds any of ``values``."""

    type = Boolean()
    inherit_cache = False

    def __init__(self, column: ColumnElement[Any], values: tuple[str, ...]) -> None:
        self.column = column
        self.values = values


@compiles(JsonArrayHasAny, "sqlite")
def _json_has_any_sqlite(element: JsonArrayHasAny, compiler: SQLCompiler, **kw: Any) -> str:
    items = func.json_each(element.column).table_valued("value")
    query = exists(select(literal_column("1")).select_from(items).where(items.c.value.in_(element.values)))
    return compiler.process(query, **kw)


@compiles(JsonArrayHasAny, "postgresql")
def _json_has_any_postgresql(element: JsonArrayHasAny, compiler: SQLCompiler, **kw: Any) -> str:
    column = type_coerce(element.column, postgresql.JSONB())
    return compiler.process(column.has_any(postgresql.array(element.values)), **kw)


# -- compiling ------------------------------------------------------------------------------


def _fail(reason: str, node: Compare | InList | Call, value: object = None) -> InvalidInput:
    where = f"position {node.position + 1}" if node.position >= 0 else ""
    return InvalidInput(reason, where=where, field=getattr(node, "field", getattr(node, "name", "")), value=value)


def _unknown(name: str, node: Compare | InList | Call, fields: FieldRegistry) -> InvalidInput:
    return _fail(f"unknown field {name!r}; known: {', '.join(fields.names())}", node)


def _number(value: Value, node: Compare | InList) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise _fail(f"{node.field} compares with a number, not text", node, value)
    return Decimal(value)


def _whole_number_test(
    op: str, n: Decimal, at_least: Callable[[int], Clause], at_most: Callable[[int], Clause]
) -> Clause:
    """A condition on a whole-number quantity, from ``op n`` where n may have decimals."""
    low, high = math.floor(n), math.ceil(n)
    whole = low == high
    if op == ">":
        return at_least(low + 1)
    if op == ">=":
        return at_least(high)
    if op == "<":
        return at_most(high - 1)
    if op == "<=":
        return at_most(low)
    if op == "=":
        return and_(at_least(low), at_most(low)) if whole else false()
    return or_(at_most(low - 1), at_least(low + 1)) if whole else true()


def _compare(spec: ValueField, column: ColumnElement[Any], op: str, value: Value, scope: Scope, node: Any) -> Clause:
    known = column.is_not(None)
    if spec.kind == "text":
        if not isinstance(value, str):
            raise _fail(f"{node.field} compares with text in quotes", node, value)
        if op not in ("=", "!="):
            raise _fail(f"{node.field} is text: use =, != or in", node, op)
        return and_(known, column == value if op == "=" else column != value)
    number = _number(value, node)
    if spec.kind == "days_since":
        # whole days since t >= k  <=>  t <= now - k days;  whole days <= k  <=>  t > now - (k + 1) days
        return and_(
            known,
            _whole_number_test(
                op,
                number,
                lambda k: column <= scope.now - timedelta(days=k),
                lambda k: column > scope.now - timedelta(days=k + 1),
            ),
        )
    if spec.kind == "real":
        return and_(known, _REAL_TESTS[op](column, number))
    if spec.kind == "money":
        number = number * 100
    return and_(known, _whole_number_test(op, number, lambda k: column >= k, lambda k: column <= k))


_REAL_TESTS: dict[str, Callable[[ColumnElement[Any], Decimal], Clause]] = {
    "=": lambda col, n: col == n,
    "!=": lambda col, n: col != n,
    "<": lambda col, n: col < n,
    "<=": lambda col, n: col <= n,
    ">": lambda col, n: col > n,
    ">=": lambda col, n: col >= n,
}


def _compile(node: Node, scope: Scope, fields: FieldRegistry) -> Clause:
    match node:
        case And(operands):
            return and_(*(_compile(p, scope, fields) for p in operands))
        case Or(operands):
            return or_(*(_compile(p, scope, fields) for p in operands))
        case Not(operand):
            return not_(_compile(operand, scope, fields))
        case Call(name, args):
            if name not in fields.predicates:
                hint = f"; {name} is compared, e.g. {name} = …" if name in fields.values else ""
                raise _fail(f"unknown function {name!r}{hint}; known: {', '.join(fields.names())}", node)
            return fields.predicates[name].clause(scope, args)
        case Compare(name) | InList(name) if name in fields.predicates:
            raise _fail(f'{name} is called with a value in brackets: {name}("…")', node)
        case Compare(name, op, value):
            if name not in fields.values:
                raise _unknown(name, node, fields)
            spec = fields.values[name]
            return _compare(spec, spec.column(scope), op, value, scope, node)
        case InList(name, values, negated):
            if name not in fields.values:
                raise _unknown(name, node, fields)
            spec = fields.values[name]
            column = spec.column(scope)
            if spec.kind == "text":
                if not all(isinstance(v, str) for v in values):
                    raise _fail(f"{name} compares with text in quotes", node, values)
                listed = column.in_([str(v) for v in values])
            else:
                listed = or_(*(_compare(spec, column, "=", v, scope, node) for v in values))
            return and_(column.is_not(None), not_(listed) if negated else listed)
    raise TypeError(f"not a segment node: {node!r}")


def compile_segment(
    tree: Node,
    workspace_id: int,
    now: datetime | None = None,
    fields: FieldRegistry | None = None,
    *,
    correlated: bool = False,
) -> Select[tuple[int]]:
    """The ids of the workspace's live customers (not merged away, not erased) that match ``tree``.

    ``correlated`` when the caller restricts the query to a few customers (see Scope).
    """
    scope = Scope(workspace_id, now or datetime.now(UTC), correlated=correlated)
    condition = _compile(tree, scope, fields or FIELDS)
    return (
        select(c.c.id)
        .select_from(c.outerjoin(tr, tr.c.customer_id == c.c.id))
        .where(c.c.workspace_id == workspace_id, c.c.merged_into.is_(None), c.c.erased_at.is_(None), condition)
    )


def count(engine: Engine, workspace_id: int, tree: Node, now: datetime | None = None) -> int:
    """How many customers the segment holds now (the builder's live count)."""
    query = compile_segment(tree, workspace_id, now).with_only_columns(func.count(), maintain_column_froms=True)
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def preview(
    engine: Engine, workspace_id: int, tree: Node, limit: int = 20, now: datetime | None = None
) -> list[dict[str, Any]]:
    """The first ``limit`` members by id, with what an operator wants to see beside them."""
    ids = compile_segment(tree, workspace_id, now).order_by(c.c.id).limit(limit).subquery()
    query = (
        select(
            c.c.id,
            c.c.name,
            c.c.province,
            c.c.city,
            func.coalesce(tr.c.order_count, 0).label("order_count"),
            func.coalesce(tr.c.total_spent_fen, 0).label("total_spent_fen"),
            tr.c.last_order_at,
        )
        .select_from(ids.join(c, c.c.id == ids.c.id).outerjoin(tr, tr.c.customer_id == c.c.id))
        .order_by(c.c.id)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [
        {**{k: v for k, v in row.items() if k != "total_spent_fen"}, "total_spent": from_fen(row["total_spent_fen"])}
        for row in rows
    ]


def values_for_explain(
    engine: Engine,
    workspace_id: int,
    customer_id: int,
    tree: Node,
    now: datetime | None = None,
    fields: FieldRegistry | None = None,
) -> dict[str, object]:
    """One customer's value of every field ``tree`` uses, in the form ``explain`` takes."""
    fields = fields or FIELDS
    scope = Scope(workspace_id, now or datetime.now(UTC))
    base = select().select_from(c.outerjoin(tr, tr.c.customer_id == c.c.id))
    base = base.where(c.c.workspace_id == workspace_id, c.c.id == customer_id)
    values: dict[str, object] = {}
    with engine.connect() as conn:
        for test in walk(tree):
            if isinstance(test, Call):
                if test.name not in fields.predicates:
                    raise _fail(f"unknown function {test.name!r}", test)
                held = set(values.get(test.name, set()))  # type: ignore[call-overload]
                for arg in test.args:
                    clause = fields.predicates[test.name].clause(scope, (arg,))
                    if conn.execute(base.add_columns(literal_column("1")).where(clause)).first():
                        held.add(str(arg))
                values[test.name] = held
                continue
            if test.field not in fields.values:
                raise _unknown(test.field, test, fields)
            spec = fields.values[test.field]
            raw = conn.execute(base.add_columns(spec.column(scope))).scalar()
            values[test.field] = _shown(spec.kind, raw, scope.now)
    return values


def explain_customer(
    engine: Engine, workspace_id: int, customer_id: int, tree: Node, now: datetime | None = None
) -> Explanation:
    """Why this customer is in (or out of) the segment: every clause with its value and verdict."""
    moment = now or datetime.now(UTC)
    return explain(tree, values_for_explain(engine, workspace_id, customer_id, tree, moment))


def member_ids(
    engine: Engine, workspace_id: int, tree: Node, now: datetime | None = None, batch: int = 10_000
) -> Iterator[list[int]]:
    """All member ids in id order, a batch at a time (for export and for refreshing memberships)."""
    query = compile_segment(tree, workspace_id, now)
    after = 0
    with engine.connect() as conn:
        while True:
            ids = list(conn.execute(query.where(c.c.id > after).order_by(c.c.id).limit(batch)).scalars())
            if not ids:
                return
            yield ids
            after = ids[-1]


def _shown(kind: str, raw: object, now: datetime) -> object:
    if raw is None:
        return None
    if kind == "money":
        return from_fen(int(raw))  # type: ignore[call-overload]
    if kind == "days_since":
        moment = raw if isinstance(raw, datetime) else datetime.fromisoformat(str(raw))
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return (now - moment) // timedelta(days=1)
    return raw


def field_names(fields: FieldRegistry | None = None) -> Sequence[str]:
    """Names for the builder's drop-down and for error messages."""
    return (fields or FIELDS).names()
