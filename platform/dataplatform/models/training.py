"""Train one model of a spec on a dataset's train features: cross-validated, then fitted once.

The rows are the train split's features only; the transforms behind them were fitted on train
at registration, so nothing here ever sees the test split. A share of train (`holdout`) is held
out of fitting altogether: the promotion check compares the candidate, a baseline fitted on the
same rows and the current champion there, on rows none of them learned from. With a datetime
column the holdout is the latest rows and the folds walk forward in time (the dataset's own
splitter); otherwise both are drawn with the spec's seed, stratified for classification, so the
same seed on the same dataset version gives the same metrics.
"""

from __future__ import annotations

import pickle
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dataplatform.models.errors import ModelError
from dataplatform.models.estimators import estimator
from dataplatform.models.metrics import evaluate
from dataplatform.models.spec import ModelSpec

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


@dataclass
class Trained:
    spec: ModelSpec
    model: Any  # fitted on every train row outside the holdout
    features: list[str]
    folds: list[dict[str, float]]  # metrics per cross-validation fold
    baseline_folds: list[dict[str, float]]  # a baseline's on the same folds: the gain's noise
    holdout: dict[str, float]  # the candidate's metrics on the holdout
    baseline: dict[str, float]  # a baseline fitted on the same rows, on the same holdout
    holdout_features: pd.DataFrame
    holdout_labels: pd.Series
    rows: int  # rows fitted
    seconds: float
    size_bytes: int
    time_ordered: bool
    classes: list[Any] = field(default_factory=list)

    @property
    def cv_mean(self) -> dict[str, float]:
        names = sorted({k for fold in self.folds for k in fold})
        return {
            k: sum(f[k] for f in self.folds if k in f) / sum(1 for f in self.folds if k in f) for k in names
        }


def train(
    spec: ModelSpec,
    frame: pd.DataFrame,
    target: str,
    carried: list[str],
    times: np.ndarray | None = None,
) -> Trained:
    """Cross-validate and fit `spec` on `frame` (a features table: `carried` columns and the
    target are not inputs).

    The inputs become one float64 array, once: every fold and fit takes rows of it, as bare
    scikit-learn would (selecting rows of a DataFrame per fold and converting it at every fit
    cost 15% of a million-row training). The final fits get a DataFrame view of the same rows,
    so the model keeps its feature names and scores frames by name.
    """
    import numpy as np
    import pandas as pd

    started = time.perf_counter()
    if target not in frame.columns:
        raise ModelError(
            f"the features of {spec.dataset} have no target column {target!r}; register it again"
        )
    features = [c for c in frame.columns if c != target and c not in carried]
    if not features:
        raise ModelError(f"dataset {spec.dataset} has no feature columns to learn from")
    known = frame[target].notna().to_numpy()  # a train row without a label teaches nothing
    labels = frame[target][known].to_numpy()
    inputs = frame[features].to_numpy(dtype="float64")
    if not known.all():
        inputs, times = inputs[known], times[known] if times is not None else None
    if len(labels) < max(spec.cv_folds + 1, 10):
        raise ModelError(
            f"dataset {spec.dataset} has {len(labels)} train rows: too few to hold out and cross-validate"
        )
    fit_rows, holdout_rows, folds, time_ordered = _splits(spec, labels, times)
    fit_inputs, fit_labels = inputs[fit_rows], labels[fit_rows]
    baseline_spec = ModelSpec(spec.dataset, "baseline", "baseline", spec.problem, seed=spec.seed)
    fold_metrics, baseline_folds = [], []
    for train_index, test_index in folds:
        fold_inputs, fold_labels = fit_inputs[train_index], fit_labels[train_index]
        held = fit_inputs[test_index], fit_labels[test_index]
        fold_metrics.append(evaluate(spec.problem, _fit(spec, fold_inputs, fold_labels), *held))
        baseline_folds.append(evaluate(spec.problem, _fit(baseline_spec, fold_inputs, fold_labels), *held))
    named = pd.DataFrame(fit_inputs, columns=features, copy=False)
    model = _fit(spec, named, fit_labels)
    baseline = _fit(baseline_spec, named, fit_labels)
    held_inputs = pd.DataFrame(inputs[holdout_rows], columns=features, copy=False)
    held_labels = pd.Series(labels[holdout_rows], name=target)
    return Trained(
        spec=spec,
        model=model,
        features=features,
        folds=fold_metrics,
        baseline_folds=baseline_folds,
        holdout=evaluate(spec.problem, model, held_inputs, held_labels),
        baseline=evaluate(spec.problem, baseline, held_inputs, held_labels),
        holdout_features=held_inputs,
        holdout_labels=held_labels,
        rows=len(fit_rows),
        seconds=time.perf_counter() - started,
        size_bytes=len(pickle.dumps(model)),
        time_ordered=time_ordered,
        classes=[c.item() if isinstance(c, np.generic) else c for c in getattr(model, "classes_", [])],
    )


def _fit(spec: ModelSpec, inputs, labels):
    model = estimator(spec.estimator, spec.problem, spec.params, spec.seed)
    try:
        return model.fit(inputs, labels)
    except (TypeError, ValueError) as error:  # scikit-learn validates parameter values at fit
        message = str(error).splitlines()[0]
        raise ModelError(f"model {spec.name!r} ({spec.estimator}) cannot be fitted: {message}") from None


def _splits(spec: ModelSpec, labels, times):
    """(rows to fit, holdout rows, folds over the rows to fit, time-ordered?)."""
    import numpy as np

    if times is not None:
        from dataplatform.datasets.errors import DatasetError
        from dataplatform.datasets.timesplit import time_folds

        try:
            [held] = time_folds(times, 1, test_fraction=spec.holdout)
            fit_rows = np.sort(held.train_index)
            inner = time_folds(times[fit_rows], spec.cv_folds)
        except DatasetError as error:
            raise ModelError(f"dataset {spec.dataset}: {error}") from None
        return fit_rows, np.sort(held.test_index), [(f.train_index, f.test_index) for f in inner], True
    from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

    positions = np.arange(len(labels))
    classify = spec.problem != "regression" and _rarest(labels) >= 2
    fit_rows, holdout_rows = train_test_split(
        positions, test_size=spec.holdout, random_state=spec.seed, stratify=labels if classify else None
    )
    fit_rows, holdout_rows = np.sort(fit_rows), np.sort(holdout_rows)
    fitted_labels = labels[fit_rows]
    stratified = classify and _rarest(fitted_labels) >= spec.cv_folds
    splitter = (StratifiedKFold if stratified else KFold)(
        n_splits=spec.cv_folds, shuffle=True, random_state=spec.seed
    )
    return fit_rows, holdout_rows, list(splitter.split(positions[: len(fit_rows)], fitted_labels)), False


def _rarest(labels: np.ndarray) -> int:
    """How many rows the rarest label has."""
    import numpy as np

    return int(np.unique(labels, return_counts=True)[1].min())
