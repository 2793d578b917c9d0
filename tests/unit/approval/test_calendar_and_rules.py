"""Working-day deadlines (办理时限) with holidays and make-up working days, and the outcome
rule as data."""

from __future__ import annotations

import datetime as dt

import pytest

from planfuse.errors import Conflict, InvalidInput
from planfuse.services.approval.calendar import WorkCalendar, parse_date
from planfuse.services.approval.rules import parse_outcome_rule, rule_outcome

D = dt.date.fromisoformat
# 2027: 元旦 Fri 1 January; Spring Festival 5–11 February with make-up working days on
# Sunday 31 January and Saturday 20 February (a calendar of that shape, for the test).
CALENDAR = WorkCalendar(
    holidays=frozenset(D(f"2027-02-{d:02d}") for d in range(5, 12)) | {D("2027-01-01")},
    workdays=frozenset({D("2027-01-31"), D("2027-02-20")}),
)


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        ("2027-01-04", 0, "2027-01-04"),  # Monday, no days: the same day
        ("2027-01-04", 1, "2027-01-05"),  # the opening day does not count
        ("2027-01-04", 5, "2027-01-11"),  # over a weekend
        ("2026-12-30", 2, "2027-01-04"),  # Thu 31 Dec, then 元旦 and the weekend
        ("2027-01-29", 1, "2027-01-31"),  # Friday → the make-up Sunday
        ("2027-02-04", 1, "2027-02-12"),  # Thursday → past the Spring Festival
        ("2027-02-04", 7, "2027-02-20"),  # 12, 15–19, then the make-up Saturday
    ],
)
def test_working_days_skip_weekends_and_holidays(start, days, due):
    assert CALENDAR.add_working_days(D(start), days) == D(due)


def test_working_days_between_counts_what_add_adds():
    start = D("2027-02-01")
    for days in range(0, 30):
        end = CALENDAR.add_working_days(start, days)
        assert CALENDAR.working_days_between(start, end) == days


def test_absurd_deadlines_and_dates_are_refused():
    with pytest.raises(InvalidInput):
        CALENDAR.add_working_days(D("2027-01-04"), 1000)
    for bad in ("2027-1-5", "2027-02-30", 20270105, None):
        with pytest.raises(InvalidInput) as info:
            parse_date(bad, "due")
        assert info.value.errors[0]["field"] == "due"


def test_the_default_rule_rejects_on_any_disagree_and_waits_for_everyone():
    rule = parse_outcome_rule({})
    assert rule == {"reject_if_any": ["disagree"], "pending": "block"}
    assert rule_outcome(rule, [("a", "agree"), ("b", "agree_with_conditions")]) == (
        "closed_approved"
    )
    assert rule_outcome(rule, [("a", "disagree"), ("b", None)]) == "closed_rejected"
    with pytest.raises(Conflict) as info:
        rule_outcome(rule, [("a", "agree"), ("b", None)])
    assert info.value.code == "opinions_pending"
    assert "b" in info.value.message


def test_other_rules_are_data():
    strict = parse_outcome_rule(
        {"reject_if_any": ["disagree", "agree_with_conditions"], "pending": "reject"}
    )
    assert rule_outcome(strict, [("a", "agree_with_conditions")]) == "closed_rejected"
    assert rule_outcome(strict, [("a", "agree"), ("b", None)]) == "closed_rejected"
    lenient = parse_outcome_rule({"reject_if_any": [], "pending": "ignore"})
    assert rule_outcome(lenient, [("a", "disagree"), ("b", None)]) == "closed_approved"
    for bad in ([], {"pending": "maybe"}, {"reject_if_any": "disagree"}, {"quorum": 2}):
        with pytest.raises(InvalidInput):
            parse_outcome_rule(bad)
