"""The consumer groups of ``video_actions_stream``, one module each."""

from __future__ import annotations

from recomind.stream.consumers.base import Context, Handler

GROUPS = ("persist", "popularity", "profiles", "lake", "retrain-trigger")


def build(group: str, ctx: Context) -> Handler:
    """The handler of consumer group ``group``."""
    if group == "persist":
        from recomind.stream.consumers.persist import PersistHandler

        return PersistHandler(ctx)
    if group == "popularity":
        from recomind.stream.consumers.popularity import PopularityHandler

        return PopularityHandler(ctx)
    if group == "profiles":
        from recomind.stream.consumers.profiles import ProfilesHandler

        return ProfilesHandler(ctx)
    if group == "lake":
        from recomind.stream.consumers.lake import LakeHandler

        return LakeHandler(ctx)
    if group == "retrain-trigger":
        from recomind.stream.consumers.retrain import RetrainTriggerHandler

        return RetrainTriggerHandler(ctx)
    raise ValueError(f"unknown consumer group {group!r}; expected one of {', '.join(GROUPS)}")


__all__ = ["GROUPS", "Context", "Handler", "build"]
