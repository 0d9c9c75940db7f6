"""The ``liuyu`` entry point: wires each area's commands into one Typer app."""

from __future__ import annotations

import typer

from liuyu.cli import (
    admin,
    customers,
    demo,
    imports,
    nlp_knowledge,  # noqa: F401  (adds train-intent, train-match, ask to `nlp`)
    service_quality,  # noqa: F401  (adds qa and report to `service`)
)
from liuyu.cli import eval as eval_cli
from liuyu.cli import journeys as journeys_cli
from liuyu.cli import knowledge as knowledge_cli
from liuyu.cli import loyalty as loyalty_cli
from liuyu.cli import messaging as messaging_cli
from liuyu.cli import nlp as nlp_cli
from liuyu.cli import playbooks as playbooks_cli
from liuyu.cli import segments as segments_cli
from liuyu.cli import service as service_cli
from liuyu.cli import tickets as tickets_cli
from liuyu.cli import worker as worker_cli

app = typer.Typer(help="liuyu: the customer micro-circulation platform.", no_args_is_help=True)
app.command("init")(admin.init)
app.command("stats")(admin.stats)
app.command("rebuild")(admin.rebuild)
app.command("serve")(admin.serve)
app.command("import")(imports.import_file)
app.command("demo")(demo.demo)
app.command("worker")(worker_cli.worker)
app.add_typer(admin.workspace_app, name="workspace")
app.add_typer(admin.keys_app, name="keys")
app.add_typer(admin.users_app, name="users")
app.add_typer(customers.app, name="customers")
app.add_typer(loyalty_cli.members_app, name="members")
app.add_typer(loyalty_cli.points_app, name="points")
app.add_typer(loyalty_cli.coupons_app, name="coupons")
app.add_typer(eval_cli.register(), name="eval")
app.add_typer(nlp_cli.app, name="nlp")
app.add_typer(segments_cli.app, name="segments")
app.add_typer(journeys_cli.app, name="journeys")
app.add_typer(playbooks_cli.app, name="playbooks")
app.add_typer(segments_cli.tags_app, name="tags")
app.add_typer(segments_cli.traits_app, name="traits")
app.add_typer(service_cli.app, name="service")
app.add_typer(knowledge_cli.app, name="kb")
app.add_typer(messaging_cli.app, name="messaging")
app.add_typer(tickets_cli.app, name="tickets")


@app.callback()
def main() -> None:
    """liuyu: connect every touchpoint, unify each customer, understand, act and learn."""


if __name__ == "__main__":
    app()
