"""The ``liuyu`` entry point: wires each area's commands into one Typer app."""

from __future__ import annotations

import typer

from liuyu.cli import eval as eval_cli
from liuyu.cli import nlp as nlp_cli

app = typer.Typer(help="liuyu: the customer micro-circulation platform.", no_args_is_help=True)
app.add_typer(eval_cli.register(), name="eval")
app.add_typer(nlp_cli.app, name="nlp")


@app.callback()
def main() -> None:
    """liuyu: connect every touchpoint, unify each customer, understand, act and learn."""


if __name__ == "__main__":
    app()
