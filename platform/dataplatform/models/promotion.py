"""The promotion rule: may a candidate become champion? Pure: metrics in, a verdict out.

A candidate must beat the baseline fitted on the same rows by more than
`min_gain_over_baseline` on the selection metric, on the holdout and on the mean of the
cross-validation folds, and the folds' mean gain must stand clear of their noise (its standard
error): a model no better than predicting the majority class or the mean has learned
nothing, and one that beats it by chance on one holdout (trained on shuffled labels, say) must
not pass for one that learned. When there is a champion, the candidate must gain at least
`min_gain` (and `min_relative_gain` of the champion's value) over it on the same holdout while
losing at most `max_guard_loss` on the guard metric. The baseline model itself is only held to
the champion rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dataplatform.models.metrics import better
from dataplatform.models.spec import ModelSpec


@dataclass(frozen=True)
class Verdict:
    passed: bool
    reasons: list[str]  # why, rule by rule, in numbers
    candidate: dict[str, float]
    baseline: dict[str, float]
    champion: dict[str, float] | None = None
    champion_version: str | None = None
    figures: dict[str, float] = field(default_factory=dict)


def judge(
    spec: ModelSpec,
    candidate: dict[str, float],
    baseline: dict[str, float],
    champion: dict[str, float] | None = None,
    champion_version: str | None = None,
    fold_gains: list[float] | None = None,
) -> Verdict:
    """`fold_gains`: the candidate's gain over the baseline on each cross-validation fold."""
    import statistics

    metric, rules = spec.selection_metric, spec.promotion
    reasons, passed, figures = [], True, {}
    if metric not in candidate:
        reasons = [f"{metric} could not be computed on the holdout"]
        return Verdict(False, reasons, candidate, baseline, champion, champion_version)
    if spec.estimator != "baseline":
        gain = better(metric, candidate[metric], baseline.get(metric, float("nan")))
        figures["gain_over_baseline"] = gain
        ok = gain > rules.min_gain_over_baseline
        passed &= ok
        reasons.append(
            f"{metric} {candidate[metric]:.4f} against the baseline's {baseline.get(metric, float('nan')):.4f}: "
            f"gain {gain:+.4f} {'>' if ok else '<='} {rules.min_gain_over_baseline}"
        )
        gains = [g for g in fold_gains or [] if g == g]
        if len(gains) >= 2:
            mean, noise = statistics.fmean(gains), statistics.stdev(gains) / len(gains) ** 0.5
            needed = max(rules.min_gain_over_baseline, noise)
            figures |= {"cv_gain_over_baseline": mean, "cv_gain_noise": noise}
            ok = mean > needed
            passed &= ok
            reasons.append(
                f"cross-validated gain over the baseline {mean:+.4f} {'>' if ok else '<='} {needed:.4f} "
                "(the threshold, or the folds' standard error)"
            )
    if champion is not None and metric in champion:
        gain = better(metric, candidate[metric], champion[metric])
        needed = max(rules.min_gain, rules.min_relative_gain * abs(champion[metric]))
        figures["gain_over_champion"] = gain
        ok = gain >= needed
        passed &= ok
        reasons.append(
            f"{metric} {candidate[metric]:.4f} against champion v{champion_version}'s {champion[metric]:.4f}: "
            f"gain {gain:+.4f} {'>=' if ok else '<'} {needed:.4f}"
        )
        guard = rules.guard_metric
        if guard and rules.max_guard_loss is not None and guard in candidate and guard in champion:
            loss = -better(guard, candidate[guard], champion[guard])
            figures["guard_loss"] = loss
            ok = loss <= rules.max_guard_loss
            passed &= ok
            reasons.append(
                f"{guard} {candidate[guard]:.4f} against the champion's {champion[guard]:.4f}: "
                f"loss {loss:+.4f} {'<=' if ok else '>'} {rules.max_guard_loss}"
            )
    elif champion is None:
        reasons.append("no champion yet")
    return Verdict(passed, reasons, candidate, baseline, champion, champion_version, figures)
