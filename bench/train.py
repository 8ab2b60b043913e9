"""Model training: the platform's training asset against bare scikit-learn doing the same estimator work.

The input: a Parquet file of `--rows` rows (default 1,000,000) and 20 columns (a row id, 12
floating-point measures, one of them 2% empty, 3 counts, 3 categories of uneven frequencies, and
a 0/1 target drawn from a logistic model of several of them, so there is real signal to learn),
registered once with `DatasetClient.register(..., target="target", id_columns=["row_id"])` in a
fresh data folder, with a model spec `<data>/models/bench.yaml` declaring
`boosted: {estimator: hist_gradient_boosting}` with `cv_folds: 3`, `holdout: 0.2`, `seed: 42`.
Generating and registering are setup, not timed. What is compared:

* platform (subject): `ModelClient.for_settings(settings).train("bench", model="boosted")`, the
  work of the `models/bench/boosted` asset: reading the train features, 3 cross-validation fits
  and their metrics (with a baseline fitted and scored on each fold, the noise the promotion
  rule compares the gain with), the final fit on train minus the holdout, a baseline on the
  same rows, both scored on the holdout, MLflow logging (run, parameters, metrics, signature, input
  example, the model as skops), registration of a new version with its tags and the
  `challenger` alias, the promotion check (the champion's figures on the same holdout: read from
  its run, as it was trained on the same dataset version with the same holdout) and, as it passes, the move of `champion` recorded as a run. Every timed training finds a
  champion to compare with: the first training of the model (no champion yet, so nothing to
  load and score) runs once before the rounds, in a process of its own, and is shown as
  information. The platform's own code runs unchanged; the bench wraps some of its functions
  and MLflow's with a stopwatch (in the contender's process only) to say where the time goes.
* anchor: bare scikit-learn doing the same estimator work on the same arrays: the same train
  features read with `DatasetClient.load(name, "train", features=True)` (timed, as the platform
  reads them too), the same holdout and folds (stratified `train_test_split` and
  `StratifiedKFold` with the spec's seed, as `models/training._splits` draws them), the same
  `HistGradientBoostingClassifier(random_state=42)` fitted and scored (predict_proba, the
  predicted class its most probable one, as the platform and `predict` take it; accuracy,
  precision, recall, F1, ROC AUC, log loss) on every fold beside the
  prior baseline, the final fit, and both scored on the holdout. No MLflow, no registry, no checks. Its
  holdout metrics must equal the platform's, and the script says whether they do.
* naive (information): one fit of the same estimator on every train row and one predict on
  them, features already in memory: what a user timing `model.fit(X, y)` in a notebook would
  compare with. It does a fraction of the work (one fit instead of four, no holdout, no
  metrics), so a ratio against it mostly counts cross-validation, which the platform does by
  design and the user would have to do anyway; what the platform adds to a training is
  measured against the anchor. Goal: platform time at most 1.15x the anchor's (tracking,
  registry and checks add at most 15%).

Also measured: the code location's load time, `import dataplatform.definitions` plus building
the definitions and resolving the repository (the asset graph, model assets built from the
specs of the bench's data folder), in a fresh interpreter, median of several runs; the whole
process's wall time is shown beside it. Loading it must not import MLflow or scikit-learn (the
heavy libraries load when a model step runs): the script checks `sys.modules` and says so.

Timing and memory: see `_harness.py`. The three contenders take turns, each run in a fresh
spawned process (platform, anchor, naive, platform, ...). Each process first does its work once
on a 2,000-row dataset registered beside the big one, untimed, so first-call costs (importing
MLflow and scikit-learn, opening the MLflow store, the first fit's thread pool) stay out of the
figures; the platform's imports and that first small training are timed for information, as a
Dagster step in a fresh process pays them. Fits here use both cores (scikit-learn's OpenMP
threads), so other work on the machine slows a contender far more than its share: besides the
ratio of the medians, the script prints the ratio round by round (a platform run and the anchor
run right after it) and each platform run's time over its own time without logging, the
promotion check and the promotion, which it timed itself, under the same load.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

from _harness import Figure, Outcome, Trial, Workload, in_turns, parse_args, report, run_isolated, work_folder

SEED = 42
NAME, WARM_UP, MODEL = "bench", "warm_up", "boosted"
TARGET, ID = "target", "row_id"
CV_FOLDS, HOLDOUT = 3, 0.2
WARM_UP_ROWS = 2_000
GOAL_RATIO = 1.15
LOAD_RUNS = 5
METRIC = "holdout roc_auc"  # carried in an outcome's parts beside the durations, to compare the two
SPEC = f"""\
dataset: {{name}}
cv_folds: {CV_FOLDS}
holdout: {HOLDOUT}
seed: {SEED}
models:
  {MODEL}: {{{{estimator: hist_gradient_boosting}}}}
