"""The SQL engine under every package: the process's DuckDB database, the rows it scans and
produces, identifier quoting, its extensions and the lake's S3 secret. It imports nothing of the
platform but `settings`, so storage, quality, ingest, the generator and the transforms all build
on it without importing one another."""
