"""Step retries for the steps that reach something able to fail for a moment and then work: a
PostgreSQL server restarting or failing over under a write, a Delta commit racing another writer
or a mounted drop folder hiccuping under a load. Every write there is all-or-nothing, so a step
can run again from the start. The waits grow exponentially (1, 3, 7 s, each give or take 1 s) so
a restart has time to finish, and the jitter keeps steps that failed together from all coming
back at the same instant.

A failure that will not go away (a file the platform refuses, a blocking check) is not retried:
a rejected file is an outcome rather than an error, a check failure stops the run for Dagster
itself, and a `Failure` that names a missing delivery says `allow_retries=False`.
"""

import dagster as dg

STORAGE_RETRY = dg.RetryPolicy(
    max_retries=3, delay=1, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)
# A drop-folder load retries less within its run: when its run fails the sensor asks for another
# run on the same file (up to `reference.MAX_ATTEMPTS`), and every try is a row of the file ledger.
LOAD_RETRY = dg.RetryPolicy(
    max_retries=2, delay=1, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)
# backends reached over the network; files on the local disk fail for good when they fail
NETWORKED_BACKENDS = frozenset({"postgres"})


def retry_policy_for(backend: str) -> dg.RetryPolicy | None:
    """The retry policy of a step writing to `backend`."""
    return STORAGE_RETRY if backend in NETWORKED_BACKENDS else None
