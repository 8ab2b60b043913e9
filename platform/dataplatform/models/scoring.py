"""Score a dataset's splits with a model's champion, and shape a Kaggle submission from it.

The splits are the model spec's `score` (the test split by default; any other registered split,
e.g. this month's customers added to the dataset's folder). The scored rows keep the dataset's
id columns and their split, so each prediction can be joined back; they are written to
`predictions/<dataset>/<model>` (Delta), replaced whole each time. A dataset
registered from a Kaggle-style folder has a `*submission*` split naming the ids and the target:
the submission is that table's ids, in its order, each with its prediction under the target's
name, and is refused (not written short) if the scored rows miss any of its ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dataplatform.models.errors import ModelError
from dataplatform.models.tracking import CHAMPION

if TYPE_CHECKING:
    import pandas as pd

    from dataplatform.models.client import ModelClient
    from dataplatform.models.spec import ModelSpec
    from dataplatform.settings import Settings

DRIFT_SAMPLE = 100_000  # train rows the drift check compares with: a reservoir, the same every run


@dataclass(frozen=True)
class Scored:
    rows: int
    splits: dict[str, int]  # rows scored per split
    version: str
    location: str
    submission: Path | None
    train_features: pd.DataFrame  # the model's inputs, for the drift check
    scored_features: pd.DataFrame


def score_splits(client: ModelClient, spec: ModelSpec, settings: Settings) -> Scored:
    """Score the spec's splits (`score`, the test split by default) with the champion into one
    table, each row with its split; a split without stored features is featurized with the
    transforms of the dataset version the champion learned from."""
    import pandas as pd
    import pyarrow as pa

    from dataplatform.storage import TableName, open_store

    data = client.datasets.spec(spec.dataset)
    absent = [split for split in spec.score if split not in data.splits]
    if absent:
        raise ModelError(
            f"model {spec.name!r} of {spec.dataset} scores split(s) {', '.join(absent)}, which the dataset "
            f"does not have; its splits: {', '.join(data.splits)}"
        )
    version = client.tracker.alias_version(spec.registered_name, CHAMPION)
    if version is None:
        raise ModelError(
            f"{spec.registered_name} has no champion yet: train it (dataplatform models train {spec.dataset})"
        )
    reference = f"{spec.registered_name}/{version}"
    model = client.load(reference)
    stored = client.datasets.store.tables(data.name)
    parts, inputs, test_scored = [], [], None
    for split in spec.score:
        featured = f"features_{split}" in stored
        rows = client.datasets.load(data.name, split, features=featured)
        keep = [c for c in data.id_columns if c in rows.columns]
        scored, features = client.score(reference, model, rows, keep)
        test_scored = scored if split == "test" else test_scored
        parts.append(scored.assign(split=split))
        inputs.append(features)
    scored = pd.concat(parts, ignore_index=True)
    store = open_store("delta", settings.data_dir.resolve(), lake=settings.lake_root)
    table = TableName("predictions", spec.dataset, spec.name)
    store.write(table, pa.Table.from_pandas(scored, preserve_index=False))
    wanted = list(inputs[0].columns)
    train = client.datasets.load(data.name, "train", features=True, sample=DRIFT_SAMPLE)
    folder = settings.data_dir / "models" / "submissions"
    return Scored(
        rows=len(scored),
        splits={split: len(part) for split, part in zip(spec.score, parts, strict=True)},
        version=version,
        location=store.location(table),
        submission=None if test_scored is None else _submission(client, data, test_scored, folder, spec),
        train_features=train[wanted],
        scored_features=pd.concat(inputs, ignore_index=True),
    )


def _submission(
    client: ModelClient, data, scored: pd.DataFrame, folder: Path, spec: ModelSpec
) -> Path | None:
    shapes = [split for split in data.splits if "submission" in split]
    if not shapes or data.target is None:
        return None
    sample = client.datasets.load(data.name, shapes[0])
    ids = [c for c in sample.columns if c != data.target and c in scored.columns]
    if not ids:
        raise ModelError(f"{shapes[0]} of {data.name} shares no id column with the scored rows")
    joined = sample[ids].merge(scored[[*ids, "prediction"]], on=ids, how="left", validate="one_to_one")
    missing = int(joined["prediction"].isna().sum())
    if missing:
        raise ModelError(f"{missing} id(s) of {shapes[0]} have no prediction: the test split lacks them")
    joined = joined.rename(columns={"prediction": data.target})[list(sample.columns)]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{spec.registered_name}.csv"
    joined.to_csv(path, index=False)
    return path
