"""ML models end to end on a real MLflow store (SQLite under the data folder; PostgreSQL under the
postgres profile): train, log, register, judge, promote, score; and every mistake one clear error.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dataplatform.datasets.client import DatasetClient
from dataplatform.datasets.errors import DatasetError
from dataplatform.models.client import ModelClient
from dataplatform.models.errors import ModelError
from dataplatform.models.metrics import evaluate
from platform_tests.conftest import small_settings

SPEC = """
dataset: churn
cv_folds: 3
seed: 11
models:
  baseline: {estimator: baseline}
  boosted: {estimator: hist_gradient_boosting, params: {max_iter: 60}}
"""


def churn_frame(rows: int = 900, seed: int = 3) -> pd.DataFrame:
    """Customers whose churn depends on tenure, spend and plan: a signal worth learning."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 72, rows)
    spend = rng.gamma(2.0, 30.0, rows).round(2)
    plan = rng.choice(["basic", "plus", "pro"], rows)
    score = -0.05 * tenure + 0.02 * spend + np.where(plan == "basic", 1.0, -0.5) + rng.normal(0, 0.7, rows)
    return pd.DataFrame(
        {
            "customer_id": np.arange(1, rows + 1),
            "tenure_months": tenure,
            "monthly_spend": spend,
            "plan": plan,
            "churned": np.where(score > np.median(score), "Yes", "No"),
        }
    )


def register(settings, frame: pd.DataFrame, name: str = "churn", force: bool = False) -> None:
    folder = settings.data_dir / "sources"  # inside the data folder: datasets register from allowed roots
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.csv"
    frame.to_csv(path, index=False)
    DatasetClient.for_settings(settings).register(
        path, name=name, target="churned", id_columns=["customer_id"], force=force
    )


@pytest.fixture
def models(settings, tmp_path) -> ModelClient:
    register(settings, churn_frame())
    folder = settings.data_dir / "models"
    folder.mkdir(parents=True)
    (folder / "churn.yaml").write_text(SPEC)
    return ModelClient.for_settings(settings)


def test_training_logs_registers_and_promotes_in_the_data_folder_s_store(
    models, settings, monkeypatch, tmp_path
):
    monkeypatch.chdir(tmp_path)  # MLflow must not write ./mlruns wherever the process runs
    outcomes = {o.spec.name: o for o in models.train("churn", tags={"dagster_run_id": "run-1"})}
    boosted = outcomes["boosted"]
    assert boosted.promoted and boosted.verdict.passed
    assert boosted.trained.holdout["roc_auc"] > 0.75 > outcomes["baseline"].trained.holdout["roc_auc"]
    assert models.tracker.alias_version("churn__boosted", "champion") == boosted.logged.version
    assert models.tracker.alias_version("churn__boosted", "challenger") == boosted.logged.version
    shown = models.tracker.describe("churn__boosted")
    assert shown["lineage"]["dataset"] == "churn" and shown["lineage"]["dagster_run_id"] == "run-1"
    assert shown["lineage"]["dataset_version"] == boosted.dataset_version
    assert (
        shown["params"]["estimator"] == "hist_gradient_boosting" and shown["params"]["param.max_iter"] == "60"
    )
    for metric in ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss"):
        assert {f"holdout_{metric}", f"cv_{metric}", f"cv_{metric}_fold1"} <= set(shown["metrics"])
    assert [p["to"] for p in shown["promotions"]] == [boosted.logged.version]
    assert (settings.data_dir / "mlflow" / "mlflow.db").is_file()
    assert any((settings.data_dir / "mlflow" / "artifacts" / "churn").rglob("MLmodel"))
    assert not (tmp_path / "mlruns").exists()
    model = models.load("churn__boosted@champion")
    scored = models.predict(
        "churn__boosted@champion", models.datasets.load("churn", features=True), ["customer_id"]
    )
    assert set(scored["prediction"]) <= {"Yes", "No"}  # the labels as registered, not booleans
    assert list(model.classes_) == ["No", "Yes"]


def test_a_model_trained_on_shuffled_labels_never_becomes_champion(models, settings, tmp_path):
    [first] = models.train("churn", model="boosted")
    assert first.promoted
    shuffled = churn_frame()
    shuffled["churned"] = np.random.default_rng(5).permutation(shuffled["churned"].to_numpy())
    register(settings, shuffled, force=True)
    [worse] = models.train("churn", model="boosted")
    assert not worse.promoted and not worse.verdict.passed
    assert models.tracker.alias_version("churn__boosted", "champion") == first.logged.version
    assert models.tracker.alias_version("churn__boosted", "challenger") == worse.logged.version
    said = " ".join(worse.verdict.reasons)
    assert f"against champion v{first.logged.version}'s" in said and "against the baseline's" in said
    assert worse.verdict.champion is not None and "roc_auc" in worse.verdict.champion


