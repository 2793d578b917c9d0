"""The `where` clause of an ArcGIS REST query, parsed here and never passed to a database.

Understood: `1=1` (everything), `FIELD = 'text'` or `FIELD = 123`, `FIELD IN ('a', 'b')`,
and `AND` between such terms (one term per field); `OBJECTID` compares with `=`, `IN`,
`>`, `>=`, `<`, `<=` (the id ranges paging clients send). Field names are matched without
regard to case. Anything else — `OR`, `LIKE`, functions, subqueries, comments, a second
statement — is refused with the position where parsing stopped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from planfuse.ows.errors import OWSError, invalid

MAX_WHERE_CHARS = 4000
MAX_OID = 2**31 - 1
_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<number>[+-]?\d+(?:\.\d+)?)|"
    r"(?P<name>[A-Za-z_\u4e00-\u9fff][\w\u4e00-\u9fff]*)|(?P<op>>=|<=|<>|=|<|>|\(|\)|,))"
)


@dataclass
class Where:
    """What a where clause asks: property equalities (any of the values) and an OBJECTID
    range or set."""

    equals: dict[str, tuple[str, ...]] = field(default_factory=dict)
    oid_min: int = 1
    oid_max: int = MAX_OID
    oids: set[int] | None = None


class _Parser:
    def __init__(self, text: str, fields: dict[str, str], oid_field: str):
        self.text = text
        self.fields = fields
        self.oid_field = oid_field.upper()
        self.tokens = self._tokens()
        self.i = 0
        self.result = Where()

    def _tokens(self) -> list[tuple[str, str, int]]:
        tokens, position, text = [], 0, self.text
        while text[position:].strip():
            m = _TOKEN.match(text, position)
            if not m:
                raise self.error(position + len(text[position:]) - len(text[position:].lstrip()),
                                 "unexpected character")  # fmt: skip
            kind = m.lastgroup or "op"
            tokens.append((kind, m.group(kind), m.start(kind)))
            position = m.end()
        return tokens

    def error(self, position: int, what: str) -> OWSError:
        shown = self.text[position : position + 20]
        return invalid(
            "where",
            f"where: {what} at character {position + 1} ({shown!r}); use 1=1, "
            "FIELD = 'value', FIELD IN ('a','b') or OBJECTID comparisons joined by AND",
        )

    def peek(self, k: int = 0) -> tuple[str, str, int]:
        j = self.i + k
        return self.tokens[j] if j < len(self.tokens) else ("end", "", len(self.text))

    def take(self) -> tuple[str, str, int]:
        token = self.peek()
        self.i += 1
        return token

    def literal(self) -> str:
        kind, value, pos = self.take()
        if kind == "string":
            return value[1:-1].replace("''", "'")
        if kind == "number":
            return value
        raise self.error(pos, "expected a 'text' or number literal")

    def in_list(self) -> list[str]:
        _, value, pos = self.take()
        if value != "(":
            raise self.error(pos, "expected ( after IN")
        values = [self.literal()]
        while True:
            _, value, pos = self.take()
            if value == ")":
                return values
            if value != ",":
                raise self.error(pos, "expected , or ) in the IN list")
            values.append(self.literal())

    def oid(self, value: str, pos: int) -> int:
        if not re.fullmatch(r"\d{1,10}", value) or int(value) > MAX_OID:
            raise self.error(pos, "OBJECTID compares with whole numbers")
        return int(value)

    def oid_term(self) -> None:
        _, op, pos = self.take()
        result = self.result
        if op.upper() == "IN":
            ids = set()
            for text in self.in_list():
                ids.add(self.oid(text, pos))
            result.oids = ids if result.oids is None else result.oids & ids
            return
        if op not in ("=", ">", ">=", "<", "<="):
            raise self.error(pos, "OBJECTID compares with =, IN, >, >=, < or <=")
        _, value, vpos = self.take()
        n = self.oid(value, vpos)
        if op == "=":
            result.oids = {n} if result.oids is None else result.oids & {n}
        elif op == ">":
            result.oid_min = max(result.oid_min, n + 1)
        elif op == ">=":
            result.oid_min = max(result.oid_min, n)
        elif op == "<":
            result.oid_max = min(result.oid_max, n - 1)
        else:
            result.oid_max = min(result.oid_max, n)

    def term(self) -> None:
        kind, value, pos = self.peek()
        if kind == "number" and self.peek(1)[1] == "=" and self.peek(2)[0] == "number":
            if float(value) != float(self.peek(2)[1]):
                raise self.error(pos, "two numbers compare only as the always-true 1=1")
            self.i += 3
            return
        if kind != "name":
            raise self.error(pos, "expected a field name or 1=1")
        self.i += 1
        name = value.upper()
        if name == self.oid_field:
            self.oid_term()
            return
        prop = self.fields.get(name)
        if prop is None:
            raise invalid(
                "where",
                f"where: field {value[:40]!r} is not in this layer; its fields are "
                + ", ".join([self.oid_field, *sorted(self.fields.values())]),
            )
        if prop in self.result.equals:
            raise self.error(pos, f"{value} is compared twice")
        _, op, op_pos = self.take()
        if op == "=":
            self.result.equals[prop] = (self.literal(),)
        elif op.upper() == "IN":
            self.result.equals[prop] = tuple(self.in_list())
        else:
            raise self.error(op_pos, f"{value} compares only with = or IN")

    def parse(self) -> Where:
        while True:
            self.term()
            kind, value, pos = self.take()
            if kind == "end":
                return self.result
            if not (kind == "name" and value.upper() == "AND"):
                raise self.error(pos, "expected AND or the end of the clause")


def parse_where(text: str, fields: dict[str, str], oid_field: str) -> Where:
    """Parse `text` against the layer's fields (upper-cased name → property name)."""
    if len(text) > MAX_WHERE_CHARS:
        raise invalid("where", f"where is longer than {MAX_WHERE_CHARS} characters")
    if not text.strip():
        return Where()
    return _Parser(text, fields, oid_field).parse()
