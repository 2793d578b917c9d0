"""Domain errors carry no HTTP status; the one mapping gives each its status and shape."""

from __future__ import annotations

import pytest

from planfuse.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    TooComplex,
    TooLarge,
    Unauthenticated,
    Unavailable,
)
from planfuse.http.problems import problem_from_exception


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (InvalidInput("weights must sum to 1", field="weights"), 400, "invalid_request"),
        (NotFound("siting plan", 7), 404, "not_found"),
        (Conflict("a detection is running", code="job_running"), 409, "job_running"),
        (Forbidden("district is locked"), 403, "forbidden"),
        (Unauthenticated("no credentials"), 401, "authentication_required"),
        (TooLarge("over 100,000 vertices"), 413, "payload_too_large"),
        (TooComplex("geometry work over 10 s"), 422, "too_complex"),
        (RateLimited("slow down", retry_after_s=3), 429, "rate_limited"),
        (Unavailable("database down", retry_after_s=5), 503, "service_unavailable"),
        (DomainError("generic"), 400, "invalid_request"),
    ],
)
def test_each_domain_error_maps_to_one_status(error, status, code):
    problem = problem_from_exception(error)
    assert problem.status == status
    body = problem.to_dict()
    assert body["type"].endswith("/" + code)
    assert body["status"] == status
    assert body["detail"] == error.message


def test_field_and_retry_after_reach_the_problem():
    problem = problem_from_exception(InvalidInput("weights must sum to 1", field="weights"))
    assert problem.to_dict()["errors"] == [{"field": "weights", "message": "weights must sum to 1"}]
    assert problem_from_exception(RateLimited("x", retry_after_s=3)).headers == {"Retry-After": "3"}
    assert problem_from_exception(Unavailable("x")).headers == {}


def test_not_found_names_what_and_which():
    error = NotFound("indicator", "farmland", hint="known: construction_land")
    assert error.message == "indicator 'farmland' does not exist; known: construction_land"
