"""Reference data in the graph: an asset per drop-folder table, the file ledger, and the sensor.

The sensor only decides *which* file to take and asks for a run keyed by the table and the
file's content hash; the run does the work through `ingest.service`, the same path as
`dataplatform ingest`. Dagster never starts two runs with one run key, so the same bytes are
loaded into a table once however often the sensor or the daemon restarts, and the same bytes
dropped for two tables load into each. Bytes the table's ledger has seen before are a new
delivery (a duplicate, a rollback, a file re-sent after its table's YAML was fixed), keyed by
how many outcomes those bytes have had. A run that died leaves its file in `incoming/`: the sensor records the
attempt in the ledger with its error and asks again (a new key per failed run, at most
`MAX_ATTEMPTS` times), then rejects the file with the last error; the service recognises
whatever a dead run had already committed.
"""

import json
from collections.abc import Iterable

import dagster as dg

from dataplatform import assetkeys
from dataplatform.defs.automation import sensor_status
from dataplatform.defs.metadata import table_metadata
from dataplatform.defs.quality import check_specs, run_checks
from dataplatform.defs.resources import DropZoneResource, dropzone_resource, io_manager_key
from dataplatform.defs.retries import LOAD_RETRY
from dataplatform.defs.tables import key_for
from dataplatform.ingest.tables import TableConfig, declared_tables
from dataplatform.quality.specs import CheckSpec, NoPersonalData, NotNull, Unique
from dataplatform.settings import Settings, SettingsError
from dataplatform.transform.pii import missing_secret, pseudonymised

GROUP = assetkeys.REFERENCE
LEDGER_KEY = key_for(assetkeys.reference("file_ledger"))
FILE_TAG = "dataplatform/file"
HASH_TAG = "dataplatform/content_hash"
DELIVERY_TAG = "dataplatform/delivery"  # the run key without its retry suffix
MAX_ATTEMPTS = 3
FAILED = (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED)


class IngestConfig(dg.Config):
    """Which delivered file to take; without one, every file waiting in the table's folder."""

    file: str | None = None
    content_hash: str | None = None


def reference_key(table: str) -> dg.AssetKey:
    return key_for(assetkeys.reference(table))


def reference_definitions(settings: Settings, needed: Iterable[str] = ()):
    """The reference assets, the ledger asset, a job taking every waiting file, and the sensor.

    A table in `needed` (read by gold) is an asset even before any folder declares it: the graph
    never depends on what happens to sit in the drop folder, and its run says what to deliver.
    """
    zone = dropzone_resource(settings.dropzone_root).zone()
    tables = declared_tables(zone.incoming, settings.reference_examples, zone.files)
    require_pii_secret(tables, settings)
    for name in sorted(set(needed) - set(tables)):
        tables[name] = TableConfig(
            name, description=f"Read by gold; not declared yet: deliver incoming/{name}/_table.yaml"
        )
    assets = [_table_asset(name, config, settings) for name, config in tables.items()]
    assets.append(_ledger_asset(tables, settings))
    job = dg.define_asset_job(
        "reference",
        selection=dg.AssetSelection.groups(GROUP),
        description="Load every file waiting in the drop folder, then refresh the file ledger.",
    )
    return assets, job, _sensor(tables, settings)


def require_pii_secret(tables: dict[str, TableConfig], settings: Settings) -> None:
    """Refuse to load when a declared table pseudonymises a column and no secret is set: its
    files would otherwise wait in the drop folder, each run failing on the same missing key."""
    needing = [
        f"reference/{name}.{c}" for name, config in tables.items() for c in pseudonymised(config.personal)
    ]
    if needing and settings.pii_secret is None:
        raise SettingsError(f"invalid setting: {missing_secret(needing)}")


def table_checks(config: TableConfig) -> list[CheckSpec]:
    """Keys unique, required columns filled, and no e-mail address or phone number in clear in
    a text column the table does not declare `safe` (its marked columns are masked by then)."""
    specs: list[CheckSpec] = [NoPersonalData(safe=config.safe)]
    if config.keys:
        specs.append(Unique(columns=config.keys))
    if config.required:
        specs.append(NotNull(columns=config.required))
    return specs


def _ingestor(dropzone: DropZoneResource, settings: Settings, pii_secret: str | None = None):
    """The service over the drop folder; `pii_secret` (from the `pii` resource) only for a run
    that loads files, never for the sensor, which only decides."""
    from dataplatform.ingest.service import Ingestor
    from dataplatform.storage import open_store
    from dataplatform.storage.delta_store import DeltaStore

    store = open_store("delta", settings.data_dir.resolve(), lake=settings.lake_root)
    assert isinstance(store, DeltaStore)  # reference tables keep their history in Delta
    return Ingestor(dropzone.zone(), store, settings.reference_examples, pii_secret)


