"""``liuyu eval linkage`` on FEBRL dataset1: the Splink model finds the duplicates without labels."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

import liuyu.cli.eval_linkage  # noqa: F401  (registers the command)
from liuyu.cli.main import app

DATASETS = Path(os.environ.get("LIUYU_DATASETS", Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets"))
FEBRL1 = DATASETS / "febrl" / "dataset1.csv"

# Measured 1.0000 / 1.0000 at threshold 0.9 (docs/evaluation/linkage.md); the floors leave room
# for Splink's sampling and EM to move a few pairs.
PRECISION_FLOOR = 0.97
RECALL_FLOOR = 0.97


@pytest.mark.slow
def test_febrl_dataset1_duplicates_are_found_with_high_precision_and_recall() -> None:
    if not FEBRL1.exists():
        pytest.skip(f"FEBRL not found at {FEBRL1} (set LIUYU_DATASETS to the shared datasets folder)")

    result = CliRunner().invoke(app, ["eval", "linkage", "--dataset", "febrl1", "--datasets", str(DATASETS)])

    assert result.exit_code == 0, result.output
    last = result.output.strip().splitlines()[-1]
    figures = re.fullmatch(r"precision=(\d\.\d{4}) recall=(\d\.\d{4}) f1=(\d\.\d{4})", last)
    assert figures, last
    precision, recall, _ = (float(value) for value in figures.groups())
    assert precision >= PRECISION_FLOOR
    assert recall >= RECALL_FLOOR
    assert "febrl1" in result.output


def test_a_missing_datasets_folder_is_named_in_the_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"

    result = CliRunner().invoke(app, ["eval", "linkage", "--datasets", str(missing)])

    assert result.exit_code != 0
    assert "nowhere" in result.output
