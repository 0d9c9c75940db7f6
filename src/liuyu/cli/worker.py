"""``liuyu worker``: the scheduled work (journey steps, triggers, refreshes, the outbox) in one process."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import typer

from liuyu.cli.common import console, container, print_json
from liuyu.jobs.schedule import SCHEDULE
from liuyu.jobs.worker import Worker, job_runs


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    if seconds < 120:
        return f"{seconds:.0f} s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


def status(as_json: bool) -> None:
    """Each scheduled job's last run as recorded by whichever worker ran it."""
    rows = job_runs(container().engine, datetime.now(UTC))
    if as_json:
        print_json({"jobs": rows})
        return
    for row in rows:
        items = "-" if row["items"] is None else str(row["items"])
        worker_id = row["worker"] or ""
        line = f"{row['job']:<24} {_age(row['age_seconds']):>14} {items:>8}  {worker_id}"
        console.print(line + (f"  [red]{row['error']}[/red]" if row["error"] else ""), highlight=False)


def worker(
    action: str = typer.Argument("run", help="run (the default): work until stopped; status: each job's last run."),
    once: bool = typer.Option(False, "--once", help="Run every job one time and exit."),
    only: list[str] = typer.Option([], "--only", help="Run only these jobs (by name; repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="With --once or status: print as JSON."),
) -> None:
    """Run the jobs of the schedule when they are due, until SIGTERM or Ctrl-C; or `status`.

    Several workers may run against PostgreSQL and share the work; on SQLite run one.
    `liuyu worker status` lists each job's last run: when, items, error and which worker.
    """
    if action == "status":
        status(as_json)
        return
    if action != "run":
        console.print(f"[red]Unknown action {action!r}; use run or status[/red]")
        raise typer.Exit(2)
    c = container()
    names = {job.name for job in SCHEDULE}
    unknown = [name for name in only if name not in names]
    if unknown:
        console.print(f"[red]Unknown job {', '.join(unknown)}; jobs: {', '.join(sorted(names))}[/red]")
        raise typer.Exit(2)
    jobs = [job for job in SCHEDULE if not only or job.name in only]
    w = Worker(c.engine, jobs)
    if once:
        done = w.run_once()
        failed = {name: s.last_error for name, s in w.stats.items() if s.failures}
        if as_json:
            print_json({"done": done, "failed": failed})
        else:
            for name, items in done.items():
                console.print(f"{name:<24} {items:>8}" + (f"  [red]{failed[name]}[/red]" if name in failed else ""))
        raise typer.Exit(1 if failed else 0)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    w.install_signal_handlers()
    console.print(f"worker: {len(jobs)} jobs ({', '.join(j.name for j in jobs)}); stop with SIGTERM or Ctrl-C")
    w.run_forever()
    console.print("worker stopped")
