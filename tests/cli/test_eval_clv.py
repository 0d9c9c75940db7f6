"""``liuyu eval clv`` on a slice of CDNOW: fixed output contract, and it beats the naive rate."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from liuyu.cli.main import app

DATASETS = Path(os.environ.get("LIUYU_DATASETS", Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets"))
SAMPLE = DATASETS / "cdnow" / "CDNOW_sample.txt"


@pytest.fixture
def split(tmp_path: Path) -> tuple[Path, Path]:
    if not SAMPLE.exists():
        pytest.skip(f"CDNOW sample not found at {SAMPLE} (set LIUYU_DATASETS to the shared datasets folder)")
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    calibration = tmp_path / "calibration.txt"
    holdout = tmp_path / "holdout.txt"
    calibration.write_text("\n".join(line for line in lines if line.split()[2] <= "19970630") + "\n")
    holdout.write_text("\n".join(line for line in lines if line.split()[2] > "19970630") + "\n")
    return calibration, holdout


def test_eval_clv_prints_a_table_and_ends_with_the_figures_line(split: tuple[Path, Path]) -> None:
    result = CliRunner().invoke(app, ["eval", "clv", str(split[0]), str(split[1])])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert re.fullmatch(r"mae=\d+\.\d{4} rmse=\d+\.\d{4}", lines[-1])
    assert "naive" in result.output


def test_liuyus_forecast_has_a_lower_mae_than_the_naive_purchase_rate(split: tuple[Path, Path]) -> None:
    output = CliRunner().invoke(app, ["eval", "clv", str(split[0]), str(split[1])]).output
    figures = dict(re.findall(r"│ (liuyu|naive)[^│]*│\s+([\d.]+)", output))
    assert float(figures["liuyu"]) < float(figures["naive"])
    assert output.strip().splitlines()[-1].startswith(f"mae={figures['liuyu']} ")


def test_a_holdout_that_ends_before_the_calibration_is_refused(tmp_path: Path) -> None:
    calibration = tmp_path / "calibration.txt"
    calibration.write_text(" 00001 19970101  1   11.77\n 00001 19970301  2   20.00\n")
    result = CliRunner().invoke(app, ["eval", "clv", str(calibration), str(calibration)], env={"COLUMNS": "300"})
    assert result.exit_code != 0
    assert "not after the calibration end" in result.output


def test_the_reader_skips_the_header_and_reads_both_layouts(tmp_path: Path) -> None:
    from datetime import date

    from liuyu.cli.eval_clv import read_cdnow

    four = tmp_path / "four.txt"
    four.write_text(" customer_id  date number_of_cds  dollar_value\n A01 19970101  1   11.77\n\n")
    five = tmp_path / "five.txt"
    five.write_text(" 00004 0001 19970118  2   29.73\n")
    assert list(read_cdnow(four)) == [("A01", date(1997, 1, 1), 11.77)]
    assert list(read_cdnow(five)) == [("00004", date(1997, 1, 18), 29.73)]


def test_a_bad_line_is_reported_with_its_file_and_line_number(tmp_path: Path) -> None:
    from liuyu.cli.eval_clv import read_cdnow
    from liuyu.domain.errors import InvalidInput

    bad = tmp_path / "bad.txt"
    bad.write_text(" 00001 19970101  1   11.77\n 00002 1997-01-02  1   12.00\n")
    with pytest.raises(InvalidInput, match=r"bad\.txt:2"):
        list(read_cdnow(bad))
