"""Serving: the cache-first recommendation service, its rankers and the published models.

The pure algorithms live in :mod:`recomind.recommend`; this package puts them to work over
the database and the cache: training data read from storage, the model store, the
model-backed ranker with its tag-affinity fallback, trending, and the service in front.
"""
