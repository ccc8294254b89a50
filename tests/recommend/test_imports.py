"""What importing the algorithms package pulls in: nothing of the service, no ``ml`` extra."""

from __future__ import annotations

import subprocess
import sys

#: Parts of the service the algorithms must not import.
SERVICE = ("storage", "cache", "config", "api", "stream", "jobs", "serving", "folds", "schemas")
#: Packages of the ``ml`` extra.
ML_EXTRA = ("implicit", "sklearn", "threadpoolctl")


def _import_recommend(*, blocked: tuple[str, ...], skip: tuple[str, ...]) -> str:
    """Import every ``recomind.recommend`` module but ``skip`` in a fresh interpreter where
    ``blocked`` packages cannot be imported; return the ``recomind`` service modules loaded."""
    code = (
        "import sys, pkgutil, importlib\n"
        f"for name in {blocked!r}: sys.modules[name] = None\n"
        "import recomind.recommend as pkg\n"
        "for m in pkgutil.iter_modules(pkg.__path__):\n"
        f"    if m.name not in {skip!r}:\n"
        "        importlib.import_module('recomind.recommend.' + m.name)\n"
        "loaded = [n.split('.') for n in sys.modules if n.startswith('recomind.')]\n"
        f"print(sorted({{'.'.join(p[:2]) for p in loaded if p[1] in {SERVICE!r}}}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_algorithm_modules_import_nothing_of_the_service() -> None:
    assert _import_recommend(blocked=(), skip=()) == "[]"


def test_every_recommend_module_imports_without_the_ml_extra() -> None:
    _import_recommend(blocked=ML_EXTRA, skip=())
