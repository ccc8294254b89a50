"""Analytics over the lake (DuckDB over Arrow tables read through fsspec): what users did
with what they were shown."""
