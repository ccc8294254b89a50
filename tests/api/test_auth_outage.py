"""API keys while the database does not answer: a key read before keeps working past its
cache window, a key never read is a 503 (not a 401: it may be valid), the master key needs no
database; once the database is back a revoked key is refused again."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from sqlalchemy import text

from recomind.credentials import split_key
from recomind.storage import migrate
from recomind.storage.api_keys import issue_key, revoke_key
from recomind.storage.engine import make_engine, write_tx
from tests.api.helpers import admin_headers, bearer
from tests.utils.private_postgres import private_postgres
from tests.utils.stacks import make_settings, running_api


def test_known_keys_outlive_a_database_outage(tmp_path: Path) -> None:
    with private_postgres() as pg:
        admin = make_engine(pg.url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("CREATE DATABASE recomind"))
        admin.dispose()
        url = pg.url_of("recomind")
        migrate.upgrade(url)
        bus = f"sqlite:///{tmp_path / 'bus.db'}"
        settings = make_settings(url, "memory://", bus, tmp_path, key_cache_s=0.2)
        with running_api(settings) as api:
            with write_tx(api.engine) as conn:
                _, seen = issue_key(conn, name="seen", scopes=["read"])
                _, unseen = issue_key(conn, name="unseen", scopes=["read"])
            get = httpx.Client(base_url=api.base_url, timeout=30)
            assert get.get("/trending", headers=bearer(seen)).status_code == 200
            api.http.get("/trending")  # cached, so it answers without the database
            pg.stop()
            try:
                time.sleep(0.5)  # past the key's window: its row cannot be read again
                assert get.get("/trending", headers=bearer(seen)).status_code == 200
                r = get.get("/trending", headers=bearer(unseen))
                assert r.status_code == 503 and r.json()["error"] == "database_unavailable"
                assert r.headers["retry-after"] == "5"
                assert get.get("/trending", headers=admin_headers()).status_code == 200
            finally:
                pg.start()
            parts = split_key(seen)
            assert parts is not None
            with write_tx(api.engine) as conn:
                assert revoke_key(conn, key_id=parts.key_id)
            deadline = time.monotonic() + 10
            while get.get("/trending", headers=bearer(seen)).status_code != 401:
                assert time.monotonic() < deadline, "the revoked key was still accepted"
                time.sleep(0.1)
            assert get.get("/trending", headers=bearer(unseen)).status_code == 200
            get.close()
