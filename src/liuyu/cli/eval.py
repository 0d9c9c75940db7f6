"""``liuyu eval …``: measure liuyu's models on labelled files, beside same-run baselines.

Commands live in eval_text.py (sentiment, match, intent), eval_clv.py (clv) and eval_linkage.py
(linkage); importing
them registers them on ``app``.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Measure liuyu's models on labelled data, with baselines from the same run.", no_args_is_help=True
)


def register() -> typer.Typer:
    from liuyu.cli import eval_clv, eval_linkage, eval_suggestions, eval_text  # noqa: F401  (registers the commands)

    return app
