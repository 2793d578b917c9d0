"""The admin console's layer page (/admin/layers): the catalogue and version pages, and
imports through the console's cookie-and-CSRF route, on SQLite and PostgreSQL."""

import io
import json
import re

import pytest
import shapely
from sqlalchemy import func, select

from planfuse.services.admin_tokens import create_admin_token
from planfuse.storage.models import Feature, LayerVersion
from tests.layer_files import (
    BOWTIE,
    GOOD,
    JIEFANGBEI,
    SHAPINGBA,
    UNCLOSED,
    feature_collection,
    square,
    write_zipped_shapefile,
)


def _csrf(html: bytes) -> str:
    return re.search(rb'name="csrf_token" value="([^"]+)"', html).group(1).decode()


def _page_config(html: bytes) -> dict:
    match = re.search(rb'<script type="application/json" id="layers-config">(.*?)</script>', html)
    return json.loads(match.group(1))


def sign_in(client, token: str) -> str:
    """Sign in to the console with `token`; the CSRF token of the signed-in pages."""
    login = client.get("/admin/login")
    r = client.post("/admin/login", data={"token": token, "csrf_token": _csrf(login.data)})
    assert r.status_code == 302
    page = client.get("/admin/layers")
    assert page.status_code == 200
    return _page_config(page.data)["csrf_token"]


def farmland_bytes(*names: str) -> bytes:
    squares = [square(*JIEFANGBEI, 50), square(*SHAPINGBA, 50)]
    fc = feature_collection(squares[: len(names)], [{"name": n} for n in names], crs="EPSG:4523")
    return json.dumps(fc, ensure_ascii=False).encode()


def upload(client, csrf: str | None, data: bytes, filename="farmland.geojson", **form):
    fields = {
        "layer": "farmland",
        "kind": "basic_farmland",
        "crs": "EPSG:4523",
        **form,
        "file": (io.BytesIO(data), filename),
    }
    if csrf is not None:
        fields["csrf_token"] = csrf
    return client.post(
        "/admin/layers/import",
        data=fields,
        content_type="multipart/form-data",
        headers={"Accept": "application/json"},
    )


def stored(ctx, layer_id: str) -> tuple[list[int], int]:
    """The versions of `layer_id` and its feature rows, read from the database."""
    with ctx.db.session() as session:
        versions = session.scalars(
            select(LayerVersion.version)
            .where(LayerVersion.layer_id == layer_id)
            .order_by(LayerVersion.version)
        ).all()
        rows = session.scalar(
            select(func.count()).select_from(Feature).where(Feature.layer_id == layer_id)
        )
    return list(versions), rows


@pytest.fixture
def csrf(client, admin_token) -> str:
    return sign_in(client, admin_token)


def test_import_creates_the_layer_then_a_second_version(client, csrf, ctx):
    r = upload(
        client, csrf, farmland_bytes("田一", "田二"), name="永久基本农田", department="规自局"
    )
    assert r.status_code == 201, r.get_json()
    summary = r.get_json()
    assert summary["layer_id"] == "farmland" and summary["version"] == 1
    assert summary["feature_count"] == 2 and summary["source_crs"] == "EPSG:4523"
    assert summary["total_area_m2"] == pytest.approx(2 * 100 * 100, rel=1e-3)
    [row] = client.get("/admin/layers.json").get_json()["layers"]
    assert (row["id"], row["version"], row["name"], row["department"]) == (
        "farmland",
        1,
        "永久基本农田",
        "规自局",
    )

    r = upload(client, csrf, farmland_bytes("田一"))
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["version"] == 2 and r.get_json()["feature_count"] == 1
    # The page's table and the public catalogue show version 2; version 1 is still stored.
    [row] = _page_config(client.get("/admin/layers").data)["layers"]
    assert row["version"] == 2 and row["feature_count"] == 1 and row["name"] == "永久基本农田"
    detail = client.get("/api/v1/layers/farmland").get_json()
    assert [(v["version"], v["feature_count"]) for v in detail["versions"]] == [(2, 1), (1, 2)]
    assert {v["created_by"] for v in detail["versions"]} == {"admin:test admin"}
    assert stored(ctx, "farmland") == ([1, 2], 3)

    versions = client.get("/admin/layers/farmland/versions")
    assert versions.status_code == 200
    html = versions.get_data(as_text=True)
    assert "admin:test admin" in html and "farmland.geojson" in html
    cells = re.findall(r'<th scope="row">(\d+)', html)
    assert cells == ["2", "1"]


def test_a_bad_feature_is_a_problem_naming_every_bad_feature_and_nothing_is_stored(
    client, csrf, ctx
):
    fc = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {}, "geometry": g} for g in (GOOD, BOWTIE, UNCLOSED)
        ],
    }
    bad = json.dumps(fc).encode()
    r = upload(client, csrf, bad, crs="EPSG:4490")
    assert r.status_code == 400
    problem = r.get_json()
    assert r.headers["Content-Type"].startswith("application/problem+json")
    located = [(e["feature"], e["ring"], e["vertex"]) for e in problem["errors"]]
    assert located == [(1, 0, 0), (2, 0, 3)]
    assert "Self-intersection" in problem["errors"][0]["message"]
    assert "not closed" in problem["errors"][1]["message"]
    assert client.get("/admin/layers.json").get_json()["layers"] == []
    assert stored(ctx, "farmland") == ([], 0)

    # On an existing layer, a bad file adds no version and leaves the current one.
    assert upload(client, csrf, farmland_bytes("田一")).status_code == 201
    assert upload(client, csrf, bad, crs="EPSG:4490").status_code == 400
    [row] = client.get("/admin/layers.json").get_json()["layers"]
    assert row["version"] == 1
    assert stored(ctx, "farmland") == ([1], 1)


