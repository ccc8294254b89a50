"""Alembic environment: the URL comes from the Config object RecoMind builds (``migrate.py``)."""

from __future__ import annotations

from alembic import context

from recomind.storage.engine import make_engine
from recomind.storage.tables import metadata

config = context.config
url = config.get_main_option("sqlalchemy.url")
if not url:
    raise RuntimeError("no database URL given to the migrations")

engine = make_engine(url)
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
