"""Segment expressions: a small filter language an operator can read and type.

    tier in ("gold", "platinum") and days_since_last_order > 90 and not tag("已投诉") and bought_category("坚果")

Grammar (``and`` binds tighter than ``or``; keywords are case-insensitive)::

    expression := conjunction ("or" conjunction)*
    conjunction := negation ("and" negation)*
    negation   := "not" negation | "(" expression ")" | test
    test       := NAME "(" literal ("," literal)* ")"            a predicate: tag("…"), channel("tmall")
                | NAME ("not")? "in" "(" literal ("," literal)* ")"
                | NAME OP literal                              OP: = == != < <= > >=
    literal    := "text" | 'text' | “text” | number | true | false

The same tree has a JSON form for the console's builder (``to_json`` / ``from_json``), and
``explain`` shows, clause by clause, why one customer is in or out. What the names mean is
not decided here: storage compiles them to SQL and rejects names it does not know.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from liuyu.domain.errors import InvalidInput

Value = str | int | Decimal | bool

COMPARISONS = ("=", "!=", "<", "<=", ">", ">=")
KEYWORDS = ("and", "or", "not", "in", "true", "false")
_CLOSING_QUOTE = {'"': '"', "'": "'", "“": "”", "「": "」"}


class SegmentSyntaxError(InvalidInput):
    """The expression cannot be read; ``position`` is the 0-based character offset of the problem."""

    def __init__(self, reason: str, source: str, position: int) -> None:
        self.source = source
        self.position = position
        super().__init__(reason, where=f"position {position + 1}", value=None)

    def pointer(self) -> str:
        """The expression with a caret under the problem, for a terminal or a <pre> block."""
        return f"{self.source}\n{' ' * _display_width(self.source[: self.position])}^"


def _display_width(text: str) -> int:
    # Chinese characters take two columns in a terminal.
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


# -- the tree -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Compare:
    """``field op value``, e.g. ``days_since_last_order > 90``."""

    field: str
    op: str
    value: Value
    position: int = field(default=-1, compare=False)


@dataclass(frozen=True, slots=True)
class InList:
    """``field in (v1, v2, …)``, or ``not in`` when ``negated``."""

    field: str
    values: tuple[Value, ...]
    negated: bool = False
    position: int = field(default=-1, compare=False)


@dataclass(frozen=True, slots=True)
class Call:
    """A predicate over something a customer has many of: ``tag("已投诉")``, ``bought_category("坚果")``."""

    name: str
    args: tuple[Value, ...]
    position: int = field(default=-1, compare=False)


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node


@dataclass(frozen=True, slots=True)
class And:
    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple[Node, ...]


Node = Compare | InList | Call | Not | And | Or


# -- reading text ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # name, keyword, string, number, op, lparen, rparen, comma, end
    text: str
    value: Value | None
    position: int


def tokenize(source: str) -> list[Token]:
    """Split an expression into tokens; the last one is always ``end``."""
    tokens: list[Token] = []
    i = 0
    while i < len(source):
        ch = source[i]
        if ch.isspace():
            i += 1
        elif ch in "(),":
            kinds = {"(": "lparen", ")": "rparen", ",": "comma"}
            tokens.append(Token(kinds[ch], ch, None, i))
            i += 1
        elif ch in "（），":
            raise SegmentSyntaxError(f"full-width {ch!r}: type the ASCII one instead", source, i)
        elif ch in _CLOSING_QUOTE:
            end = source.find(_CLOSING_QUOTE[ch], i + 1)
            if end < 0:
                raise SegmentSyntaxError(f"text opened with {ch} is never closed", source, i)
            tokens.append(Token("string", source[i : end + 1], source[i + 1 : end], i))
            i = end + 1
        elif ch in "=!<>":
            text = source[i : i + 2] if source[i : i + 2] in ("==", "!=", "<=", ">=", "<>") else ch
            if text == "!":
                raise SegmentSyntaxError("'!' must be followed by '=' (use 'not' to negate)", source, i)
            op = {"==": "=", "<>": "!="}.get(text, text)
            tokens.append(Token("op", text, op, i))
            i += len(text)
        elif ch.isdigit() or (ch in "-+." and i + 1 < len(source) and source[i + 1].isdigit()):
            end = i + 1
            while end < len(source) and (source[end].isdigit() or source[end] in "._"):
                end += 1
            tokens.append(Token("number", source[i:end], _number(source[i:end], source, i), i))
            i = end
        elif ch.isalpha() or ch == "_":
            end = i + 1
            while end < len(source) and (source[end].isalnum() or source[end] == "_"):
                end += 1
            word = source[i:end]
            if word.lower() in KEYWORDS:
                tokens.append(Token("keyword", word, word.lower(), i))
            else:
                tokens.append(Token("name", word, word, i))
            i = end
        else:
            raise SegmentSyntaxError(f"unexpected character {ch!r}", source, i)
    tokens.append(Token("end", "", None, len(source)))
    return tokens


def _number(text: str, source: str, position: int) -> int | Decimal:
    try:
        number = Decimal(text.replace("_", ""))
    except InvalidOperation:
        raise SegmentSyntaxError(f"{text!r} is not a number", source, position) from None
    return int(number) if "." not in text else number


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = tokenize(source)
        self.at = 0

    @property
    def token(self) -> Token:
        return self.tokens[self.at]

    def fail(self, reason: str, token: Token | None = None) -> SegmentSyntaxError:
        token = token or self.token
        seen = "the end of the expression" if token.kind == "end" else repr(token.text)
        return SegmentSyntaxError(f"{reason}, found {seen}", self.source, token.position)

    def take(self, kind: str, value: object = None) -> Token:
        token = self.token
        if token.kind != kind or (value is not None and token.value != value):
            shown = {"lparen": "'('", "rparen": "')'", "comma": "','", "name": "a name"}.get(kind, kind)
            raise self.fail(f"expected {value or shown}")
        self.at += 1
        return token

    def is_keyword(self, word: str) -> bool:
        return self.token.kind == "keyword" and self.token.value == word

    def expression(self) -> Node:
        parts = [self.conjunction()]
        while self.is_keyword("or"):
            self.at += 1
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def conjunction(self) -> Node:
        parts = [self.negation()]
        while self.is_keyword("and"):
            self.at += 1
            parts.append(self.negation())
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def negation(self) -> Node:
        if self.is_keyword("not"):
            self.at += 1
            return Not(self.negation())
        if self.token.kind == "lparen":
            self.at += 1
            inner = self.expression()
            if self.token.kind != "rparen":
                raise self.fail("expected ')', 'and' or 'or'")
            self.at += 1
            return inner
        return self.test()

    def test(self) -> Node:
        if self.token.kind != "name":
            raise self.fail('expected a field name such as days_since_last_order, or tag("…")')
        name = self.take("name")
        if self.token.kind == "lparen":
            return Call(name.text, self.literals(), name.position)
        negated = False
        if self.is_keyword("not"):
            self.at += 1
            negated = True
            if not self.is_keyword("in"):
                raise self.fail("expected 'in' after 'not'")
        if self.is_keyword("in"):
            self.at += 1
            return InList(name.text, self.literals(), negated, name.position)
        if self.token.kind != "op":
            raise self.fail(f"expected a comparison (= != < <= > >=) or 'in' after {name.text}")
        op = str(self.take("op").value)
        return Compare(name.text, op, self.literal(), name.position)

    def literals(self) -> tuple[Value, ...]:
        self.take("lparen")
        values = [self.literal()]
        while self.token.kind == "comma":
            self.at += 1
            values.append(self.literal())
        if self.token.kind != "rparen":
            raise self.fail("expected ',' or ')'")
        self.at += 1
        return tuple(values)

    def literal(self) -> Value:
        token = self.token
        if token.kind in ("string", "number"):
            self.at += 1
            assert token.value is not None
            return token.value
        if token.kind == "keyword" and token.value in ("true", "false"):
            self.at += 1
            return token.value == "true"
        if token.kind == "name":
            raise self.fail(f'expected a value; put text in quotes: "{token.text}"')
        raise self.fail('expected a value ("text", a number, true or false)')


def parse(source: str) -> Node:
    """Read an expression; raises SegmentSyntaxError naming the position of the first problem."""
    if not source.strip():
        raise SegmentSyntaxError("the expression is empty", source, 0)
    parser = _Parser(source)
    tree = parser.expression()
    if parser.token.kind != "end":
        raise parser.fail("expected 'and', 'or' or the end")
    return tree


# -- writing text and JSON ------------------------------------------------------------------


def _literal_text(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        for opening, closing in _CLOSING_QUOTE.items():
            if closing not in value:
                return opening + value + closing
        raise ValueError(f"text {value!r} holds every kind of closing quote and cannot be written")
    if isinstance(value, Decimal):
        text = format(value, "f")
        return text if "." in text else text + ".0"
    return str(value)


def to_text(node: Node) -> str:
    """The canonical text of a tree; ``parse(to_text(t)) == t``."""
    match node:
        case Compare(name, op, value):
            return f"{name} {op} {_literal_text(value)}"
        case InList(name, values, negated):
            return f"{name} {'not in' if negated else 'in'} ({', '.join(_literal_text(v) for v in values)})"
        case Call(name, args):
            return f"{name}({', '.join(_literal_text(v) for v in args)})"
        case Not(operand):
            inner = to_text(operand)
            return f"not ({inner})" if isinstance(operand, And | Or) else f"not {inner}"
        case And(operands):
            return " and ".join(f"({to_text(p)})" if isinstance(p, Or) else to_text(p) for p in operands)
        case Or(operands):
            return " or ".join(to_text(p) for p in operands)
    raise TypeError(f"not a segment node: {node!r}")


def _json_value(value: Value) -> str | int | float | bool:
    if isinstance(value, Decimal):
        return float(value)
    return value


def _from_json_value(value: object, where: str) -> Value:
    if isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    raise InvalidInput("a value must be text, a number or true/false", where=where, value=value)


def to_json(node: Node) -> dict[str, Any]:
    """The builder's form: ``{"and": [...]}``, ``{"field", "op", "value"}``, ``{"call", "args"}``…"""
    match node:
        case Compare(name, op, value):
            return {"field": name, "op": op, "value": _json_value(value)}
        case InList(name, values, negated):
            return {"field": name, "op": "not in" if negated else "in", "values": [_json_value(v) for v in values]}
        case Call(name, args):
            return {"call": name, "args": [_json_value(v) for v in args]}
        case Not(operand):
            return {"not": to_json(operand)}
        case And(operands):
            return {"and": [to_json(p) for p in operands]}
        case Or(operands):
            return {"or": [to_json(p) for p in operands]}
    raise TypeError(f"not a segment node: {node!r}")


