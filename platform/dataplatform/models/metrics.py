"""The metrics every training logs, per problem type, and which way each one is better.

Classification: accuracy, precision, recall, F1 (binary: of the positive class, the larger
label; multiclass: macro averages), ROC AUC (multiclass: one-vs-rest, macro) and log loss;
regression: RMSE, MAE and R². A metric that cannot be computed on a fold (one class only in
its labels) is left out rather than reported as a number that means nothing.
"""

from __future__ import annotations

from typing import Any

from dataplatform.models.errors import ModelError

CLASSIFICATION_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss")
REGRESSION_METRICS = ("rmse", "mae", "r2")
LOWER_IS_BETTER = frozenset({"log_loss", "rmse", "mae"})
DEFAULT_SELECTION = {"binary": "roc_auc", "multiclass": "f1", "regression": "rmse"}
DEFAULT_GUARD = {"binary": "log_loss", "multiclass": "log_loss", "regression": "mae"}


def metric_names(problem: str) -> tuple[str, ...]:
    return REGRESSION_METRICS if problem == "regression" else CLASSIFICATION_METRICS


def check_metric(problem: str, metric: str, role: str) -> str:
    if metric not in metric_names(problem):
        raise ModelError(
            f"{role} {metric!r} does not apply to {problem} problems; use one of {', '.join(metric_names(problem))}"
        )
    return metric


def better(metric: str, candidate: float, reference: float) -> float:
    """How much better `candidate` is than `reference` (negative: worse), whichever way the metric runs."""
    return reference - candidate if metric in LOWER_IS_BETTER else candidate - reference


def evaluate(problem: str, model: Any, features, labels) -> dict[str, float]:
    """Every metric of `problem` for a fitted `model` on `features` and true `labels`."""
    import numpy as np
    from sklearn import metrics as m

    if problem == "regression":
        predicted = model.predict(features)
        return {
            "rmse": float(np.sqrt(m.mean_squared_error(labels, predicted))),
            "mae": float(m.mean_absolute_error(labels, predicted)),
            "r2": float(m.r2_score(labels, predicted)) if len(labels) > 1 else float("nan"),
        }
    classes = list(model.classes_)
    probabilities = model.predict_proba(features)
    # The most probable class is what `predict` answers for every classifier here (a binary
    # logistic regression's positive decision is a probability above one half), without
    # scoring the rows twice.
    predicted = np.asarray(model.classes_)[probabilities.argmax(axis=1)]
    average = "binary" if problem == "binary" else "macro"
    positive = {"pos_label": classes[-1]} if problem == "binary" else {}
    precision, recall, f1, _ = m.precision_recall_fscore_support(  # one pass for the three
        labels, predicted, average=average, zero_division=0, **positive
    )
    found = {
        "accuracy": float(m.accuracy_score(labels, predicted)),
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
    }
    found["log_loss"] = float(m.log_loss(labels, probabilities, labels=classes))
    if len(set(labels)) > 1:
        if problem == "binary":
            found["roc_auc"] = float(m.roc_auc_score(labels, probabilities[:, -1]))
        elif set(labels) <= set(classes):
            found["roc_auc"] = float(
                m.roc_auc_score(labels, probabilities, multi_class="ovr", average="macro", labels=classes)
            )
    return {k: v for k, v in found.items() if v == v}  # NaN: not computable on these rows
