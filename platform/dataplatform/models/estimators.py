"""Estimators by name, one registry for specs, training and the CLI's error messages.

Each entry builds a scikit-learn-compatible estimator for a problem type with the spec's
parameters and seed. Features arrive with gaps (a test value the train fit never saw, a log of
a negative number), so estimators that cannot take NaN get a median imputer in front; the
histogram gradient boosting and LightGBM take NaN themselves.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from dataplatform.models.errors import ModelError

CLASSIFICATION = ("binary", "multiclass")


@dataclass(frozen=True)
class Estimator:
    name: str
    build: Callable[[str, Mapping[str, Any], int], Any]  # (problem type, params, seed) -> estimator
    problems: tuple[str, ...] = ("binary", "multiclass", "regression")
    available: Callable[[], bool] = lambda: True


def estimator(name: str, problem: str, params: Mapping[str, Any], seed: int) -> Any:
    """A fresh, unfitted estimator; a parameter the estimator does not take is one clear error."""
    entry = ESTIMATORS.get(name)
    if entry is None or not entry.available():
        raise ModelError(f"unknown estimator {name!r}; use one of {', '.join(available_names())}")
    if problem not in entry.problems:
        raise ModelError(
            f"estimator {name!r} does not fit {problem} problems; it fits {', '.join(entry.problems)}"
        )
    try:
        return entry.build(problem, dict(params), seed)
    except ModelError:
        raise
    except (TypeError, ValueError) as error:
        raise ModelError(f"estimator {name!r} refuses its parameters {dict(params)}: {error}") from None


def available_names() -> list[str]:
    return [name for name, entry in ESTIMATORS.items() if entry.available()]


def _imputed(model):
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline

    return make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True), model)


def _configured(model, params: Mapping[str, Any]):
    """`model` with `params` set through scikit-learn's own check, so a misspelt parameter is
    refused by name instead of ignored."""
    unknown = sorted(set(params) - set(model.get_params(deep=False)))
    if unknown:
        allowed = ", ".join(sorted(model.get_params(deep=False)))
        raise ModelError(
            f"unknown parameter(s) {', '.join(unknown)} for {type(model).__name__}; it takes {allowed}"
        )
    model.set_params(**params)
    return model


def _baseline(problem: str, params: Mapping[str, Any], seed: int):
    from sklearn.dummy import DummyClassifier, DummyRegressor

    if problem in CLASSIFICATION:
        return _configured(DummyClassifier(strategy="prior", random_state=seed), params)
    return _configured(DummyRegressor(strategy="mean"), params)


def _logistic(problem: str, params: Mapping[str, Any], seed: int):
    from sklearn.linear_model import LogisticRegression

    return _imputed(_configured(LogisticRegression(max_iter=1000, random_state=seed), params))


def _linear(problem: str, params: Mapping[str, Any], seed: int):
    from sklearn.linear_model import LinearRegression

    return _imputed(_configured(LinearRegression(), params))


def _forest(problem: str, params: Mapping[str, Any], seed: int):
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    kind = RandomForestClassifier if problem in CLASSIFICATION else RandomForestRegressor
    return _imputed(_configured(kind(n_estimators=100, n_jobs=1, random_state=seed), params))


def _boosting(problem: str, params: Mapping[str, Any], seed: int):
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    kind = HistGradientBoostingClassifier if problem in CLASSIFICATION else HistGradientBoostingRegressor
    return _configured(kind(random_state=seed), params)


def _lightgbm(problem: str, params: Mapping[str, Any], seed: int):
    from lightgbm import LGBMClassifier, LGBMRegressor

    kind = LGBMClassifier if problem in CLASSIFICATION else LGBMRegressor
    return _configured(kind(random_state=seed, verbose=-1, n_jobs=1), params)


ESTIMATORS: dict[str, Estimator] = {
    e.name: e
    for e in (
        Estimator("baseline", _baseline),
        Estimator("logistic_regression", _logistic, CLASSIFICATION),
        Estimator("linear_regression", _linear, ("regression",)),
        Estimator("random_forest", _forest),
        Estimator("hist_gradient_boosting", _boosting),
        Estimator("lightgbm", _lightgbm, available=lambda: importlib.util.find_spec("lightgbm") is not None),
    )
}
