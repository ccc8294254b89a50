"""``python -m recomind.evaluation evaluate --dataset ...``."""

from recomind.evaluation.cli import app

if __name__ == "__main__":
    app(prog_name="python -m recomind.evaluation")