def _table_asset(name: str, table_config: TableConfig, settings: Settings) -> dg.AssetsDefinition:
    key = reference_key(name)
    specs = table_checks(table_config)

    @dg.asset(
        key=key,
        group_name=GROUP,
        kinds={"delta"},
        io_manager_key=io_manager_key(GROUP),
        # the secret whenever one is set: a table's YAML may mark a column pseudonymise after load
        required_resource_keys={"lakehouse", "dropzone", *(("pii",) if settings.pii_secret else ())},
        check_specs=check_specs(key, specs),
        retry_policy=LOAD_RETRY,  # a file taken by an earlier attempt is not taken again
        description=table_config.description or f"Reference table {name}, loaded from the drop folder.",
        metadata={"mode": table_config.mode, "keys": ", ".join(table_config.keys)},
    )
    def reference_table(context: dg.AssetExecutionContext, config: IngestConfig):
        from dataplatform.ingest.service import reference_table as stored_name

        secret = context.resources.pii.secret if settings.pii_secret else None
        ingestor = _ingestor(context.resources.dropzone, settings, secret)
        table = stored_name(name)
        with ingestor.zone.lock(name):  # concurrent runs take each file once, one after another
            if config.file:
                files = [ingestor.zone.delivered(name, config.file)]
            else:
                files = ingestor.zone.pending(name)
                if not files and not ingestor.store.exists(table) and settings.reference_examples is not None:
                    # nothing delivered yet: start from the shipped example
                    ingestor.zone.deliver_examples(name, settings.reference_examples)
                    files = ingestor.zone.pending(name)
            entries = [
                ingestor.ingest(path, name, context.run.run_id, config.content_hash if config.file else None)
                for path in files
                # taken meanwhile by another run, or by an earlier attempt of this one
                if ingestor.zone.files.info(path) is not None
            ]
        for entry in entries:
            log = context.log.info if entry.status != "rejected" else context.log.warning
            log(f"{entry.file}: {entry.status}{' - ' + entry.error if entry.error else ''}")
        if not ingestor.store.exists(table):
            reasons = "; ".join(f"{e.file}: {e.error}" for e in entries) or "no file delivered yet"
            raise dg.Failure(
                f"reference/{name} has no data: {reasons}",
                metadata={
                    "drop into": dg.MetadataValue.path(
                        ingestor.zone.files.location(ingestor.zone.incoming / name)
                    )
                },
                allow_retries=False,  # waits for a delivery, not for time
            )
        data = ingestor.store.read(table)
        version = ingestor.store.history(table)[0]["version"]
        loaded = [e for e in entries if e.status == "loaded"]
        yield dg.MaterializeResult(
            metadata={
                **table_metadata(data, "delta", ingestor.store.location(table)),
                "table_version": version,
                "files_loaded": len(loaded),
                "files_duplicate": sum(e.status == "duplicate" for e in entries),
                "files_rejected": sum(e.status == "rejected" for e in entries),
                "rows_loaded": sum(e.rows_loaded or 0 for e in loaded),
                "backup_version": next(
                    (e.backup_version for e in reversed(loaded) if e.backup_version is not None), -1
                ),
                "files": dg.MetadataValue.json(
                    [{"file": e.file, "status": e.status, "error": e.error} for e in entries]
                ),
            }
        )
        yield from run_checks(context, key, data, specs, None, settings, {})

    return reference_table


