"""Executors with work of the platform's own done as each run starts, before any step.

Creating the executor is the one hook every launch path goes through (`dagster job execute`,
the UI, schedules, `dataplatform run`, Celery's orchestrating process), so what must precede
every run's steps is put there, around whichever executor the settings chose.
"""

from __future__ import annotations

from collections.abc import Callable

import dagster as dg


def before_each_run(
    executor: dg.ExecutorDefinition, first: Callable[[dg.InitExecutorContext], None]
) -> dg.ExecutorDefinition:
    """`executor`, calling `first` with the run's init context before creating it."""
    create = executor.executor_creation_fn
    if create is None:
        raise ValueError(f"executor {executor.name} has no creation function")

    def first_then_create(init_context: dg.InitExecutorContext) -> dg.Executor:
        first(init_context)
        return create(init_context)

    return dg.ExecutorDefinition(
        name=executor.name,
        # Dagster takes a definition's own schema object as is; its annotation leaves that type out
        config_schema=executor.config_schema,  # type: ignore[arg-type]
        requirements=executor.get_requirements,
        executor_creation_fn=first_then_create,
        description=executor.description,
    )