"""


# -- the input -------------------------------------------------------------------------------


def write_input(rows: int, path: Path, seed: int = SEED) -> None:
    """20 columns: the id, 12 measures (`num_5` 2% empty), 3 counts, 3 categories, the target."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    columns: dict[str, object] = {ID: np.arange(rows)}
    for i in range(12):
        columns[f"num_{i}"] = rng.normal(size=rows) * (1 + i % 3)
    columns["num_5"] = np.where(rng.random(rows) < 0.02, np.nan, columns["num_5"])
    for i in range(3):
        columns[f"count_{i}"] = rng.poisson(3 + 10 * i, rows)
    levels = np.array(["north", "south", "east", "west", "centre", "islands"])
    shares = np.array([0.35, 0.25, 0.15, 0.12, 0.08, 0.05])
    codes = [rng.choice(len(levels), size=rows, p=np.roll(shares, i)) for i in range(3)]
    for i in range(3):
        columns[f"cat_{i}"] = pa.array(levels[codes[i]])
    num = [columns[f"num_{i}"] for i in range(12)]
    logit = (
        0.9 * num[0]
        - 0.35 * num[1]
        + 0.25 * num[3] * num[6]
        + 0.8 * np.sin(num[4])
        + 0.3 * np.nan_to_num(num[5])
        + 0.08 * (columns["count_1"] - 13)
        + np.array([0.6, -0.4, 0.0, 0.3, -0.7, 0.5])[codes[0]]
        + 0.4 * (codes[1] == 2)
        - 0.2
    )
    columns[TARGET] = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    pq.write_table(pa.table(columns), path)


def set_up(work: Path, rows: int) -> Path:
    """The data folder: both datasets registered, each with its model spec."""
    from dataplatform.datasets.client import DatasetClient

    data = work / "data"
    client = DatasetClient(data)
    (data / "models").mkdir(parents=True, exist_ok=True)
    for name, count, seed in ((NAME, rows, SEED), (WARM_UP, WARM_UP_ROWS, SEED + 1)):
        path = work / f"{name}.parquet"
        write_input(count, path, seed)
        started = time.perf_counter()
        client.register(path, name=name, target=TARGET, id_columns=[ID], force=True)
        (data / "models" / f"{name}.yaml").write_text(SPEC.format(name=name))
        if name == NAME:
            features = client.load(NAME, "train", features=True, sample=10)
            print(
                f"input: {rows:,} rows x 20 columns, {path.stat().st_size / 2**20:,.0f} MiB of Parquet, "
                f"registered in {time.perf_counter() - started:.1f} s (setup, not timed); "
                f"{len(features.columns) - 2} feature columns to learn from",
                flush=True,
            )
    return data


def _settings(data: Path):
    from dataplatform.settings import Settings

    return Settings(data_dir=data, dagster_home=data.parent / "dagster")


# -- the platform ----------------------------------------------------------------------------


