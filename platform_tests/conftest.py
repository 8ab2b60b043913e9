"""Shared fixtures: small, fast settings over temporary folders."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import pytest

from dataplatform.settings import EcommerceVolumes, MarketVolumes, SensorVolumes, Settings, WeatherVolumes
from platform_tests.s3 import s3_lake, s3_server  # noqa: F401  (fixtures: the S3 test server)

DAY = date(2026, 3, 10)
NEXT_DAY = date(2026, 3, 11)
SMALL = EcommerceVolumes(customers=300, products=60, orders_per_day=400, items_per_order=2.5)


def small_settings(root: Path, **overrides) -> Settings:
    values = {
        "data_dir": root / "data",
        "dagster_home": root / "dagster",
        "start_date": date(2026, 1, 1),
        "seed": 7,
        "ecommerce": SMALL,
        "market": MarketVolumes(symbols=6, bar_minutes=5),
        "sensors": SensorVolumes(devices=12, reading_seconds=600),
        "weather": WeatherVolumes(stations=6),
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return small_settings(tmp_path)


DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A reachable PostgreSQL server, from DATAPLATFORM_TEST_POSTGRES_URL.

    Without one the test is skipped with the reason, except under CI=true, where a missing
    server is a failure: CI must never pass by skipping the PostgreSQL tests.
    """
    import psycopg

    url = os.environ.get("DATAPLATFORM_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    try:
        psycopg.connect(url, connect_timeout=3).close()
    except psycopg.OperationalError as error:
        reason = f"PostgreSQL at DATAPLATFORM_TEST_POSTGRES_URL is unreachable: {str(error).splitlines()[0]}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true requires PostgreSQL; {reason}")
        pytest.skip(reason)
    return url


@pytest.fixture
def postgres_database(postgres_url: str):
    """A fresh, empty database on the test server for one test, dropped afterwards."""
    import uuid

    import psycopg
    from sqlalchemy.engine import make_url

    name = f"dataplatform_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    yield make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(postgres_url, autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# Test tiers. Every test gets its folder's marker (unit, integration, e2e) and `postgres` when it
