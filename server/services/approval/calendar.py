"""Working days (工作日) for the deadlines of coordinated approval (办理时限).

A deadline given in working days counts from the day after the case opens: Saturdays and
Sundays are not working days unless the calendar names them as make-up working days (调休
上班), and the public holidays it names are not working days either. Dates are local dates
in the approval time zone (setting `approval_timezone`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from planfuse.context import PlanFuse
from planfuse.errors import InvalidInput

#: A deadline further out than this many working days is a typing mistake, not a plan.
MAX_WORKING_DAYS = 250


@dataclass(frozen=True)
class WorkCalendar:
    """Public holidays and make-up working days, as sets of dates."""

    holidays: frozenset[dt.date] = frozenset()
    workdays: frozenset[dt.date] = frozenset()

    def is_working_day(self, day: dt.date) -> bool:
        """True on a weekday that is no holiday, or on a make-up working day."""
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def add_working_days(self, start: dt.date, days: int) -> dt.date:
        """The date `days` working days after `start` (`start` itself does not count)."""
        if not 0 <= days <= MAX_WORKING_DAYS:
            raise InvalidInput(
                f"a deadline of {days} working days is outside 0–{MAX_WORKING_DAYS}",
                field="days",
            )
        day = start
        left = days
        while left > 0:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                left -= 1
        return day

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days after `start` up to and including `end` (0 when end ≤ start)."""
        count = 0
        day = start
        while day < end:
            day += dt.timedelta(days=1)
            count += self.is_working_day(day)
        return count


def parse_date(value: object, field: str) -> dt.date:
    """An ISO date (YYYY-MM-DD), or InvalidInput naming `field`."""
    if isinstance(value, str) and len(value) == 10:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise InvalidInput(
        f"`{field}` must be a date as YYYY-MM-DD, e.g. 2027-01-15; got {str(value)[:40]!r}",
        field=field,
        code="invalid_date",
    )


def _dates(values: Iterable[str], setting: str) -> frozenset[dt.date]:
    out = set()
    for value in values:
        try:
            out.add(dt.date.fromisoformat(value))
        except ValueError:
            raise InvalidInput(
                f"setting {setting} holds {value!r}, which is not a date (YYYY-MM-DD)",
                code="invalid_setting",
            ) from None
    return frozenset(out)


def work_calendar(ctx: PlanFuse) -> WorkCalendar:
    """The calendar of the settings `approval_holidays` and `approval_workdays`."""
    return WorkCalendar(
        holidays=_dates(ctx.settings.approval_holidays, "approval_holidays"),
        workdays=_dates(ctx.settings.approval_workdays, "approval_workdays"),
    )


def approval_zone(ctx: PlanFuse) -> ZoneInfo:
    """The time zone in which approval dates are reckoned (setting `approval_timezone`)."""
    try:
        return ZoneInfo(ctx.settings.approval_timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"setting approval_timezone is {ctx.settings.approval_timezone!r}, which is not an "
            "IANA time zone such as Asia/Shanghai",
            code="invalid_setting",
        ) from None


def local_date(ctx: PlanFuse, at: dt.datetime) -> dt.date:
    """The date of the instant `at` (timezone-aware) in the approval time zone."""
    return at.astimezone(approval_zone(ctx)).date()
