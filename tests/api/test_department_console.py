"""Department administrators (发布部门管理员) in the admin console, on SQLite and
PostgreSQL: they sign in with the `admin` role and their department, kept on the server and
checked against their token on every request; the console's change routes limit them as the
admin API does — their own department's services, remote services and chains change,
another department's answer 403 `not_your_department`, the platform's 403
`platform_admin_required` (a page: a 403 page saying so) — and a platform administrator's
console is unchanged."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import update

from planfuse.services.admin_sessions import session_admin
from planfuse.services.admin_tokens import create_admin_token
from planfuse.storage.models import AdminSession

ECO = "ecology_environment"
NR = "natural_resources"
COOKIE = "pf_admin"
REMOTE = {
    "id": "eco_parcels",
    "name": {"zh-CN": "生态环境局用地图斑", "en": "Ecology bureau parcels"},
    "dept": ECO,
    "kind": "ogc_features",
    "base_url": "http://127.0.0.1:9/ogc/collections/parcels",
}
CHAIN = {
    "id": "eco_touching",
    "name": {"zh-CN": "压占冲突数", "en": "Conflicts touched"},
    "description": {
        "zh-CN": "红线压占的冲突图斑数。",
        "en": "Conflict patches a red line touches.",
    },
    "dept": ECO,
    "inputs": {"type": "object", "properties": {"geometry": {}, "crs": {"type": "string"}}},
    "steps": [
        {
            "id": "touching",
            "service": "conflicts_touching",
            "args": {"geometry": "inputs.geometry", "crs": "inputs.crs"},
        }
    ],
    "outputs": {"count": "steps.touching.count"},
}
#: Pages and their JSON twins that are the platform's.
PLATFORM_PAGES = ("/admin/apps", "/admin/layers", "/admin/webhooks", "/admin/audit")
PLATFORM_JSON = ("/admin/apps.json", "/admin/layers.json", "/admin/audit.json", "/admin/audit.csv")


@pytest.fixture
def settings_overrides():
    return {"service_state_cache_s": 0, "remote_services_allow_private": True}


def _csrf(html: bytes) -> str:
    return re.search(rb'name="csrf_token" value="([^"]+)"', html).group(1).decode()


def _config(html: bytes) -> dict:
    match = re.search(rb'<script type="application/json" id="admin-config">(.*?)</script>', html)
    return json.loads(match.group(1))


def code(response) -> str:
    return response.get_json()["type"].rsplit("/", 1)[-1]


class Console:
    """A browser signed in to the console: posts JSON with the page's CSRF token."""

    def __init__(self, client, token: str, **form: str):
        self.client = client
        login = client.get("/admin/login")
        self.signed_in = client.post(
            "/admin/login", data={"token": token, "csrf_token": _csrf(login.data), **form}
        )
        assert self.signed_in.status_code == 302, self.signed_in.data
        self.page = client.get("/admin/catalogue")
        self.config = _config(self.page.data)
        self.headers = {"X-CSRF-Token": self.config["csrf_token"]}

    def post(self, url: str, body: dict | None = None):
        return self.client.post(url, json=body if body is not None else {}, headers=self.headers)

    @property
    def cookie(self) -> str:
        return self.client.get_cookie(COOKIE, path="/admin").value


@pytest.fixture
def eco(embed_app, pf) -> Console:
    token = create_admin_token(pf, "生态环境局管理员", dept=ECO)[1]
    # A `dept` sent with the sign-in form is not read: the token's department is.
    return Console(embed_app.test_client(), token, dept=NR)


@pytest.fixture
def platform(embed_app, admin_token) -> Console:
    return Console(embed_app.test_client(), admin_token)


def test_the_sign_in_keeps_the_department_and_the_admin_role(eco, pf):
    assert eco.signed_in.headers["Location"] == "/admin/catalogue"
    admin = session_admin(pf, eco.cookie)
    assert (admin.role, admin.dept) == ("admin", ECO)
    assert eco.config["admin_dept"] == ECO
    html = eco.page.get_data(as_text=True)
    assert "生态环境局管理员 · Ecology and Environment Bureau administrator" in html
    # The navigation offers their department's pages only.
    nav = re.search(r'<nav class="pf-admin-nav".*?</nav>', html, re.S).group(0)
    assert "/admin/catalogue" in nav and "/admin/chains" in nav
    for page in PLATFORM_PAGES:
        assert f'href="{page}"' not in nav
    assert eco.client.get("/admin/").headers["Location"] == "/admin/catalogue"


