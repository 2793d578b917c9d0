"""Console sign-ins are kept on the server, on SQLite and PostgreSQL: a cookie copied
before sign-out no longer works after it, revoking the admin token ends its sign-ins at
once, an expired or made-up cookie signs no one in, and a request never writes the row."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select, update

from planfuse.services.admin_sessions import session_admin, start_admin_session
from planfuse.services.admin_tokens import Admin, create_admin_token, revoke_admin_token
from planfuse.storage.models import AdminSession
from planfuse.storage.models.base import utcnow

COOKIE = "pf_admin"


def _csrf(html: bytes) -> str:
    return re.search(rb'name="csrf_token" value="([^"]+)"', html).group(1).decode()


def sign_in(client, token: str) -> str:
    """Sign `client` in; the cookie value it got."""
    page = client.get("/admin/login")
    r = client.post("/admin/login", data={"token": token, "csrf_token": _csrf(page.data)})
    assert r.status_code == 302, r.data
    return client.get_cookie(COOKIE, path="/admin").value


def with_cookie(app, value: str):
    """Another browser holding a copy of `value`."""
    other = app.test_client()
    other.set_cookie(COOKIE, value, path="/admin")
    return other


def test_a_copied_cookie_stops_working_at_sign_out(embed_app, embed_client, pf):
    _, token = create_admin_token(pf, "值班员")
    value = sign_in(embed_client, token)
    thief = with_cookie(embed_app, value)
    assert thief.get("/admin/apps").status_code == 200
    csrf = _csrf(embed_client.get("/admin/apps").data)
    assert embed_client.post("/admin/logout", data={"csrf_token": csrf}).status_code == 302
    assert thief.get("/admin/apps").status_code == 302
    assert thief.get("/admin/apps.json").status_code == 401
    assert session_admin(pf, value) is None
    # Signing in again works, with a new value.
    assert sign_in(embed_client, token) != value


def test_revoking_the_token_ends_its_sign_ins_at_once(embed_app, embed_client, pf):
    token_id, token = create_admin_token(pf, "值班员")
    _, other_token = create_admin_token(pf, "另一位")
    first = sign_in(embed_client, token)
    second = sign_in(embed_app.test_client(), token)
    kept = sign_in(embed_app.test_client(), other_token)
    assert revoke_admin_token(pf, token_id)
    for value in (first, second):
        assert with_cookie(embed_app, value).get("/admin/embed").status_code == 302
    assert with_cookie(embed_app, kept).get("/admin/embed").status_code == 200
    with pf.db.session() as s:
        ended = s.scalars(select(AdminSession.ended_at).where(AdminSession.admin_id == token_id))
        assert all(at is not None for at in ended)


def test_expired_and_made_up_cookies_sign_no_one_in(embed_app, pf):
    token_id, _ = create_admin_token(pf, "值班员")
    value = start_admin_session(pf, Admin(token_id, "值班员"), method="token", lifetime_s=60)
    assert session_admin(pf, value) == Admin(token_id, "值班员")
    with pf.db.session() as s:
        s.execute(update(AdminSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert session_admin(pf, value) is None
    for made_up in ("", "x", "a" * 43, "a" * 4000, f"{token_id}.9999999999.{'0' * 64}"):
        assert with_cookie(embed_app, made_up).get("/admin/embed").status_code == 302


def test_reading_a_sign_in_writes_nothing(embed_app, embed_client, pf):
    _, token = create_admin_token(pf, "值班员")
    sign_in(embed_client, token)
    with pf.db.session() as s:
        before = [tuple(r) for r in s.execute(select(AdminSession.__table__))]
    for _ in range(3):
        assert embed_client.get("/admin/apps.json").status_code == 200
    with pf.db.session() as s:
        assert [tuple(r) for r in s.execute(select(AdminSession.__table__))] == before


def test_long_expired_sign_ins_are_deleted_at_the_next_sign_in(pf):
    token_id, _ = create_admin_token(pf, "值班员")
    admin = Admin(token_id, "值班员")
    start_admin_session(pf, admin, method="token", lifetime_s=60)
    with pf.db.session() as s:
        s.execute(update(AdminSession).values(expires_at=utcnow() - timedelta(days=31)))
    fresh = start_admin_session(pf, admin, method="token", lifetime_s=60)
    with pf.db.session() as s:
        assert s.scalar(select(func.count()).select_from(AdminSession)) == 1
    assert session_admin(pf, fresh) == admin