def test_the_same_seed_on_the_same_dataset_version_gives_the_same_metrics(models):
    [one] = models.train("churn", model="boosted")
    [two] = models.train("churn", model="boosted")
    assert one.dataset_version == two.dataset_version
    assert one.trained.holdout == two.trained.holdout and one.trained.folds == two.trained.folds
    # The champion held out the same rows: the check read its logged figures, which must be what
    # scoring it again on the candidate's holdout gives.
    champion = models.load(f"churn__boosted/{one.logged.version}")
    rescored = evaluate("binary", champion, two.trained.holdout_features, two.trained.holdout_labels)
    assert two.verdict.champion == rescored == one.trained.holdout


def test_training_reads_the_train_split_only(models, monkeypatch):
    asked = []
    load = models.datasets.load

    def spying(name, split="train", *args, **kwargs):
        asked.append(split)
        return load(name, split, *args, **kwargs)

    monkeypatch.setattr(models.datasets, "load", spying)
    [outcome] = models.train("churn", model="boosted")
    assert set(asked) == {"train"}
    train_rows = len(load("churn", "train"))
    assert outcome.trained.rows + len(outcome.trained.holdout_labels) == train_rows


def test_predictions_cover_exactly_the_submission_s_ids(tmp_path, instance):
    from platform_tests.integration.conftest import Platform

    settings = small_settings(tmp_path)
    frame = churn_frame(700)
    folder = settings.data_dir / "sources" / "kaggle"
    folder.mkdir(parents=True)
    frame.iloc[:500].to_csv(folder / "train.csv", index=False)
    frame.iloc[500:].drop(columns="churned").to_csv(folder / "test.csv", index=False)
    sample = frame.iloc[500:][["customer_id"]].assign(churned="No").sample(frac=1, random_state=2)
    sample.to_csv(folder / "sample_submission.csv", index=False)
    newcomers = (
        churn_frame(40, seed=21).drop(columns="churned").assign(customer_id=lambda f: f.customer_id + 10_000)
    )
    newcomers.to_csv(folder / "new_customers.csv", index=False)  # a scoring table beside test
    DatasetClient.for_settings(settings).register(folder, name="churn", id_columns=["customer_id"])
    (settings.data_dir / "models").mkdir(parents=True)
    (settings.data_dir / "models" / "churn.yaml").write_text(SPEC + "score: [test, new_customers]\n")
    platform = Platform(settings, instance)
    result = platform.run("models")
    assert result.success
    checks = {(e.asset_key.path[-1], e.check_name): e for e in result.get_asset_check_evaluations()}
    assert checks[("boosted", "promotion")].passed
    drift = checks[("boosted", "feature_drift")]
    assert drift.severity.value == "WARN" and "psi" in drift.metadata
    submission = pd.read_csv(settings.data_dir / "models" / "submissions" / "churn__boosted.csv")
    assert list(submission.columns) == ["customer_id", "churned"]
    assert submission["customer_id"].tolist() == sample["customer_id"].tolist()
    assert set(submission["churned"]) <= {"Yes", "No"}
    materialised = {
        e.asset_key.to_user_string(): e.materialization.metadata
        for e in result.all_events
        if e.is_step_materialization
    }
    trained = materialised["models/churn/boosted"]
    assert {
        "holdout_roc_auc",
        "training_seconds",
        "rows",
        "model_size_bytes",
        "dataset_version",
        "mlflow_run_id",
    } <= set(trained)
    assert trained["registered_version"].value == 1
    from dataplatform.storage import TableName, open_store

    scored = open_store("delta", settings.data_dir.resolve()).read(
        TableName("predictions", "churn", "boosted")
    )
    by_split = scored.to_pandas().groupby("split")["customer_id"].apply(sorted).to_dict()
    assert by_split == {
        "test": sorted(sample["customer_id"].tolist()),
        "new_customers": sorted(newcomers["customer_id"].tolist()),
    }
    assert materialised["predictions/churn/boosted"]["rows_per_split"].value == {
        "test": 200,
        "new_customers": 40,
    }


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "models: {m: {estimator: xgboost}}",
            "unknown estimator 'xgboost'; use one of baseline, logistic_regression",
        ),
        (
            "models: {m: {estimator: hist_gradient_boosting, params: {max_iterations: 5}}}",
            "unknown parameter(s) max_iterations",
        ),
        ("models: {m: {estimator: hist_gradient_boosting, params: {max_iter: -3}}}", "cannot be fitted"),
        ("models: {m: {estimator: linear_regression}}", "linear_regression does not fit binary problems"),
        ("cv_folds: 1\nmodels: {m: {estimator: baseline}}", "cv_folds must be a whole number from 2 to 20"),
        (
            "selection_metric: rmse\nmodels: {m: {estimator: baseline}}",
            "'rmse' does not apply to binary problems",
        ),
        ("models: [baseline]", "`models` must map each model's name to its estimator"),
        (
            "score: [train]\nmodels: {m: {estimator: baseline}}",
            "score names train, which the model learned from",
        ),
        ("score: {}\nmodels: {m: {estimator: baseline}}", "score must name a split or a list of splits"),
    ],
)
def test_a_bad_spec_is_one_clear_error_and_registers_nothing(models, settings, spec, message):
    (settings.data_dir / "models" / "churn.yaml").write_text(spec)
    with pytest.raises(ModelError) as raised:
        models.train("churn")
    assert message in str(raised.value)
    assert models.tracker.models() == []


