"""``liuyu nlp …``: train, analyze and inspect the text models."""

from __future__ import annotations

import typer

app = typer.Typer(help="Text understanding: train models, analyze texts.", no_args_is_help=True)
