"""The REST API: read-only HTTP over gold snapshots and the platform's state.

`create_app` (in `app.py`) builds the FastAPI application; `dataplatform serve` runs it on
uvicorn. Nothing else in the platform imports this package, so the code location never pays
for FastAPI.
"""
