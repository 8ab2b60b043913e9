"""How well silver cleans, scored against the generator's record of the defects it injected.

A defect counts as detected when silver flagged or quarantined a row with its key: silver
cannot say which of a row's problems it saw, only that the row was not passed on as clean.
Rows are traced back to their delivered key through `_checksum`, since silver's keys are
already normalised. Only the latest delivery is scored (older ones are `superseded` whatever
their content). A false alarm is a key silver flagged or dropped with no defect injected; a
dropped one is a clean row lost, which fails the score outright.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dataplatform.quality.checks import SAMPLE_ROWS, CheckOutcome

if TYPE_CHECKING:
    import duckdb

    from dataplatform.engine.scans import Scannable


@dataclass(frozen=True)
class KindScore:
    injected: int
    detected: int

    @property
    def recall(self) -> float:
        return self.detected / self.injected if self.injected else 1.0


@dataclass(frozen=True)
class Scorecard:
    kinds: dict[str, KindScore]
    false_alarms: int
    clean_rows_dropped: int
    not_scored: tuple[str, ...] = ()
    samples: dict[str, list[str]] = field(default_factory=dict)

    def outcome(self, min_recall: float) -> CheckOutcome:
        low = {kind: s.recall for kind, s in self.kinds.items() if s.recall < min_recall}
        problems = [f"recall of {kind} {recall:.3f} < {min_recall}" for kind, recall in sorted(low.items())]
        if self.clean_rows_dropped:
            problems.append(f"{self.clean_rows_dropped} clean rows dropped")
        injected = sum(s.injected for s in self.kinds.values())
        missed = injected - sum(s.detected for s in self.kinds.values())
        summary = ", ".join(f"{k} {s.detected}/{s.injected}" for k, s in sorted(self.kinds.items()))
        return CheckOutcome(
            passed=not problems,
            failing_rows=missed + self.clean_rows_dropped,
            total_rows=injected,
            description="; ".join(problems)
            or f"every defect kind at or above recall {min_recall}: {summary}",
            sample=[{"kind": kind, "missed_keys": keys} for kind, keys in sorted(self.samples.items())],
        )

    @property
    def metadata(self) -> dict[str, float | int]:
        figures: dict[str, float | int] = {
            "false_alarms": self.false_alarms,
            "clean_rows_dropped": self.clean_rows_dropped,
        }
        for kind, score in sorted(self.kinds.items()):
            figures[f"{kind}_injected"] = score.injected
            figures[f"{kind}_detected"] = score.detected
            figures[f"{kind}_recall"] = round(score.recall, 4)
        return figures


def score(
    table: str,
    key: tuple[str, ...],
    defects: Scannable,
    bronze: Scannable,
    silver: Scannable,
    quarantine: Scannable,
    not_scored: tuple[str, ...] = (),
) -> Scorecard:
    """Score silver's handling of `table`: each of `defects` (the generator's log) against what
    became of the rows with its key. Kinds in `not_scored` are left to other layers. Every input
    may be an Arrow table or a lazily scanned one: DuckDB reads only the columns and rows the
    score needs, and the score is counted in DuckDB, so a day larger than memory is scored
    within DuckDB's memory limit."""
    from dataplatform.engine.sql import connect

    with connect(defects=defects) as scoring:
        scoring.execute("CREATE TEMP TABLE questioned (_key VARCHAR, dropped BOOLEAN)")
        _questioned_keys(scoring, key, bronze, silver, quarantine)
        rows = (
            scoring.execute(
                """
            WITH injected AS (
                SELECT DISTINCT kind, key FROM defects WHERE "table" = ?
            ), scored AS (
                SELECT kind, key, key IN (SELECT _key FROM questioned) AS detected FROM injected
            )
            SELECT 'kind' AS what, kind, count(*) AS injected, count(*) FILTER (WHERE detected) AS detected,
                   list(key ORDER BY key) FILTER (WHERE NOT detected)[1:5] AS missed
            FROM scored GROUP BY kind
            UNION ALL
            SELECT 'false_alarm', NULL, count(DISTINCT _key), 0, NULL
            FROM questioned WHERE _key NOT IN (SELECT key FROM injected)
            UNION ALL
            SELECT 'clean_dropped', NULL, count(*), 0, NULL
            FROM questioned WHERE dropped AND _key NOT IN (SELECT key FROM injected)
            """,
                [table],
            )
            .to_arrow_table()
            .to_pylist()
        )
    kinds, samples, false_alarms, dropped = {}, {}, 0, 0
    for row in rows:
        if row["what"] == "false_alarm":
            false_alarms = row["injected"]
        elif row["what"] == "clean_dropped":
            dropped = row["injected"]
        elif row["kind"] in not_scored:
            continue
        else:
            kinds[row["kind"]] = KindScore(row["injected"], row["detected"])
            if row["missed"]:
                samples[row["kind"]] = row["missed"][:SAMPLE_ROWS]
    return Scorecard(kinds, false_alarms, dropped, not_scored, samples)


def _questioned_keys(
    scoring: duckdb.DuckDBPyConnection,
    key: tuple[str, ...],
    bronze: Scannable,
    silver: Scannable,
    quarantine: Scannable,
) -> None:
    """Fill `scoring`'s table `questioned` with the delivered key, as the defect log writes it,
    of every row silver repaired (flagged) or dropped: a few percent of the day, written out a
    batch at a time, since the key's text form is Arrow's (`key_text`)."""
    import pyarrow as pa

    from dataplatform.engine.identifiers import quote
    from dataplatform.engine.sql import STREAM_BATCH_ROWS, connect
    from dataplatform.synthetic.defects import key_text

    columns = ", ".join(quote(c) for c in key)
    # Only rows silver questioned need their delivered key, traced back through `_checksum`
    # since silver's keys are already normalised; only the latest delivery is scored.
    repaired = f"""
        SELECT {columns}, false AS dropped FROM bronze
        WHERE _batch_id IS NOT DISTINCT FROM (
                  SELECT _batch_id FROM bronze ORDER BY _ingested_at DESC, _batch_id DESC LIMIT 1)
          AND _checksum IN (SELECT _checksum FROM silver WHERE len(_quality_flags) > 0)
    """
    dropped = (
        f"SELECT {columns}, true AS dropped FROM quarantine WHERE _drop_reason IS DISTINCT FROM 'superseded'"
    )
    with connect(bronze=bronze, silver=silver, quarantine=quarantine) as reading:
        for sql in (repaired, dropped):
            for batch in reading.execute(sql).to_arrow_reader(STREAM_BATCH_ROWS):
                rows = pa.Table.from_batches([batch])
                keyed = pa.table({"_key": key_text(rows, key), "dropped": rows.column("dropped")})
                scoring.register("keyed", keyed)
                scoring.execute("INSERT INTO questioned SELECT _key, dropped FROM keyed")
                scoring.unregister("keyed")
