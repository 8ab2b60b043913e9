"""The code location: `dagster dev` and `dagster job execute -m dataplatform.definitions` load this.

The in-process executor is deliberate: on a small machine a step in its own process costs
about 2 s of start-up, ten times what most of these steps take to run.
"""

import dagster as dg

from dataplatform.defs import build_definitions
from dataplatform.settings import current_settings


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions(current_settings())
