"""The platform's models in MLflow: an experiment per dataset, a run per training, a registered
model per dataset and model with the aliases `challenger` (the newest) and `champion`.

One store for runs and registry: SQLite at `<data>/mlflow/mlflow.db`, or the PostgreSQL database
under the postgres profile; artifacts under `<data>/mlflow/artifacts/<dataset>`, set on each
experiment (MLflow would otherwise write `./mlruns` wherever the process runs). Aliases, not
stages (deprecated). Every promotion, by the check or by hand, is a run of its own in the
dataset's experiment (`kind=promotion`: from, to, reason, both sides' metrics), so the history
of the champion is queryable in MLflow like any other run. MLflow is imported here only, and
only when a method runs.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dataplatform.models.errors import ModelError

if TYPE_CHECKING:
    from dataplatform.models.promotion import Verdict
    from dataplatform.models.training import Trained
    from dataplatform.settings import Settings

CHAMPION, CHALLENGER = "champion", "challenger"
EXPERIMENT_PREFIX = "dataplatform/"


@dataclass(frozen=True)
class Logged:
    run_id: str
    version: str


class Tracker:
    def __init__(self, tracking_uri: str, artifacts: Path) -> None:
        self.uri = tracking_uri
        self.artifacts = Path(artifacts).resolve()

    @classmethod
    def for_settings(cls, settings: Settings) -> Tracker:
        folder = settings.data_dir.resolve() / "mlflow"
        if settings.profile == "postgres" and settings.postgres_url is not None:
            url = settings.postgres_url.get_secret_value()
            uri = (
                url.replace("postgresql://", "postgresql+psycopg://", 1)
                if url.startswith("postgresql://")
                else url
            )
        else:
            folder.mkdir(parents=True, exist_ok=True)
            uri = f"sqlite:///{folder / 'mlflow.db'}"
        return cls(uri, folder / "artifacts")

    def location(self) -> str:
        """The store, without user or password: for metadata, logs and people."""
        from sqlalchemy.engine import make_url

        return (
            self.uri
            if self.uri.startswith("sqlite")
            else make_url(self.uri).render_as_string(hide_password=True)
        )

    # -- writing -------------------------------------------------------------------------------

    def log(self, trained: Trained, dataset_version: str, tags: dict[str, str]) -> Logged:
        """Log a training (params, metrics per fold and mean, holdout, tags, signature, input
        example, the model) and register it as the newest version, aliased `challenger`."""
        self._mlflow()
        import mlflow.sklearn
        from mlflow.models import infer_signature

        spec = trained.spec
        example = trained.holdout_features.head(5)
        params = {
            "estimator": spec.estimator,
            "selection_metric": spec.selection_metric,
            "cv_folds": spec.cv_folds,
            "seed": spec.seed,
            "holdout": spec.holdout,
            "time_ordered_folds": trained.time_ordered,
            "features": len(trained.features),
            **{f"param.{k}": v for k, v in sorted(spec.params.items())},
        }
        with mlflow.start_run(
            experiment_id=self.experiment(spec.dataset),
            run_name=f"{spec.name} {datetime.now(UTC):%Y-%m-%d %H:%M:%S}",
            tags={
                "kind": "training",
                "dataset": spec.dataset,
                "model": spec.name,
                "dataset_version": dataset_version,
                **tags,
            },
        ) as run:
            mlflow.log_params(params)
            mlflow.log_metrics(metric_values(trained))
            info = mlflow.sklearn.log_model(
                trained.model,
                name="model",
                skops_trusted_types=_own_types(trained.model),
                pip_requirements=_requirements(),  # inferring them loads the model in a subprocess: ~4 s
                signature=infer_signature(example, trained.model.predict(example)),
                input_example=example,
            )
        client = self._client()
        version = self._register(spec.registered_name, info.model_uri, info.model_id, run.info.run_id)
        for key, value in {"dataset_version": dataset_version, "run_id": run.info.run_id, **tags}.items():
            client.set_model_version_tag(spec.registered_name, version, key, str(value))
        client.set_registered_model_alias(spec.registered_name, CHALLENGER, version)
        return Logged(run.info.run_id, version)

    def _register(self, name: str, model_uri: str, model_id: str, run_id: str) -> str:
        """A new version of `name` (created on first use) for the logged model. What
        `log_model(registered_model_name=...)` does, through the client, which does not print
        "Successfully registered model" / "Created version" on stderr at every training."""
        from mlflow.exceptions import MlflowException
        from mlflow.protos.databricks_pb2 import RESOURCE_ALREADY_EXISTS, ErrorCode

        client = self._client()
        try:
            client.create_registered_model(name)
        except MlflowException as error:
            if error.error_code != ErrorCode.Name(RESOURCE_ALREADY_EXISTS):
                raise
        return str(client.create_model_version(name, model_uri, run_id=run_id, model_id=model_id).version)

    def promote(
        self,
        name: str,
        version: str,
        reason: str,
        verdict: Verdict | None = None,
        tags: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Move `champion` to `version` and record the move as a run: from, to, reason, metrics."""
        mlflow = self._mlflow()
        client = self._client()
        self.version(name, version)  # refuses an unknown version before anything moves
        previous = self.alias_version(name, CHAMPION)
        dataset, _ = self.lineage(name, version)
        moved_at = datetime.now(UTC).isoformat()
        record = {"model": name, "from": previous, "to": version, "reason": reason, "at": moved_at}
        with mlflow.start_run(
            experiment_id=self.experiment(dataset),
            run_name=f"promote {name} v{version}",
            tags={
                "kind": "promotion",
                "model": name,
                "dataset": dataset,
                "from_version": str(previous),
                "to_version": version,
                "reason": reason,
                **(tags or {}),
            },
        ):
            if verdict is not None:
                mlflow.log_metrics({f"candidate_{k}": v for k, v in verdict.candidate.items()})
                mlflow.log_metrics({f"champion_{k}": v for k, v in (verdict.champion or {}).items()})
                mlflow.log_dict({"reasons": verdict.reasons, **record}, "promotion.json")
        client.set_registered_model_alias(name, CHAMPION, version)
        client.set_model_version_tag(name, version, "promoted_at", moved_at)
        client.set_model_version_tag(name, version, "promotion_reason", reason)
        return record

    # -- reading -------------------------------------------------------------------------------

    def experiment(self, dataset: str) -> str:
        mlflow = self._mlflow()
        name = EXPERIMENT_PREFIX + dataset
        found = mlflow.get_experiment_by_name(name)
        if found is not None:
            return found.experiment_id
        folder = self.artifacts / dataset
        folder.mkdir(parents=True, exist_ok=True)
        return mlflow.create_experiment(name, artifact_location=folder.as_uri())

    def alias_version(self, name: str, alias: str) -> str | None:
        from mlflow.exceptions import MlflowException

        try:
            return str(self._client().get_model_version_by_alias(name, alias).version)
        except MlflowException:
            return None

    def version(self, name: str, version: str):
        from mlflow.exceptions import MlflowException

        try:
            return self._client().get_model_version(name, str(version))
        except MlflowException:
            raise ModelError(
                f"model {name!r} has no version {version!r}; see `dataplatform models show {name}`"
            ) from None

    def run(self, run_id: str):
        """A run: its params, metrics and tags (`data`)."""
        return self._client().get_run(run_id)

    def load(self, reference: str):
        """The fitted model of `name@alias` or `name/version`."""
        self._mlflow()
        import mlflow.sklearn
        from mlflow.exceptions import MlflowException

        name, alias, version = parse_reference(reference)
        uri = f"models:/{name}@{alias}" if alias else f"models:/{name}/{version}"
        try:
            return mlflow.sklearn.load_model(uri)
        except MlflowException as error:
            raise ModelError(f"no model at {reference!r}: {str(error).splitlines()[0]}") from None

    def models(self) -> list[dict[str, Any]]:
        client = self._client()
        found = []
        for model in client.search_registered_models():
            found.append(
                {
                    "name": model.name,
                    "latest_version": max(
                        (
                            int(v.version)
                            for v in client.search_model_versions(f"name = '{_literal(model.name)}'")
                        ),
                        default=None,
                    ),
                    "aliases": {alias: str(version) for alias, version in (model.aliases or {}).items()},
                }
            )
        return sorted(found, key=lambda m: m["name"])

    def describe(self, name: str, version: str | None = None) -> dict[str, Any]:
        client = self._client()
        if version is None:
            version = self.alias_version(name, CHAMPION) or self.alias_version(name, CHALLENGER)
            if version is None:
                raise ModelError(f"no registered model {name!r}; see `dataplatform models list`")
        found = self.version(name, version)
        run = client.get_run(found.run_id)
        model = client.get_registered_model(name)
        return {
            "name": name,
            "version": str(found.version),
            "aliases": [a for a, v in (model.aliases or {}).items() if str(v) == str(found.version)],
            "run_id": found.run_id,
            "tags": dict(found.tags),
            "params": dict(run.data.params),
            "metrics": dict(sorted(run.data.metrics.items())),
            "lineage": {
                k: run.data.tags.get(k)
                for k in ("dataset", "dataset_version", "dagster_run_id", "git_commit")
            },
            "promotions": self.promotions(name),
        }

    def promotions(self, name: str) -> list[dict[str, Any]]:
        mlflow = self._mlflow()
        dataset = name.split("__", 1)[0]
        experiment = mlflow.get_experiment_by_name(EXPERIMENT_PREFIX + dataset)
        if experiment is None:
            return []
        runs = self._client().search_runs(
            [experiment.experiment_id],
            filter_string=f"tags.kind = 'promotion' AND tags.model = '{_literal(name)}'",
            order_by=["attributes.start_time ASC"],
        )
        return [
            {
                "from": r.data.tags.get("from_version"),
                "to": r.data.tags.get("to_version"),
                "reason": r.data.tags.get("reason"),
                "at": datetime.fromtimestamp(r.info.start_time / 1000, UTC).isoformat(),
                "run_id": r.info.run_id,
            }
            for r in runs
        ]

    def lineage(self, name: str, version: str) -> tuple[str, str | None]:
        """The dataset a version learned from, and that dataset's version (its content hash)."""
        tags = self._client().get_run(self.version(name, version).run_id).data.tags
        return tags.get("dataset") or name.split("__", 1)[0], tags.get("dataset_version")

    def _mlflow(self):
        try:
            import mlflow
        except ImportError:
            raise ModelError("MLflow is not installed: pip install -c constraints.txt -e .") from None
        self._check_reachable()
        for chatty in ("mlflow", "alembic"):  # store creation and migrations, logged at INFO on stderr
            logging.getLogger(chatty).setLevel(logging.WARNING)
        mlflow.set_tracking_uri(self.uri)
        mlflow.set_registry_uri(self.uri)
        return mlflow

    def _check_reachable(self) -> None:
        """Fail at once, in one line, when a database store is out of reach: MLflow itself retries
        for minutes and logs every attempt."""
        if self.uri.startswith("sqlite") or getattr(self, "_reached", False):
            return
        import psycopg

        try:
            psycopg.connect(
                self.uri.replace("postgresql+psycopg://", "postgresql://", 1), connect_timeout=5
            ).close()
        except psycopg.Error as error:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise ModelError(f"the MLflow store at {self.location()} cannot be reached: {reason}") from None
        self._reached = True

    def _client(self):
        self._mlflow()
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)