class Stopwatch:
    """Seconds spent inside chosen functions, summed by label. `wrap` replaces an attribute (a
    module's function, an object's method) by a timed call of the original, in this process
    only, so the platform's code runs unchanged and still says where its time went."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def reset(self) -> None:
        self.seconds.clear()
        self.calls.clear()

    def count(self, kind: str) -> int:
        """How many `kind` calls came before this one (since the last reset)."""
        self.calls[kind] += 1
        return self.calls[kind] - 1

    def wrap(self, owner: object, attribute: str, label) -> None:
        original = getattr(owner, attribute)

        def timed(*args, **kwargs):
            name = label(*args, **kwargs) if callable(label) else label
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - started

        setattr(owner, attribute, timed)


# Where the platform's time goes: (key, label, parent). A parent's time includes its children's;
# each parent also gets an "other" line, its time outside the children listed.
STEPS = (
    ("reading", "reading the train features", None),
    ("training", "training (models/training.train)", None),
    ("cv", "cross-validation: fits and fold metrics", "training"),
    ("final fit", "final fit on train minus the holdout", "training"),
    ("holdout", "the candidate's holdout metrics", "training"),
    ("baseline", "baselines: fits and metrics, folds and holdout", "training"),
    ("log", "MLflow logging and registration (Tracker.log)", None),
    ("skops types", "skops type check (dumps the model)", "log"),
    ("signature", "infer_signature (a predict)", "log"),
    ("log_model", "mlflow.sklearn.log_model", "log"),
    ("save_model", "save_model: skops dump, MLmodel, environment", "log_model"),
    ("pip", "pip requirements inference (a subprocess loading the model)", "save_model"),
    ("serving", "serving-input check (loads the model, predicts the example)", "log_model"),
    ("artifacts", "artifact copy into the store", "log_model"),
    ("registration", "registration of the version", "log_model"),
    ("judge", "promotion check (ModelClient.judge)", None),
    ("champion load", "champion loaded from the registry", "judge"),
    ("champion scoring", "champion scored on the holdout", "judge"),
    ("promotion", "champion moved, the move recorded as a run", None),
)
ADDED = ("log", "judge", "promotion")  # what tracking, registry and checks add to a training
OTHER = {
    None: "spec, dataset version, lookups",
    "training": "features to float64, splits, model size (pickle)",
    "log": "run, parameters, metrics, version tags, challenger alias",
    "log_model": "logged-model record, temporary folder",
    "save_model": "skops dump, MLmodel and environment files",
    "judge": "champion alias lookup, the verdict",
}


def _instrument(client, watch: Stopwatch) -> None:
    import mlflow
    import mlflow.models
    import mlflow.models.utils
    import mlflow.sklearn
    import mlflow.tracking._model_registry.fluent as registry

    from dataplatform.models import metrics, tracking, training

    def fit(spec, *_args, **_kwargs) -> str:
        if spec.estimator == "baseline":
            return "baseline"
        return "cv" if watch.count("fit") < CV_FOLDS else "final fit"

    def evaluation(_problem, model, *_args, **_kwargs) -> str:
        if type(model).__name__.startswith("Dummy"):
            return "baseline"
        return "cv" if watch.count("evaluate") < CV_FOLDS else "holdout"

    watch.wrap(client.datasets, "load", "reading")
    watch.wrap(training, "train", "training")
    watch.wrap(training, "_fit", fit)
    watch.wrap(training, "evaluate", evaluation)
    watch.wrap(client.tracker, "log", "log")
    watch.wrap(tracking, "_own_types", "skops types")
    watch.wrap(mlflow.models, "infer_signature", "signature")
    watch.wrap(mlflow.sklearn, "log_model", "log_model")
    watch.wrap(mlflow.sklearn, "save_model", "save_model")
    watch.wrap(mlflow.models, "infer_pip_requirements", "pip")
    watch.wrap(mlflow.models.utils, "_validate_serving_input", "serving")
    watch.wrap(mlflow.MlflowClient, "log_model_artifacts", "artifacts")
    watch.wrap(registry, "_register_model", "registration")
    watch.wrap(client, "judge", "judge")
    watch.wrap(client.tracker, "load", "champion load")
    watch.wrap(metrics, "evaluate", "champion scoring")  # the judge's; training has its own name
    watch.wrap(client.tracker, "promote", "promotion")


def _with_others(total: float, seconds: dict[str, float]) -> dict[str, float]:
    """`seconds` plus, for each parent, `other <parent>`: its time outside the children listed."""
    parts = {key: seconds.get(key, 0.0) for key, _, _ in STEPS}
    for parent in OTHER:
        inside = total if parent is None else parts[parent]
        children = sum(parts[key] for key, _, up in STEPS if up == parent)
        parts[f"other {parent or 'total'}"] = inside - children
    return parts


def prepare_platform(data: Path) -> Workload:
    started = time.perf_counter()
    import mlflow  # noqa: F401  what a model step imports, timed for information
    import sklearn.ensemble  # noqa: F401

    from dataplatform.models.client import ModelClient

    client = ModelClient.for_settings(_settings(data))
    imported = time.perf_counter()
    client.train(WARM_UP, model=MODEL)  # the store opened, every first call made
    first_costs = {"imports": imported - started, "first small training": time.perf_counter() - imported}
    watch = Stopwatch()
    _instrument(client, watch)

    def workload() -> Outcome:
        watch.reset()
        started = time.perf_counter()
        [outcome] = client.train(NAME, model=MODEL)
        total = time.perf_counter() - started
        parts = _with_others(total, watch.seconds) | first_costs
        parts |= {
            METRIC: outcome.trained.holdout["roc_auc"],
            "champion scored": float(outcome.verdict.champion is not None),
            "promoted": float(outcome.promoted),
        }
        return Outcome(rows=outcome.trained.rows + len(outcome.trained.holdout_labels), parts=parts)

    return workload


# -- bare scikit-learn -----------------------------------------------------------------------


def _scores(model, features, labels) -> dict[str, float]:
    """The platform's binary classification metrics (`models/metrics.evaluate`), by hand."""
    from sklearn import metrics as m

    positive = model.classes_[-1]
    probabilities = model.predict_proba(features)
    predicted = model.classes_[probabilities.argmax(axis=1)]  # what predict answers
    precision, recall, f1, _ = m.precision_recall_fscore_support(
        labels, predicted, pos_label=positive, average="binary", zero_division=0
    )
    return {
        "accuracy": m.accuracy_score(labels, predicted),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "log_loss": m.log_loss(labels, probabilities, labels=model.classes_),
        "roc_auc": m.roc_auc_score(labels, probabilities[:, -1]),
    }


