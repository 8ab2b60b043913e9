"""The API's own settings, env prefix `DATAPLATFORM_API_`; the data folder and storage come from
the platform's `Settings` (`load_settings()`), so the API reads exactly what the pipeline wrote.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from dataplatform.settings import Settings

ENV_PREFIX = "DATAPLATFORM_API_"


class ApiSettings(BaseSettings):
    """How the API listens, who may call it and how much they may ask for."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="forbid", frozen=True, env_file=".env", dotenv_filtering="only_existing"
    )

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    # /health and /metrics answer without a key (load balancers and Prometheus rarely hold one)
    open_health: bool = True
    open_metrics: bool = True
    # off only for a private development copy: every data endpoint then answers without a key
    require_keys: bool = True
    # browser origins allowed to call the API, comma-separated ("*" for any); none by default
    cors_origins: str = ""
    default_page_rows: int = Field(1_000, ge=1)
    max_page_rows: int = Field(10_000, ge=1, le=1_000_000)
    # token bucket per API key (or per client address on open endpoints)
    rate_per_second: float = Field(50.0, gt=0)
    rate_burst: int = Field(200, ge=1)
    # the API key store (hashes only); default <data_dir>/api/keys.json
    keys_file: Path | None = None
    # what a 503 tells clients to wait before asking again
    retry_after_s: int = Field(5, ge=1, le=3600)

    def keys_path(self, settings: Settings) -> Path:
        return self.keys_file or settings.data_dir / "api" / "keys.json"

    def origins(self) -> list[str]:
        return [origin.strip() for origin in self.cors_origins.split(",") if origin.strip()]
