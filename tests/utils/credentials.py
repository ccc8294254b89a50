"""The fixed credentials every test deployment runs with (auth is on, as in production).

``tests/conftest.py`` puts them in the environment, so a ``Settings()`` made anywhere in the
suite (and a ``recomind`` subprocess) has them; the HTTP clients of the test stacks send
:func:`admin_headers` by default.
"""

from __future__ import annotations

import os

TEST_MASTER_KEY = "test-master-key-0123456789abcdef0123456789abcdef"
TEST_TOKEN_SECRET = "test-token-secret-0123456789abcdef0123456789abcdef"


def admin_headers() -> dict[str, str]:
    """``Authorization`` with the master key (every scope)."""
    return {"Authorization": f"Bearer {TEST_MASTER_KEY}"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def install_env() -> None:
    """Default the credentials in this process's environment (a test may override them)."""
    os.environ.setdefault("RECOMIND_MASTER_KEY", TEST_MASTER_KEY)
    os.environ.setdefault("RECOMIND_TOKEN_SECRET", TEST_TOKEN_SECRET)