def test_bad_options_are_problems(client, csrf, ctx):
    r = upload(client, csrf, farmland_bytes("田"), layer="Not An Id")
    assert r.status_code == 400 and r.get_json()["type"].endswith("invalid_layer_id")
    r = upload(client, csrf, farmland_bytes("田"), kind="farmland")
    assert r.status_code == 400 and "basic_farmland" in r.get_json()["detail"]
    # GeoJSON does not say its CRS: "from the .prj" is only for shapefiles.
    r = upload(client, csrf, farmland_bytes("田"), crs="")
    assert r.status_code == 400 and r.get_json()["type"].endswith("crs_required")
    assert upload(client, csrf, farmland_bytes("田")).status_code == 201
    r = upload(client, csrf, farmland_bytes("田"), kind="ecological_redline")
    assert r.status_code == 409
    assert stored(ctx, "farmland") == ([1], 1)


def test_missing_or_stale_csrf_is_refused(client, admin_token, ctx):
    stale = _csrf(client.get("/admin/login").data)  # the pre-sign-in token
    csrf = sign_in(client, admin_token)
    assert stale != csrf
    for token in (None, "", stale, csrf[:-1] + ("0" if csrf[-1] != "0" else "1")):
        r = upload(client, token, farmland_bytes("田"))
        assert r.status_code == 403, token
        assert r.get_json()["type"].endswith("csrf_failed")
    # Another admin's sign-in has its own token.
    other = create_admin_token(ctx, "other admin")[1]
    other_client = client.application.test_client()
    other_csrf = sign_in(other_client, other)
    assert upload(client, other_csrf, farmland_bytes("田")).status_code == 403
    assert stored(ctx, "farmland") == ([], 0)
    assert upload(other_client, other_csrf, farmland_bytes("田")).status_code == 201


def test_pages_need_sign_in(client, admin_token, ctx):
    for path in ("/admin/layers", "/admin/layers/farmland/versions"):
        r = client.get(path)
        assert r.status_code == 302 and r.headers["Location"].endswith("/admin/login")
    assert client.get("/admin/layers.json").status_code == 401
    login_csrf = _csrf(client.get("/admin/login").data)
    r = upload(client, login_csrf, farmland_bytes("田"))
    assert r.status_code == 401
    assert r.get_json()["type"].endswith("authentication_required")
    # The API's admin token is not a console sign-in.
    r = client.post(
        "/admin/layers/import",
        data={"layer": "farmland", "kind": "basic_farmland", "csrf_token": login_csrf},
        headers={"Authorization": f"Bearer {admin_token}"},
    )
    assert r.status_code == 401
    assert stored(ctx, "farmland") == ([], 0)


def test_markup_in_a_layer_name_is_text(client, csrf):
    name = '<img src=x onerror="alert(1)">农田'
    r = upload(client, csrf, farmland_bytes("田"), name=name, department="<b>规自局</b>")
    assert r.status_code == 201, r.get_json()
    page = client.get("/admin/layers")
    assert b"<img src=x" not in page.data and b"<b>" not in page.data
    assert _page_config(page.data)["layers"][0]["name"] == name
    versions = client.get("/admin/layers/farmland/versions").get_data(as_text=True)
    assert "<img src=x" not in versions and "<b>" not in versions
    assert "&lt;img src=x onerror=" in versions and "&lt;b&gt;规自局&lt;/b&gt;" in versions


def test_page_offers_kinds_and_chongqing_crs_first_and_links_the_pages(client, csrf):
    page = client.get("/admin/layers")
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    config = _page_config(page.data)
    kinds = {k["name"]: k for k in config["kinds"]}
    assert kinds["basic_farmland"]["title_zh"] == "永久基本农田"
    assert kinds["land_use_plan"]["required"] == ["code"]
    groups = config["crs_groups"]
    first = [o["value"] for o in groups[0]["options"]]
    assert first[:4] == ["EPSG:4490", "EPSG:4523", "EPSG:4524", "EPSG:4525"]
    assert {"EPSG:4544", "EPSG:4545", "EPSG:4546"} <= set(first)
    assert groups[1]["options"][0]["value"] == "GCJ-02"
    assert groups[2]["options"] == [{"value": "", "label": groups[2]["options"][0]["label"]}]
    every = [o["value"] for g in groups for o in g["options"]]
    assert len(every) == len(set(every)) and "EPSG:2433" in every
    # The navigation links both console pages; sign-in still lands on the embed page.
    for path, current in (("/admin/layers", "/admin/layers"), ("/admin/embed", "/admin/embed")):
        html = client.get(path).get_data(as_text=True)
        assert 'href="/admin/embed"' in html and 'href="/admin/layers"' in html
        assert f'href="{current}" aria-current="page"' in html
    assert client.get("/admin/").headers["Location"].endswith("/admin/embed")
    assert client.get("/admin/layers/nope/versions").status_code == 404


def test_a_zipped_shapefile_takes_its_crs_from_the_prj(client, csrf, tmp_path):
    path = write_zipped_shapefile(
        tmp_path / "roads.zip",
        [shapely.LineString(square(*JIEFANGBEI, 30).exterior.coords)],
        [{"DJ": "主干路"}],
        crs="EPSG:4545",
    )
    r = upload(
        client,
        csrf,
        path.read_bytes(),
        "roads.zip",
        layer="road",
        kind="road",
        crs="",
        map="DJ=class",
    )
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["source_crs"] == "EPSG:4545"
    assert r.get_json()["total_length_m"] == pytest.approx(4 * 60, rel=1e-3)
