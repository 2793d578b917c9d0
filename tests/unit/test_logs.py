import io
import json
import logging

from planfuse.logs import REDACTED, configure_logging, redact

JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyLTEiLCJpc3MiOiJhcHAifQ."
    "c2lnbmF0dXJlLXZhbHVlLWhlcmU"
)


def test_redact_removes_jwts_credentials_and_secret_params():
    text = (
        f"GET /embed/x?token={JWT} Authorization: Bearer abc.def secret=s3cr3t "
        "postgresql://user:hunter2@db/x"
    )
    out = redact(text)
    for secret in (JWT, "abc.def", "s3cr3t", "hunter2"):
        assert secret not in out
    assert REDACTED in out


def test_json_log_lines_are_redacted():
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    logging.getLogger("planfuse.test").info("exchanging %s", JWT, extra={"header": f"Bearer {JWT}"})
    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert line["level"] == "INFO"
    assert JWT not in stream.getvalue()
    assert line["logger"] == "planfuse.test"
