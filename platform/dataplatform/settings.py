"""Every setting of the platform, with its default, in one place.

Settings come from `DATAPLATFORM_*` environment variables (nested fields use `__`, e.g.
`DATAPLATFORM_STORAGE__GOLD=delta`), and from a `.env` file in the working directory, the same
file Dagster's own commands (`dagster dev`, `dagster job execute`) load into their environment;
a variable set in the environment wins over the file. No default needs a server: data lives
under `./data` and the Dagster instance under `./.dagster`. `DATAPLATFORM_PROFILE=postgres`
moves silver and gold to PostgreSQL at `DATAPLATFORM_POSTGRES_URL` (a layer set explicitly keeps
its setting). An invalid value fails at load with a message that names the variable and the
values it accepts, instead of surfacing later inside a run.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict


@dataclass(frozen=True, kw_only=True)
class StorageBackend:
    """A storage backend, registered once in `STORAGE_BACKENDS`: settings accept its name for a
    layer, `storage.backends` opens its store (the function `open_store(place)` of the module
    `dataplatform.storage.<module>`), and the Dagster layer builds its IO manager and `kinds`
    from it. The registry lives here, at the bottom, so that settings can refuse an unknown
    backend when they load without importing the storage layer above them."""

    name: str
    module: str  # dataplatform.storage.<module> defines open_store(place)
    description: str
    kind: str  # the Dagster `kinds` tag the UI shows
    in_files: bool = False  # its tables live under DATAPLATFORM_DATA_DIR or the lake, not on a server
    object_storage: bool = False  # its data may live in an s3:// lake (DATAPLATFORM_LAKE_URI)
    output: bool = False  # `dataplatform generate --writer <name>` can write an output folder with it
    # the Dagster pool its writers wait in when its tables share one file that takes one writer at a time
    pool: str | None = None


STORAGE_BACKENDS: dict[str, StorageBackend] = {
    b.name: b
    for b in (
        StorageBackend(
            name="parquet",
            module="parquet_store",
            description="Parquet files, Hive-partitioned",
            kind="parquet",
            in_files=True,
            object_storage=True,
            output=True,
        ),
        StorageBackend(
            name="delta",
            module="delta_store",
            description="Delta Lake tables partitioned like the data",
            kind="delta",
            in_files=True,
            object_storage=True,
            output=True,
        ),
        StorageBackend(
            name="duckdb",
            module="duckdb_store",
            description="tables in one DuckDB file",
            kind="duckdb",
            in_files=True,
            pool="duckdb_warehouse",
        ),
        StorageBackend(
            name="postgres", module="postgres_store", description="tables in PostgreSQL", kind="postgres"
        ),
        StorageBackend(
            name="iceberg",
            module="iceberg_store",
            description="Iceberg tables in a SQLite catalog (catalog.db)",
            kind="iceberg",
            in_files=True,
            object_storage=True,
            output=True,
        ),
        StorageBackend(
            name="ducklake",
            module="ducklake_store",
            description="a DuckLake (metadata.ducklake plus Parquet data files)",
            kind="ducklake",
            in_files=True,
            object_storage=True,
            output=True,
            pool="ducklake_catalog",
        ),
    )
}
Backend = str  # a key of STORAGE_BACKENDS (checked by LayerStorage)
ENV_PREFIX = "DATAPLATFORM_"
LAYERS = ("landing", "bronze", "silver", "gold")
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "dropzone"
PROFILE_LAYERS = {"postgres": ("silver", "gold")}
ENV_FILE = ".env"
# psycopg 3 only: the PostgreSQL backend streams rows with its COPY API
POSTGRES_DRIVERS = ("postgresql", "postgresql+psycopg")
# the brokers and results backends the Celery executor is tested with (RabbitMQ, Redis); rpc://
# sends results back through the broker itself
CELERY_SCHEMES = {
    "celery_broker": ("amqp", "pyamqp", "amqps", "redis", "rediss"),
    "celery_backend": ("rpc", "redis", "rediss"),
}
# five cron fields (minute hour day month weekday); Dagster parses the rest when it builds a schedule
CRON = re.compile(r"^\S+(\s+\S+){4}$")
# a size in DuckDB's syntax: the memory limit reaches SQL as text, so nothing else may pass
DUCKDB_SIZE = re.compile(r"\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)
# an S3 bucket name (the lake's): what AWS accepts, so a typo is refused at load
S3_BUCKET = re.compile(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]")


class LayerStorage(BaseModel):
    """Which storage backend holds each medallion layer."""

    model_config = ConfigDict(extra="forbid")

    landing: Backend = "parquet"
    bronze: Backend = "delta"
    silver: Backend = "delta"
    gold: Backend = "duckdb"

    @field_validator("*")
    @classmethod
    def _registered(cls, name: str) -> str:
        if name not in STORAGE_BACKENDS:
            *others, last = (repr(known) for known in STORAGE_BACKENDS)
            raise ValueError(f"Input should be {', '.join(others)} or {last}")
        return name


class EcommerceVolumes(BaseModel):
    """Size knobs of the e-commerce generator."""

    model_config = ConfigDict(extra="forbid")

    customers: int = Field(5_000, gt=0)
    products: int = Field(500, gt=0)
    orders_per_day: int = Field(5_000, gt=0)
    items_per_order: float = Field(2.5, ge=1.0, le=50.0)


class MarketVolumes(BaseModel):
    """Size knobs of the market generator."""

    model_config = ConfigDict(extra="forbid")

    symbols: int = Field(50, gt=0, le=100_000)
    bar_minutes: int = Field(1, gt=0, le=60)
    quotes_per_bar: float = Field(3.0, ge=0.0, le=1_000.0)


class SensorVolumes(BaseModel):
    """Size knobs of the IoT sensor generator."""

    model_config = ConfigDict(extra="forbid")

    devices: int = Field(200, gt=0, le=1_000_000)
    reading_seconds: int = Field(300, ge=1, le=86_400)


class WeatherVolumes(BaseModel):
    """Size knobs of the weather generator (observations are hourly)."""

    model_config = ConfigDict(extra="forbid")

    stations: int = Field(50, gt=0, le=100_000)


class Settings(BaseSettings):
    """The platform's configuration; build it with `load_settings()`."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
        env_file=ENV_FILE,
        # the file may hold other programs' variables (DAGSTER_*, POSTGRES_* for docker compose):
        # it is read like the environment, so only the platform's own settings are taken from it
        dotenv_filtering="only_existing",
    )

    data_dir: Path = Path("data")
    # where landing Parquet and bronze, silver and reference Delta tables live: a local folder
    # (default <data_dir>/lake) or s3://bucket/prefix, reached with the AWS_* variables; gold
    # stays in <data_dir>/warehouse.duckdb
    lake_uri: str | None = None
    dagster_home: Path = Path(".dagster")
    start_date: date = date(2025, 1, 1)
    seed: int = Field(42, ge=0)
    defect_rate: float = Field(0.03, ge=0.0, le=0.5)
    # the defect scorecard fails a silver table that catches a smaller share of any defect kind
    scorecard_min_recall: float = Field(0.95, ge=0.0, le=1.0)
    # how declarative checks run: one DuckDB query each, or as Great Expectations suites
    quality_engine: Literal["sql", "great_expectations"] = "sql"
    recent_days: int = Field(3, gt=0, le=366)
    # reference data: partners drop files under dropzone_dir, a local folder (default
    # <data_dir>/dropzone) or s3://bucket/prefix reached with the AWS_* variables; a file is
    # taken once unchanged for dropzone_ticks sensor scans, every dropzone_interval_s
    dropzone_dir: str | None = None
    dropzone_ticks: int = Field(2, ge=1, le=100)
    dropzone_interval_s: int = Field(15, ge=1, le=3600)
    # reference tables shipped with the platform, delivered from here until a partner's first file
    reference_examples: Path | None = EXAMPLES
    # custom feature plugins for registered datasets: <folder>/<dataset>.py (default <data_dir>/datasets/plugins)
    dataset_plugins_dir: Path | None = None
    # the folders dataset files may be registered from, separated by os.pathsep (default: the
    # user's home folder, the working folder and data_dir); see `dataset_roots`
    datasets_root: str | None = None
    profile: Literal["local", "postgres"] = "local"
    postgres_url: SecretStr | None = None
    # keys the pseudonyms of personal columns (HMAC-SHA256): required as soon as a silver spec
    # pseudonymises a column (see `transform/pii.py`); reaches Dagster only as an `EnvVar`
    pii_secret: SecretStr | None = Field(None, min_length=16)
    # What bounds a run's memory: each run process's DuckDB database (every transform of bronze,
    # silver and gold, and the checks) spills to its temporary folder beyond this limit, and a
    # generator hands over a day in chunks of about `generate_chunk_rows` rows (its daily tables
    # together), so landing holds one chunk whatever the size of the day
    duckdb_memory_limit: str = "1GB"
    generate_chunk_rows: int = Field(1_000_000, ge=1)
    executor: Literal["in_process", "multiprocess", "celery"] = "in_process"
    # the Celery executor's broker (amqp:// for RabbitMQ, redis:// or rediss://) and, when set,
    # results backend (rpc:// through the broker otherwise): both may hold a password, so they
    # reach Dagster only as `EnvVar` references and are never shown (see `defs/celery_executor.py`)
    celery_broker: SecretStr | None = None
    celery_backend: SecretStr | None = None
    # schedules, the drop-folder sensor and declarative automation start running as soon as a
    # daemon serves the code location; `off` starts them stopped (each can still be started in
    # the UI), for a development copy that must not write on its own or a deployment paused
    # for maintenance
    automation: bool = True
    # a schedule's cron by the schedule's name, replacing its default time (UTC), e.g.
    # DATAPLATFORM_SCHEDULES__ECOMMERCE_DAILY_SCHEDULE="0 6 * * *" when the sources land later
    schedules: dict[str, str] = Field(default_factory=dict)
    storage: LayerStorage = LayerStorage()
    ecommerce: EcommerceVolumes = EcommerceVolumes()
    market: MarketVolumes = MarketVolumes()
    sensors: SensorVolumes = SensorVolumes()
    weather: WeatherVolumes = WeatherVolumes()

    @model_validator(mode="before")
    @classmethod
    def _apply_profile(cls, values: dict[str, Any]) -> dict[str, Any]:
        """The profile picks the backend of its layers, unless a layer is set explicitly."""
        layers = PROFILE_LAYERS.get(values.get("profile", "local"), ())
        storage = values.get("storage")
        if layers and not isinstance(storage, LayerStorage):
            storage = dict(storage or {})
            for layer in layers:
                storage.setdefault(layer, values["profile"])
            values = {**values, "storage": storage}
        return values

    @model_validator(mode="after")
    def _postgres_needs_a_url(self) -> Settings:
        on_postgres = [layer for layer in LAYERS if self.layer_backend(layer) == "postgres"]
        if on_postgres and self.postgres_url is None:
            raise ValueError(
                f"DATAPLATFORM_POSTGRES_URL is required: {', '.join(on_postgres)} stored in postgres"
            )
        return self

    @model_validator(mode="after")
    def _celery_needs_a_broker(self) -> Settings:
        if self.executor == "celery" and self.celery_broker is None:
            raise ValueError(
                "DATAPLATFORM_CELERY_BROKER is required with DATAPLATFORM_EXECUTOR=celery: e.g. "
                "amqp://guest:guest@127.0.0.1:5672// (RabbitMQ) or redis://127.0.0.1:6379/0 (Redis)"
            )
        return self

    def layer_backend(self, layer: str) -> Backend:
        # reference tables stay in Delta wherever the layers live: its history is their backup
        return "delta" if layer == "reference" else getattr(self.storage, layer)

    @property
    def lake_root(self) -> str:
        """The lake as the stores take it: the s3:// URI, or the absolute local folder."""
        if self.lake_uri is not None and self.lake_uri.startswith("s3://"):
            return self.lake_uri
        return str(Path(self.lake_uri or self.data_dir / "lake").expanduser().resolve())

    @property
    def dropzone_root(self) -> str:
        """The drop folder as `open_dropzone` takes it: the s3:// URI, or the absolute local folder."""
        if self.dropzone_dir is not None and self.dropzone_dir.startswith("s3://"):
            return self.dropzone_dir
        return str(self.dropzone)

    @property
    def dropzone(self) -> Path:
        """The local drop folder; one in a bucket has no path (see `dropzone_root`)."""
        if self.dropzone_dir is not None and self.dropzone_dir.startswith("s3://"):
            raise SettingsError(f"the drop folder is in a bucket ({self.dropzone_dir}), not a local folder")
        return Path(self.dropzone_dir or self.data_dir / "dropzone").expanduser().resolve()

    @property
    def dataset_plugins(self) -> Path:
        return (self.dataset_plugins_dir or self.data_dir / "datasets" / "plugins").resolve()

    @property
    def dataset_roots(self) -> tuple[Path, ...]:
        """Where dataset files may come from: a registration cannot read /etc or follow a symlink
        out of these folders, and neither can a spec file edited to point elsewhere."""
        if self.datasets_root is None:
            return (Path.home(), Path.cwd(), self.data_dir)
        return tuple(
            Path(folder).expanduser() for folder in self.datasets_root.split(os.pathsep) if folder.strip()
        )

    @field_validator("postgres_url")
    @classmethod
    def _a_postgres_url(cls, value: SecretStr | None) -> SecretStr | None:
        """Refused at load rather than when the first run opens a connection. The message never
        quotes the URL, which may hold a password: only the driver, which cannot."""
        if value is None:
            return value
        text = value.get_secret_value()
        if "://" not in text:
            raise ValueError("not a URL: write postgresql://user:password@host:5432/database")
        url = urlsplit(text)
        if url.scheme not in POSTGRES_DRIVERS:
            raise ValueError(
                f"unknown driver {url.scheme!r}: use {' or '.join(d + '://' for d in POSTGRES_DRIVERS)}"
            )
        try:
            port = url.port
        except ValueError:
            port = 0
        if port is not None and not 0 < port < 65536:
            raise ValueError("the port must be a number from 1 to 65535")
        return value

    @field_validator("celery_broker", "celery_backend")
    @classmethod
    def _a_celery_url(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        """Refused at load rather than by the first run or worker; the message never quotes the
        value, which may hold a password (a mistyped one may too, where its scheme should be)."""
        if value is None:
            return value
        assert info.field_name is not None  # a field validator is always given its field
        known = CELERY_SCHEMES[info.field_name]
        if value.get_secret_value().split("://", 1)[0] not in known:
            raise ValueError(
                f"not a URL Celery is used with here: start it with {', '.join(s + '://' for s in known)}"
            )
        return value

    @field_validator("duckdb_memory_limit")
    @classmethod
    def _a_duckdb_size(cls, value: str) -> str:
        if not DUCKDB_SIZE.fullmatch(value.strip()):
            raise ValueError("give a size such as 1GB or 512MB (units B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)")
        return value.strip()

    @field_validator("lake_uri", "dropzone_dir")
    @classmethod
    def _a_folder_or_s3_uri(cls, value: str | None) -> str | None:
        """Refused at load, not at the first write. Credentials belong in AWS_*, never in the
        URI (it is shown as every table's and file's location), so a URI holding any is refused
        unseen."""
        if value is None:
            return value
        value = value.strip()
        if not value:
            raise ValueError("give a local folder or s3://bucket/prefix")
        if "://" not in value:
            return value
        url = urlsplit(value)
        if url.scheme != "s3":
            raise ValueError(f"unsupported scheme {url.scheme!r}: use s3://bucket/prefix or a local folder")
        if "@" in url.netloc or url.query or url.fragment:
            raise ValueError(
                "write s3://bucket/prefix only: credentials go in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
            )
        if not S3_BUCKET.fullmatch(url.netloc):
            raise ValueError(
                "the bucket must be 3-63 lower-case letters, digits, dots and hyphens: s3://bucket/prefix"
            )
        prefix = url.path.strip("/")
        return f"s3://{url.netloc}/{prefix}" if prefix else f"s3://{url.netloc}"

    @field_validator("schedules")
    @classmethod
    def _cron_expressions(cls, value: dict[str, str]) -> dict[str, str]:
        for name, cron in value.items():
            if not CRON.match(cron.strip()):
                raise ValueError(
                    f"{name}={cron!r} is not a cron expression of five fields (minute hour day month weekday)"
                )
        return value

    @field_validator("datasets_root")
    @classmethod
    def _names_a_folder(cls, value: str | None) -> str | None:
        if value is not None and not any(folder.strip() for folder in value.split(os.pathsep)):
            raise ValueError(f"name one or more folders, separated by {os.pathsep!r}")
        return value


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
        if not path:  # a rule across settings: its message names the variables
            problems.append(error["msg"].removeprefix("Value error, "))
            continue
        variable = ENV_PREFIX + "__".join(path).upper()
        given = error.get("input")
        secret = any(
            word in variable.lower()
            for word in ("url", "uri", "secret", "celery_broker", "celery_backend", "dropzone_dir")
        )
        shown = "" if isinstance(given, dict) or secret else f"={given!r}"
        problems.append(f"{variable}{shown}: {error['msg'].removeprefix('Value error, ')}")
    return "invalid setting: " + "; ".join(problems)
