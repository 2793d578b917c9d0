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


def _rate(value: str) -> str:
    """A rate limit such as "600 per minute" or "10/second" (checked when read)."""
    from limits import parse_many

    try:
        parse_many(value)
    except ValueError:
        raise ValueError(
            f"{value!r} is not a rate limit; write e.g. '600 per minute' or '10/second'"
        ) from None
    return value


def _str_list(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _int_list(value: str) -> list[int]:
    return [int(part) for part in _str_list(value)]


#: The environments a server runs in; `env` must be exactly one of them.
ENVIRONMENTS = ("development", "production")


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
        "`development` or `production`, exactly (anything else is refused). Production "
        "refuses to start without a strong secret key.",
        str,
    ),
    Setting(
        "secret_key",
        "",
        "Server secret (32+ characters) signing session tokens and "
        "reports and encrypting secrets at rest. Generate one with `planfuse secret`. "
        "Required in production (or `secret_key_file`).",
        str,
        secret=True,
    ),
    Setting(
        "secret_key_file",
        "",
        "A file holding the server secret instead of `secret_key` (e.g. a mounted "
        "container secret). Empty: in development a key is generated into a file beside "
        "the SQLite database (`<database>.secret`) — never into the database.",
        str,
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
        "pg_bin_dir",
        "",
        "Folder of `pg_dump` and `pg_restore` for `planfuse db backup|restore` on "
        "PostgreSQL; empty: the server's major version under /usr/lib/postgresql, then PATH.",
        str,
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
    # --- rate limits ------------------------------------------------------------
    Setting(
        "rate_limits_enabled",
        True,
        "Limit request rates per client IP and per host app (429 with Retry-After and the "
        "RateLimit headers). Counters are kept in Redis when `redis_url` is set, else in "
        "each server process.",
        _bool,
    ),
    Setting(
        "rate_limit_per_ip",
        "6000 per minute",
        "Requests one client IP may make, all routes together (offices behind one NAT "
        "share it: keep it generous).",
        _rate,
    ),
    Setting(
        "rate_limit_per_app",
        "12000 per minute",
        "Requests made with one host app's accepted credentials (its Basic secret or its "
        "widget sessions), all routes together.",
        _rate,
    ),
    Setting(
        "rate_limit_session_per_ip",
        "300 per minute",
        "Embed-token exchanges (`POST /embed/session`) one client IP may make.",
        _rate,
    ),
    Setting(
        "rate_limit_ogc_items_per_ip",
        "1200 per minute",
        "OGC API – Features item pages (`/ogc/collections/…/items`) one client IP may fetch.",
        _rate,
    ),
    Setting(
        "proxy_hops",
        0,
        "Trusted reverse proxies in front of the server: with N > 0 the client IP for rate "
        "limits is taken from X-Forwarded-For, as the outermost of them saw it.",
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
        "preload_layers",
        True,
        "`planfuse serve` loads every current control layer's index, self-overlap mask and "
        "dissolved layers before it starts its workers (building and storing what no "
        "process built yet), so the workers share them and answer their first check at "
        "once. Off: each worker loads what it needs on first use.",
        _bool,
    ),
    Setting(
        "index_cache_size",
        24,
        "How many layer versions each server process keeps spatially indexed in memory.",
        int,
    ),
    Setting(
        "max_vertices",
        250_000,
        "Most vertices accepted in one input geometry; counted before it is parsed, so "
        "bigger input is refused at once.",
        int,
    ),
    Setting(
        "geometry_workers",
        2,
        "Worker processes per server process that validate and repair large input "
        "geometries (the geometry pool).",
        int,
    ),
    Setting(
        "geometry_time_limit_s",
        10.0,
        "Longest a geometry worker may spend on one input before it is stopped and the "
        "request answered 422, in seconds.",
        float,
    ),
    Setting(
        "geometry_queue_wait_s",
        2.0,
        "Longest a request waits for a free geometry worker before it is answered 503 "
        "with Retry-After, in seconds.",
        float,
    ),
    Setting(
        "geometry_pool_min_vertices",
        5_000,
        "Input geometries with fewer vertices are validated in the request's own thread "
        "(milliseconds whatever their shape); bigger ones in the geometry pool.",
        int,
    ),
    Setting(
        "heavy_requests_max",
        3,
        "Heavy requests (compliance checks, red-line parsing, siting searches) one server "
        "process runs at once; more are answered 503 with Retry-After. Keep it below "
        "`planfuse serve --threads` so light requests and health probes always find a thread.",
        int,
    ),
    Setting(
        "heavy_requests_per_app",
        2,
        "Heavy requests one host app may run at once in one server process; more are "
        "answered 429 with Retry-After.",
        int,
    ),
    Setting(
        "heavy_requests_per_user",
        2,
        "Heavy requests one user of a host app may run at once in one server process; more "
        "are answered 429 with Retry-After.",
        int,
    ),
    Setting(
        "max_project_area_m2",
        200_000_000.0,
        "Largest project red line accepted by the function services, in m².",
        float,
    ),
    Setting(
        "compliance_result_ttl_s",
        86400,
        "How long a signed compliance result (`signed_result`, the report's JWS) is valid for "
        "a host to act on, in seconds: its `exp` claim. Host backends refuse it afterwards; "
        "the stored report stays readable by id.",
        int,
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
        "wms_max_size",
        4096,
        "Largest WIDTH and HEIGHT of a WMS GetMap image, in pixels (larger requests are refused "
        "with the limit named).",
        int,
    ),
    Setting(
        "wms_max_features",
        200_000,
        "Most features one WMS GetMap draws; a map that would draw more is refused with a "
        "request to zoom in or choose fewer layers. Layers a map draws from their overview "
        "(coarse maps of layers of 100,000 features or more, see data-services.md) do not "
        "count.",
        int,
    ),
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
        "service_state_cache_s",
        2.0,
        "Each server process re-reads which services are stopped, the grants and the "
        "services' configuration at most this often, in seconds: a change made in one "
        "process applies in every other within this time.",
        float,
    ),
    Setting(
        "chain_time_limit_s",
        60.0,
        "A chain run (服务串联) stops with a problem naming its step when it has run this "
        "long, in seconds; each step's own call is not interrupted.",
        float,
    ),
    Setting(
        "chain_job_time_limit_s",
        3600.0,
        'A chain run as a background job (`"async": true`) stops with a problem naming its '
        "step when it has run this long, in seconds.",
        float,
    ),
    Setting(
        "service_metrics_retention_days",
        7.0,
        "Per-minute service metrics older than this many days are deleted.",
        float,
    ),
    Setting(
        "service_usage_timezone",
        "Asia/Shanghai",
        "IANA time zone of the days in which host apps' daily service quotas are counted "
        "and reset (at its midnight) and their usage per day is reported.",
        str,
    ),
    Setting(
        "service_usage_retention_days",
        400.0,
        "Usage per app, service and day older than this many days is deleted.",
        float,
    ),
    Setting(
        "monitoring_sliver_m2",
        1.0,
        "Change pieces of plan-implementation monitoring (new construction land, lost "
        "farmland) under this area (m²) are digitising noise and left out.",
        float,
    ),
    # --- webhooks (pushed events) ------------------------------------------------
    Setting(
        "webhook_timeout_s",
        10.0,
        "How long one webhook delivery waits for the receiver's answer, in seconds.",
        float,
    ),
    Setting(
        "webhook_retry_s",
        [5, 300, 1800, 7200, 18000, 36000],
        "Comma-separated waits in seconds before each retry of a webhook delivery that "
        "failed (no answer, or a status other than 2xx); after the last the delivery is "
        "`failed`.",
        _int_list,
    ),
    Setting(
        "webhook_allow_http",
        False,
        "Accept webhook URLs with plain `http://` (development only); otherwise only `https://`.",
        _bool,
    ),
    # --- departments' remote services (部门自有服务) ------------------------------
    Setting(
        "remote_services_allow_private",
        False,
        "Let registered remote services live at loopback, private, link-local or reserved "
        "addresses (127.0.0.1, 10.x, 192.168.x, …; an intranet deployment, or tests). "
        "Off: such addresses are refused at registration and after DNS resolution on every "
        "request (server-side request forgery).",
        _bool,
    ),
    Setting(
        "remote_service_timeout_s",
        20.0,
        "A proxied request to a remote service gets its whole answer within this many "
        "seconds, or the caller gets a 504 problem.",
        float,
    ),
    Setting(
        "remote_service_max_bytes",
        20_000_000,
        "A remote service's answer larger than this many bytes is refused with a 502 problem.",
        int,
    ),
    Setting(
        "remote_service_health_interval_s",
        60.0,
        "How often each remote service's health is checked, in seconds (one server process "
        "checks each service per interval).",
        float,
    ),
    Setting(
        "remote_service_health_timeout_s",
        5.0,
        "A health check that gets no answer within this many seconds finds the remote "
        "service down.",
        float,
    ),
    Setting(
        "remote_service_slow_ms",
        2000.0,
        "A remote service answering its health check slower than this many milliseconds "
        "is shown as degraded (异常).",
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
        "broker_url",
        "",
        "Redis URL of the job queue (`redis://host:6379/1`). Set: jobs (conflict detection, "
        "…) run as Celery tasks in `planfuse worker` processes on any host and server "
        "processes never run them. Empty: each server process runs the jobs it accepted in "
        "its own threads (the embedded default).",
        str,
        secret=True,
    ),
    Setting(
        "job_redelivery_s",
        300,
        "With a broker: a task whose worker stopped without acknowledging it (killed, host "
        "lost) is handed to another worker after this many seconds (the broker's visibility "
        "timeout). Keep it longer than one partition runs; a partition that runs twice "
        "stores one result.",
        int,
    ),
    Setting(
        "detect_partition_features",
        25_000,
        "With a broker: a conflict detection is split into spatial partitions of about this "
        "many features of its first layer, each a task of its own on any worker; the merged "
        "answer is the one a single process gives. 0: never split.",
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
    # --- admin single sign-on (OpenID Connect) -----------------------------------------
    Setting(
        "oidc_issuer",
        "",
        "OpenID Connect issuer URL for admin single sign-on (https; its "
        "`/.well-known/openid-configuration` is read). Empty: admins sign in with admin "
        "tokens only.",
        str,
    ),
    Setting(
        "oidc_client_id", "", "The admin console's client id at the OpenID Connect issuer.", str
    ),
    Setting(
        "oidc_client_secret",
        "",
        "The admin console's client secret at the issuer (sent with HTTP Basic to its token "
        "endpoint).",
        str,
        secret=True,
    ),
    Setting(
        "oidc_scopes",
        "openid profile email groups",
        "Scopes asked for at sign-in (space-separated; `openid` is required).",
        str,
    ),
    Setting(
        "oidc_role_claim",
        "groups",
        "ID-token claim (a string or a list) whose values map people to console roles.",
        str,
    ),
    Setting(
        "oidc_admin_groups",
        ["planfuse-admins"],
        "Comma-separated values of `oidc_role_claim` that make someone a console `admin`.",
        _str_list,
    ),
    Setting(
        "oidc_viewer_groups",
        [],
        "Comma-separated values of `oidc_role_claim` that make someone a console `viewer` "
        "(reads every page and the audit log, changes nothing).",
        _str_list,
    ),
    # --- coordinated approval (协同审批) -----------------------------------------------
    Setting(
        "approval_coordinator_role",
        "coordinator",
        "Role (in the embed token's `roles`) a user of the approval portal needs to open, "
        "close and withdraw approval cases from a widget session (its backend needs none).",
        str,
    ),
    Setting(
        "approval_approver_role",
        "approver",
        "Role (in the embed token's `roles`) a department's user needs to give the "
        "department's opinion on an approval case; the token's `dept` names the department.",
        str,
    ),
    Setting(
        "approval_default_days",
        10,
        "Deadline (办理时限) of an approval case that names no `due` date, in working days "
        "from the day it opens.",
        int,
    ),
    Setting(
        "approval_holidays",
        [],
        "Comma-separated public holidays (YYYY-MM-DD) that are not working days for the "
        "approval deadlines, e.g. `2027-01-01,2027-02-05`.",
        _str_list,
    ),
    Setting(
        "approval_workdays",
        [],
        "Comma-separated weekend days (YYYY-MM-DD) that are working days for the approval "
        "deadlines (调休上班, make-up working days).",
        _str_list,
    ),
    Setting(
        "approval_timezone",
        "Asia/Shanghai",
        "IANA time zone in which approval dates and deadlines are reckoned.",
        str,
    ),
    Setting(
        "approval_outcome_rule",
        {"reject_if_any": ["disagree"], "pending": "block"},
        "JSON outcome rule of new approval cases: `reject_if_any` (opinions of which one "
        "rejects the case) and `pending` (a department without an opinion at closing: "
        "`block`, `ignore` or `reject`). The portal may override it with a reason.",
        _json_object,
    ),
    Setting(
        "approval_attachment_max_bytes",
        10 * 1024 * 1024,
        "Largest attachment (PDF, image, zipped shapefile) of a department's opinion, in bytes.",
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
    # --- project generation (项目生成) -------------------------------------------
    Setting(
        "reserve_siting_candidates",
        3,
        "Pre-study of a project without a red line: how many of the best siting candidates "
        "are pre-studied in turn.",
        int,
    ),
    Setting(
        "reserve_siting_area_factor",
        2.0,
        "Pre-study siting: candidate parcels may be up to this many times the land the "
        "project needs (and never smaller than it).",
        float,
    ),
    Setting(
        "reserve_schedule_time_limit_s",
        60.0,
        "Construction timing: the solver's time limit in seconds; a schedule found by then "
        "is returned with its optimality gap.",
        float,
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
    if values["env"] not in ENVIRONMENTS:
        raise SettingsError(
            f"PLANFUSE_ENV={values['env']!r} is not an environment; expected exactly one of "
            f"{', '.join(ENVIRONMENTS)} (no abbreviations, lower case)"
        )
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
