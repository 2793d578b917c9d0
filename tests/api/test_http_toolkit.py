"""The helpers every web area shares (planfuse.http): JSON responses, request bodies and
arguments, downloads and the 403 for a widened lock."""

from __future__ import annotations

import flask
import pytest

from planfuse.http.caller import widened_lock
from planfuse.http.parsing import form_flag, int_arg, json_body, request_locale
from planfuse.http.problems import ProblemError
from planfuse.http.responses import download, json_response

app = flask.Flask(__name__)


def test_json_response_with_location_and_headers():
    with app.test_request_context():
        r = json_response({"a": 1}, 201, {"Cache-Control": "no-store"}, location="jobs/7")
        assert r.status_code == 201 and r.mimetype == "application/json"
        assert r.headers["Location"] == "/api/v1/jobs/7"
        assert r.headers["Cache-Control"] == "no-store"
        assert r.get_data() == b'{"a":1}'
        assert json_response(b'{"b":2}').get_data() == b'{"b":2}'


@pytest.mark.parametrize(
    ("data", "detail"),
    [
        (b"", "send a JSON object"),
        (b"[1]", "send a JSON object"),
        (b"{", "the body is not valid JSON"),
    ],
)
def test_json_body_refuses_what_is_not_an_object(data, detail):
    with (
        app.test_request_context(method="POST", data=data),
        pytest.raises(ProblemError) as raised,
    ):
        json_body()
    assert raised.value.status == 400 and raised.value.detail.startswith(detail)
    assert raised.value.errors[0]["field"] == "body"


def test_json_body_optional_and_example():
    with app.test_request_context(method="POST", data=b""):
        assert json_body(optional=True) == {}
    with app.test_request_context(method="POST", data=b'{"x": 1}', content_type="text/plain"):
        assert json_body() == {"x": 1}
    with (
        app.test_request_context(method="POST", data=b"1"),
        pytest.raises(ProblemError) as raised,
    ):
        json_body(example='{"a": 1}')
    assert raised.value.detail == 'send a JSON object, e.g. {"a": 1}'


def test_download_names_the_file():
    with app.test_request_context():
        r = download(b"x", "text/csv", "a.csv", title="台账.csv")
    assert r.headers["Content-Disposition"] == (
        "attachment; filename=\"a.csv\"; filename*=UTF-8''%E5%8F%B0%E8%B4%A6.csv"
    )
    assert r.headers["Cache-Control"] == "no-store"


def test_locale_and_int_arguments():
    with app.test_request_context("/?locale=en&limit=5&bad=x"):
        assert request_locale("zh-CN") == "en"
        assert int_arg("limit", 50) == 5 and int_arg("missing", 50) == 50
        with pytest.raises(ProblemError) as raised:
            int_arg("bad")
        assert raised.value.detail == "bad must be a whole number from -2147483647 to 2147483647"
    with app.test_request_context("/"):
        assert request_locale("en") == "en"
        assert request_locale(None) == "zh-CN" and request_locale("fr") == "zh-CN"
    with app.test_request_context("/?locale=AAA"):
        with pytest.raises(ProblemError) as raised:
            request_locale("en")
        assert raised.value.status == 400 and raised.value.errors[0]["field"] == "locale"


def test_widened_lock_is_a_403_naming_the_parameter():
    problem = widened_lock("districts", "500112 is outside")
    assert problem.status == 403 and problem.errors == [
        {"field": "districts", "message": "500112 is outside"}
    ]


def test_form_flags():
    form = {"a": "ON", "b": "1", "c": "no", "d": ""}
    with app.test_request_context(method="POST", data=form):
        assert [form_flag(name) for name in ("a", "b", "c", "d", "missing")] == [
            True,
            True,
            False,
            False,
            False,
        ]
