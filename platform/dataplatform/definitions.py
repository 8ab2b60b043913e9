"""The code location: `dagster dev` and `dagster job execute -m dataplatform.definitions` load this."""

import dagster as dg

from dataplatform.defs import build_definitions
from dataplatform.settings import current_settings


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions(current_settings())