# uses the PostgreSQL test server, here, so no test file repeats them; `slow` is measured, not
# guessed, and kept in SLOW below (and for the S3 test server's tests). `make test-fast` leaves
# out slow, e2e and postgres tests; `make test` (and CI) runs them all.
MARKERS = {
    "unit": "a pure function, no Dagster instance, no server, no subprocess",
    "integration": "Dagster in process over real backends in temporary folders",
    "e2e": "runs the platform as a user would, through subprocesses",
    "postgres": "uses the PostgreSQL test server (DATAPLATFORM_TEST_POSTGRES_URL)",
    "slow": "takes seconds on its own (measured); left out of `make test-fast`",
}
TIERS = ("unit", "integration", "e2e")
# Slow tests, measured (`pytest --durations`, setup + call + teardown) on the 2-core machine under
# a CI run's load, where `make test-fast` must still finish in under a minute: a test id, or a
# file when its module's shared setup (a materialised platform, a started server) dominates it.
# (seconds here are under that load, several times an idle machine's)
SLOW = {
    "integration/test_all_domains_pipeline.py",  # 217 s, 13 tests: module setup: every domain through gold; a rerun
    "integration/test_api_platform.py",  # 359 s, 37 tests: module setup: e-commerce through gold, a model trained
    "integration/test_api_postgres.py::test_a_table_not_written_yet_and_an_unreachable_server_are_503",  # 7.7 s
    "integration/test_api_postgres.py::test_gold_rows_filters_and_aggregates_come_from_postgres",  # 6.9 s
    "integration/test_api_postgres.py::test_injection_through_postgres_is_refused_or_compared_as_text",  # 6.9 s
    "integration/test_api_snapshots.py::test_each_publication_is_a_whole_file_named_by_the_manifest_and_old_ones_are_pruned",  # 4.1 s
    "integration/test_celery_executor.py::test_a_postgres_instance_without_pool_limits_is_refused",  # 3.9 s
    "integration/test_celery_executor.py::test_a_run_on_the_embedded_instance_fails_as_it_starts_and_never_shows_the_broker",  # 14.5 s
    "integration/test_celery_executor.py::test_a_sqlite_instance_is_refused_naming_what_to_set",  # 2.2 s
    "integration/test_celery_executor.py::test_the_code_location_loads_the_celery_executor_without_importing_celery",  # 7.0 s
    "integration/test_datasets_assets.py",  # 46 s, 7 tests: module setup: e-commerce through gold, datasets job
    "integration/test_datasets_client.py::test_features_are_computed_on_read_in_the_splits_row_order",  # 8.3 s
    "integration/test_datasets_personal_data.py::test_pseudonyms_are_stable_across_registrations_and_sources",  # 2.3 s
    "integration/test_datasets_postgres.py::test_a_dataset_in_postgres_is_the_dataset_in_duckdb",  # 8.3 s
    "integration/test_datasets_postgres.py::test_a_failed_registration_leaves_postgres_as_it_was",  # 4.5 s
    "integration/test_datasets_postgres.py::test_a_plugin_adds_its_columns_and_removal_drops_the_schema",  # 4.9 s
    "integration/test_datasets_postgres.py::test_the_postgres_profile_puts_datasets_in_postgres_and_never_shows_the_password",  # 2.7 s
    "integration/test_datasets_readers.py::test_both_readers_register_the_same_dataset",  # 3.4-3.9 s per case
    "integration/test_datasets_split_files.py::test_a_failed_rebuild_keeps_the_version_and_a_good_one_keeps_the_files",  # 2.5 s
    "integration/test_datasets_split_files.py::test_a_failed_replacement_leaves_the_previous_version_and_its_files",  # 2.0-2.7 s per case
    "integration/test_datasets_split_files.py::test_a_moved_data_folder_keeps_working_where_views_name_their_files_relative_to_the_store",  # 1.0-2.0 s per case
    "integration/test_datasets_split_files.py::test_each_split_is_one_named_parquet_file_and_a_new_version_keeps_the_previous_ones",  # 3.2 s
    "integration/test_datasets_versions.py::test_a_dataset_stored_before_versions_becomes_version_1",  # 4.1-18.6 s per case
    "integration/test_datasets_versions.py::test_a_new_registration_keeps_the_previous_version_readable",  # 3.7-35.8 s per case
    "integration/test_datasets_versions.py::test_an_unknown_version_is_one_clear_error",  # 1.7-7.2 s per case
    "integration/test_datasets_versions.py::test_an_update_keeps_the_version_and_every_earlier_one",  # 3.4-17.5 s per case
    "integration/test_datasets_versions.py::test_removal_takes_every_version",  # 2.0-7.1 s per case
    "integration/test_datasets_versions.py::test_the_same_data_is_the_same_version",  # 2.8-10.6 s per case
    "integration/test_dead_runs_instance.py",  # 42 s, 8 tests: each test runs or kills processes
    "integration/test_dead_runs_storage.py::test_a_table_created_before_its_first_write_is_there_with_no_rows_after_a_kill",  # 2.5 s
    "integration/test_deploy_automation.py::test_every_schedule_and_sensor_runs_by_default_and_one_setting_stops_them_all",  # 4.2 s
    "integration/test_deploy_retries.py",  # 21 s, 3 tests: job runs with retries
    "integration/test_dropzone_on_s3.py",  # 160 s, 12 tests: sensor runs over the S3 server
    "integration/test_ecommerce_pipeline.py",  # 484 s, 14 tests: module setup, and tests materialising their own platform
    "integration/test_generate_writers.py::test_every_table_reads_back_equal_to_what_was_generated",  # 0.4-7.3 s per case
    "integration/test_generate_writers.py::test_parquet_and_delta_write_to_s3_compatible_storage",  # 1.5-7.7 s per case
    "integration/test_generate_writers.py::test_rerunning_a_day_replaces_it_and_leaves_the_others",  # 1.0-10.6 s per case
    "integration/test_ingest_service.py::test_after_any_sequence_of_drops_every_file_is_in_one_place_and_in_the_ledger",  # 7.1 s
    "integration/test_io_managers.py::test_partitions_several_partitions_and_column_selection",  # 1.3-2.2 s per case
    "integration/test_lake_on_s3.py::test_a_daily_run_on_s3_gives_the_same_tables_as_on_local_disk",  # 57.9 s
    "integration/test_landing_chunks.py",  # 52.5 s, 1 test: two daily runs
    # model training, an MLflow store each: 296 s for the file; its refused-dataset test (0.3 s)
    # stays quick, so test-fast still covers the models package
    "integration/test_models.py::test_training_logs_registers_and_promotes_in_the_data_folder_s_store",  # 55.4 s
    "integration/test_models.py::test_a_model_trained_on_shuffled_labels_never_becomes_champion",  # 65.0 s
    "integration/test_models.py::test_the_same_seed_on_the_same_dataset_version_gives_the_same_metrics",  # 58.6 s
    "integration/test_models.py::test_training_reads_the_train_split_only",  # 26.6 s
    "integration/test_models.py::test_predictions_cover_exactly_the_submission_s_ids",  # 31.6 s
    "integration/test_models.py::test_a_bad_spec_is_one_clear_error_and_registers_nothing",  # 4.1-10.3 s per case
    "integration/test_models.py::test_the_tracking_store_in_postgresql_under_the_postgres_profile",  # postgres
    "integration/test_models.py::test_raw_rows_are_scored_through_the_features_of_the_version_the_model_learned_from",  # 30.0 s
    "integration/test_parquet_streams.py::test_the_stream_is_never_held_whole",  # 5.7-10.4 s on S3
    "integration/test_personal_data_pipeline.py",  # 111 s, 6 tests: module setup: two days through gold
    "integration/test_pollock_sample.py",  # 75 s, 8 tests: module setup
    "integration/test_pools_race.py",  # 56 s, 1 tests: 8 processes importing Dagster
    "integration/test_reference_personal_data.py::test_a_reference_run_masks_with_the_secret_from_its_envvar_and_checks_the_table",  # 7.9 s
    "integration/test_reference_personal_data.py::test_marked_columns_never_land_in_clear_and_pseudonyms_match_silvers",  # 2.8 s
    "integration/test_reference_sensor.py",  # 116 s, 9 tests: sensor ticks and reference runs
    "integration/test_run_outcomes.py",  # 24 s, 1 tests: four job runs
    "integration/test_s3_server.py::test_a_conditional_put_never_overwrites",  # 2.4 s
    "integration/test_storage_contract.py::test_a_scan_holds_the_rows_of_read",  # 0.1-2.4 s per case
    "integration/test_storage_contract.py::test_a_writer_killed_mid_write_leaves_the_previous_version_readable",  # 4.7-9.4 s per case
    "integration/test_storage_contract.py::test_writers_of_different_partitions_creating_a_table_at_once_lose_nothing",  # 3.6-10.0 s per case
    "integration/test_storage_profiles.py",  # 181 s, 4 tests: the whole path per backend
    "unit/test_datasets_features.py::test_ids_and_target_are_carried_and_never_transformed",  # 2.4 s
    "unit/test_datasets_features.py::test_many_categories_are_joined_and_keep_the_row_order",  # 3.3 s
    "unit/test_datasets_features.py::test_no_leakage_test_rows_do_not_change_what_is_fitted",  # 3.1 s
    "unit/test_datasets_features.py::test_test_rows_use_train_parameters_and_unseen_categories_get_zero",  # 2.1 s
    "unit/test_datasets_stats.py::test_a_csv_with_literal_nan_registers_and_its_figures_leave_nan_out_as_pandas_does",  # 3.6 s
    "unit/test_declarative_checks.py::test_great_expectations_agrees_with_sql",  # 0.4-19.5 s per case
    "unit/test_generate_ecommerce.py::test_same_seed_and_partition_give_identical_rows_in_any_order_or_process",  # 5.0 s
    "unit/test_generate_references.py::test_every_fact_references_an_existing_master_row",  # 3.1 s
    "unit/test_ingest_detect.py::test_a_file_larger_than_the_sample_reads_its_footnotes_from_the_end",  # 8.9 s
    "unit/test_ingest_read.py::test_a_leading_zero_past_the_sample_is_refused_not_dropped",  # 8.3 s
    "unit/test_ingest_read.py::test_a_value_past_the_sample_that_does_not_fit_names_its_row_and_value",  # 5.1 s
    "unit/test_working_tables.py::test_a_copy_larger_than_memory_goes_to_a_scratch_file_removed_at_the_end",  # 2.4 s
    "unit/test_working_tables.py::test_a_failing_transform_leaves_no_scratch_file",  # 2.2 s
    "e2e/test_ingest_crash.py",  # 15-172 s: a killed load, a killed 360 MB copy, 1 GB loads
    "e2e/test_celery_pools.py",  # 157 s: Celery workers and two runs
    # and, so that `make test-fast` ends within a minute, the tests of 0.15 s or more in a
    # test-fast run (load 3 to 6), seconds from that run:
    "integration/test_api_snapshots.py::test_a_publication_that_fails_half_way_leaves_the_previous_snapshot",  # 0.18 s
    "integration/test_api_snapshots.py::test_publish_gold_publishes_a_warehouse_written_before_the_api",  # 0.21 s
    "integration/test_celery_executor.py::test_an_ephemeral_instance_is_refused_naming_what_to_set",  # 0.52 s
    "integration/test_datasets_bad_input.py::test_a_datetime_override_on_values_that_are_not_dates",  # 0.18 s
    "integration/test_datasets_bad_input.py::test_a_failed_forced_replacement_keeps_the_previous_version",  # 0.26 s
    "integration/test_datasets_bad_input.py::test_an_existing_name_without_force_keeps_the_registered_dataset",  # 0.18 s
    "integration/test_datasets_bad_input.py::test_unknown_tables_columns_and_sample_sizes_on_load",  # 0.18 s
    "integration/test_datasets_checks.py::test_a_clean_kaggle_folder_passes_every_check",  # 0.21 s
    "integration/test_datasets_checks.py::test_a_declared_id_that_repeats_fails",  # 0.18 s
    "integration/test_datasets_checks.py::test_failures_are_described",  # 0.21 s
    "integration/test_datasets_client.py::test_a_plugin_in_the_plugins_folder_adds_features",  # 0.36 s
    "integration/test_datasets_client.py::test_export_one_table_and_metadata_only",  # 0.40 s
    "integration/test_datasets_client.py::test_export_round_trips[csv-None-.csv]",  # 0.70 s
    "integration/test_datasets_client.py::test_export_round_trips[csv-gzip-.csv.gz]",  # 0.52 s
    "integration/test_datasets_client.py::test_export_round_trips[json-None-.jsonl]",  # 0.42 s
    "integration/test_datasets_client.py::test_export_round_trips[parquet-zstd-.parquet]",  # 0.67 s
    "integration/test_datasets_client.py::test_kaggle_folder_with_sample_submission",  # 0.33 s
    "integration/test_datasets_client.py::test_list_search_and_remove",  # 0.46 s
    "integration/test_datasets_client.py::test_load_columns_sample_and_chunks",  # 0.38 s
    "integration/test_datasets_client.py::test_multiclass_json_lines_gzip_csv_and_json_array",  # 0.52 s
    "integration/test_datasets_client.py::test_names_duckdb_also_uses_are_stored_apart[dataset_store]",  # 0.28 s
    "integration/test_datasets_client.py::test_names_duckdb_also_uses_are_stored_apart[memory]",  # 0.35 s
    "integration/test_datasets_client.py::test_names_duckdb_also_uses_are_stored_apart[system]",  # 0.29 s
    "integration/test_datasets_client.py::test_names_duckdb_also_uses_are_stored_apart[temp]",  # 0.28 s
    "integration/test_datasets_client.py::test_numbers_given_as_text_are_stored_as_numbers_when_declared_numeric",  # 0.24 s
    "integration/test_datasets_client.py::test_register_table_from_a_platform_asset",  # 0.16 s
    "integration/test_datasets_client.py::test_regression_parquet_with_price",  # 0.21 s
    "integration/test_datasets_client.py::test_stored_statistics_match_pandas",  # 0.23 s
    "integration/test_datasets_client.py::test_time_split_of_a_dataset_with_a_time_column",  # 0.24 s
    "integration/test_datasets_client.py::test_titanic_like_csv_file",  # 0.25 s
    "integration/test_datasets_client.py::test_tsv_with_pandas_index_column_and_datetime_text",  # 0.16 s
    "integration/test_datasets_client.py::test_update_description_tags_and_target",  # 0.44 s
    "integration/test_datasets_personal_data.py::test_a_mark_naming_no_column_is_one_clear_error_and_keeps_the_registered_version",  # 0.30 s
    "integration/test_datasets_personal_data.py::test_a_pseudonymise_mark_without_the_secret_fails_naming_it_and_registers_nothing",  # 0.25 s
    "integration/test_datasets_personal_data.py::test_nothing_stored_holds_a_marked_value_in_clear",  # 0.51 s
    "integration/test_datasets_personal_data.py::test_the_check_fails_on_an_email_or_phone_in_a_split_unless_declared_safe",  # 0.37 s
    "integration/test_datasets_personal_data.py::test_the_platform_refuses_to_load_without_the_secret_a_dataset_needs",  # 0.19 s
    "integration/test_datasets_postgres.py::test_an_unreachable_server_is_one_clear_error_without_the_password",  # 0.20 s
    "integration/test_datasets_readers.py::test_a_two_word_target_comes_back_in_its_own_words[duckdb-labels0]",  # 0.28 s
    "integration/test_datasets_readers.py::test_a_two_word_target_comes_back_in_its_own_words[duckdb-labels1]",  # 0.28 s
    "integration/test_datasets_readers.py::test_a_two_word_target_comes_back_in_its_own_words[duckdb-labels2]",  # 0.21 s
    "integration/test_datasets_readers.py::test_a_two_word_target_comes_back_in_its_own_words[duckdb-labels3]",  # 0.27 s
    "integration/test_datasets_readers.py::test_a_two_word_target_comes_back_in_its_own_words[duckdb-labels4]",  # 0.28 s
    "integration/test_datasets_readers.py::test_a_two_word_target_comes_back_in_its_own_words[pyarrow-labels0]",  # 0.25 s
    "integration/test_datasets_readers.py::test_a_two_word_target_comes_back_in_its_own_words[pyarrow-labels1]",  # 0.30 s
    "integration/test_datasets_readers.py::test_a_two_word_target_comes_back_in_its_own_words[pyarrow-labels2]",  # 0.19 s
    "integration/test_datasets_readers.py::test_a_two_word_target_comes_back_in_its_own_words[pyarrow-labels3]",  # 0.24 s
    "integration/test_datasets_readers.py::test_a_two_word_target_comes_back_in_its_own_words[pyarrow-labels4]",  # 0.27 s
    "integration/test_datasets_split_files.py::test_a_store_under_a_folder_with_quotes_in_its_name",  # 0.35 s
    "integration/test_datasets_split_files.py::test_files_a_killed_write_left_are_removed_by_the_next_write",  # 0.50 s
    "integration/test_datasets_split_files.py::test_removal_takes_the_files",  # 0.67 s
    "integration/test_deploy_automation.py::test_a_schedule_time_is_set_by_its_name_and_the_daily_one_still_runs_yesterdays_partition",  # 0.46 s
    "integration/test_generate_writers.py::test_an_output_holding_other_data_is_refused_with_nothing_written[ducklake]",  # 0.61 s
    "integration/test_generate_writers.py::test_an_output_holding_other_data_is_refused_with_nothing_written[iceberg]",  # 0.70 s
    "integration/test_ingest_service.py::test_a_full_reload_keeps_the_replaced_version_as_its_backup",  # 0.20 s
    "integration/test_ingest_service.py::test_a_header_only_file_creates_a_new_table_with_no_rows_and_never_truncates_one",  # 0.30 s
    "integration/test_ingest_service.py::test_a_redelivered_earlier_file_rolls_a_full_table_back_and_says_so",  # 0.36 s
    "integration/test_ingest_service.py::test_a_sidecar_overrides_mode_and_detection_for_its_file",  # 0.17 s
    "integration/test_ingest_service.py::test_bad_files_go_to_error_with_their_reason_and_the_table_is_untouched[bad_value.csv-currency,usd_per_unit\nEUR,1.08\nGBP,abc\n-line 3 'abc']",  # 0.22 s
    "integration/test_ingest_service.py::test_bad_files_go_to_error_with_their_reason_and_the_table_is_untouched[binary.csv-data3-binary]",  # 0.15 s
    "integration/test_ingest_service.py::test_bad_files_go_to_error_with_their_reason_and_the_table_is_untouched[commented.tsv-# rates export\n# generated nightly\ncurrency\tusd_per_unit\nEUR\t1.08\nNA\nGBP\t1.27\n-line 5: 1 fields where the header has 2]",  # 0.22 s
    "integration/test_ingest_service.py::test_bad_files_go_to_error_with_their_reason_and_the_table_is_untouched[empty.csv--empty]",  # 0.15 s
    "integration/test_ingest_service.py::test_bad_files_go_to_error_with_their_reason_and_the_table_is_untouched[header_only.csv-currency,usd_per_unit\n-no data rows; an empty delivery never replaces]",  # 0.20 s
    "integration/test_ingest_service.py::test_bad_files_go_to_error_with_their_reason_and_the_table_is_untouched[latin1_fallback.csv-currency,usd_per_unit\nEUR,1.08\nZ\xc3\xa9,2\n\xff\n-invalid UTF-8]",  # 0.15 s
    "integration/test_ingest_service.py::test_bad_files_go_to_error_with_their_reason_and_the_table_is_untouched[missing_required.csv-currency,rate\nEUR,1.08\n-required columns missing: usd_per_unit]",  # 0.18 s
    "integration/test_ingest_service.py::test_bad_files_go_to_error_with_their_reason_and_the_table_is_untouched[null_required.csv-currency,usd_per_unit\nEUR,\nGBP,1.27\n-'usd_per_unit' is empty in 1 row]",  # 0.16 s
    "integration/test_ingest_service.py::test_bad_files_go_to_error_with_their_reason_and_the_table_is_untouched[ragged.csv-currency,usd_per_unit\nEUR,1.08\nGBP,1.27,extra\nUSD,1\n-line 3: 3 fields where the header has 2]",  # 0.23 s
    "integration/test_ingest_service.py::test_bad_files_go_to_error_with_their_reason_and_the_table_is_untouched[short_row.csv-currency,usd_per_unit\nEUR,1.08\nGBP\nUSD,1\n-line 3: 1 fields where the header has 2]",  # 0.23 s
    "integration/test_ingest_service.py::test_bad_files_go_to_error_with_their_reason_and_the_table_is_untouched[truncated.csv.gz-data4-gzip]",  # 0.15 s
    "integration/test_ingest_service.py::test_bad_files_go_to_error_with_their_reason_and_the_table_is_untouched[type_conflict.csv-currency,usd_per_unit\n1,1.0\n2,2.0\n-'currency' would change type]",  # 0.21 s
    "integration/test_ingest_service.py::test_broken_utf8_is_rejected_with_offset_and_line_unless_the_encoding_is_named",  # 0.25 s
    "integration/test_ingest_service.py::test_restore_works_after_a_crash_between_a_full_reload_and_its_ledger_entry",  # 0.24 s
    "integration/test_ingest_service.py::test_schema_drift_is_rejected_with_a_report_by_column_and_evolves_only_when_declared",  # 0.28 s
    "integration/test_parquet_streams.py::test_a_stream_of_many_batches_reads_back_as_a_write_of_the_same_rows[parquet-three slices]",  # 0.17 s
    "integration/test_reference_corpus.py::test_reference_file[header_only_existing_table]",  # 0.20 s
    "integration/test_reference_corpus.py::test_reference_file[schema_drift_evolve]",  # 0.23 s
    "integration/test_reference_corpus.py::test_reference_file[schema_drift_reject]",  # 0.20 s
    "integration/test_reference_personal_data.py::test_a_mark_naming_a_column_the_file_lacks_is_refused_and_loses_nothing",  # 0.23 s
    "integration/test_reference_personal_data.py::test_a_pseudonymise_mark_without_the_secret_fails_naming_it_and_the_file_waits",  # 0.23 s
    "integration/test_reference_personal_data.py::test_quarantined_rows_of_a_personal_table_keep_no_raw_text",  # 0.15 s
    "integration/test_run_command_plan.py::test_the_plan_builds_every_gold_table_after_the_days_it_reads",  # 0.16 s
    "integration/test_storage_contract.py::test_a_missing_required_column_is_refused[duckdb]",  # 0.17 s
    "integration/test_storage_contract.py::test_a_new_nullable_column_is_added_and_old_rows_read_null[delta]",  # 0.43 s
    "integration/test_storage_contract.py::test_a_new_nullable_column_is_added_and_old_rows_read_null[duckdb]",  # 0.35 s
    "integration/test_storage_contract.py::test_a_querys_rows_are_written_like_the_same_table[duckdb-False]",  # 0.28 s
    "integration/test_storage_contract.py::test_a_querys_rows_are_written_like_the_same_table[duckdb-True]",  # 0.34 s
    "integration/test_storage_contract.py::test_a_querys_rows_outside_the_slice_or_failing_half_way_leave_nothing[delta]",  # 0.35 s
    "integration/test_storage_contract.py::test_a_querys_rows_outside_the_slice_or_failing_half_way_leave_nothing[duckdb]",  # 0.42 s
    "integration/test_storage_contract.py::test_a_querys_rows_outside_the_slice_or_failing_half_way_leave_nothing[parquet]",  # 0.57 s
    "integration/test_storage_contract.py::test_a_stream_replaces_its_slice_like_a_write_and_leaves_others[duckdb]",  # 0.27 s
    "integration/test_storage_contract.py::test_an_unreachable_postgres_is_retried_then_reported_without_the_password",  # 1.51 s
    "integration/test_storage_contract.py::test_append_adds_rows[duckdb]",  # 0.19 s
    "integration/test_storage_contract.py::test_columns_rows_and_limit_are_read_selectively[duckdb]",  # 0.19 s
    "integration/test_storage_contract.py::test_empty_frames[duckdb]",  # 0.45 s
    "integration/test_storage_contract.py::test_list_and_drop[duckdb]",  # 0.34 s
    "integration/test_storage_contract.py::test_overwrite_replaces_the_whole_table[duckdb]",  # 0.17 s
    "integration/test_storage_contract.py::test_replacing_a_partition_twice_leaves_one_copy_and_others_untouched[duckdb-partition_date-first0-second0]",  # 0.40 s
    "integration/test_storage_contract.py::test_replacing_a_partition_twice_leaves_one_copy_and_others_untouched[duckdb-partition_start-first1-second1]",  # 0.38 s
    "integration/test_storage_contract.py::test_round_trip_of_every_type_returns_equal_data[duckdb]",  # 0.19 s
    "integration/test_storage_contract.py::test_timestamps_of_any_unit_are_kept_in_microseconds[duckdb]",  # 0.24 s
    "integration/test_storage_empty_reads.py::test_an_empty_table_reads_back_empty_with_its_schema[duckdb]",  # 0.18 s
    "unit/test_datasets_contenthash.py::test_the_same_rows_hash_alike_however_they_are_batched_or_what_empty_slots_hold",  # 0.19 s
    "unit/test_declarative_checks.py::test_evaluating_every_check_together_gives_each_ones_outcome[key_unique]",  # 0.16 s
    "unit/test_declarative_checks.py::test_evaluating_every_check_together_gives_each_ones_outcome[shop_email_unique]",  # 0.17 s
    "unit/test_generate_chunks.py::test_chunks_of_any_size_join_into_the_whole_day[1000000000]",  # 0.17 s
    "unit/test_generate_chunks.py::test_chunks_of_any_size_join_into_the_whole_day[1000]",  # 0.18 s
    "unit/test_generate_chunks.py::test_chunks_of_any_size_join_into_the_whole_day[1]",  # 0.20 s
    "unit/test_generate_chunks.py::test_chunks_of_any_size_join_into_the_whole_day[300]",  # 0.26 s
    "unit/test_generate_chunks.py::test_chunks_of_any_size_join_into_the_whole_day[50]",  # 0.28 s
    "unit/test_generate_chunks.py::test_the_generator_holds_one_chunk_and_makes_none_ahead",  # 0.15 s
    "unit/test_generate_ecommerce.py::test_different_partitions_and_seeds_differ",  # 0.15 s
    "unit/test_generate_market.py::test_bars_always_satisfy_ohlc_order_positive_prices_and_volume",  # 0.28 s
    "unit/test_generate_market.py::test_quotes_are_uncrossed_and_their_mid_lies_inside_the_bar",  # 0.31 s
    "unit/test_generate_market.py::test_symbol_and_timestamp_identify_every_bar_and_quote",  # 0.19 s
    "unit/test_generate_weather.py::test_recorded_defects_are_in_the_data",  # 0.15 s
    "unit/test_ingest_read.py::test_null_markers_stay_text_unless_the_table_declares_them",  # 0.16 s
    "unit/test_silver.py::test_a_delivery_judged_in_a_scratch_file_gives_what_memory_gives",  # 0.22 s
    "unit/test_working_tables.py::test_sizes_read_as_duckdb_reads_them[1.5kb-1500]",  # 2.53 s
}
POSTGRES_FIXTURES = {"postgres_url", "postgres_database"}


