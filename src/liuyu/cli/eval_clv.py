"""``liuyu eval clv``: BG/NBD purchase predictions on CDNOW-format files."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from liuyu.cli.eval import app
from liuyu.domain.errors import InvalidInput


def read_cdnow(path: Path) -> Iterator[tuple[str, date, float]]:
    """Yield (customer, day, amount) from a CDNOW file (4 columns, or the 5-column sample format)."""
    with path.open(encoding="utf-8") as lines:
        seen_data = False
        for number, line in enumerate(lines, start=1):
            fields = line.split()
            if not fields:
                continue
            if not seen_data and not any(f.isdigit() for f in fields):
                continue  # the header line
            seen_data = True
            if len(fields) == 4:
                customer, day, _, amount = fields
            elif len(fields) == 5:
                customer, _, day, _, amount = fields
            else:
                raise InvalidInput(f"expected 4 or 5 columns, got {len(fields)}", where=f"{path.name}:{number}")
            try:
                yield customer, datetime.strptime(day, "%Y%m%d").date(), float(amount)
            except ValueError as exc:
                raise InvalidInput(str(exc), where=f"{path.name}:{number}", value=line.strip()) from exc


def _mae_rmse(predicted: np.ndarray, actual: np.ndarray) -> tuple[float, float]:
    error = predicted - actual
    return float(np.mean(np.abs(error))), float(np.sqrt(np.mean(error**2)))


@app.command("clv")
def eval_clv(
    calibration: Path = typer.Argument(..., exists=True, dir_okay=False, help="calibration-period transactions"),
    holdout: Path = typer.Argument(..., exists=True, dir_okay=False, help="holdout-period transactions"),
) -> None:
    """Fit on CALIBRATION, predict each customer's purchases in the HOLDOUT period, print MAE and RMSE."""
    from liuyu.analytics.clv import PurchaseForecaster, summarize  # scipy: loaded only when used

    calibration_rows = list(read_cdnow(calibration))
    holdout_rows = list(read_cdnow(holdout))
    if not calibration_rows or not holdout_rows:
        raise typer.BadParameter("both files need at least one transaction")
    calibration_end = max(day for _, day, _ in calibration_rows)
    holdout_end = max(day for _, day, _ in holdout_rows)
    horizon_days = (holdout_end - calibration_end).days
    if horizon_days <= 0:
        raise typer.BadParameter(
            f"the holdout file ends on {holdout_end}, not after the calibration end {calibration_end}"
        )
    summary = summarize(calibration_rows, end=calibration_end)
    actual_days: dict[str, set[date]] = {}
    for customer, day, _ in holdout_rows:
        if calibration_end < day <= holdout_end:
            actual_days.setdefault(customer, set()).add(day)
    actual = np.array([len(actual_days.get(c, ())) for c in summary.customer_ids], dtype=np.float64)

    forecaster = PurchaseForecaster.fit(summary.frequency, summary.recency, summary.age)
    horizon = horizon_days / 7.0
    ours = forecaster.predict(horizon, summary.frequency, summary.recency, summary.age)
    expected = forecaster.expected(horizon, summary.frequency, summary.recency, summary.age)
    # The naive forecast carries each customer's calibration rate of repeat purchases forward.
    naive = summary.frequency / np.maximum(summary.age, 1.0 / 7.0) * horizon

    table = Table(title=f"CLV: purchases from {calibration_end + timedelta(days=1)} to {holdout_end}")
    table.add_column("model")
    table.add_column("MAE", justify="right")
    table.add_column("RMSE", justify="right")
    rows = [
        ("liuyu (BG/NBD, MAE-optimal forecast)", ours),
        ("BG/NBD expected purchases", expected),
        ("naive: calibration repeat-purchase rate", naive),
        ("reference: predict 0 for everyone", np.zeros_like(actual)),
    ]
    for name, predicted in rows:
        mae, rmse = _mae_rmse(predicted, actual)
        table.add_row(name, f"{mae:.4f}", f"{rmse:.4f}")
    console = Console()
    console.print(table)
    console.print(
        f"{len(actual)} customers, holdout {horizon_days} days, mean actual purchases {actual.mean():.4f}; "
        f"BG/NBD r={forecaster.model.r:.3f} alpha={forecaster.model.alpha:.3f} "
        f"a={forecaster.model.a:.3f} b={forecaster.model.b:.3f}"
    )
    mae, rmse = _mae_rmse(ours, actual)
    print(f"mae={mae:.4f} rmse={rmse:.4f}")