def test_the_department_is_checked_against_the_token_on_every_request(eco, pf):
    assert eco.client.get("/admin/catalogue.json").status_code == 200
    # A sign-in whose department is not its token's signs no one in, whichever way it
    # differs: none (a platform administrator's) or another department.
    for dept in (None, NR):
        with pf.db.session() as s:
            s.execute(update(AdminSession).values(dept=dept))
        assert session_admin(pf, eco.cookie) is None
        assert eco.client.get("/admin/catalogue.json").status_code == 401
        assert eco.post("/admin/catalogue/siting_basic/stop").status_code == 401
    with pf.db.session() as s:
        s.execute(update(AdminSession).values(dept=ECO))
    assert eco.client.get("/admin/catalogue.json").status_code == 200


def test_a_department_admin_changes_its_own_services_in_the_console(eco, host, pf):
    r = eco.post(eco.config["register_url"], REMOTE)
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["remote"]["created_by"] == "admin:生态环境局管理员"

    def url(name: str) -> str:
        return eco.config[name].replace("SERVICE", "eco_parcels")

    r = eco.post(url("stop_url"), {"reason": "数据更新"})
    assert r.status_code == 200 and r.get_json()["stopped"]["reason"] == "数据更新"
    assert eco.post(url("start_url")).get_json()["running"] is True
    grant = eco.config["grant_url"].replace("SERVICE", "eco_parcels").replace("APP", host.id)
    r = eco.post(grant, {"allowed": True, "rate_per_minute": 30})
    assert r.status_code == 200 and r.get_json()["rate_per_minute"] == 30
    moved = REMOTE["base_url"].replace("parcels", "parcels_2026")
    r = eco.post(url("update_url"), {"base_url": moved})
    assert r.status_code == 200 and r.get_json()["remote"]["base_url"] == moved
    assert eco.post(url("check_url")).status_code == 200
    # 详情 of its own service: grants, configuration and usage, the controls' data.
    detail = eco.client.get(url("detail_url")).get_json()
    assert detail["manage_refused"] is None
    assert [g["app_id"] for g in detail["grants"]] == [host.id]
    assert detail["remote"]["base_url"] == moved and detail["usage"] is not None

    # Chains under its department: version 1, then 2.
    chains = _config(eco.client.get("/admin/chains").data)
    assert chains["starter"]["dept"] == ECO and chains["admin_dept"] == ECO
    r = eco.post(chains["publish_url"], CHAIN)
    assert r.status_code == 201 and r.get_json()["version"] == 1
    r = eco.post(chains["publish_url"], CHAIN | {"outputs": {"n": "steps.touching.count"}})
    assert r.status_code == 201 and r.get_json()["version"] == 2
    listed = eco.client.get(chains["list_url"]).get_json()["chains"]
    assert [(c["id"], c["manageable"]) for c in listed] == [("eco_touching", True)]
    # A published chain is its department's service: stopped and started from 详情.
    stop = eco.config["stop_url"].replace("SERVICE", "eco_touching")
    assert eco.post(stop, {"reason": "改版"}).status_code == 200

    assert eco.post(url("remove_url")).status_code == 204


def test_configuration_in_the_console_for_its_own_department(embed_app, pf):
    # 辅助选址-高级条件 is published by 规划和自然资源局: its administrator configures it.
    nr = Console(embed_app.test_client(), create_admin_token(pf, "规划局管理员", dept=NR)[1])
    url = nr.config["config_url"].replace("SERVICE", "siting_advanced")
    r = nr.post(url, {"values": {"tolerance_m2": 2.5}, "note": "放宽容差"})
    assert r.status_code == 200, r.get_json()
    item = next(c for c in r.get_json()["config"] if c["name"] == "tolerance_m2")
    assert (item["value"], item["changed"]) == (2.5, True)
    r = nr.post(url, {"values": {"tolerance_m2": "wide"}})
    assert r.status_code == 400 and r.get_json()["errors"][0]["field"] == "values.tolerance_m2"


