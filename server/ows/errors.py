"""Exceptions of the OWS interfaces in each standard's own format, never a bare 500.

WFS 2.0 answers an OWS Common 1.1 `ows:ExceptionReport`, WMS 1.3.0 an OGC
`ServiceExceptionReport`, the ArcGIS REST services `{"error": {code, message, details}}`.
Domain errors and problems raised below (a restricted layer without credentials, a bbox
outside a projection's domain) are translated here, keeping their HTTP status and, for a
401, the `WWW-Authenticate` challenge.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from planfuse.http.problems import ProblemError, problem_from_exception

OWS_NS = "http://www.opengis.net/ows/1.1"
OWS10_NS = "http://www.opengis.net/ows"


@dataclass
class OWSError(Exception):
    """A request the service refuses: an OWS exception code, the parameter at fault
    (`locator`), a message saying what to send instead, and the HTTP status."""

    code: str
    message: str
    locator: str | None = None
    status: int = 400
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message


def missing(parameter: str) -> OWSError:
    return OWSError("MissingParameterValue", f"{parameter} is required", parameter)


def invalid(parameter: str, message: str) -> OWSError:
    return OWSError("InvalidParameterValue", message, parameter)


def from_exception(exc: BaseException, *, not_found_code: str = "NotFound") -> OWSError:
    """An `OWSError` for anything a request raised (a problem, a domain or geo error)."""
    if isinstance(exc, OWSError):
        return exc
    problem = exc if isinstance(exc, ProblemError) else problem_from_exception(exc)
    status = problem.status
    locator = None
    for error in problem.errors or ():
        if isinstance(error, dict) and error.get("field"):
            locator = str(error["field"])
            break
    if status == 404:
        code = not_found_code
    elif status in (401, 403):
        code = "NoApplicableCode"
    elif status >= 500:
        code = "OperationProcessingFailed"
    else:
        code = "InvalidParameterValue"
    return OWSError(code, problem.detail, locator, status, dict(problem.headers or {}))


def exception_report(error: OWSError, version: str = "2.0.0") -> bytes:
    """OWS Common 1.1 ExceptionReport (WFS 2.0, WMTS); OWS Common 1.0's for WFS 1.1.0."""
    locator = f" locator={quoteattr(error.locator)}" if error.locator else ""
    namespace = OWS10_NS if version == "1.1.0" else OWS_NS
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<ows:ExceptionReport xmlns:ows="{namespace}" version={quoteattr(version)} xml:lang="en">'
        f"<ows:Exception exceptionCode={quoteattr(error.code)}{locator}>"
        f"<ows:ExceptionText>{escape(error.message)}</ows:ExceptionText>"
        "</ows:Exception></ows:ExceptionReport>"
    ).encode()


def service_exception_report(error: OWSError, version: str = "1.3.0") -> bytes:
    """WMS ServiceExceptionReport (1.3.0; 1.1.1 has the same shape without a namespace)."""
    locator = f" locator={quoteattr(error.locator)}" if error.locator else ""
    namespace = ' xmlns="http://www.opengis.net/ogc"' if version == "1.3.0" else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<ServiceExceptionReport version={quoteattr(version)}{namespace}>"
        f"<ServiceException code={quoteattr(error.code)}{locator}>{escape(error.message)}"
        "</ServiceException></ServiceExceptionReport>"
    ).encode()
