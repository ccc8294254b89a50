"""RecoMind: a recommendation service for short-video apps."""

__version__ = "0.1.0"
