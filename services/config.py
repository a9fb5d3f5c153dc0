"""Settings: the only place the environment is read."""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("LINLI_VAR_DIR", PROJECT_ROOT / "var"))
DEFAULT_DATABASE_URL = f"sqlite+aiosqlite:///{VAR_DIR / 'linli.db'}"


class ProductionConfigError(RuntimeError):
    """Raised when production mode would run on development defaults."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LINLI_", extra="ignore")

    env: Literal["dev", "test", "production"] = "dev"
    host: str = "127.0.0.1"
    port: int = 8000
    var_dir: Path = VAR_DIR
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None
    # Connections kept open per process (PostgreSQL); size it to the concurrent requests per process.
    db_pool_size: int = 20
    # PostgreSQL's max_parallel_workers_per_gather for this process's connections: none for request
    # statements (services.db.create_engine); a process running only reports may allow some.
    db_parallel_workers: int = 0
    # Run the worker loop inside the API process (the embedded default).
    embedded_worker: bool = True

    jwt_secret: SecretStr | None = None
    jwt_issuer: str = "linli"
    access_token_minutes: int = 15
    refresh_token_days: int = 30
    # A rotated refresh token presented again this soon by the same client (same User-Agent) gets a
    # fresh pair instead of revoking the family: a lost response or two parallel refreshes on a flaky
    # network must not log the user out. Later, or from another client, it is treated as theft.
    refresh_reuse_grace_seconds: float = 10.0

    otp_ttl_seconds: int = 300
    otp_max_attempts: int = 5
    otp_resend_seconds: int = 60
    otp_phone_hourly_limit: int = 5
    otp_ip_hourly_limit: int = 30
    password_failures_per_15min: int = 10

    # Worker / scheduler metrics and liveness (workers.metrics): off unless a port is given; loopback
    # by default so it is not public (set the host to 0.0.0.0 only on a private network).
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"

    # The MQTT door for IoT sensors (`linli alarms-mqtt`, workers/alarms_mqtt.py): the broker, the
    # topics (linli/<community id>/<serial>/reading|heartbeat), QoS 1 on a persistent session, so what
    # sensors publish while the process is down waits in the broker; reconnects back off up to the cap.
    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = 1883
    mqtt_username: str | None = None
    mqtt_password: SecretStr | None = None
    mqtt_client_id: str = "linli-alarms"
    mqtt_topics: list[str] = ["linli/+/+/reading", "linli/+/+/heartbeat"]
    mqtt_keepalive_seconds: int = 30
    mqtt_reconnect_max_seconds: float = 30.0

    max_body_bytes: int = 1024 * 1024
    # JSON answers at least this big are sent brotli- or gzip-compressed when the client accepts it.
    compress_min_bytes: int = 1024
    # Take the client address from X-Forwarded-For (only behind a trusted reverse proxy).
    trust_forwarded: bool = False
    default_region: str = "CN"

    sms_provider: Literal["log", "aliyun"] = "log"
    sms_outbox_path: Path | None = None
    sms_sign_name: str | None = None
    sms_login_template: str | None = None
    sms_access_key_id: SecretStr | None = None
    sms_access_key_secret: SecretStr | None = None
    sms_notice_template: str | None = None  # template for non-code texts, one ${content} variable
    # Approved template codes per SMS catalogue key (services.notifications.sms_templates), as JSON:
    # LINLI_SMS_TEMPLATE_CODES='{"ticket_update": "SMS_123456789", ...}'
    sms_template_codes: dict[str, str] = {}
    sms_endpoint: str | None = None  # override the provider's endpoint URL (stand-in, staging)
    sms_timeout_seconds: float = 5.0

    fcm_base_url: str = "https://fcm.googleapis.com"
    fcm_project_id: str | None = None
    # Path to a service-account JSON; empty means the in-app inbox only.
    fcm_credentials: str | None = None
    fcm_timeout_seconds: float = 10.0  # per FCM request (the SDK default is 120 s)
    # APNs directly (workers/channels/apns.py), token-based auth with a .p8 key; all four set = live.
    apns_key_id: str | None = None
    apns_team_id: str | None = None
    apns_key_file: str | None = None  # path to the AuthKey_<key id>.p8 Apple issued
    apns_topic: str | None = None  # the app's bundle id
    apns_sandbox: bool = False  # development builds: Apple's sandbox host
    apns_base_url: str | None = None  # override the host (stand-in, staging); h2c://host:port = no TLS
    apns_ca_file: str | None = None  # trust this CA (PEM) instead of the system store (stand-ins)
    apns_timeout_seconds: float = 10.0  # per APNs request
    # JPush (mainland Android with the vendor channels, HarmonyOS, iOS): live when both are set.
    jpush_app_key: str | None = None
    jpush_master_secret: SecretStr | None = None
    jpush_base_url: str = "https://api.jpush.cn"  # the Beijing site: https://bjapi.push.jiguang.cn
    jpush_timeout_seconds: float = 10.0  # per request (connect and read)
    jpush_concurrency: int = 8  # requests in flight per worker process (the SDK is synchronous: threads)
    jpush_apns_production: bool = True  # iOS through JPush: production or sandbox APNs
    # Drains one provider may occupy at once per worker (its lane): an outage of one provider holds
    # at most this many, the others' deliveries keep going out (workers/channels/registry.py).
    push_lane_batches: int = 2
    # A claimed delivery is re-claimable after this (crashed worker); a live worker renews its claims
    # every third of it, so it only bounds how long a killed worker's unsent rows wait.
    delivery_lease_seconds: float = 10.0
    # Outcomes are committed this often while a batch is out: a crash re-sends at most what the
    # provider answered in the last interval (+ one commit). See docs/delivery.md.
    delivery_record_seconds: float = 0.2
    # On SIGTERM a worker starts no new sends and waits this long for those in flight to be answered
    # and recorded; what is still out then is cut off and retried.
    worker_shutdown_grace_seconds: float = 10.0
    delivery_sweep_seconds: float = 5.0  # how often the scheduler sweeps for due deliveries
    relay_grace_seconds: float = (
        10.0  # fresh rows are the relay's for this long before the sweeper kicks them
    )

    # Critical notifications still unread after this long also go out by SMS.
    sms_fallback_minutes: int = 10
    # Retention in days (services/retention.py; 0 keeps forever).
    retention_sms_days: int = 180
    retention_delivery_error_days: int = 30
    retention_alarm_raw_days: int = 90
    retention_alarm_picture_days: int = 180
    retention_audit_days: int = 1095
    retention_direct_upload_days: int = 7  # presigned uploads (services/attachments/direct.py)
    # A personal-data export (POST /v1/me/export) and its download link stay valid this long.
    privacy_export_ttl_hours: int = 24
    log_json: bool | None = None

    # The one-map page (GET /map): base tiles from this URL template ({z}/{x}/{y}, e.g. AMap, Tianditu or an
    # offline tile server on the intranet); empty: no tiles, the page draws outlines and points on a plain
    # background. map_tile_crs is the system the tiles are drawn in (AMap / Tencent: gcj02; Tianditu / OSM:
    # wgs84): the page asks the layer API for the same one so outlines sit on the streets.
    map_tile_url: str = ""
    map_tile_crs: Literal["wgs84", "gcj02"] = "wgs84"
    map_tile_attribution: str = ""
    map_tile_subdomains: str = ""

    # Attachments (photos, documents): where files live and how they are served.
    storage_backend: Literal["local", "s3"] = "local"
    storage_dir: Path | None = None  # local backend root; default var_dir / "files"
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None  # S3-compatible services (MinIO, OSS, COS) or a stand-in
    s3_region: str | None = None
    s3_access_key_id: SecretStr | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_prefix: str = ""  # key prefix inside the bucket, e.g. "linli/"
    # Direct uploads (photos sent by the phone straight to the bucket, services/attachments/direct.py):
    # presigned URLs name this host when the phone reaches the store by another address than the
    # server does; "post" (a policy the store checks: size and type) or "put" for stores without it.
    s3_public_endpoint_url: str | None = None
    s3_presign_method: Literal["post", "put"] = "post"
    direct_upload_ttl_seconds: int = 900  # how long a presigned upload URL stays valid
    file_url_ttl_seconds: int = 600  # signed file URLs stay valid at least this long
    # Signed file URLs stay the same for this window (the app caches images by URL); see urls.expiry.
    file_url_window_seconds: int = 3600
    max_photo_bytes: int = 10 * 1024 * 1024  # per uploaded file
    # KPIs: a period with fewer cases than this shows its count beside the rate (charts, report).
    kpi_min_cases: int = 5
    max_image_pixels: int = 64_000_000  # decompression-bomb guard (width × height)
    upload_max_body_bytes: int = 11 * 1024 * 1024  # body limit on .../attachments paths (file + multipart)
    # Alarm ingestion (services/alarms): the body limit of the device doors (a JPEG or two with the
    # event), the webhook clock skew, and the key the device secrets are encrypted with (derived from
    # the JWT key when unset; rotating it invalidates every stored device secret).
    alarm_ingest_max_body_bytes: int = 8 * 1024 * 1024
    alarm_webhook_skew_seconds: int = 300
    alarm_secret_key: SecretStr | None = None
    # The doors' rate limits (moving windows of one minute): events one device may send (an NVR's
    # repeats come every second or so), and refused authentications from one source address before
    # even a right secret is refused for the rest of the minute (secret guessing).
    alarm_ingest_device_per_minute: int = 600
    alarm_ingest_refusals_per_minute: int = 30
    # KPI "alarms acknowledged within target" (services/kpis/alarm_metrics.py): minutes per severity,
    # e.g. LINLI_ALARM_ACK_TARGET_MINUTES='{"critical": 3}' (unnamed severities keep the default).
    alarm_ack_target_minutes: dict[str, int] = {"critical": 5, "major": 15, "minor": 30, "warning": 60}
    # The privacy policy in force (services/consent): a login whose user accepted another version (or
    # none) says privacy_consent_required; bump it when the policy changes and everyone is asked again.
    privacy_policy_version: str = "2026-12-01"
    duty_call_relay_number: str = "400-000-0000"  # roster call relay, data only (services/duty/roster.py)
    # Ticket calls through a privacy number (services/callrelay.py): "log" connects nobody.
    call_relay_provider: Literal["log", "http"] = "log"
    call_relay_number: str = "+8617000000000"  # what the log provider answers
    call_relay_url: str | None = None
    call_relay_token: SecretStr | None = None
    call_relay_timeout_seconds: float = 5.0
    call_relay_ttl_seconds: int = 300

    @model_validator(mode="after")
    def _production_refuses_dev_defaults(self) -> Settings:
        if self.env != "production":
            return self
        problems = []
        secret = self.jwt_secret.get_secret_value() if self.jwt_secret else ""
        if len(secret) < 32:
            problems.append("LINLI_JWT_SECRET must be set to at least 32 characters")
        if self.database_url.startswith("sqlite"):
            problems.append("LINLI_DATABASE_URL must point at PostgreSQL")
        if not self.redis_url:
            problems.append("LINLI_REDIS_URL must be set")
        if self.sms_provider == "log":
            problems.append("LINLI_SMS_PROVIDER must be a real provider, not 'log'")
        # A missing SDK is named here, at start-up, not as an ImportError on the first send.
        if self.sms_provider == "aliyun" and not _installed("alibabacloud_dysmsapi20170525"):
            problems.append(
                "LINLI_SMS_PROVIDER=aliyun needs the 'aliyun' extra (pip install 'linli[aliyun]')"
            )
        if self.storage_backend == "s3" and not _installed("boto3"):
            problems.append("LINLI_STORAGE_BACKEND=s3 needs the 's3' extra (pip install 'linli[s3]')")
        if problems:
            raise ProductionConfigError("production mode refuses dev defaults: " + "; ".join(problems))
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def json_logs(self) -> bool:
        return self.log_json if self.log_json is not None else self.env == "production"

    @property
    def sms_outbox(self) -> Path:
        return self.sms_outbox_path or self.var_dir / "sms-outbox.jsonl"

    @property
    def files_dir(self) -> Path:
        return self.storage_dir or self.var_dir / "files"

    def jwt_key(self) -> str:
        if self.jwt_secret:
            return self.jwt_secret.get_secret_value()
        return _dev_secret(self.var_dir)


def _dev_secret(var_dir: Path) -> str:
    """Generate once and keep, so dev tokens survive restarts."""
    path = var_dir / "jwt-secret"
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    return value


def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


@lru_cache
def get_settings() -> Settings:
    return Settings()


__all__ = ["ProductionConfigError", "Settings", "get_settings"]
