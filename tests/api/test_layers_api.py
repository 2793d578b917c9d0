"""Layer catalogue and admin import over HTTP."""

import io

import pytest

from tests.layer_files import JIEFANGBEI, SHAPINGBA, feature_collection, square, write_geojson


@pytest.fixture
def farmland_file(tmp_path):
    fc = feature_collection(
        [square(*JIEFANGBEI, 50), square(*SHAPINGBA, 50)],
        [{"name": "<script>alert(1)</script>"}, {"name": "田"}],
        crs="EPSG:4523",
    )
    return write_geojson(tmp_path / "farmland.geojson", fc)


def _upload(client, token, path, **form):
    data = {
        "kind": "basic_farmland",
        "crs": "EPSG:4523",
        **form,
        "file": (io.BytesIO(path.read_bytes()), path.name),
    }
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post(
        "/api/v1/layers/basic_farmland/versions",
        data=data,
        headers=headers,
        content_type="multipart/form-data",
    )


def test_import_needs_an_admin_token(client, farmland_file):
    r = _upload(client, None, farmland_file)
    assert r.status_code == 401
    assert r.get_json()["type"].endswith("authentication_required")
    r = _upload(client, "pfa_not-a-real-token", farmland_file)
    assert r.status_code == 403


def test_import_then_catalogue(client, admin_token, farmland_file):
    r = _upload(
        client, admin_token, farmland_file, name="永久基本农田", department="规划和自然资源局"
    )
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["feature_count"] == 2
    catalogue = client.get("/api/v1/layers").get_json()["layers"]
    [entry] = catalogue
    assert entry["id"] == "basic_farmland"
    assert entry["name"] == "永久基本农田"
    assert entry["department"] == "规划和自然资源局"
    assert entry["crs"] == "EPSG:4523"
    assert entry["version"] == 1 and entry["feature_count"] == 2
    west, south, east, north = entry["bbox"]
    assert 106.4 < west < east < 106.6 and 29.5 < south < north < 29.6
    assert entry["updated"]
    detail = client.get("/api/v1/layers/basic_farmland").get_json()
    assert [v["version"] for v in detail["versions"]] == [1]


def test_bad_feature_upload_is_a_problem_listing_features(client, admin_token, tmp_path):
    fc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [
                            [106.5, 29.5],
                            [106.51, 29.51],
                            [106.51, 29.5],
                            [106.5, 29.51],
                            [106.5, 29.5],
                        ]
                    ],
                },
            }
        ],
    }
    path = write_geojson(tmp_path / "bad.geojson", fc)
    r = _upload(client, admin_token, path, crs="EPSG:4490")
    assert r.status_code == 400
    body = r.get_json()
    assert body["errors"][0]["feature"] == 0
    assert "Traceback" not in r.get_data(as_text=True)
    assert client.get("/api/v1/layers").get_json()["layers"] == []


def test_fifty_megabyte_upload_gets_413_and_the_server_keeps_serving(client, admin_token):
    boundary = "planfuse-test-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="big.geojson"\r\nContent-Type: application/json\r\n\r\n'
        ).encode()
        + b"x" * (50 * 1024 * 1024)
        + f"\r\n--{boundary}--\r\n".encode()
    )
    r = client.post(
        "/api/v1/layers/basic_farmland/versions",
        data=body,
        headers={"Authorization": f"Bearer {admin_token}"},
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert r.status_code == 413
    assert r.get_json()["status"] == 413
    assert client.get("/healthz").status_code == 200


def test_unknown_crs_and_kind_are_problems(client, admin_token, farmland_file):
    r = _upload(client, admin_token, farmland_file, crs="EPSG:99999")
    assert r.status_code == 400
    assert r.get_json()["type"].endswith("unknown_crs")
    r = _upload(client, admin_token, farmland_file, kind="farmland")
    assert r.status_code == 400
    assert "basic_farmland" in r.get_json()["detail"]


def test_missing_file_and_unknown_layer(client, admin_token):
    r = client.post(
        "/api/v1/layers/x/versions",
        data={"kind": "basic_farmland"},
        headers={"Authorization": f"Bearer {admin_token}"},
    )
    assert r.status_code == 400
    assert r.get_json()["errors"][0]["field"] == "file"
    assert client.get("/api/v1/layers/nope").status_code == 404