def test_another_departments_services_are_refused_in_the_console(eco, platform, host):
    # 辅助选址 is published by 规划和自然资源局 (natural_resources).
    config = eco.config
    for url, body in (
        (config["stop_url"].replace("SERVICE", "siting_basic"), {"reason": "x"}),
        (config["start_url"].replace("SERVICE", "siting_basic"), {}),
        (config["grant_url"].replace("SERVICE", "siting_basic").replace("APP", host.id), {}),
        (config["config_url"].replace("SERVICE", "siting_advanced"), {"values": {}}),
    ):
        r = eco.post(url, body)
        assert r.status_code == 403 and code(r) == "not_your_department", (url, r.get_json())
        detail = r.get_json()["detail"]
        # Said in Chinese and in English, naming both departments.
        assert "生态环境局" in detail and "规划和自然资源局" in detail
        assert "administers the department 'ecology_environment'" in detail
    siting = platform.client.get("/admin/catalogue/siting_basic.json").get_json()
    assert siting["status"] != "stopped"

    # Read: the service, not its grants, configuration and usage; and why.
    detail = eco.client.get("/admin/catalogue/siting_advanced.json").get_json()
    assert detail["endpoints"] and "规划和自然资源局" in detail["manage_refused"]
    assert detail["grants"] is None and detail["config"] is None and detail["usage"] is None

    # Remote services: not registered under another department, not moved to one, and
    # another department's not checked, changed nor removed — nor its address shown.
    r = eco.post(config["register_url"], REMOTE | {"dept": NR})
    assert r.status_code == 403 and code(r) == "not_your_department"
    r = eco.post(config["register_url"], {k: v for k, v in REMOTE.items() if k != "dept"})
    assert r.status_code == 403 and code(r) == "not_your_department"
    assert eco.post(config["register_url"], REMOTE).status_code == 201
    own = config["update_url"].replace("SERVICE", "eco_parcels")
    r = eco.post(own, {"dept": NR})
    assert r.status_code == 403 and code(r) == "not_your_department"
    nr = REMOTE | {"id": "nr_parcels", "dept": NR}
    assert platform.post(platform.config["register_url"], nr).status_code == 201
    for name in ("update_url", "check_url", "remove_url"):
        r = eco.post(config[name].replace("SERVICE", "nr_parcels"), {"base_url": "http://x"})
        assert r.status_code == 403 and code(r) == "not_your_department", name
    detail = eco.client.get("/admin/catalogue/nr_parcels.json").get_json()
    assert detail["manage_refused"] and "base_url" not in detail["remote"]
    listed = eco.client.get("/admin/catalogue.json?kind=data").get_json()["services"]
    remotes = {s["id"]: s["remote"] for s in listed if s["remote"]}
    assert "base_url" not in remotes["nr_parcels"] and "base_url" in remotes["eco_parcels"]

    # Chains: not under another department, nor a new version of its chain.
    chains = _config(eco.client.get("/admin/chains").data)
    r = eco.post(chains["publish_url"], CHAIN | {"dept": NR})
    assert r.status_code == 403 and code(r) == "not_your_department"
    nr_chain = CHAIN | {"id": "nr_touching", "dept": NR}
    assert platform.post(chains["publish_url"], nr_chain).status_code == 201
    r = eco.post(chains["publish_url"], nr_chain | {"dept": ECO})
    assert r.status_code == 403 and code(r) == "not_your_department"
    listed = eco.client.get(chains["list_url"]).get_json()["chains"]
    assert [(c["id"], c["manageable"]) for c in listed] == [("nr_touching", False)]


def test_the_platform_is_for_platform_administrators_in_the_console(eco):
    for url in (
        "/admin/apps/create",
        "/admin/apps/app_x/disable",
        "/admin/layers/import",
        "/admin/layers/x/current",
        "/admin/webhooks/deliveries/1/retry",
        "/admin/embed/preview-token",
    ):
        r = eco.post(url, {"name": "x"})
        assert r.status_code == 403 and code(r) == "platform_admin_required", url
        assert "平台管理员" in r.get_json()["detail"]
        assert "platform administrators" in r.get_json()["detail"]
    for url in PLATFORM_JSON:
        r = eco.client.get(url)
        assert r.status_code == 403 and code(r) == "platform_admin_required", url
    # A page: a 403 page saying so, with the way back to their services.
    for url in (*PLATFORM_PAGES, "/admin/layers/x/versions"):
        r = eco.client.get(url)
        assert r.status_code == 403 and r.mimetype == "text/html", url
        html = r.get_data(as_text=True)
        assert "需要平台管理员 · Platform administrators only" in html
        assert 'href="/admin/catalogue"' in html
    # The pages it may read: the embed page says a preview is the platform's.
    embed = eco.client.get("/admin/embed")
    assert embed.status_code == 200
    assert "平台管理员" in _config(embed.data)["preview_refused"]
    for url in ("/admin/services", "/admin/services.json", "/admin/chains", "/admin/chains.json"):
        assert eco.client.get(url).status_code == 200, url


def test_a_platform_admin_is_unchanged(platform, pf):
    assert platform.signed_in.headers["Location"] == "/admin/embed"
    assert session_admin(pf, platform.cookie).dept is None
    assert platform.config["admin_dept"] is None
    html = platform.page.get_data(as_text=True)
    assert 'id="admin-scope"' not in html
    for page in PLATFORM_PAGES:
        assert f'href="{page}"' in html
        assert platform.client.get(page).status_code == 200
    assert platform.client.get("/admin/apps.json").status_code == 200
    assert _config(platform.client.get("/admin/embed").data)["preview_refused"] is None
    r = platform.post(platform.config["stop_url"].replace("SERVICE", "siting_basic"))
    assert r.status_code == 200
    detail = platform.client.get("/admin/catalogue/siting_basic.json").get_json()
    assert detail["manage_refused"] is None and detail["grants"] is not None
    r = platform.post(platform.config["start_url"].replace("SERVICE", "siting_basic"))
    assert r.status_code == 200
