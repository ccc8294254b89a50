"""HTTP API (FastAPI): the design's three endpoints plus catalogue and operations routes."""
