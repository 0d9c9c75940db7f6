"""``liuyu demo``: a ready workspace for the fictional brand 栖木 QIMU, then the server."""

from __future__ import annotations

import itertools
import time

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from liuyu.cli.common import console, container, friendly_errors
from liuyu.domain.customers.identity import IdentityPolicy
from liuyu.services import accounts, engagement, text_tags
from liuyu.services.ingest import IngestReport, ingest_events, refresh_deferred_traits
from liuyu.storage.customer_queries import workspace_counts
from liuyu.storage.uow import SqlUnitOfWork

DEMO_WORKSPACE = "demo"
DEMO_EMAIL = "admin@qimu.demo"
DEMO_PASSWORD = "liuyu-demo"

DEMO_TAG_RULES = """
- tag: 游戏玩家
  events: [community_post, review_posted]
  words: [手柄, 背键, 开黑, 游戏]
- tag: 产品建议者
  events: [community_post, review_posted]
  words: [建议, 希望, 要是, 能不能]
- tag: 物流吐槽
  events: [review_posted]
  aspect: logistics
  sentiment: negative
- tag: 公众号粉丝
  from: event
  events: [followed]
"""

DEMO_SEGMENTS = (
    ("沉睡的高价值客户", 'lifecycle in ("dormant", "at_risk") and total_spent > 3000'),
    ("游戏玩家", 'tag("游戏玩家")'),
    ("上海复购客", 'city = "上海" and order_count >= 2'),
)


@friendly_errors
def demo(
    people: int = typer.Option(20_000, help="How many people the demo brand has."),
    seed: int = typer.Option(2026, help="Seed of the generator (same seed, same demo)."),
    serve: bool = typer.Option(True, help="Start the server when the data is loaded."),
    host: str = typer.Option("127.0.0.1"),
    port: int = typer.Option(8000),
) -> None:
    """Load the demo brand into ./liuyu.db (or LIUYU_DATABASE_URL) and serve API + console."""
    from liuyu.demo import generate_demo, generate_texts

    c = container(create=True)
    with SqlUnitOfWork(c.engine) as uow:
        row = uow.accounts.workspace_by_slug(DEMO_WORKSPACE)
        if row is None:
            ws = accounts.create_workspace(uow.accounts, DEMO_WORKSPACE, "栖木 QIMU（演示）")
            accounts.create_user(uow.accounts, ws, DEMO_EMAIL, DEMO_PASSWORD, "admin", name="演示管理员")
            key = accounts.create_api_key(uow.accounts, ws, "demo-api", "admin", name="demo admin key")
            uow.commit()
            console.print(f"API key for the demo (admin, shown once): [bold]{key}[/bold]")
        else:
            ws = int(row["id"])
    with c.engine.connect() as conn:
        loaded = workspace_counts(conn, ws)["events"]
    if loaded == 0:
        with SqlUnitOfWork(c.engine) as uow:
            text_tags.set_rules(uow, ws, text_tags.read_rules(DEMO_TAG_RULES), actor="demo")
            uow.commit()
        policy = IdentityPolicy(protect_verified_phones=c.settings.protect_verified_phones)
        report = IngestReport()
        started = time.perf_counter()
        stream = itertools.chain(generate_demo(seed=seed, people=people), generate_texts(seed=seed, people=people))
        columns = [
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TextColumn("{task.completed:,} events"),
            TimeElapsedColumn(),
        ]
        with Progress(*columns, console=console) as progress:
            task = progress.add_task(f"Loading the demo brand ({people:,} people)", total=None)
            while batch := list(itertools.islice(stream, 5000)):
                with SqlUnitOfWork(c.engine) as uow:
                    report.add(
                        ingest_events(
                            uow.ingest, ws, batch, policy=policy, projections=uow.projections(), defer_traits=True
                        )
                    )
                    uow.commit()
                progress.advance(task, len(batch))
        refresh_deferred_traits(lambda: SqlUnitOfWork(c.engine), ws)
        with SqlUnitOfWork(c.engine) as uow:
            engagement.refresh_traits(uow, ws)
            for name, expression in DEMO_SEGMENTS:
                engagement.save_segment(uow, ws, name=name, tree=engagement.read_expression(expression), actor="demo")
            uow.commit()
        elapsed = time.perf_counter() - started
        console.print(
            f"Stored {report.stored:,} events in {elapsed:.1f} s: {report.customers_created:,} customers "
            f"created, {report.merges:,} merges."
        )
    with c.engine.connect() as conn:
        counts = workspace_counts(conn, ws)
    console.print(
        f"Demo workspace: {counts['customers']:,} customers, {counts['orders']:,} orders, {counts['events']:,} events."
    )
    console.print(
        f"Console: [bold]http://{host}:{port}/console/[/bold]  login [bold]{DEMO_EMAIL}[/bold] / "
        f"[bold]{DEMO_PASSWORD}[/bold]"
    )
    console.print(f"API docs: http://{host}:{port}/docs")
    if serve:
        import uvicorn

        uvicorn.run("liuyu.api.app:create_app", factory=True, host=host, port=port, log_level="info")