def from_json(data: Mapping[str, Any], where: str = "$") -> Node:
    """Read the builder's form; errors name the JSON path of the problem (``$.and[1].op``)."""
    if not isinstance(data, Mapping):
        raise InvalidInput("expected an object", where=where, value=data)
    if "and" in data or "or" in data:
        key = "and" if "and" in data else "or"
        parts = data[key]
        if not isinstance(parts, list) or len(parts) < 1:
            raise InvalidInput(f"'{key}' needs a list of at least one condition", where=f"{where}.{key}", value=parts)
        nodes = tuple(from_json(p, f"{where}.{key}[{i}]") for i, p in enumerate(parts))
        if len(nodes) == 1:
            return nodes[0]
        return And(nodes) if key == "and" else Or(nodes)
    if "not" in data:
        return Not(from_json(data["not"], f"{where}.not"))
    if "call" in data:
        args = data.get("args")
        if not isinstance(args, list) or not args:
            raise InvalidInput("'args' needs a list of at least one value", where=f"{where}.args", value=args)
        name = _json_name(data["call"], f"{where}.call")
        return Call(name, tuple(_from_json_value(v, f"{where}.args[{i}]") for i, v in enumerate(args)))
    if "field" in data:
        name = _json_name(data["field"], f"{where}.field")
        op = data.get("op")
        if op in ("in", "not in"):
            values = data.get("values")
            if not isinstance(values, list) or not values:
                raise InvalidInput("'values' needs a list of at least one value", where=f"{where}.values", value=values)
            items = tuple(_from_json_value(v, f"{where}.values[{i}]") for i, v in enumerate(values))
            return InList(name, items, op == "not in")
        if op not in COMPARISONS:
            raise InvalidInput(
                f"'op' must be one of {', '.join(COMPARISONS)}, in, not in", where=f"{where}.op", value=op
            )
        if "value" not in data:
            raise InvalidInput("missing 'value'", where=where)
        return Compare(name, op, _from_json_value(data["value"], f"{where}.value"))
    raise InvalidInput("expected one of the keys and, or, not, field, call", where=where, value=sorted(data))


