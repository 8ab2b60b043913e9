"""DATAPLATFORM_LAKE_URI: a local folder or s3://bucket/prefix, anything else refused at load."""

from __future__ import annotations

from pathlib import Path

import pytest

from dataplatform.settings import SettingsError, load_settings


def test_the_lake_defaults_to_the_data_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("DATAPLATFORM_LAKE_URI", raising=False)
    monkeypatch.setenv("DATAPLATFORM_DATA_DIR", str(tmp_path / "data"))
    assert load_settings().lake_root == str(tmp_path / "data" / "lake")


@pytest.mark.parametrize(
    ("given", "root"),
    [("s3://my-bucket/lake/", "s3://my-bucket/lake"), ("s3://my-bucket", "s3://my-bucket")],
)
def test_an_s3_uri_is_the_lake_root(monkeypatch, given, root):
    monkeypatch.setenv("DATAPLATFORM_LAKE_URI", given)
    assert load_settings().lake_root == root


def test_a_local_folder_is_made_absolute(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATAPLATFORM_LAKE_URI", "elsewhere/lake")
    assert Path(load_settings().lake_root) == tmp_path / "elsewhere" / "lake"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("gs://bucket/lake", "unsupported scheme 'gs'"),
        ("s3:///lake", "the bucket must be 3-63 lower-case letters"),
        ("s3://Bad_Bucket/lake", "the bucket must be 3-63 lower-case letters"),
        ("s3://bucket/lake?versionId=1", "write s3://bucket/prefix only"),
        ("  ", "give a local folder or s3://bucket/prefix"),
    ],
)
def test_a_bad_lake_uri_is_one_clear_error_at_load(monkeypatch, given, expected):
    monkeypatch.setenv("DATAPLATFORM_LAKE_URI", given)
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert str(error.value).startswith("invalid setting: DATAPLATFORM_LAKE_URI: ")
    assert expected in str(error.value)


def test_credentials_in_the_uri_are_refused_without_being_shown(monkeypatch):
    monkeypatch.setenv("DATAPLATFORM_LAKE_URI", "s3://AKIAEXAMPLE:very-secret-key@bucket/lake")
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert "AWS_ACCESS_KEY_ID" in str(error.value)
    assert "very-secret-key" not in str(error.value) and "AKIAEXAMPLE" not in str(error.value)
