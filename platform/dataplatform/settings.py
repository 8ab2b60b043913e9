"""Every setting of the platform, with its default, in one place.

Settings come from `DATAPLATFORM_*` environment variables (nested fields use `__`, e.g.
`DATAPLATFORM_STORAGE__GOLD=delta`). No default needs a server: data lives under `./data` and
the Dagster instance under `./.dagster`. An invalid value fails at load with a message that
names the variable and the values it accepts, instead of surfacing later inside a run.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

Backend = Literal["parquet", "delta", "duckdb"]
ENV_PREFIX = "DATAPLATFORM_"


class LayerStorage(BaseModel):
    """Which storage backend holds each medallion layer."""

    model_config = ConfigDict(extra="forbid")

    landing: Backend = "parquet"
    bronze: Backend = "delta"
    silver: Backend = "delta"
    gold: Backend = "duckdb"


class EcommerceVolumes(BaseModel):
    """Size knobs of the e-commerce generator."""

    model_config = ConfigDict(extra="forbid")

    customers: int = Field(5_000, gt=0)
    products: int = Field(500, gt=0)
    orders_per_day: int = Field(5_000, gt=0)
    items_per_order: float = Field(2.5, ge=1.0, le=50.0)


class Settings(BaseSettings):
    """The platform's configuration; build it with `load_settings()`."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", frozen=True
    )

    data_dir: Path = Path("data")
    dagster_home: Path = Path(".dagster")
    start_date: date = date(2025, 1, 1)
    seed: int = Field(42, ge=0)
    defect_rate: float = Field(0.03, ge=0.0, le=0.5)
    recent_days: int = Field(3, gt=0, le=366)
    storage: LayerStorage = LayerStorage()
    ecommerce: EcommerceVolumes = EcommerceVolumes()

    def layer_backend(self, layer: str) -> Backend:
        return getattr(self.storage, layer)


class SettingsError(ValueError):
    """A setting has a value the platform cannot use; the message names it."""


def load_settings() -> Settings:
    """Read the settings from the environment, turning validation errors into one clear message."""
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from None


@lru_cache(maxsize=1)
def current_settings() -> Settings:
    """The settings of this process, read once: the code location and the CLI share them."""
    return load_settings()


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        path = [str(part) for part in error["loc"]]
        variable = ENV_PREFIX + "__".join(path).upper()
        given = error.get("input")
        shown = "" if isinstance(given, dict) else f"={given!r}"
        problems.append(f"{variable}{shown}: {error['msg']}")
    return "invalid setting: " + "; ".join(problems)
