"""Attachments of departments' opinions (意见附件): PDF documents, PNG or JPEG images, and
zipped shapefiles (a department's own red line or adjustment drawing).

An upload is untrusted: its content must be what its name says (the file signature of a
PDF, PNG or JPEG; a zip must open as a shapefile with a .prj and at least one record,
read with the same caps as a layer import), and it must fit `approval_attachment_max_bytes`.
Attachments are stored once and never changed; an opinion refers to them by id.
"""

from __future__ import annotations

import hashlib
import secrets
import tempfile
from collections.abc import Sequence
from pathlib import Path, PurePath
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from planfuse.auth.caller import Caller
from planfuse.context import PlanFuse
from planfuse.errors import InvalidInput, NotFound, TooLarge
from planfuse.services.approval.cases import (
    actor_of,
    begin_write,
    department_of,
    load_case,
    lock_open_case,
    require_approver,
)
from planfuse.services.approval.departments import known_departments
from planfuse.services.layers.files import open_layer_file
from planfuse.storage.models import ApprovalAttachment
from planfuse.storage.models.base import utcnow

#: kind → (file name suffixes, media type)
KINDS = {
    "pdf": ((".pdf",), "application/pdf"),
    "png": ((".png",), "image/png"),
    "jpeg": ((".jpg", ".jpeg"), "image/jpeg"),
    "shapefile_zip": ((".zip",), "application/zip"),
}
MAX_PER_DEPARTMENT = 20
FILENAME_MAX = 200


def _kind_of_name(filename: str) -> str:
    suffix = PurePath(filename).suffix.lower()
    for kind, (suffixes, _) in KINDS.items():
        if suffix in suffixes:
            return kind
    raise InvalidInput(
        f"{filename}: attachments are PDF (.pdf), images (.png, .jpg) or zipped shapefiles (.zip)",
        field="file",
        code="unsupported_attachment",
    )


def _not_what_it_says(filename: str, kind: str) -> InvalidInput:
    return InvalidInput(
        f"{filename} is not a {kind.replace('_', ' ')} file (its content does not match its "
        "name); attach the file itself",
        field="file",
        code="attachment_mismatch",
    )


def check_content(ctx: PlanFuse, filename: str, data: bytes) -> str:
    """The attachment's kind when its content is what its name says; else InvalidInput."""
    kind = _kind_of_name(filename)
    if kind == "pdf":
        ok = data.startswith(b"%PDF-") and b"%%EOF" in data[-2048:]
    elif kind == "png":
        ok = data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR"
    elif kind == "jpeg":
        ok = data.startswith(b"\xff\xd8\xff") and data.rstrip(b"\x00\r\n").endswith(b"\xff\xd9")
    else:
        ok = data.startswith(b"PK\x03\x04") and _is_shapefile_zip(ctx, filename, data)
    if not ok:
        raise _not_what_it_says(filename, kind)
    return kind


def _is_shapefile_zip(ctx: PlanFuse, filename: str, data: bytes) -> bool:
    settings = ctx.settings
    with tempfile.TemporaryDirectory(prefix="planfuse-attachment-") as tmp:
        path = Path(tmp) / "attachment.zip"
        path.write_bytes(data)
        with open_layer_file(
            path,
            max_bytes=int(settings.import_max_bytes),
            max_entries=int(settings.zip_max_entries),
            display_name=filename,
        ) as source:
            if source.format != "shapefile":
                return False
            if not source.prj_wkt:
                raise InvalidInput(
                    f"{filename} has no .prj: a shapefile attachment names its coordinate system",
                    field="file",
                    code="crs_required",
                )
            return bool(source.features) and not source.problems