def pytest_configure(config: pytest.Config) -> None:
    registered = {line.split(":")[0].strip() for line in config.getini("markers")}
    for name, description in MARKERS.items():
        if name not in registered:  # pyproject.toml registers e2e already
            config.addinivalue_line("markers", f"{name}: {description}")
    if not hasattr(config, "workerinput"):  # this process, not an xdist worker, names the groups file
        import tempfile

        os.environ[GROUPS_FILE] = str(Path(tempfile.mkdtemp(prefix="xdist-groups-")) / "groups.json")


def pytest_unconfigure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput") and GROUPS_FILE in os.environ:
        import shutil

        shutil.rmtree(Path(os.environ.pop(GROUPS_FILE)).parent, ignore_errors=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    tests = Path(__file__).parent
    for item in items:
        folder = item.path.relative_to(tests).parts[0]
        if folder in TIERS:
            item.add_marker(folder)
        if _uses_postgres(item):
            item.add_marker("postgres")
        test = item.nodeid.removeprefix("platform_tests/")
        if test in SLOW or test.split("::")[0] in SLOW or test.split("[")[0] in SLOW or _uses_s3(item):
            item.add_marker("slow")
    if hasattr(config, "workerinput"):  # an xdist worker: tell the scheduler the groups
        groups = {item.nodeid: group for item in items if (group := _xdist_group(item)) is not None}
        path = Path(os.environ[GROUPS_FILE])
        partial = path.with_name(f"{config.workerinput['workerid']}.json")
        partial.write_text(json.dumps(groups))
        partial.replace(path)  # every worker collects the same tests: any one's map will do


# `make test` runs the suite on pytest-xdist workers with `--dist loadgroup`: each test goes to
# whichever worker is free, except the tests of one group, which run together, in order, on one
# worker. A test's `@pytest.mark.xdist_group("name")` puts it in a group, and two kinds of test
# are grouped here, so no test file has to say so:
# - every test that uses the Celery broker: their workers all take steps from the broker's one
#   `dagster` queue, so two such tests at once would run each other's steps;
# - the tests of a module (or class) that share a module- or class-scoped fixture (a materialised
#   platform, a started server): grouped, the fixture is built once, on one worker, instead of
#   once on each worker that gets one of its tests.
# pytest-xdist 3.8 puts a test in its group by renaming its node id, which pytest 9 no longer
# lets it do (the id is `_id`, not `_nodeid`), so the groups are scheduled here instead: each
# worker writes {node id: group} to GROUPS_FILE after collection (a path this process names
# before starting them), and the scheduler below reads it.
CELERY_FIXTURES = {"celery_broker"}
GROUPS_FILE = "PLATFORM_TESTS_XDIST_GROUPS"


def pytest_xdist_make_scheduler(config: pytest.Config, log):
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        """xdist's loadscope scheduling, where a test's scope is its group, or else the test."""

        groups: dict[str, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            if self.groups is None:
                self.groups = json.loads(Path(os.environ[GROUPS_FILE]).read_text())
            return self.groups.get(nodeid, nodeid)

    return GroupScheduling(config, log)


def _xdist_group(item: pytest.Item) -> str | None:
    for mark in item.iter_markers("xdist_group"):
        return str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
    if CELERY_FIXTURES & set(getattr(item, "fixturenames", ())):
        return "celery"
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return None
    for definitions in info.name2fixturedefs.values():
        if definitions and definitions[-1].scope in ("module", "class", "package"):
            return item.nodeid.split("::")[0]
    return None


def _uses_s3(item: pytest.Item) -> bool:
    """A test against the S3 test server (SeaweedFS), by its fixtures or an S3 backend parameter:
    measured slow, 71 such tests took 23.8 s of an 80 s test-fast run; the local parquet and
    delta cases check the same contract."""
    if "s3_server" in getattr(item, "fixturenames", ()):
        return True
    callspec = getattr(item, "callspec", None)
    return callspec is not None and any(
        isinstance(v, str) and v.endswith("-s3") for v in callspec.params.values()
    )


def _uses_postgres(item: pytest.Item) -> bool:
    """A test that asks for the server's fixtures, directly or through another fixture, or one
    parametrised onto the postgres backend (those fetch the server with `getfixturevalue`)."""
    if POSTGRES_FIXTURES & set(getattr(item, "fixturenames", ())):
        return True
    callspec = getattr(item, "callspec", None)
    return callspec is not None and "postgres" in [v for v in callspec.params.values() if isinstance(v, str)]
