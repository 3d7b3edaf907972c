"""Settings of the hub, read from ``SCO_*`` environment variables.

The embedded default needs no configuration: a SQLite catalog and a Zarr directory
under ``SCO_HOME`` (default ``./.sco``).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Hub settings; every field can be set as ``SCO_<FIELD>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="SCO_", extra="ignore")

    home: Path = Field(default=Path(".sco"), description="Folder of the embedded hub.")
    catalog_url: str | None = Field(
        default=None, description="SQLAlchemy URL of the catalog; default SQLite in home."
    )
    store_path: Path | None = Field(
        default=None, description="Folder of the Zarr cubes; default home/store."
    )
    max_request_bytes: int = Field(
        default=256 * 1000 * 1000,
        description="Largest decoded size a synchronous data request may read (else 413).",
    )
    max_query_chars: int = Field(default=8192, description="Longest query string accepted.")
    max_body_bytes: int = Field(default=2 * 1000 * 1000, description="Largest request body.")
    public_url: str | None = Field(
        default=None,
        description="Base URL clients reach the hub at (links); default: from each request.",
    )

    @property
    def resolved_home(self) -> Path:
        """Absolute path of the hub folder."""
        return self.home.expanduser().resolve()

    @property
    def resolved_catalog_url(self) -> str:
        """Catalog URL, defaulting to ``sqlite:///<home>/catalog.db``."""
        if self.catalog_url:
            return self.catalog_url
        return f"sqlite:///{self.resolved_home / 'catalog.db'}"

    @property
    def resolved_store_path(self) -> Path:
        """Absolute folder of the cube store."""
        if self.store_path is not None:
            return self.store_path.expanduser().resolve()
        return self.resolved_home / "store"


def get_settings() -> Settings:
    """Read settings from the environment (fresh each call, so tests can change it)."""
    return Settings()
