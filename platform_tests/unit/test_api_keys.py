"""API keys: only hashes stored, constant-time checks, scopes, revocation seen by a running
server without a restart."""

from __future__ import annotations

import pytest

from dataplatform.api.keys import ApiKeyError, KeyStore


def test_a_key_is_shown_once_stored_as_a_hash_and_checked(tmp_path):
    store = KeyStore(tmp_path / "keys.json")
    entry, key = store.create("dashboards", "read")
    assert key.startswith(f"dpk_{entry.id}_") and len(key) > 40
    assert key not in (tmp_path / "keys.json").read_text()
    assert store.verify(key) == entry
    assert store.verify(key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    assert store.verify(f"dpk_{entry.id}") is None and store.verify("") is None
    assert store.verify(key.replace("dpk_", "xyz_", 1)) is None


def test_scopes_read_and_admin(tmp_path):
    store = KeyStore(tmp_path / "keys.json")
    reader, _ = store.create("reader", "read")
    admin, _ = store.create("ops", "admin")
    assert reader.allows("read") and not reader.allows("admin")
    assert admin.allows("read") and admin.allows("admin")
    with pytest.raises(ApiKeyError, match="unknown scope"):
        store.create("x", "root")  # type: ignore[arg-type]
    with pytest.raises(ApiKeyError, match="name"):
        store.create("  ", "read")


def test_a_revocation_by_another_process_is_seen_at_the_next_check(tmp_path):
    server = KeyStore(tmp_path / "keys.json")
    cli = KeyStore(tmp_path / "keys.json")
    entry, key = cli.create("e2e", "read")
    assert server.verify(key) == entry
    cli.revoke(entry.id)
    assert server.verify(key) is None
    assert [k.revoked_at is not None for k in server.list()] == [True]
    with pytest.raises(ApiKeyError, match="no API key"):
        cli.revoke("00000000")


def test_listing_never_shows_the_hash(tmp_path):
    store = KeyStore(tmp_path / "keys.json")
    store.create("a", "read")
    assert all("sha256" not in k.shown() for k in store.list())
