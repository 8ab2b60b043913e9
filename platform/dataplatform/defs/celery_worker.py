"""The Celery app of the platform's workers: `celery -A dataplatform.defs.celery_worker worker`.

`make workers` and the compose file's `worker` service start it. Only workers import this module
(it builds the app, and so imports celery, at import: what `celery -A` expects); the code location
never does. The broker and backend come from the settings, as the executor's do, so a worker
takes exactly the steps runs put on the queue; a worker without DATAPLATFORM_CELERY_BROKER stops
at once, saying so.
"""

from __future__ import annotations

from dataplatform.defs.celery_executor import celery_app
from dataplatform.settings import current_settings

app = celery_app(current_settings())
