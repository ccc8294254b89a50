"""``recomind keys create|list|revoke`` and ``recomind tokens mint``, run as a user runs them."""

from __future__ import annotations

import re
from pathlib import Path

import jwt
import pytest

from recomind.credentials import secret_digest, split_key
from recomind.storage import migrate
from recomind.storage.api_keys import get_key
from recomind.storage.engine import make_engine, read_tx
from tests.test_cli import _run
from tests.utils.credentials import TEST_TOKEN_SECRET


@pytest.fixture
def db_env(tmp_path: Path) -> dict[str, str]:
    url = f"sqlite:///{tmp_path / 'keys.db'}"
    migrate.upgrade(url)
    return {"RECOMIND_DATABASE_URL": url, "RECOMIND_KEY_CACHE_S": "3"}


def test_create_prints_the_key_once_list_shows_no_secret_revoke_marks_it(
    db_env: dict[str, str],
) -> None:
    made = _run("keys", "create", "--name", "ingest-svc", "--scope", "ingest", "--scope", "read",
                env=db_env)  # fmt: skip
    assert made.returncode == 0, made.stderr
    full = re.search(r"rmk_\S+", made.stdout)
    assert full is not None
    parts = split_key(full.group(0))
    assert parts is not None
    engine = make_engine(db_env["RECOMIND_DATABASE_URL"])
    with read_tx(engine) as conn:
        row = get_key(conn, key_id=parts.key_id)
    engine.dispose()
    assert row is not None and row.scopes == {"ingest", "read"}
    assert row.secret_sha256 == secret_digest(parts.secret)

    listed = _run("keys", "list", env={**db_env, "COLUMNS": "200"})
    assert listed.returncode == 0, listed.stderr
    assert parts.key_id in listed.stdout and "ingest-svc" in listed.stdout
    assert parts.secret not in listed.stdout

    revoked = _run("keys", "revoke", parts.key_id, env=db_env)
    assert revoked.returncode == 0 and "within 3 s" in revoked.stdout
    assert _run("keys", "revoke", parts.key_id, env=db_env).returncode == 1
    assert _run("keys", "revoke", "nope", env=db_env).returncode == 1


def test_an_unknown_scope_is_refused(db_env: dict[str, str]) -> None:
    r = _run("keys", "create", "--name", "x", "--scope", "root", env=db_env)
    assert r.returncode == 2 and "unknown scope" in r.stdout


def test_tokens_mint_signs_a_token_for_the_user(db_env: dict[str, str]) -> None:
    r = _run("tokens", "mint", "u7", "--ttl", "120", env=db_env)
    assert r.returncode == 0, r.stderr
    claims = jwt.decode(r.stdout.strip(), TEST_TOKEN_SECRET, algorithms=["HS256"],
                        audience="recomind", issuer="recomind")  # fmt: skip
    assert claims["sub"] == "u7" and claims["exp"] - claims["iat"] == 120
    bad = _run("tokens", "mint", "not an id", env=db_env)
    assert bad.returncode == 2