def _ledger_asset(tables: dict[str, TableConfig], settings: Settings) -> dg.AssetsDefinition:
    @dg.asset(
        key=LEDGER_KEY,
        group_name=GROUP,
        kinds={"delta"},
        io_manager_key=io_manager_key(GROUP),
        deps=[reference_key(name) for name in tables],
        required_resource_keys={"dropzone"},
        retry_policy=LOAD_RETRY,
        description="Every file the drop folder received: its hash, format, mode, rows, status and run.",
    )
    def file_ledger(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        import pyarrow.compute as pc

        ledger = _ingestor(context.resources.dropzone, settings).ledger
        entries = ledger.entries().sort_by([("processed_at", "descending")])
        counts = {
            s: pc.sum(pc.equal(entries["status"], s)).as_py() or 0
            for s in ("loaded", "duplicate", "rejected", "failed")
        }
        return dg.MaterializeResult(
            metadata={
                **table_metadata(entries, "delta", ledger.store.location(ledger.name)),
                **{f"files_{status}": count for status, count in counts.items()},
            }
        )

    return file_ledger


def _sensor(tables: dict[str, TableConfig], settings: Settings) -> dg.SensorDefinition:
    @dg.sensor(
        name="reference_dropzone",
        minimum_interval_seconds=settings.dropzone_interval_s,
        asset_selection=dg.AssetSelection.groups(GROUP),
        default_status=sensor_status(settings),
        description="Takes each file dropped under incoming/<table>/ once it stopped changing.",
    )
    def reference_dropzone(
        context: dg.SensorEvaluationContext, dropzone: DropZoneResource
    ) -> dg.SensorResult:
        ingestor = _ingestor(dropzone, settings)
        scan = ingestor.zone.scan(
            json.loads(context.cursor) if context.cursor else {}, settings.dropzone_ticks
        )
        for folder, reason in scan.refused:  # nothing of it is read, moved or loaded
            context.log.warning(f"refused {ingestor.zone.files.location(folder)}: {reason}")
        for path, table, reason in scan.rejected:  # no table to load into: nothing to run
            ingestor.reject(path, table, reason)
            context.log.warning(f"rejected {table}/{path.name}: {reason}")
        requests = []
        for drop in scan.ready:
            if drop.table not in tables:
                context.log.info(f"{drop.key} waits: reload the code location to add table {drop.table!r}")
                continue
            digest = ingestor.zone.content_hash(drop.path)
            delivery = _delivery(ingestor, drop, digest)
            runs = context.instance.get_runs(filters=dg.RunsFilter(tags={DELIVERY_TAG: delivery}))
            failed = [run for run in runs if run.status in FAILED]
            errors = _failed_attempts(context.instance, ingestor, drop, digest, failed)
            if len(failed) < len(runs):  # new, or a run on its way: Dagster keeps one run per key
                run_key = delivery
            elif len(failed) >= MAX_ATTEMPTS:
                reason = f"{len(failed)} runs failed on this file; the last: {errors[-1]}"
                ingestor.reject(drop.path, drop.table, reason)
                context.log.warning(f"rejected {drop.key}: {reason}")
                continue
            else:
                run_key = f"{delivery}:retry:{len(failed)}" if failed else delivery
            requests.append(
                dg.RunRequest(
                    run_key=run_key,
                    asset_selection=[reference_key(drop.table), LEDGER_KEY],
                    run_config=dg.RunConfig(
                        ops={
                            reference_key(drop.table).to_python_identifier(): IngestConfig(
                                file=drop.path.name, content_hash=digest
                            )
                        }
                    ),
                    tags={FILE_TAG: drop.key, HASH_TAG: digest, DELIVERY_TAG: delivery},
                )
            )
        return dg.SensorResult(run_requests=requests, cursor=json.dumps(scan.state))

    return reference_dropzone


def _delivery(ingestor, drop, digest: str) -> str:
    """What one delivery's runs share: the table and the bytes, and for bytes this table's ledger
    has outcomes for already, how many: each new delivery runs, whatever its name or time."""
    seen = [e for e in ingestor.ledger.find(digest, drop.table) if e["status"] != "failed"]
    return f"{drop.table}:{digest}" + (f":{len(seen)}" if seen else "")


def _failed_attempts(instance: dg.DagsterInstance, ingestor, drop, digest: str, failed: list) -> list[str]:
    """The errors of the failed runs on this delivery, oldest first. A run that died before it
    could say so itself (killed, out of memory) is recorded in the ledger here, with the error
    its run's events give, so the ledger holds every attempt."""
    recorded = {
        e["run_id"]: e["error"] for e in ingestor.ledger.find(digest, drop.table) if e["status"] == "failed"
    }
    errors = []
    for run in reversed(failed):  # get_runs lists the newest first
        if run.run_id not in recorded:
            error = _run_error(instance, run.run_id)
            ingestor.record_failure(drop.path, drop.table, error, run.run_id)
            recorded[run.run_id] = error
        errors.append(recorded[run.run_id])
    return errors


def _run_error(instance: dg.DagsterInstance, run_id: str) -> str:
    """The first step failure's message, else the run failure's."""
    for kind in (dg.DagsterEventType.STEP_FAILURE, dg.DagsterEventType.RUN_FAILURE):
        for record in instance.all_logs(run_id, of_type=kind):
            event = record.dagster_event
            error = getattr(event.event_specific_data, "error", None) if event else None
            message = error.message if error is not None else (event.message if event else None)
            if message:
                return f"run {run_id}: {message.strip().splitlines()[0]}"
    return f"run {run_id} failed without an error event"
