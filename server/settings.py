"""PlanFuse settings: one table with defaults and help text.

The table feeds `planfuse settings`, docs/settings.md and the test that every setting is
documented. Values come from, in order: the defaults below, `PLANFUSE_<NAME>` environment
variables, then the `config` mapping passed to `create_app` (tests use this).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

ENV_PREFIX = "PLANFUSE_"


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected true/false, got {value!r}")


def _json_object(value: str) -> dict:
    parsed = json.loads(value) if value.strip() else {}
    if not isinstance(parsed, dict):
        raise ValueError("expected a JSON object")
    return parsed


def _str_list(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


@dataclass(frozen=True)
class Setting:
    """One configurable value: its name, default, parser and a line of help."""

    name: str
    default: Any
    help: str
    parse: Callable[[str], Any] = str
    secret: bool = False

    @property
    def env_var(self) -> str:
        return ENV_PREFIX + self.name.upper()


SETTINGS: tuple[Setting, ...] = (
    # --- server -----------------------------------------------------------------
    Setting(
        "env",
        "development",
        "`development` or `production`. Production refuses to start without a strong secret key.",
        str,
    ),
    Setting(
        "secret_key",
        "",
        "Server secret (32+ characters) signing session tokens and "
        "reports. Generate one with `planfuse secret`. Required in production.",
        str,
        secret=True,
    ),
    Setting(
        "public_url",
        "",
        "The server's public base URL (scheme://host:port) used in "
        "links, TileJSON and embed snippets; empty means taken from each request.",
        str,
    ),
    Setting("log_level", "INFO", "Logging level: DEBUG, INFO, WARNING or ERROR.", str),
    Setting(
        "max_body_bytes",
        20 * 1024 * 1024,
        "Largest accepted request body in bytes; bigger bodies get 413.",
        int,
    ),
    # --- storage ----------------------------------------------------------------
    Setting(
        "database_url",
        "sqlite:///planfuse.db",
        "SQLAlchemy URL of the planning "
        "database. SQLite (a file in the working folder) by default; "
        "`postgresql+psycopg://user@host/db` for PostgreSQL.",
        str,
        secret=True,
    ),
    Setting(
        "sqlite_busy_timeout_ms",
        30_000,
        "How long a SQLite writer waits for a lock before failing, in milliseconds.",
        int,
    ),
    Setting(
        "redis_url",
        "",
        "Redis URL (`redis://127.0.0.1:6379/0`) for the shared cache; "
        "empty uses an in-process cache.",
        str,
        secret=True,
    ),
    Setting(
        "cache_timeout_s",
        3600,
        "Default lifetime of cached tiles and documents, in "
        "seconds (entries are also keyed by layer version).",
        int,
    ),
    # --- geometry ---------------------------------------------------------------
    Setting("default_crs", "EPSG:4490", "CRS assumed for input geometry that names none.", str),
    Setting(
        "area_crs",
        "+proj=aea +lat_0=30 +lat_1=28.5 +lat_2=31.5 +lon_0=107.5 +x_0=0 +y_0=0 "
        "+ellps=GRS80 +units=m +no_defs",
        "Projected equal-area CRS (PROJ string) in which areas and distances are computed "
        "in metres; the default suits Chongqing.",
        str,
    ),
    Setting(
        "datum_shifts",
        {},
        "JSON object of configured 7-parameter (Helmert) "
        'transformations to CGCS2000 by datum, e.g. `{"Xian1980": [dx, dy, dz, rx, ry, '
        "rz, ds]}` (metres, arc-seconds, ppm). Without one, Xian 1980 and Beijing 1954 "
        "input is refused.",
        _json_object,
    ),
    Setting(
        "index_cache_size",
        24,
        "How many layer versions each server process keeps spatially indexed in memory.",
        int,
    ),
    Setting("max_vertices", 250_000, "Most vertices accepted in one input geometry.", int),
    Setting(
        "max_project_area_m2",
        200_000_000.0,
        "Largest project red line accepted by the function services, in m².",
        float,
    ),
    Setting(
        "compliance_max_features",
        200,
        "Most features (with their overlap pieces) a compliance report lists per item, "
        "largest overlap first; the rest are counted (`counted_feature_count`), summarised "
        "per class and `features_truncated` is set. Areas always include every feature.",
        int,
    ),
    # --- import -----------------------------------------------------------------
    Setting(
        "import_max_bytes",
        2 * 1024**3,
        "Most bytes an imported file (or the files inflated from a zip) may hold.",
        int,
    ),
    Setting(
        "import_max_vertices",
        50_000_000,
        "Most vertices accepted in one imported layer file (all features together).",
        int,
    ),
    Setting("zip_max_entries", 200, "Most entries accepted in an uploaded zip archive.", int),
    Setting("import_batch_size", 5000, "Features written per database round trip on import.", int),
    # --- data services ----------------------------------------------------------
    Setting("ogc_limit_default", 10, "Items per page when a request sets no `limit`.", int),
    Setting("ogc_limit_max", 10_000, "Largest `limit` accepted by OGC API – Features.", int),
    Setting(
        "tile_max_age_s",
        60,
        "How long browsers may reuse a vector tile or TileJSON before revalidating it (its "
        "ETag names the layer version), in seconds.",
        int,
    ),
    Setting(
        "data_cors_origins",
        ["*"],
        "Comma-separated origins (scheme://host[:port]) whose web pages may read the data "
        "services (/ogc, /tiles) from the browser (CORS); `*` for any, empty for none. They "
        "use no cookies: restricted layers still need a token the page sends itself.",
        _str_list,
    ),
    Setting(
        "basemap_url",
        "",
        "Optional XYZ basemap tile URL template for the map (e.g. "
        "天地图 with its key). Empty: no basemap, only PlanFuse's own layers.",
        str,
    ),
    # --- service metrics (服务监控) -----------------------------------------------
    Setting(
        "service_metrics_flush_s",
        10.0,
        "Each server process adds its request counts to the `service_metrics` table at most "
        "this often, in seconds (the admin service catalogue lags by up to this much).",
        float,
    ),
    Setting(
        "service_metrics_retention_days",
        7.0,
        "Per-minute service metrics older than this many days are deleted.",
        float,
    ),
    # --- background jobs --------------------------------------------------------
    Setting(
        "job_workers",
        2,
        "Background jobs (conflict detection, …) one server process runs at a time; more "
        "wait as `queued`.",
        int,
    ),
    Setting(
        "job_heartbeat_s",
        5,
        "How often a process records that its running jobs are alive, in seconds.",
        int,
    ),
    Setting(
        "job_stale_after_s",
        60,
        "A queued or running job without a heartbeat for this long (its process died) is "
        "marked failed when it is next read or a server starts, in seconds.",
        int,
    ),
    Setting(
        "overlay_workers",
        0,
        "Threads one polygon overlay uses; 0 means every core of the machine.",
        int,
    ),
    # --- conflicts and ledgers (冲突检测与协调, 台账) -----------------------------------
    Setting(
        "conflict_sliver_area_m2",
        200.0,
        "Conflict pieces under this area (m²) are slivers (碎图斑): listed apart, excluded "
        "from counts and areas.",
        float,
    ),
    Setting(
        "conflict_noise_m2",
        1.0,
        "Overlay pieces under this area (m²) are coordinate noise (boundaries drawn in "
        "different CRSs meet within millimetres): dropped, not even listed as slivers.",
        float,
    ),
    Setting(
        "conflict_sliver_thinness_m",
        1.0,
        "Conflict pieces thinner than this (2·area/perimeter, in metres) are slivers too.",
        float,
    ),
    Setting(
        "conflict_match_iou",
        0.9,
        "Re-detection keeps a patch (its status and history) when a new piece of the same "
        "analysis and type overlaps it with at least this intersection-over-union, or differs "
        "from it by less than the sliver area.",
        float,
    ),
    Setting(
        "conflict_coordinator_role",
        "coordinator",
        "Role (in the embed token's `roles`) a user needs to start a conflict detection and "
        "change a conflict's coordination status.",
        str,
    ),
    Setting(
        "construction_land_codes",
        ["07", "08", "09", "10", "11", "12", "13", "14", "15", "16"],
        "Comma-separated 用地用海 code prefixes that are construction land (建设用地); a "
        "longer code matches by prefix.",
        _str_list,
    ),
    Setting(
        "urban_construction_exempt_codes",
        ["0703", "0704", "1002", "1201", "1202", "1203", "1204", "1205", "15"],
        "Comma-separated 用地用海 code prefixes of construction land that may lie outside the "
        "urban development boundary (rural housing, mining, regional transport, special use); "
        "other construction land outside it is a plan-vs-controls conflict.",
        _str_list,
    ),
    Setting("conflicts_limit_max", 500, "Most conflicts one list page may return.", int),
    # --- embedding and SSO ------------------------------------------------------
    Setting("token_audience", "planfuse", "The `aud` every embed token must carry.", str),
    Setting(
        "token_max_lifetime_s",
        600,
        "Longest accepted embed-token lifetime (exp − iat), in seconds.",
        int,
    ),
    Setting("session_lifetime_s", 900, "Lifetime of a widget session token, in seconds.", int),
    Setting(
        "widget_modules",
        [],
        "Comma-separated Python modules that register extra widgets (each defines "
        "`register(registry)`), besides the built-in ones and the `planfuse.widgets` entry "
        "points.",
        _str_list,
    ),
    Setting(
        "key_rotation_grace_s",
        3600,
        "After `planfuse apps rotate`, how long the previous secret keeps working, in seconds.",
        int,
    ),
    # --- siting (辅助选址) ---------------------------------------------------------
    Setting(
        "siting_parcel_layer",
        "",
        "Layer id of the candidate parcels for siting; empty: the land-use plan layer "
        "(kind `land_use_plan`, the first by id when there are several).",
        str,
    ),
    Setting(
        "siting_tolerance_m2",
        1.0,
        "Siting: a parcel is `outside` a layer when it overlaps it by at most this many m² "
        "(boundary noise between departments' data).",
        float,
    ),
    Setting(
        "siting_inside_share",
        0.999,
        "Siting: a parcel is `inside` a layer (or a drawn scope) when at least this share of "
        "its area lies in it.",
        float,
    ),
    Setting(
        "siting_reach_m",
        3000.0,
        "Siting score: distance in metres at which a road or facility distance criterion "
        "scores 0, when no proximity condition sets `within_m`.",
        float,
    ),
    Setting("siting_limit_max", 500, "Most candidates one siting search may return.", int),
    Setting(
        "siting_cache_columns",
        24,
        "Per-parcel relation columns (overlap with a layer, distance to a road class, …) each "
        "server process keeps per parcel-layer version; each costs 9 bytes per parcel.",
        int,
    ),
)

SETTINGS_BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message says which and how to fix."""


