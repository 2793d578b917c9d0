"""Widget bundles and the SDK go out gzip-compressed to browsers that accept it."""

from __future__ import annotations

import gzip

from planfuse.widgets.registry import widget_registry

GZIP = {"Accept-Encoding": "gzip, deflate, br"}


def bundle(pf, widget: str, name: str) -> bytes:
    return (widget_registry(pf).get(widget).assets_dir / name).read_bytes()


def test_a_widget_bundle_is_compressed_when_accepted(embed_client, pf):
    plain = embed_client.get("/embed/assets/map/map.js?v=1")
    assert plain.status_code == 200 and "Content-Encoding" not in plain.headers
    assert plain.get_data() == bundle(pf, "map", "map.js")
    packed = embed_client.get("/embed/assets/map/map.js?v=1", headers=GZIP)
    assert packed.status_code == 200
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.get_data()) == plain.get_data()
    assert len(packed.get_data()) < len(plain.get_data()) / 2
    # Same caching as the plain file, a distinct ETag, and caches keep both variants.
    assert packed.headers["Cache-Control"] == plain.headers["Cache-Control"]
    assert "immutable" in packed.headers["Cache-Control"]
    assert packed.headers["ETag"] != plain.headers["ETag"]
    assert "Accept-Encoding" in packed.headers["Vary"]
    assert "Accept-Encoding" in plain.headers["Vary"]
    assert packed.mimetype == plain.mimetype
    plain.close()


def test_revalidating_the_compressed_variant_gives_304(embed_client):
    first = embed_client.get("/embed/assets/map/map.css", headers=GZIP)
    assert first.headers["Content-Encoding"] == "gzip"
    again = embed_client.get(
        "/embed/assets/map/map.css", headers=GZIP | {"If-None-Match": first.headers["ETag"]}
    )
    assert again.status_code == 304 and again.get_data() == b""


def test_gzip_refused_or_absent_means_the_plain_file(embed_client):
    for headers in ({"Accept-Encoding": "gzip;q=0, br"}, {"Accept-Encoding": "identity"}, {}):
        r = embed_client.get("/embed/assets/map/map.js", headers=headers)
        assert "Content-Encoding" not in r.headers, headers
        r.close()


def test_the_sdk_is_compressed_and_keeps_its_cross_origin_headers(embed_client):
    plain = embed_client.get("/embed.js")
    packed = embed_client.get("/embed.js", headers=GZIP)
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.get_data()) == plain.get_data()
    assert packed.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert packed.headers["Access-Control-Allow-Origin"] == "*"
    assert packed.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    plain.close()


def test_missing_and_escaping_paths_stay_404(embed_client):
    assert embed_client.get("/embed/assets/map/nope.js", headers=GZIP).status_code == 404
    assert embed_client.get("/embed/assets/map/../../secret", headers=GZIP).status_code == 404
