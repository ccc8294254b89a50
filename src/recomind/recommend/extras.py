"""Optional dependencies: imported only where a strategy needs them, with one clear error.

``pip install recomind`` serves without the ``ml`` extra (``implicit``, ``scikit-learn``,
``threadpoolctl``): every module of :mod:`recomind.recommend` imports without it. Fitting a
strategy that needs it (``als`` needs ``implicit``; ``content`` needs ``scikit-learn`` to fit)
raises :class:`MissingExtraError`, which says what to install.
"""

from __future__ import annotations

import contextlib
import importlib
from contextlib import AbstractContextManager
from types import ModuleType
from typing import Any


class MissingExtraError(ImportError):
    """A strategy was fitted or used without the optional dependencies it needs."""


def require(module: str, *, extra: str, strategy: str) -> ModuleType:
    """Import ``module`` for ``strategy``, or say which extra provides it.

    Parameters
    ----------
    module
        Dotted module name, e.g. ``"implicit.cpu.als"``.
    extra
        The optional dependency group of ``pyproject.toml`` that installs it.
    strategy
        The strategy that needs it (named in the error).

    Returns
    -------
    types.ModuleType
        The imported module.

    Raises
    ------
    MissingExtraError
        If ``module`` cannot be imported.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(
            f"strategy {strategy!r} needs the {extra!r} extra: pip install 'recomind[{extra}]'"
        ) from exc


_controller: Any = None


def single_threaded_blas() -> AbstractContextManager[Any]:
    """Context manager pinning BLAS to one thread while it is open (library scan done once).

    A speed setting, not a result one: without ``threadpoolctl`` (base install) it does
    nothing.
    """
    global _controller
    if _controller is None:
        try:
            threadpoolctl = importlib.import_module("threadpoolctl")
        except ImportError:
            return contextlib.nullcontext()
        _controller = threadpoolctl.ThreadpoolController()
    limit: AbstractContextManager[Any] = _controller.limit(limits=1, user_api="blas")
    return limit
