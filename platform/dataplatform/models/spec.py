"""Model specs: one YAML file per dataset, beside the dataset specs, fit for git.

    # data/models/<dataset>.yaml
    dataset: titanic
    selection_metric: roc_auc      # the metric promotion compares on (default by problem type)
    cv_folds: 5                    # time-ordered folds when the dataset has a datetime column
    seed: 42
    holdout: 0.2                   # share of train held out to compare candidate, baseline, champion
    score: [test, new_customers]   # the splits predictions score with the champion (default: test)
    promotion:
      min_gain: 0.0                # over the champion, on the selection metric
      min_relative_gain: 0.0       # the same, as a share of the champion's value
      min_gain_over_baseline: 0.0  # a candidate must beat the baseline by more than this
      guard_metric: log_loss       # and may not lose more than max_guard_loss on this one
      max_guard_loss: 0.05
    models:
      baseline: {estimator: baseline}
      boosted: {estimator: hist_gradient_boosting, params: {max_iter: 200}}

Every field but `models` is optional and may also be set per model. A dataset with a target and
no file gets `DEFAULT_MODELS`, so every registered dataset trains something real. Only YAML is
read here (no scikit-learn), so the code location can build its assets from specs quickly.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dataplatform.models.errors import ModelError
from dataplatform.models.metrics import DEFAULT_GUARD, DEFAULT_SELECTION, check_metric

DEFAULT_MODELS = {"baseline": {"estimator": "baseline"}, "boosted": {"estimator": "hist_gradient_boosting"}}
SHARED = ("selection_metric", "cv_folds", "seed", "holdout", "promotion", "score")
DEFAULT_SCORED = ("test",)
PROMOTION_FIELDS = (
    "min_gain",
    "min_relative_gain",
    "min_gain_over_baseline",
    "guard_metric",
    "max_guard_loss",
)


@dataclass(frozen=True)
class Promotion:
    """When a candidate may become champion: it beats the baseline and the champion by these
    margins on the selection metric and loses at most `max_guard_loss` on the guard metric."""

    min_gain: float = 0.0
    min_relative_gain: float = 0.0
    min_gain_over_baseline: float = 0.0
    guard_metric: str | None = None
    max_guard_loss: float | None = None


@dataclass(frozen=True)
class ModelSpec:
    dataset: str
    name: str
    estimator: str
    problem: str
    params: dict[str, Any] = field(default_factory=dict)
    selection_metric: str = "roc_auc"
    cv_folds: int = 5
    seed: int = 42
    holdout: float = 0.2
    promotion: Promotion = field(default_factory=Promotion)
    score: tuple[str, ...] = DEFAULT_SCORED  # splits of the dataset predictions score

    @property
    def registered_name(self) -> str:
        """The model's name in the registry: one per dataset and model."""
        return f"{self.dataset}__{self.name}"


def models_folder(data_dir: Path) -> Path:
    return data_dir / "models"


def load_models(folder: Path, dataset: str, problem: str | None) -> list[ModelSpec]:
    """The models of `dataset`: its file's, or the default pair when it has none."""
    if problem is None:
        raise ModelError(
            f"dataset {dataset!r} has no target, so no model can learn from it; set one with "
            f"`dataplatform datasets update {dataset} --target <column>`"
        )
    path = folder / f"{dataset}.yaml"
    raw = _read(path) if path.is_file() else {"dataset": dataset, "models": DEFAULT_MODELS}
    origin = path.name if path.is_file() else "default model spec"
    if raw.get("dataset", dataset) != dataset:
        raise ModelError(f"{origin}: names dataset {raw['dataset']!r}, but the file is {dataset}'s")
    models = raw.get("models")
    if not isinstance(models, dict) or not models:
        raise ModelError(
            f"{origin}: `models` must map each model's name to its estimator, e.g. "
            "models: {boosted: {estimator: hist_gradient_boosting}}"
        )
    unknown = sorted(set(raw) - {"dataset", "models", "description", *SHARED})
    if unknown:
        raise ModelError(f"{origin}: unknown field(s) {', '.join(unknown)}")
    shared = {k: raw[k] for k in SHARED if k in raw}
    return [_model(origin, dataset, problem, str(name), body, shared) for name, body in models.items()]