def _filename(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("the file needs a name (e.g. 意见.pdf)", field="file")
    name = PurePath(value.replace("\\", "/")).name.strip()
    if not 0 < len(name) <= FILENAME_MAX or any(ord(c) < 32 for c in name):
        raise InvalidInput(
            f"the file name must be at most {FILENAME_MAX} printable characters", field="file"
        )
    return name


def attachment_dict(row: ApprovalAttachment) -> dict[str, Any]:
    return {
        "id": row.id,
        "filename": row.filename,
        "kind": row.kind,
        "media_type": row.media_type,
        "size_bytes": row.size_bytes,
        "sha256": row.sha256,
        "dept": row.dept,
        "at": row.at.isoformat() if row.at else None,
    }


def add_attachment(
    ctx: PlanFuse, caller: Caller, case_id: Any, filename: Any, data: bytes, dept: Any = None
) -> dict[str, Any]:
    """Store a file for the caller's department on an open case; returns its description
    (with the id an opinion names)."""
    name = _filename(filename)
    limit = int(ctx.settings.approval_attachment_max_bytes)
    if len(data) > limit:
        raise TooLarge(
            f"{name} is {len(data):,} bytes; an attachment may have at most {limit:,} "
            "(approval_attachment_max_bytes)",
            errors=[{"field": "file", "message": f"at most {limit} bytes"}],
        )
    if not data:
        raise InvalidInput(f"{name} is empty", field="file")
    kind = check_content(ctx, name, data)
    body = {} if dept is None else {"dept": dept}
    actor = actor_of(caller)
    with ctx.db.write_session() as session:
        begin_write(session, case_id)
        case, rows, access = load_case(session, caller, case_id)
        row = department_of(caller, rows, access, body, known_departments(session))
        require_approver(ctx, caller)
        lock_open_case(session, case.id, "take attachments")
        count = session.scalar(
            select(func.count())
            .select_from(ApprovalAttachment)
            .where(ApprovalAttachment.case_id == case.id, ApprovalAttachment.dept == row.dept)
        )
        if count >= MAX_PER_DEPARTMENT:
            raise InvalidInput(
                f"{row.dept} already has {count} attachments on this case (at most "
                f"{MAX_PER_DEPARTMENT})",
                field="file",
                code="too_many_attachments",
            )
        attachment = ApprovalAttachment(
            id="att_" + secrets.token_hex(10),
            case_id=case.id,
            dept=row.dept,
            filename=name,
            kind=kind,
            media_type=KINDS[kind][1],
            size_bytes=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            content=data,
            app_id=actor.app_id,
            user=actor.user,
            at=utcnow(),
        )
        session.add(attachment)
        session.flush()
        return attachment_dict(attachment)


def attachments_for_opinion(
    session: Session, case_id: str, dept: str, ids: Sequence[str]
) -> list[dict[str, Any]]:
    """The descriptions of the attachments an opinion names; each must be one the same
    department uploaded to the same case (InvalidInput otherwise)."""
    if not ids:
        return []
    rows = {
        r.id: r
        for r in session.scalars(
            select(ApprovalAttachment).where(
                ApprovalAttachment.id.in_(list(ids)),
                ApprovalAttachment.case_id == case_id,
                ApprovalAttachment.dept == dept,
            )
        )
    }
    missing = [i for i in ids if i not in rows]
    if missing:
        raise InvalidInput(
            f"attachment(s) {', '.join(m[:40] for m in missing[:5])} were not uploaded by "
            f"{dept} to this case; upload them first (POST …/attachments)",
            field="attachments",
            code="unknown_attachment",
        )
    return [attachment_dict(rows[i]) for i in ids]


def get_attachment(
    ctx: PlanFuse, caller: Caller, case_id: Any, attachment_id: Any
) -> tuple[dict[str, Any], bytes]:
    """An attachment of a case the caller may see: its description and its bytes."""
    with ctx.db.session() as session:
        case, _, _ = load_case(session, caller, case_id)
        row = (
            session.get(ApprovalAttachment, attachment_id)
            if isinstance(attachment_id, str) and len(attachment_id) <= 40
            else None
        )
        if row is None or row.case_id != case.id:
            raise NotFound("attachment", str(attachment_id)[:40])
        return attachment_dict(row), bytes(row.content)
