"""Settings of the hub, read from ``SCO_*`` environment variables.

The embedded default needs no configuration: a SQLite catalog and a Zarr directory
under ``SCO_HOME`` (default ``./.sco``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

#: A rate limit: ``N/second``, ``N/minute``, ``N/hour``, ``N/day`` or ``off``.
RATE_PATTERN = r"^\s*(off|0|\d+\s*/\s*(second|minute|hour|day))\s*$"

#: Default of ``SCO_MAX_VARIABLE_BYTES``: the largest bundled sample's variable is 80 MB.
DEFAULT_MAX_VARIABLE_BYTES = 1000 * 1000 * 1000


class Settings(BaseSettings):
    """Hub settings; every field can be set as ``SCO_<FIELD>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="SCO_", extra="ignore")

    home: Path = Field(default=Path(".sco"), description="Folder of the embedded hub.")
    catalog_url: str | None = Field(
        default=None, description="SQLAlchemy URL of the catalog; default SQLite in home."
    )
    catalog_pool_size: int = Field(
        default=5, ge=1, description="Catalog connections kept open per process (server DBs)."
    )
    catalog_max_overflow: int = Field(
        default=10, ge=0, description="Extra catalog connections allowed under load."
    )
    catalog_pool_timeout: float = Field(
        default=30.0, gt=0, description="Seconds to wait for a free catalog connection."
    )
    catalog_pool_recycle: int = Field(
        default=1800, description="Seconds after which a catalog connection is replaced."
    )
    store_path: Path | None = Field(
        default=None, description="Folder of the Zarr cubes; default home/store."
    )
    store_url: str | None = Field(
        default=None,
        description="Where cubes are published: an object store URL (s3://bucket/prefix, any "
        "fsspec protocol) or a local folder; default store_path.",
    )
    store_options: dict[str, Any] = Field(
        default_factory=dict,
        description="Connection options of the object store, a JSON object (e.g. endpoint_url, "
        "key, secret); the standard AWS_* variables are read too.",
    )
    store_cleanup_grace: float = Field(
        default=6 * 3600.0,
        ge=0,
        description="Seconds an unreferenced cube in an object store is kept before clean-up "
        "deletes it (another process may still be uploading it).",
    )
    dask_scheduler: str | None = Field(
        default=None,
        description="Address of a dask.distributed scheduler (tcp://host:port) that runs "
        "ingest and analytics; default: Dask threads in each process.",
    )
    max_request_bytes: int = Field(
        default=256 * 1000 * 1000,
        description="Largest decoded size a synchronous data request may read (else 413).",
    )
    max_query_chars: int = Field(default=8192, description="Longest query string accepted.")
    max_body_bytes: int = Field(default=2 * 1000 * 1000, description="Largest request body.")
    job_workers: int = Field(
        default=1, description="Job runner threads in each API process (0: queue only)."
    )
    job_time_limit: float = Field(default=3600.0, description="Default time limit of a job (s).")
    max_upload_bytes: int = Field(
        default=2 * 1000 * 1000 * 1000,
        description="Largest upload (or download of URLs) of one POST /ingest, all files.",
    )
    max_local_upload_bytes: int = Field(
        default=200 * 1000 * 1000,
        description="Largest upload of local (station) data into a territory.",
    )
    ingest_url_prefixes: str = Field(
        default="",
        description="Comma-separated URL prefixes POST /ingest may fetch, checked again at "
        "every redirect; empty: any http(s).",
    )
    fetch_allow_networks: str = Field(
        default="",
        description="Comma-separated networks (CIDR or single addresses, e.g. 10.1.0.0/16, "
        "::1) and host names the hub may fetch source URLs from although they are not public "
        "(loopback, private, link-local, shared, reserved); empty: public addresses only.",
    )
    fetch_timeout: float = Field(
        default=900.0,
        gt=0,
        description="Seconds one download of a source URL may take in all (redirects, "
        "connecting and every byte), however steadily the source sends.",
    )
    fetch_idle_timeout: float = Field(
        default=30.0,
        gt=0,
        description="Seconds a download may wait to connect, or for the next byte, before it "
        "is given up.",
    )
    fetch_max_redirects: int = Field(
        default=5, ge=0, description="Redirects followed (each one checked) per source URL."
    )
    federation_deadline: float = Field(
        default=5.0,
        gt=0,
        le=120,
        description="Seconds a federated search waits for its peers; later answers are left "
        "out and the answer is flagged partial.",
    )
    max_variable_bytes: int = Field(
        default=DEFAULT_MAX_VARIABLE_BYTES,
        gt=0,
        description="Largest decoded size of one variable of an ingested file (its dimensions "
        "times its type's size, read from the file's metadata before any value); larger "
        "files are refused.",
    )
    max_active_requests: int = Field(
        default=8,
        gt=0,
        description="Requests each server process serves at once; more wait in a queue "
        "(max_queued_requests) for at most queue_timeout seconds, then get 503 with "
        "Retry-After.",
    )
    max_queued_requests: int = Field(
        default=256, ge=0, description="Requests each server process lets wait for a slot."
    )
    queue_timeout: float = Field(
        default=0.25,
        ge=0,
        description="Seconds a request may wait for a slot before it gets 503 (keeps the "
        "latency of the requests served bounded under any load).",
    )
    max_heavy_requests: int = Field(
        default=2,
        gt=0,
        description="Downloads, EDR area/cube queries and synchronous processes each server "
        "process runs at once (503 with Retry-After beyond, not queued).",
    )
    max_heavy_per_client: int = Field(
        default=1,
        gt=0,
        description="Heavy requests (see max_heavy_requests) one client address may run at "
        "once in each server process (429 beyond).",
    )
    rate_limit_writes: str = Field(
        default="60/minute",
        pattern=RATE_PATTERN,
        description="Writes each API key and each client address may make: N/second|minute|"
        "hour|day, or off.",
    )
    rate_limit_reads: str = Field(
        default="off",
        pattern=RATE_PATTERN,
        description="Reads each client address may make (N/minute, ...), or off.",
    )
    redis_url: str | None = Field(
        default=None,
        description="Redis URL for the shared rate-limit counters; default the catalog database.",
    )
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="Logs of sco serve: human text, or one JSON object a line (access log "
        "with request ids).",
    )
    public_url: str | None = Field(
        default=None,
        description="Base URL clients reach the hub at (links); default: from each request "
        "whose Host is trusted (trusted_hosts).",
    )
    trusted_hosts: str = Field(
        default="localhost,127.0.0.1,::1",
        description="Comma-separated host names (any port) whose Host header links may name "
        "when public_url is not set; '*.example.org' names the subdomains too and '*' any "
        "host. A request naming another host gets links to the address the server listens on.",
    )

    @property
    def resolved_home(self) -> Path:
        """Absolute path of the hub folder."""
        return self.home.expanduser().resolve()

    @property
    def resolved_catalog_url(self) -> str:
        """Catalog URL, defaulting to ``sqlite:///<home>/catalog.db``.

        A PostgreSQL URL without a driver (``postgresql://``) gets psycopg 3's.
        """
        if self.catalog_url:
            scheme, sep, rest = self.catalog_url.partition("://")
            if sep and scheme in ("postgresql", "postgres"):
                return f"postgresql+psycopg://{rest}"
            return self.catalog_url
        return f"sqlite:///{self.resolved_home / 'catalog.db'}"

    @property
    def store_is_remote(self) -> bool:
        """Whether cubes are published to an object store (``store_url`` is not local)."""
        scheme, sep, _rest = (self.store_url or "").partition("://")
        return bool(sep) and scheme.lower() not in ("file", "local")

    @property
    def resolved_store_path(self) -> Path:
        """Absolute folder of the cube store (on local disk; see ``store_is_remote``)."""
        if self.store_url and not self.store_is_remote:
            scheme, sep, rest = self.store_url.partition("://")
            return Path(rest if sep else self.store_url).expanduser().resolve()
        if self.store_path is not None:
            return self.store_path.expanduser().resolve()
        return self.resolved_home / "store"


def get_settings() -> Settings:
    """Read settings from the environment (fresh each call, so tests can change it)."""
    return Settings()