def specs_on_disk(folder: Path) -> list[str]:
    """Datasets that have a model file, by the file's name."""
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def _read(path: Path) -> dict:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ModelError(f"{path.name} cannot be read: {str(error).splitlines()[0]}") from None
    if not isinstance(raw, dict):
        raise ModelError(f"{path.name} must be a mapping, not {type(raw).__name__}")
    return raw


def _model(origin: str, dataset: str, problem: str, name: str, body: object, shared: dict) -> ModelSpec:
    from dataplatform.datasets.spec import normalise_name
    from dataplatform.models.estimators import ESTIMATORS, available_names

    where = f"{origin}, model {name!r}"
    if not isinstance(body, dict) or "estimator" not in body:
        raise ModelError(f"{where}: give it an estimator, e.g. {{estimator: hist_gradient_boosting}}")
    try:
        if normalise_name(name) != name:
            raise ModelError(f"{where}: use lower-case letters, digits and '_' in model names")
    except ValueError as error:
        raise ModelError(f"{where}: {error}") from None
    unknown = sorted(set(body) - {"estimator", "params", *SHARED})
    if unknown:
        raise ModelError(f"{where}: unknown field(s) {', '.join(unknown)}")
    estimator = body["estimator"]
    entry = ESTIMATORS.get(estimator)
    if entry is None or not entry.available():
        raise ModelError(
            f"{where}: unknown estimator {estimator!r}; use one of {', '.join(available_names())}"
        )
    if problem not in entry.problems:
        raise ModelError(f"{where}: {estimator} does not fit {problem} problems")
    params = body.get("params") or {}
    if not isinstance(params, dict):
        raise ModelError(f"{where}: params must be a mapping of parameter names to values")
    settings = {**shared, **{k: body[k] for k in SHARED if k in body}}
    selection = check_metric(
        problem, settings.get("selection_metric", DEFAULT_SELECTION[problem]), f"{where}: selection_metric"
    )
    folds, seed, holdout = settings.get("cv_folds", 5), settings.get("seed", 42), settings.get("holdout", 0.2)
    if not isinstance(folds, int) or isinstance(folds, bool) or not 2 <= folds <= 20:
        raise ModelError(f"{where}: cv_folds must be a whole number from 2 to 20, not {folds!r}")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ModelError(f"{where}: seed must be a whole number, not {seed!r}")
    if not isinstance(holdout, int | float) or not 0.05 <= holdout <= 0.5:
        raise ModelError(f"{where}: holdout must be a share from 0.05 to 0.5, not {holdout!r}")
    score = settings.get("score", list(DEFAULT_SCORED))
    score = [score] if isinstance(score, str) else score
    if not isinstance(score, list) or not score or not all(isinstance(s, str) and s for s in score):
        raise ModelError(f"{where}: score must name a split or a list of splits, e.g. [test], not {score!r}")
    if "train" in score:
        raise ModelError(f"{where}: score names train, which the model learned from; score other splits")
    return ModelSpec(
        dataset=dataset,
        name=name,
        estimator=estimator,
        problem=problem,
        params=params,
        selection_metric=selection,
        cv_folds=folds,
        seed=seed,
        holdout=float(holdout),
        promotion=_promotion(where, problem, settings.get("promotion") or {}),
        score=tuple(dict.fromkeys(score)),
    )


def _promotion(where: str, problem: str, raw: object) -> Promotion:
    if not isinstance(raw, dict):
        raise ModelError(f"{where}: promotion must be a mapping of {', '.join(PROMOTION_FIELDS)}")
    unknown = sorted(set(raw) - set(PROMOTION_FIELDS))
    if unknown:
        raise ModelError(
            f"{where}: unknown promotion field(s) {', '.join(unknown)}; known: {', '.join(PROMOTION_FIELDS)}"
        )
    margins: dict[str, float] = {}
    for name in ("min_gain", "min_relative_gain", "min_gain_over_baseline", "max_guard_loss"):
        if name in raw:
            value = raw[name]
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise ModelError(f"{where}: promotion {name} must be a number of at least 0, not {value!r}")
            margins[name] = float(value)
    guard = raw.get("guard_metric", DEFAULT_GUARD[problem])
    guard_metric = check_metric(problem, guard, f"{where}: promotion guard_metric")
    return dataclasses.replace(Promotion(), guard_metric=guard_metric, **margins)