def _requirements() -> list[str]:
    """What serving a model needs: the versions this process trained with."""
    from importlib.metadata import version

    return [f"{name}=={version(name)}" for name in ("mlflow", "scikit-learn", "numpy", "pandas")]


def _own_types(model) -> list[str]:
    """The types skops must be told to trust to save a model this platform built itself: only
    scikit-learn's, LightGBM's and NumPy's (a model carrying anything else is refused)."""
    from skops.io import dumps, get_untrusted_types

    found = get_untrusted_types(data=dumps(model))
    foreign = [t for t in found if not t.startswith(("sklearn.", "lightgbm.", "numpy.", "builtins."))]
    if foreign:
        raise ModelError(f"the model holds types the platform does not save: {', '.join(foreign[:5])}")
    return found


def metric_values(trained: Trained) -> dict[str, float]:
    """Every figure of a training under the names MLflow and the asset's metadata show."""
    values: dict[str, float] = {}
    for number, fold in enumerate(trained.folds, start=1):
        values |= {f"cv_{k}_fold{number}": v for k, v in fold.items()}
    values |= {f"cv_{k}": v for k, v in trained.cv_mean.items()}
    values |= {f"holdout_{k}": v for k, v in trained.holdout.items()}
    values |= {f"baseline_{k}": v for k, v in trained.baseline.items()}
    values |= {
        "training_seconds": trained.seconds,
        "rows": float(trained.rows),
        "model_size_bytes": float(trained.size_bytes),
    }
    return values


def parse_reference(reference: str) -> tuple[str, str | None, str | None]:
    """`name@alias` or `name/version` (or a bare name: its champion) -> (name, alias, version)."""
    if "@" in reference:
        name, alias = reference.split("@", 1)
        return name, alias, None
    if "/" in reference:
        name, version = reference.split("/", 1)
        if not version.isdigit():
            raise ModelError(f"model version {version!r} is not a number (use name/3 or name@champion)")
        return name, None, version
    return reference, CHAMPION, None


def _literal(text: str) -> str:
    """A value inside MLflow's filter strings, which quote with single quotes."""
    return text.replace("'", "")


def as_json(value: Any) -> str:
    return json.dumps(value, default=str)
