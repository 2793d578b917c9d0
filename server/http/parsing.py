"""Reading a request: JSON object bodies, the locale, whole-number query arguments and
form checkboxes, each with a 400 problem naming the field when it is wrong."""

from __future__ import annotations

import re
from typing import Any

import orjson
from flask import request
from werkzeug.routing import IntegerConverter, Map

from planfuse.http.problems import bad_request

LOCALES = ("zh-CN", "en")


def json_body(*, optional: bool = False, example: str | None = None) -> dict[str, Any]:
    """The request's body, a JSON object; else a 400 problem naming `body`.

    `optional`: an empty body stands for ``{}``. `example`: a body to quote in the problem.
    """
    raw = request.get_data(cache=False)
    if optional and not raw:
        return {}
    try:
        body = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError as exc:
        raise bad_request(f"the body is not valid JSON: {exc}", field="body") from None
    if not isinstance(body, dict):
        hint = f", e.g. {example}" if example else ""
        raise bad_request(f"send a JSON object{hint}", field="body")
    return body


def request_locale(default: str | None = None) -> str:
    """The `locale` query argument (zh-CN or en; anything else is a 400 naming it); without
    one, `default` when it is one of them (the session's locale, the browser's); else zh-CN."""
    wanted = request.args.get("locale")
    if wanted is not None:
        if wanted not in LOCALES:
            raise bad_request(
                f"locale must be one of {', '.join(LOCALES)}, not {wanted[:20]!r}",
                field="locale",
            )
        return wanted
    return default if default in LOCALES else "zh-CN"


#: The largest whole number a query argument or a record id in a path may be: the ids
#: behind them are 32-bit integers in PostgreSQL, and a bigger number must be a clear 400 or
#: 404, never an overflow inside the database driver.
MAX_INT = 2**31 - 1


def int_arg(
    name: str,
    default: int | None = None,
    *,
    message: str | None = None,
    minimum: int = -MAX_INT,
    maximum: int = MAX_INT,
) -> int | None:
    """Query argument `name` as a whole number from `minimum` to `maximum` (`default` when
    absent); else a 400 problem (`message`, or "NAME must be a whole number from … to …")."""
    raw = request.args.get(name)
    if raw is None:
        return default
    text = raw.strip()
    # At most 10 digits before int(): a 100,000-digit number is refused without parsing it.
    value = int(text) if _WHOLE_NUMBER.fullmatch(text) else None
    if value is None or not minimum <= value <= maximum:
        raise bad_request(
            message or f"{name} must be a whole number from {minimum} to {maximum}", field=name
        )
    return value


_WHOLE_NUMBER = re.compile(r"[-+]?[0-9]{1,10}")


def _up_to(limit: int) -> str:
    """A regular expression of the decimal numbers from 0 to `limit` (no leading zeros)."""
    digits = str(limit)
    options = [f"[0-9]{{1,{len(digits) - 1}}}"] if len(digits) > 1 else []
    for i, d in enumerate(digits):
        if i == len(digits) - 1:
            options.append(digits[:i] + f"[0-{d}]")
        elif d != "0":
            low = "1" if i == 0 else "0"
            if int(d) - 1 >= int(low):
                rest = len(digits) - i - 1
                options.append(digits[:i] + f"[{low}-{int(d) - 1}][0-9]{{{rest}}}")
    return "(?:" + "|".join(options) + ")"


class RecordIdConverter(IntegerConverter):
    """`<int:id>` in a route: a record id from 0 to MAX_INT. A larger number does not
    match the route's pattern at all, so it is a 404 (for every method) like any id that
    does not exist, and is never handed to the database."""

    regex = _up_to(MAX_INT)

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_INT)
        super().__init__(map, *args, **kwargs)


def form_flag(name: str) -> bool:
    """Multipart form field `name` as a checkbox: 1, true, yes or on (any case) is true."""
    return request.form.get(name, "").lower() in {"1", "true", "yes", "on"}