def _bare_training(datasets, name: str) -> Outcome:
    import numpy as np
    from sklearn.dummy import DummyClassifier
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedKFold, train_test_split

    marks = [time.perf_counter()]
    frame = datasets.load(name, "train", features=True)
    marks.append(time.perf_counter())
    frame = frame[frame[TARGET].notna()]
    features = [c for c in frame.columns if c not in (TARGET, ID)]
    inputs, labels = frame[features].to_numpy(dtype="float64"), frame[TARGET].to_numpy()
    positions = np.arange(len(labels))
    fit_rows, holdout_rows = train_test_split(
        positions, test_size=HOLDOUT, random_state=SEED, stratify=labels
    )
    fit_rows, holdout_rows = np.sort(fit_rows), np.sort(holdout_rows)
    fit_inputs, fit_labels = inputs[fit_rows], labels[fit_rows]
    folds = StratifiedKFold(n_splits=CV_FOLDS, shuffle=True, random_state=SEED)
    marks.append(time.perf_counter())
    for train, test in folds.split(fit_inputs, fit_labels):
        fold_inputs, fold_labels = fit_inputs[train], fit_labels[train]
        model = HistGradientBoostingClassifier(random_state=SEED).fit(fold_inputs, fold_labels)
        _scores(model, fit_inputs[test], fit_labels[test])
        baseline = DummyClassifier(strategy="prior", random_state=SEED).fit(fold_inputs, fold_labels)
        _scores(baseline, fit_inputs[test], fit_labels[test])  # the promotion rule's noise
    marks.append(time.perf_counter())
    model = HistGradientBoostingClassifier(random_state=SEED).fit(fit_inputs, fit_labels)
    marks.append(time.perf_counter())
    baseline = DummyClassifier(strategy="prior", random_state=SEED).fit(fit_inputs, fit_labels)
    held_inputs, held_labels = inputs[holdout_rows], labels[holdout_rows]
    holdout = _scores(model, held_inputs, held_labels)
    _scores(baseline, held_inputs, held_labels)
    marks.append(time.perf_counter())
    steps = ("reading", "arrays and splits", "cv", "final fit", "baseline and holdout")
    parts = {step: end - start for step, start, end in zip(steps, marks, marks[1:], strict=False)}
    return Outcome(rows=len(labels), parts=parts | {METRIC: holdout["roc_auc"]})


def prepare_anchor(data: Path) -> Workload:
    from dataplatform.datasets.client import DatasetClient

    datasets = DatasetClient(data)
    _bare_training(datasets, WARM_UP)
    return lambda: _bare_training(datasets, NAME)


