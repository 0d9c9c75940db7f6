"""``liuyu eval linkage``: precision and recall of the Splink look-alike model on public record sets."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from liuyu.cli.eval import app


class LinkageDataset(StrEnum):
    """``febrl`` is FEBRL 1-3 (deduplication) and 4 (linkage); febrl1…febrl4 pick one for a quick run."""

    febrl = "febrl"
    febrl1 = "febrl1"
    febrl2 = "febrl2"
    febrl3 = "febrl3"
    febrl4 = "febrl4"
    fake_1000 = "fake_1000"
    historical_50k = "historical_50k"
    all = "all"


@app.command("linkage")
def eval_linkage(
    dataset: LinkageDataset = typer.Option(LinkageDataset.all, help="which record set to evaluate on"),
    threshold: float = typer.Option(0.9, min=0.0, max=1.0, help="match probability at which a pair is suggested"),
    datasets: Path | None = typer.Option(
        None, help="folder holding febrl/ and splink_datasets/ (default: $LIUYU_DATASETS or ../shared/datasets)"
    ),
) -> None:
    """Train each model without labels, then count predicted pairs against the true ones."""
    from liuyu.matching.evaluate import combined, datasets_dir, evaluate_many

    root = datasets or datasets_dir()
    if not root.is_dir():
        raise typer.BadParameter(f"no data sets at {root}; set --datasets or LIUYU_DATASETS", param_hint="--datasets")
    results = evaluate_many([dataset.value], threshold=threshold, root=root)
    total = combined(results)
    # One line per data set rather than a table: these lines end up in logs and docs.
    for result in [*results, total] if len(results) > 1 else results:
        print(
            f"{result.dataset}: records={result.records} true_pairs={result.true_pairs} "
            f"missed_by_blocking={result.missed_by_blocking} predicted={result.predicted} "
            f"precision={result.precision:.4f} recall={result.recall:.4f} f1={result.f1:.4f} "
            f"baseline_precision={result.baseline_precision:.4f} baseline_recall={result.baseline_recall:.4f} "
            f"seconds={result.seconds:.1f}"
        )
    print(f"threshold={threshold}; baseline = the model's near-certain deterministic rules alone, without scoring")
    print(f"precision={total.precision:.4f} recall={total.recall:.4f} f1={total.f1:.4f}")
