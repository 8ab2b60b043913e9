"""`dataplatform models` as a user runs it: train, list, show, promote by hand, predict a file; and
every mistake one line on stderr with exit code 1."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from platform_tests.e2e.conftest import BIN, run
from platform_tests.integration.test_models import churn_frame

CLI = str(BIN / "dataplatform")


def registered(user_env) -> Path:
    data = Path(user_env["DATAPLATFORM_DATA_DIR"])
    (data / "sources").mkdir(parents=True)
    churn_frame(600).to_csv(data / "sources" / "churn.csv", index=False)
    (data / "models").mkdir()
    (data / "models" / "churn.yaml").write_text(
        "cv_folds: 3\nmodels:\n  baseline: {estimator: baseline}\n  boosted: {estimator: hist_gradient_boosting}\n"
    )
    command = [CLI, "datasets", "register", str(data / "sources" / "churn.csv"), "--target", "churned"]
    result = run([*command, "--id-column", "customer_id"], user_env)
    assert result.returncode == 0, result.stderr
    return data


def test_train_list_show_promote_and_predict(user_env, tmp_path):
    data = registered(user_env)
    trained = run([CLI, "models", "train", "churn", "--format", "json"], user_env)
    assert trained.returncode == 0, trained.stderr[-2000:]
    outcomes = {o["model"]: o for o in json.loads(trained.stdout)}
    assert outcomes["churn__boosted"]["promoted"] and outcomes["churn__boosted"]["version"] == "1"
    assert (
        outcomes["churn__boosted"]["holdout"]["roc_auc"] > outcomes["churn__boosted"]["baseline"]["roc_auc"]
    )

    listed = json.loads(run([CLI, "models", "list", "--format", "json"], user_env).stdout)
    assert {m["name"]: m["aliases"]["champion"] for m in listed} == {
        "churn__baseline": "1",
        "churn__boosted": "1",
    }
    shown = json.loads(run([CLI, "models", "show", "churn__boosted", "--format", "json"], user_env).stdout)
    assert set(shown["aliases"]) == {"challenger", "champion"}
    assert shown["metrics"]["holdout_roc_auc"] == outcomes["churn__boosted"]["holdout"]["roc_auc"]

    again = run([CLI, "models", "train", "churn", "--model", "boosted", "--format", "json"], user_env)
    assert json.loads(again.stdout)[0]["version"] == "2"
    registry_chatter = ("Successfully registered model", "Created version", "already exists")
    assert not [
        line
        for line in trained.stderr.splitlines() + again.stderr.splitlines()
        if line.startswith(registry_chatter)
    ]
    promoted = run(
        [
            CLI,
            "models",
            "promote",
            "churn__boosted",
            "1",
            "--reason",
            "pin v1 for the audit",
            "--format",
            "json",
        ],
        user_env,
    )
    assert promoted.returncode == 0, promoted.stderr
    assert json.loads(promoted.stdout)["to"] == "1"
    history = json.loads(run([CLI, "models", "show", "churn__boosted", "--format", "json"], user_env).stdout)
    assert history["version"] == "1" and history["promotions"][-1]["reason"] == "pin v1 for the audit"

    from dataplatform.datasets.client import DatasetClient
    from dataplatform.settings import Settings

    features = DatasetClient.for_settings(Settings(data_dir=data)).load("churn", features=True).head(25)
    source, output = tmp_path / "to_score.csv", tmp_path / "scored.csv"
    features.to_csv(source, index=False)
    scored = run(
        [
            CLI,
            "models",
            "predict",
            "churn__boosted@champion",
            str(source),
            "--output",
            str(output),
            "--keep",
            "customer_id",
        ],
        user_env,
    )
    assert scored.returncode == 0, scored.stderr
    written = pd.read_csv(output)
    assert written["customer_id"].tolist() == features["customer_id"].tolist()
    assert set(written["prediction"]) <= {"Yes", "No"} and {"probability_No", "probability_Yes"} <= set(
        written.columns
    )

    # The same customers as a raw file (the registered columns, no target): featurized with the
    # transforms the champion learned from, they score the same.
    raw = pd.read_csv(data / "sources" / "churn.csv").drop(columns="churned")
    raw = raw.set_index("customer_id").loc[features["customer_id"]].reset_index()
    raw_source, raw_output = tmp_path / "new_customers.csv", tmp_path / "new_scored.csv"
    raw.to_csv(raw_source, index=False)
    command = [CLI, "models", "predict", "churn__boosted", str(raw_source), "--output", str(raw_output)]
    scored_raw = run([*command, "--keep", "customer_id"], user_env)
    assert scored_raw.returncode == 0, scored_raw.stderr
    pd.testing.assert_frame_equal(pd.read_csv(raw_output), written)


def one_line_error(result) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_mistakes_are_one_line_each(user_env, tmp_path):
    registered(user_env)
    assert "'nothing'" in one_line_error(run([CLI, "models", "train", "nothing"], user_env))
    assert "has no model 'forest'" in one_line_error(
        run([CLI, "models", "train", "churn", "--model", "forest"], user_env)
    )
    assert "no registered model 'churn__boosted'" in one_line_error(
        run([CLI, "models", "show", "churn__boosted"], user_env)
    )
    assert "needs a reason" in one_line_error(
        run([CLI, "models", "promote", "churn__boosted", "1"], user_env)
    )
    unreachable = {
        **user_env,
        "DATAPLATFORM_PROFILE": "postgres",
        "DATAPLATFORM_POSTGRES_URL": "postgresql://postgres:secret@127.0.0.1:1/nothing",
    }
    said = one_line_error(run([CLI, "models", "list"], unreachable, timeout=60))
    assert "cannot be reached" in said and "secret" not in said