def prepare_naive(data: Path) -> Workload:
    from sklearn.ensemble import HistGradientBoostingClassifier

    from dataplatform.datasets.client import DatasetClient

    frame = DatasetClient(data).load(NAME, "train", features=True)
    inputs = frame.drop(columns=[TARGET, ID]).to_numpy(dtype="float64")
    labels = frame[TARGET].to_numpy()
    HistGradientBoostingClassifier(random_state=SEED).fit(inputs[:WARM_UP_ROWS], labels[:WARM_UP_ROWS])

    def workload() -> Outcome:
        HistGradientBoostingClassifier(random_state=SEED).fit(inputs, labels).predict(inputs)
        return Outcome(rows=len(labels))

    return workload


# -- the code location -----------------------------------------------------------------------

LOCATION = """
import json, sys, time
started = time.perf_counter()
import dataplatform.definitions as location
imported = time.perf_counter()
defs = location.defs()
built = time.perf_counter()
keys = defs.get_repository_def().asset_graph.get_all_asset_keys()
resolved = time.perf_counter()
print(json.dumps({
    "import": imported - started, "build": built - imported, "resolve": resolved - built,
    "models": sum(1 for k in keys if k.path[0] == "models"),
    "heavy": sorted(m for m in ("mlflow", "sklearn", "skops", "lightgbm") if m in sys.modules),
}))
"""


def code_location(data: Path, runs: int) -> dict[str, object]:
    """Median seconds of the code location's load in fresh interpreters, and what it imported."""
    env = {
        **os.environ,
        "DATAPLATFORM_DATA_DIR": str(data),
        "DATAPLATFORM_DAGSTER_HOME": str(data.parent / "dagster"),
    }
    found, walls = [], []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", LOCATION], env=env, capture_output=True, text=True, check=False
        )
        walls.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise RuntimeError(f"the code location failed to load:\n{done.stderr[-2000:]}")
        found.append(json.loads(done.stdout.strip().splitlines()[-1]))
    median = {k: statistics.median(f[k] for f in found) for k in ("import", "build", "resolve")}
    return {
        "seconds": round(sum(median.values()), 3),
        **{f"{k}_s": round(v, 3) for k, v in median.items()},
        "process_s": round(statistics.median(walls), 3),
        "model_assets": found[-1]["models"],
        "heavy_imports": sorted({m for f in found for m in f["heavy"]}),
    }


# -- the report ------------------------------------------------------------------------------


def _median(trial: Trial, name: str) -> float:
    return statistics.median(trial.part(name))


def _breakdown(platform: Trial, anchor: Trial) -> list[str]:
    total = statistics.median(platform.seconds)
    lines = [f"where the platform's time goes (median of {len(platform.seconds)} timed trainings, seconds):"]

    def line(depth: int, label: str, seconds: float) -> None:
        lines.append(f"  {'  ' * depth}{label:<{64 - 2 * depth}} {seconds:8.2f}  {seconds / total:6.1%}")

    def walk(parent: str | None, depth: int) -> None:
        for key, label, up in STEPS:
            if up == parent:
                line(depth, label, _median(platform, key))
                walk(key, depth + 1)
        if parent in OTHER:
            line(depth, f"other: {OTHER[parent]}", _median(platform, f"other {parent or 'total'}"))

    walk(None, 0)
    added = sum(_median(platform, k) for k in ADDED)
    lines.append(
        f"  tracking, registry and checks (logging + promotion check + promotion): {added:.2f} s, "
        f"{added / total:.1%} of the training"
    )
    anchor_steps = ("reading", "arrays and splits", "cv", "final fit", "baseline and holdout")
    lines.append(
        "anchor parts (median, s): "
        + ", ".join(f"{step} {_median(anchor, step):.2f}" for step in anchor_steps)
    )
    return lines


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=None,
        help="keep the input and stores here (a new folder each run: the first training needs an empty store)",
    )


