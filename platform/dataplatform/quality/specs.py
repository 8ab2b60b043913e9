"""Declarative checks: what a table must satisfy, declared beside its spec, with a severity.

An ERROR check is blocking: when it fails, nothing downstream of the table runs on that data.
A WARN check is reported and lets data flow. Every check has a stable `name` (shown in the
Dagster UI) and a `description` a person can read without the code.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["WARN", "ERROR"]


@dataclass(frozen=True, kw_only=True)
class CheckSpec:
    severity: Severity = "ERROR"

    @property
    def name(self) -> str:
        raise NotImplementedError

    @property
    def description(self) -> str:
        raise NotImplementedError

    @property
    def blocking(self) -> bool:
        return self.severity == "ERROR"

    @property
    def reads(self) -> tuple[str, ...]:
        """The columns of its table the check looks at, so a stored table is read for its checks
        column by column instead of whole."""
        columns = getattr(self, "columns", ())
        column = getattr(self, "column", None)
        return (*columns, *((column,) if column else ()))


@dataclass(frozen=True, kw_only=True)
class ColumnsMatch(CheckSpec):
    """The table has exactly these columns with these Arrow types (e.g. 'int64', 'decimal128(12, 2)')."""

    columns: dict[str, str]

    @property
    def name(self) -> str:
        return "schema"

    @property
    def reads(self) -> tuple[str, ...]:
        return ()  # the table's schema, not its rows

    @property
    def description(self) -> str:
        return f"Columns and types are exactly: {', '.join(f'{c} {t}' for c, t in self.columns.items())}."


@dataclass(frozen=True, kw_only=True)
class NotNull(CheckSpec):
    columns: tuple[str, ...]

    @property
    def name(self) -> str:
        return "required_not_null"

    @property
    def description(self) -> str:
        return f"No nulls in {', '.join(self.columns)}."


@dataclass(frozen=True, kw_only=True)
class Unique(CheckSpec):
    columns: tuple[str, ...]
    label: str = "key_unique"

    @property
    def name(self) -> str:
        return self.label

    @property
    def description(self) -> str:
        return f"No two rows share ({', '.join(self.columns)})."


@dataclass(frozen=True, kw_only=True)
class AcceptedValues(CheckSpec):
    column: str
    values: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"{self.column}_accepted_values"

    @property
    def description(self) -> str:
        return f"{self.column} is null or one of: {', '.join(self.values)}."


@dataclass(frozen=True, kw_only=True)
class InRange(CheckSpec):
    column: str
    min: float | None = None
    max: float | None = None

    @property
    def name(self) -> str:
        return f"{self.column}_in_range"

    @property
    def description(self) -> str:
        low = "-inf" if self.min is None else self.min
        high = "inf" if self.max is None else self.max
        return f"{self.column} is null or between {low} and {high}."


@dataclass(frozen=True, kw_only=True)
class MatchesRegex(CheckSpec):
    column: str
    pattern: str

    @property
    def name(self) -> str:
        return f"{self.column}_matches_pattern"

    @property
    def description(self) -> str:
        return f"{self.column} is null or matches the regular expression {self.pattern}."


@dataclass(frozen=True, kw_only=True)
class NoPersonalData(CheckSpec):
    """No value of the table's text columns holds an e-mail address or is a phone number.

    Silver tables name the columns to scan (their text columns neither masked as personal data
    nor declared safe, read alone from storage); `columns=None` scans every text column of the
    table (gold, whose columns come from SQL), except `safe` ones and the platform's own `_`
    lineage columns. Failing values are counted per column, never sampled: they are the
    personal data that must not reach metadata."""

    columns: tuple[str, ...] | None = None
    safe: tuple[str, ...] = ()
    # an e-mail address anywhere in the value
    email: str = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
    # the whole value a phone number: digits and the usual separators, 9 to 15 digits (a date
    # or a time has fewer digits or other separators)
    phone: str = r"\+?[0-9(][0-9 ().-]{7,22}[0-9]"

    @property
    def name(self) -> str:
        return "no_personal_data"

    @property
    def reads(self) -> tuple[str, ...]:
        return self.columns or ()

    @property
    def description(self) -> str:
        scanned = ", ".join(self.columns) if self.columns is not None else "every text column"
        return f"No e-mail address or phone number in clear in {scanned or 'no column'}."


@dataclass(frozen=True, kw_only=True)
class References(CheckSpec):
    """Every non-null `column` value exists in `target_column` of another asset (`layer/domain/table`)."""

    column: str
    target: str
    target_column: str
    # master data may arrive after the facts that point to it: a warning unless declared otherwise
    severity: Severity = "WARN"

    @property
    def name(self) -> str:
        return f"{self.column}_references_{self.target.split('/')[-1]}"

    @property
    def description(self) -> str:
        return f"Every {self.column} exists in {self.target}.{self.target_column}."


@dataclass(frozen=True, kw_only=True)
class RowCountAnomaly(CheckSpec):
    """A partition's row count within `tolerance` (a share) of the mean of the trailing partitions."""

    trailing: int = 7
    tolerance: float = 0.5
    severity: Severity = "WARN"

    @property
    def name(self) -> str:
        return "row_count_anomaly"

    @property
    def description(self) -> str:
        return (
            f"Row count within {self.tolerance:.0%} of the mean of the {self.trailing} partitions before it "
            "(passes while there is no history)."
        )


@dataclass(frozen=True, kw_only=True)
class DistributionDrift(CheckSpec):
    """A numeric column's mean within `max_shift` trailing standard deviations of the trailing
    mean, and its spread within a factor `max_spread_ratio` of the trailing spread."""

    column: str
    trailing: int = 7
    max_shift: float = 0.5
    max_spread_ratio: float = 2.0
    severity: Severity = "WARN"

    @property
    def name(self) -> str:
        return f"{self.column}_distribution_drift"

    @property
    def description(self) -> str:
        return (
            f"Mean of {self.column} within {self.max_shift} standard deviations of the {self.trailing} partitions "
            f"before it, and its standard deviation within a factor {self.max_spread_ratio} of theirs."
        )


@dataclass(frozen=True, kw_only=True)
class Freshness(CheckSpec):
    """The newest `column` value is at most `max_age_hours` older than the end of the partition
    (for a partitioned table) or than now."""

    column: str
    max_age_hours: float = 24.0
    severity: Severity = "WARN"

    @property
    def name(self) -> str:
        return f"{self.column}_freshness"

    @property
    def description(self) -> str:
        return f"The newest {self.column} is at most {self.max_age_hours:g} hours before the partition's end (or now)."


def columns_read(specs: Iterable[CheckSpec]) -> list[str]:
    """Every column some of `specs` read, each once, in the order they first appear."""
    return list(dict.fromkeys(c for spec in specs for c in spec.reads))


@dataclass(frozen=True)
class TableChecks:
    """The checks of one table, in the order they are shown."""

    checks: tuple[CheckSpec, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        names = [c.name for c in self.checks]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"two checks share the name {', '.join(duplicated)}; give one a label")
