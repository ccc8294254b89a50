"""``python -m recomind.evaluation evaluate --dataset ...``."""

import typer

from recomind.evaluation.cli import app

main = typer.Typer(no_args_is_help=True, help="RecoMind offline evaluation.")
main.add_typer(app)  # nameless, as the main CLI mounts it: the command is ``evaluate``

if __name__ == "__main__":
    main(prog_name="python -m recomind.evaluation")
