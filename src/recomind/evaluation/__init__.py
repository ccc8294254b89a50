"""Offline evaluation: data-set loaders, protocols, metrics, peer baselines and reports.

From Python::

    from recomind.evaluation import run, report
    result = run("movielens-small", models=["most-popular", "ease"])
    report.write(result, "evaluation-results")
"""

from recomind.evaluation.datasets import Dataset, DatasetNotFoundError, load
from recomind.evaluation.runner import ModelResult, RunResult, run

__all__ = ["Dataset", "DatasetNotFoundError", "ModelResult", "RunResult", "load", "run"]
