"""Train, promote, load and score models from Python, the CLI and the Dagster assets alike.

    from dataplatform.models.client import ModelClient

    models = ModelClient.for_settings(settings)
    [outcome] = models.train("titanic", model="boosted")   # logged, registered, judged, maybe promoted
    model = models.load("titanic__boosted@champion")        # the fitted scikit-learn model
    scored = models.predict("titanic__boosted@champion", frame)

A training reads the dataset's train features only, logs to MLflow, registers a version
(alias `challenger`), then judges it against the baseline and the champion on its holdout: when
the verdict passes, `champion` moves to it and the move is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dataplatform.models.errors import ModelError
from dataplatform.models.spec import ModelSpec, load_models, models_folder
from dataplatform.models.tracking import CHAMPION, Logged, Tracker, parse_reference

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from dataplatform.datasets.client import DatasetClient
    from dataplatform.models.promotion import Verdict
    from dataplatform.models.training import Trained
    from dataplatform.settings import Settings


@dataclass(frozen=True)
class Outcome:
    spec: ModelSpec
    trained: Trained
    logged: Logged
    verdict: Verdict
    promoted: bool
    dataset_version: str


class ModelClient:
    def __init__(self, datasets: DatasetClient, tracker: Tracker, folder: Path) -> None:
        self.datasets = datasets
        self.tracker = tracker
        self.folder = folder

    @classmethod
    def for_settings(cls, settings: Settings) -> ModelClient:
        from dataplatform.datasets.client import DatasetClient

        return cls(
            DatasetClient.for_settings(settings),
            Tracker.for_settings(settings),
            models_folder(settings.data_dir),
        )

    def specs(self, dataset: str) -> list[ModelSpec]:
        from dataplatform.datasets.errors import DatasetError

        try:
            spec = self.datasets.spec(dataset)
        except DatasetError as error:
            raise ModelError(f"model spec names dataset {dataset!r}: {error}") from None
        return load_models(self.folder, spec.name, spec.problem_type)

    def train(
        self, dataset: str, model: str | None = None, tags: dict[str, str] | None = None, promote: bool = True
    ) -> list[Outcome]:
        """Train `dataset`'s models (or the one named), each logged, registered and judged."""
        from dataplatform.models.training import train

        specs = self.specs(dataset)
        if model is not None:
            specs = [s for s in specs if s.name == model]
            if not specs:
                known = ", ".join(s.name for s in self.specs(dataset))
                raise ModelError(f"dataset {dataset!r} has no model {model!r}; its models: {known}")
        data = self.datasets.spec(dataset)
        if data.target is None:
            raise ModelError(
                f"dataset {data.name!r} has no target column: there is nothing to train a model on"
            )
        frame = self.datasets.load(data.name, "train", features=True)
        times = self._times(data)
        carried = [*data.id_columns, *(c for c, kind in data.column_types.items() if kind == "index")]
        version = self.dataset_version(data.name)
        outcomes = []
        for spec in specs:
            trained = train(spec, frame, data.target, carried, times)
            logged = self.tracker.log(trained, version, tags or {})
            verdict = self.judge(trained, version)
            promoted = False
            if promote and verdict.passed:
                self.tracker.promote(
                    spec.registered_name, logged.version, "passed the promotion check", verdict, tags
                )
                promoted = True
            outcomes.append(Outcome(spec, trained, logged, verdict, promoted, version))
        return outcomes

    def judge(self, trained: Trained, dataset_version: str | None = None) -> Verdict:
        """The promotion verdict on the candidate's holdout, where the champion is measured too."""
        from dataplatform.models.metrics import better
        from dataplatform.models.promotion import judge

        name = trained.spec.registered_name
        version = self.tracker.alias_version(name, CHAMPION)
        champion = None if version is None else self._champion_on_holdout(trained, version, dataset_version)
        metric = trained.spec.selection_metric
        gains = [
            better(metric, fold[metric], base[metric])
            for fold, base in zip(trained.folds, trained.baseline_folds, strict=True)
            if metric in fold and metric in base
        ]
        return judge(trained.spec, trained.holdout, trained.baseline, champion, version, gains)

    def _champion_on_holdout(
        self, trained: Trained, version: str, dataset_version: str | None
    ) -> dict[str, float]:
        """The champion's metrics on the candidate's holdout rows.

        A champion trained on the same dataset version with the same holdout share, seed and
        ordering held out the very same rows, and its run logged its metrics on them: those are
        read, not recomputed (loading and scoring it again gave the same figures in 1.5 s of a
        million-row training). Otherwise it is loaded and scored on the rows; one trained on
        other features can only be judged by its own holdout figures.
        """
        from dataplatform.models.metrics import evaluate

        name, spec = trained.spec.registered_name, trained.spec
        found = self.tracker.version(name, version)
        run = self.tracker.run(found.run_id)
        logged = {k[len("holdout_") :]: v for k, v in run.data.metrics.items() if k.startswith("holdout_")}
        same_rows = dataset_version is not None and found.tags.get("dataset_version") == dataset_version
        same_rows &= {k: run.data.params.get(k) for k in ("holdout", "seed", "time_ordered_folds")} == {
            "holdout": str(spec.holdout),
            "seed": str(spec.seed),
            "time_ordered_folds": str(trained.time_ordered),
        }
        if same_rows and logged:
            return logged
        model = self.tracker.load(f"{name}/{version}")
        wanted = list(getattr(model, "feature_names_in_", trained.features))
        if not set(wanted) <= set(trained.holdout_features.columns):
            return logged
        return evaluate(spec.problem, model, trained.holdout_features[wanted], trained.holdout_labels)

    def promote(self, reference: str, reason: str) -> dict[str, Any]:
        """Move `champion` by hand (`name/version`), recorded like the check's moves."""
        name, alias, version = parse_reference(reference)
        if version is None:
            version = self.tracker.alias_version(name, alias or CHAMPION)
            if version is None:
                raise ModelError(f"model {name!r} has no alias {alias!r}")
        if not reason.strip():
            raise ModelError("a manual promotion needs a reason (--reason)")
        return self.tracker.promote(name, version, reason.strip(), tags={"manual": "true"})

    def load(self, reference: str):
        return self.tracker.load(reference)

    def predict(
        self, reference: str, rows: pd.DataFrame | pa.Table, keep: list[str] | None = None
    ) -> pd.DataFrame:
        """`rows` scored by the model at `reference`: the `keep` columns (ids), the prediction,
        and for classifiers each class's probability.

        The rows may hold the model's features (a features split) or the dataset's raw columns
        (a file like the one registered): those are turned into features with the transforms
        fitted on the train split of the very dataset version the model learned from.
        """
        return self.score(reference, self.load(reference), rows, keep)[0]

    def score(
        self, reference: str, model: Any, rows: pd.DataFrame | pa.Table, keep: list[str] | None = None
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """`predict` with the model at `reference` already loaded; also the model's inputs for
        the rows (their features), which a drift check compares with train."""
        import pandas as pd
        import pyarrow as pa

        wanted = list(getattr(model, "feature_names_in_", []))
        try:
            table = rows if isinstance(rows, pa.Table) else pa.Table.from_pandas(rows, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as error:  # a column mixing numbers and text
            raise ModelError(f"the rows to score cannot be read: {error.args[-1]}") from None
        unknown = [c for c in keep or [] if c not in table.column_names]
        if unknown:
            raise ModelError(f"the rows to score have no column(s) {', '.join(unknown)} to keep")
        inputs = table
        if not set(wanted) <= set(table.column_names):
            inputs = self._featurized(reference, table)
            missing = [c for c in wanted if c not in inputs.column_names]
            if missing:
                raise ModelError(f"the rows to score lack the model's feature(s) {', '.join(missing[:10])}")
        features = inputs.select(wanted).to_pandas().astype("float64")
        scored = table.select(list(keep or [])).to_pandas()
        scored["prediction"] = model.predict(features)
        if hasattr(model, "predict_proba"):
            probabilities = pd.DataFrame(
                model.predict_proba(features), columns=[f"probability_{c}" for c in model.classes_]
            )
            scored = pd.concat([scored, probabilities], axis=1)
        return scored, features

    def _featurized(self, reference: str, rows: pa.Table) -> pa.Table:
        """Raw rows as the features of the dataset version the model at `reference` learned from."""
        name, alias, version = parse_reference(reference)
        if version is None:
            version = self.tracker.alias_version(name, alias or CHAMPION)
            if version is None:
                raise ModelError(f"model {name!r} has no alias {alias!r}")
        dataset, learned_from = self.tracker.lineage(name, version)
        stored = {v["version_hash"]: v for v in self.datasets.versions(dataset)}
        if learned_from not in stored:
            raise ModelError(
                f"{name}/{version} learned from a version of dataset {dataset!r} that is no longer "
                "stored; score its features instead, or train it again"
            )
        match = stored[learned_from]
        return self.datasets.featurize(dataset, rows, None if match["current"] else int(match["version"]))

    def dataset_version(self, dataset: str) -> str:
        """The content hash of the dataset's splits, as registered."""
        info = self.datasets.info(dataset)
        return str(info.get("version_hash") or info.get("registered_at") or "unknown")

    def _times(self, data) -> Any:
        if len(data.datetime_columns) != 1:
            return None
        column = data.datetime_columns[0]
        return self.datasets.store.frame(data.name, "train", [column])[column].to_numpy()