def test_a_dataset_without_a_target_or_a_spec_naming_no_dataset_is_refused(settings, tmp_path):
    frame = churn_frame().drop(columns="churned")
    (settings.data_dir / "sources").mkdir(parents=True)
    frame.to_csv(settings.data_dir / "sources" / "plain.csv", index=False)
    DatasetClient.for_settings(settings).register(settings.data_dir / "sources" / "plain.csv", name="plain")
    client = ModelClient.for_settings(settings)
    if client.datasets.spec("plain").target is None:
        with pytest.raises(ModelError, match="has no target"):
            client.train("plain")
    with pytest.raises(ModelError, match="'missing'"):
        client.train("missing")


def test_the_tracking_store_in_postgresql_under_the_postgres_profile(tmp_path, postgres_database):
    import psycopg

    settings = small_settings(tmp_path, profile="postgres", postgres_url=postgres_database)
    register(settings, churn_frame())
    client = ModelClient.for_settings(settings)
    [outcome] = client.train("churn", model="boosted")
    assert outcome.promoted
    assert "not-shown" not in client.tracker.location()
    with psycopg.connect(postgres_database) as con:
        versions = con.execute("SELECT name, version FROM model_versions").fetchall()
        aliases = con.execute("SELECT name, alias, version FROM registered_model_aliases").fetchall()
    assert versions == [("churn__boosted", 1)]
    assert ("churn__boosted", "champion", 1) in aliases
    [again] = client.train("churn", model="boosted")  # judged against the champion in PostgreSQL
    assert again.verdict.champion == outcome.trained.holdout and again.logged.version == "2"
    assert again.promoted  # as good as the champion: the default rule (gain >= 0) moves it
    moved = client.promote("churn__boosted/1", "pin the first one for the audit")
    assert (moved["from"], moved["to"]) == ("2", "1")
    assert client.tracker.describe("churn__boosted")["promotions"][-1]["reason"].startswith("pin the first")
    rows = DatasetClient.for_settings(settings).load("churn", features=True).head(5)
    assert len(client.predict("churn__boosted@champion", rows)) == 5


def test_raw_rows_are_scored_through_the_features_of_the_version_the_model_learned_from(settings):
    """A file of new customers, raw as registered, scores exactly as the test split's features
    computed at registration do, even after the dataset is registered again with other rows."""
    frame = churn_frame(800)
    folder = settings.data_dir / "sources" / "kaggle"
    folder.mkdir(parents=True)
    frame.iloc[:600].to_csv(folder / "train.csv", index=False)
    new = frame.iloc[600:].drop(columns="churned")
    new.to_csv(folder / "test.csv", index=False)
    datasets = DatasetClient.for_settings(settings)
    datasets.register(folder, name="churn", id_columns=["customer_id"])
    (settings.data_dir / "models").mkdir(parents=True)
    (settings.data_dir / "models" / "churn.yaml").write_text(SPEC)
    models = ModelClient.for_settings(settings)
    [outcome] = models.train("churn", model="boosted")
    reference = f"churn__boosted/{outcome.logged.version}"
    expected = models.predict(reference, datasets.load("churn", "test", features=True), keep=["customer_id"])

    pd.testing.assert_frame_equal(models.predict(reference, new, keep=["customer_id"]), expected)
    other = churn_frame(800, seed=9)
    other["monthly_spend"] *= 3  # other means and spreads: other fitted transforms
    other.iloc[:600].to_csv(folder / "train.csv", index=False)
    datasets.register(folder, name="churn", id_columns=["customer_id"], force=True)
    assert models.dataset_version("churn") != outcome.dataset_version
    pd.testing.assert_frame_equal(models.predict(reference, new, keep=["customer_id"]), expected)

    with pytest.raises(DatasetError, match="computed from: plan"):
        models.predict(reference, new.drop(columns="plan"))
    mixed = new.astype({"monthly_spend": "object"})
    mixed.loc[mixed.index[3], "monthly_spend"] = "twelve"
    with pytest.raises(ModelError, match="cannot be read: Conversion failed for column monthly_spend"):
        models.predict(reference, mixed)
    mistyped = new.astype({"monthly_spend": "str"})  # as a CSV reader gives a column with a word in it
    mistyped.loc[mistyped.index[3], "monthly_spend"] = "twelve"
    with pytest.raises(
        DatasetError, match=r"'monthly_spend' has 1 value\(s\) that are not a number \(e.g. 'twelve'\)"
    ):
        models.predict(reference, mistyped)