def _json_name(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.isidentifier() or value.lower() in KEYWORDS:
        raise InvalidInput("a name is letters, digits and underscores, and not a keyword", where=where, value=value)
    return value


def walk(node: Node) -> Iterator[Compare | InList | Call]:
    """Every test in the tree, left to right."""
    match node:
        case Not(operand):
            yield from walk(operand)
        case And(operands) | Or(operands):
            for part in operands:
                yield from walk(part)
        case _:
            yield node


# -- evaluating one customer ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Clause:
    """One line of "why is this customer in this segment": the clause, what was seen, the verdict."""

    text: str
    seen: object
    result: bool
    parts: tuple[Clause, ...] = ()

    def lines(self, depth: int = 0) -> list[str]:
        mark = "✓" if self.result else "✗"
        shown = "" if self.parts else f"  (value: {self.seen!r})"
        own = [f"{'  ' * depth}{mark} {self.text}{shown}"]
        return own + [line for part in self.parts for line in part.lines(depth + 1)]


def _compare(seen: object, op: str, value: Value) -> bool:
    if seen is None:
        return False  # unknown never matches; storage compiles "x > 1" as "x IS NOT NULL AND x > 1" to agree
    if isinstance(value, bool) or isinstance(seen, bool):
        equal = bool(seen) == bool(value)
        return equal if op == "=" else (not equal if op == "!=" else False)
    if isinstance(value, str) or isinstance(seen, str):
        left, right = str(seen), str(value)
    else:
        left, right = Decimal(str(seen)), Decimal(str(value))
    return {
        "=": left == right,
        "!=": left != right,
        "<": left < right,
        "<=": left <= right,
        ">": left > right,
        ">=": left >= right,
    }[op]


def explain(node: Node, values: Mapping[str, object]) -> Clause:
    """Evaluate the tree for one customer and keep every clause's value.

    ``values`` maps a field to the customer's value (None when unknown) and a predicate name to
    the collection the customer has (``{"tag": {"已投诉"}, "bought_category": {"坚果"}}``).
    """
    match node:
        case Compare(name, op, value):
            seen = values.get(name)
            return Clause(to_text(node), seen, _compare(seen, op, value))
        case InList(name, items, negated):
            seen = values.get(name)
            inside = seen is not None and any(_compare(seen, "=", v) for v in items)
            return Clause(to_text(node), seen, (seen is not None and not inside) if negated else inside)
        case Call(name, args):
            owned = values.get(name) or ()
            if not isinstance(owned, Collection) or isinstance(owned, str):
                owned = (owned,)
            return Clause(to_text(node), sorted(map(str, owned)), any(str(a) in map(str, owned) for a in args))
        case Not(operand):
            inner = explain(operand, values)
            return Clause(to_text(node), None, not inner.result, (inner,))
        case And(operands):
            parts = tuple(explain(p, values) for p in operands)
            return Clause(to_text(node), None, all(p.result for p in parts), parts)
        case Or(operands):
            parts = tuple(explain(p, values) for p in operands)
            return Clause(to_text(node), None, any(p.result for p in parts), parts)
    raise TypeError(f"not a segment node: {node!r}")


def matches(node: Node, values: Mapping[str, object]) -> bool:
    return explain(node, values).result
