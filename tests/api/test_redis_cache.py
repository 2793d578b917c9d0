"""With PLANFUSE_REDIS_URL set, tiles are cached in Redis and shared by every process."""

import math

import pytest
import redis

from planfuse.app import create_app
from planfuse.services.layers.importer import ImportOptions, import_layer
from tests.conftest import TEST_SECRET
from tests.layer_files import JIEFANGBEI, feature_collection, square, write_geojson

REDIS_BASE = "redis://127.0.0.1:6379/"


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return z, x, y


@pytest.fixture
def redis_url(ctx) -> str:
    """A Redis database of its own per parametrisation, so parallel workers never meet."""
    return REDIS_BASE + ("13" if ctx.db.dialect == "sqlite" else "14")


@pytest.fixture
def shared_redis(redis_url):
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


def _app(ctx, redis_url):
    app = create_app(
        {
            "database_url": ctx.settings.database_url,
            "secret_key": TEST_SECRET,
            "redis_url": redis_url,
        }
    )
    app.testing = True
    return app


def test_tiles_are_shared_through_redis_and_keyed_by_layer_version(
    ctx, tmp_path, shared_redis, redis_url
):
    path = write_geojson(tmp_path / "f.geojson", feature_collection([square(*JIEFANGBEI, 300)]))
    options = ImportOptions(layer_id="basic_farmland", kind="basic_farmland", crs="EPSG:4490")
    import_layer(ctx, path, options)
    z, x, y = tile_of(*JIEFANGBEI, 14)
    url = f"/tiles/basic_farmland/{z}/{x}/{y}.mvt"

    first, second = _app(ctx, redis_url), _app(ctx, redis_url)  # two server processes, one Redis
    try:
        rendered = first.test_client().get(url)
        assert rendered.status_code == 200 and rendered.data
        keys = [k.decode() for k in shared_redis.keys("planfuse:tile:basic_farmland:1:*")]
        assert len(keys) == 1
        # The second process answers from the shared cache: replace the entry through the
        # first process's cache and the second one serves exactly that.
        key = keys[0].removeprefix("planfuse:")
        assert second.extensions["planfuse_cache"].get(key) == rendered.data
        first.extensions["planfuse_cache"].set(key, b"shared-entry")
        assert second.test_client().get(url).data == b"shared-entry"

        # A new layer version is a new key: nothing stale is served.
        import_layer(ctx, path, options)
        again = second.test_client().get(url)
        assert again.status_code == 200
        assert shared_redis.keys("planfuse:tile:basic_farmland:2:*")
    finally:
        for app in (first, second):
            app.extensions["planfuse"].close()