class Settings(Mapping[str, Any]):
    """Resolved settings: read-only, attribute and item access."""

    def __init__(self, values: dict[str, Any]):
        self._values = dict(values)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def redacted(self) -> dict[str, Any]:
        """The values with secrets masked, for logs and `planfuse settings`."""
        return {
            name: ("***" if SETTINGS_BY_NAME[name].secret and value else value)
            for name, value in self._values.items()
        }


def load_settings(
    config: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Resolve every setting: defaults, then `PLANFUSE_*` variables, then `config`.

    Unknown keys in `config` are an error (a typo must not be ignored silently).
    """
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        value = setting.default
        raw = environ.get(setting.env_var)
        if raw is not None:
            try:
                value = setting.parse(raw)
            except (ValueError, json.JSONDecodeError) as exc:
                raise SettingsError(
                    f"{setting.env_var}={raw!r} is not valid: {exc}. {setting.help}"
                ) from None
        values[setting.name] = value
    for key, value in (config or {}).items():
        name = key.lower()
        if name not in SETTINGS_BY_NAME:
            known = ", ".join(sorted(SETTINGS_BY_NAME))
            raise SettingsError(f"unknown setting {key!r}; expected one of {known}")
        setting = SETTINGS_BY_NAME[name]
        if isinstance(value, str) and not isinstance(setting.default, str):
            value = setting.parse(value)
        values[name] = value
    return Settings(values)


def settings_markdown() -> str:
    """The settings table as Markdown, for docs/settings.md."""
    lines = [
        "| Setting | Environment variable | Default | Meaning |",
        "| --- | --- | --- | --- |",
    ]
    for s in SETTINGS:
        default = json.dumps(s.default) if not isinstance(s.default, str) else s.default
        default = f"`{default}`" if default != "" else "(empty)"
        lines.append(f"| `{s.name}` | `{s.env_var}` | {default} | {s.help} |")
    return "\n".join(lines) + "\n"
