"""The data lake: every event as Parquet, partitioned ``dt=YYYY-MM-DD/hour=HH/``, over fsspec."""