def main() -> None:
    args = parse_args(__doc__ or "", default_rows=1_000_000, add=_options, default_repeat=3)
    with work_folder(args.work_dir, "bench-train-") as work:
        data = set_up(work, args.rows)
        location = code_location(data, LOAD_RUNS)
        print(
            f"code location: {location['seconds']:.2f} s (median of {LOAD_RUNS}), "
            f"heavy imports: {location['heavy_imports'] or 'none'}",
            flush=True,
        )
        load = os.getloadavg()[0]
        first = run_isolated(prepare_platform, data, repeat=1)
        print(
            f"setup: the first training (no champion yet) {first.seconds[0]:.2f} s "
            f"(load average before: {load:.2f})",
            flush=True,
        )
        platform, anchor, naive = in_turns(
            ((prepare_platform, (data,)), (prepare_anchor, (data,)), (prepare_naive, (data,))), args.repeat
        )

    figures = [
        Figure.of(
            "platform: ModelClient.train (features, CV, fit, MLflow, registry, check)", platform, "subject"
        ),
        Figure.of("bare scikit-learn: the same features, folds, fits and metrics", anchor, "anchor"),
        Figure.of("naive: one fit + predict on every train row", naive, "anchor"),
        Figure.of("platform, first training of the model (no champion to score)", first),
    ]
    ratio = figures[0].median / figures[1].median
    # Two views of the same ratio that a loaded machine moves less: each round's platform and
    # anchor ran one after the other, and each platform run timed its own steps.
    by_round = [p / a for p, a in zip(platform.seconds, anchor.seconds, strict=True)]
    by_steps = [
        total / (total - sum(outcome.parts[k] for k in ADDED))
        for total, outcome in zip(platform.seconds, platform.outcomes, strict=True)
    ]
    naive_ratio = figures[0].median / figures[2].median
    same_metrics = set(platform.part(METRIC)) == set(anchor.part(METRIC))
    checked = all(platform.part("champion scored")) and all(platform.part("promoted"))
    heavy = location["heavy_imports"]
    notes = [
        *_breakdown(platform, anchor),
        f"first-call costs in a fresh process (untimed above, paid by a Dagster step): imports "
        f"{_median(platform, 'imports'):.2f} s, the first (2,000-row) training "
        f"{_median(platform, 'first small training'):.2f} s",
        f"holdout ROC AUC: platform {_median(platform, METRIC):.6f}, anchor {_median(anchor, METRIC):.6f}: "
        + ("the same" if same_metrics else "DIFFERENT: the anchor does not do the platform's work"),
        f"every timed training scored a champion and was promoted: {'yes' if checked else 'NO'}",
        f"platform / anchor time: {ratio:.3f}x; goal at most {GOAL_RATIO}x: "
        f"{'met' if ratio <= GOAL_RATIO else 'NOT met'}",
        f"  round by round (one after the other, under like load): "
        f"{', '.join(f'{r:.3f}x' for r in by_round)}; median {statistics.median(by_round):.3f}x",
        f"  each platform run's time over its own time without logging, promotion check and "
        f"promotion (timed inside the run): {', '.join(f'{r:.3f}x' for r in by_steps)}; "
        f"median {statistics.median(by_steps):.3f}x",
        f"platform / naive single fit time: {naive_ratio:.2f}x (information: one fit where the platform "
        f"does {CV_FOLDS + 1}, on all rows, and no scoring)",
        f"code location load: {location['seconds']:.3f} s (import {location['import_s']:.3f} + build "
        f"{location['build_s']:.3f} + resolve {location['resolve_s']:.3f}; the whole process "
        f"{location['process_s']:.3f} s; {location['model_assets']} model assets; median of {LOAD_RUNS}); "
        f"MLflow or scikit-learn imported: {', '.join(heavy) if heavy else 'no'}",
    ]
    report(
        "train",
        figures,
        {"rows": args.rows, "repeat": args.repeat, "cv_folds": CV_FOLDS, "holdout": HOLDOUT},
        notes,
        platform_vs_anchor=round(ratio, 3),
        platform_vs_anchor_by_round=[round(r, 3) for r in by_round],
        platform_vs_own_steps=[round(r, 3) for r in by_steps],
        goal_met=ratio <= GOAL_RATIO,
        platform_vs_naive=round(naive_ratio, 3),
        same_metrics=same_metrics,
        steps={key: round(_median(platform, key), 3) for key in platform.outcomes[-1].parts},
        first_training_s=round(first.seconds[0], 3),
        code_location=location,
    )


if __name__ == "__main__":
    main()
