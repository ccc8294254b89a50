"""The data lake over fsspec: every event as Parquet, partitioned ``dt=YYYY-MM-DD/hour=HH/``,
and beside them the served-list log (``impressions/``, partitioned the same way)."""
