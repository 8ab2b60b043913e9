"""Reference files: format detection, safe column names, loading modes and the file ledger.

No Dagster here: the drop-folder sensor, the assets and the `dataplatform ingest` command
all call these functions, so a file is read and loaded the same way whichever path it takes.
"""
