"""Storage: tables, migrations and data functions over PostgreSQL, MySQL/MariaDB and SQLite.

Every SQL statement of the service lives here, one module per table:

- :mod:`~recomind.storage.users`, :mod:`~recomind.storage.videos`,
  :mod:`~recomind.storage.actions` (``video_actions``), :mod:`~recomind.storage.popularity`
  (``video_popularity``), :mod:`~recomind.storage.profiles` (``user_profiles``),
  :mod:`~recomind.storage.action_states` (the folds' per-(user, video) states),
  :mod:`~recomind.storage.offsets` (``consumer_offsets``) and
  :mod:`~recomind.storage.retrain_signals`: keyword-only data functions taking the caller's
  :class:`sqlalchemy.Connection` (callers choose the transaction), ``None`` for an absent row;
- :mod:`~recomind.storage.training`: the columns a model fit streams from ``videos`` and
  ``video_actions``;
- :mod:`~recomind.storage.inserts`: inserts that skip stored keys, in each dialect;
- :mod:`~recomind.storage.tables`, :mod:`~recomind.storage.types`: the schema;
  :mod:`~recomind.storage.engine`: engines, transactions, retries, the readiness ping;
  :mod:`~recomind.storage.migrate` and ``migrations/``: Alembic.
"""
