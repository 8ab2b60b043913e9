"""`python -m dataplatform.cli`: the `dataplatform` command without its console script."""

from dataplatform.cli import app

app(prog_name="dataplatform")
