"""The same declarative checks run as a Great Expectations 1.x suite on the partition's frame.

GE is imported here only, when a check runs with `DATAPLATFORM_QUALITY_ENGINE=great_expectations`
(it takes about 3 s to import). Kinds GE has no expectation for, or that are cheaper as SQL
over the stored table (schema, references, trailing-partition comparisons, freshness), are
evaluated by `quality.evaluate` either way; the outcome has the same shape. One difference in
meaning: for uniqueness GE counts every row of a repeated key, SQL counts the extra copies.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from dataplatform.quality.checks import SAMPLE_ROWS, CheckOutcome, plain_value
from dataplatform.quality.specs import AcceptedValues, CheckSpec, InRange, MatchesRegex, NotNull, Unique

if TYPE_CHECKING:
    import great_expectations as gx
    import pyarrow as pa

SUPPORTED = (NotNull, Unique, AcceptedValues, InRange, MatchesRegex)


def expectations(spec: CheckSpec) -> list[gx.expectations.Expectation]:
    """The GE expectations that together make `spec`."""
    import great_expectations as gx

    e = gx.expectations
    if isinstance(spec, NotNull):
        return [e.ExpectColumnValuesToNotBeNull(column=c) for c in spec.columns]
    if isinstance(spec, Unique):
        if len(spec.columns) == 1:
            return [e.ExpectColumnValuesToBeUnique(column=spec.columns[0])]
        return [e.ExpectCompoundColumnsToBeUnique(column_list=list(spec.columns))]
    if isinstance(spec, AcceptedValues):
        return [e.ExpectColumnValuesToBeInSet(column=spec.column, value_set=list(spec.values))]
    if isinstance(spec, InRange):
        return [e.ExpectColumnValuesToBeBetween(column=spec.column, min_value=spec.min, max_value=spec.max)]
    if isinstance(spec, MatchesRegex):
        return [e.ExpectColumnValuesToMatchRegex(column=spec.column, regex=f"^(?:{spec.pattern})$")]
    raise TypeError(f"{type(spec).__name__} has no Great Expectations form")


def evaluate_suite(name: str, specs: Sequence[CheckSpec], table: pa.Table) -> dict[str, CheckOutcome]:
    """Validate `table` against the suite made of `specs`; one outcome per spec, by name."""
    import logging

    import great_expectations as gx

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    context = gx.get_context(mode="ephemeral")
    batch = (
        context.data_sources.add_pandas("partition")
        .add_dataframe_asset(name)
        .add_batch_definition_whole_dataframe("whole")
        .get_batch(batch_parameters={"dataframe": table.to_pandas()})
    )
    suite = gx.ExpectationSuite(name=name)
    owners: list[CheckSpec] = []
    for spec in specs:
        for expectation in expectations(spec):
            suite.add_expectation(expectation)
            owners.append(spec)
    results = batch.validate(context.suites.add(suite), result_format="SUMMARY").results
    outcomes: dict[str, CheckOutcome] = {}
    for spec, result in zip(owners, results, strict=True):
        found = result.result or {}
        failing = int(found.get("unexpected_count") or 0)
        sample = [
            {"unexpected": plain_value(v)} for v in (found.get("partial_unexpected_list") or [])[:SAMPLE_ROWS]
        ]
        previous = outcomes.get(spec.name)
        if previous is not None:  # one spec, several expectations (not-null of several columns)
            failing += previous.failing_rows
            sample = previous.sample + sample
        outcomes[spec.name] = CheckOutcome(
            passed=(previous.passed if previous else True) and bool(result.success),
            failing_rows=failing,
            total_rows=table.num_rows,
            description=f"{failing} unexpected rows (Great Expectations)",
            sample=sample[:SAMPLE_ROWS],
            expected=spec.description,
        )
    return outcomes
