"""Precision and recall of Splink linkage on public person-record sets with known truth.

Ground truth is pairwise: two records are a true pair when they belong to one entity (FEBRL
``rec-N-org`` / ``rec-N-dup-k`` share N; Splink sets share ``cluster``). Recall counts every
true pair, including those blocking never compares, and :class:`LinkageResult` reports how
many of them blocking missed. Each model trains without labels, as in production.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from liuyu.matching.probabilistic import LinkageModel, quiet_duckdb, train_linker

DATASETS = ("febrl", "fake_1000", "historical_50k")


def datasets_dir() -> Path:
    """``$LIUYU_DATASETS``, or ../shared/datasets beside the repository."""
    configured = os.environ.get("LIUYU_DATASETS")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[3] / ".." / "shared" / "datasets"


@dataclass(frozen=True, slots=True)
class LinkageResult:
    """Pairwise counts for one data set at one threshold."""

    dataset: str
    records: int
    true_pairs: int
    scored_pairs: int  # pairs blocking let through to the model
    true_pairs_blocked: int  # true pairs among them; the rest blocking missed
    predicted: int
    true_positives: int
    threshold: float
    seconds: float
    baseline_predicted: int = 0  # pairs the deterministic rules alone link (same-run baseline)
    baseline_true_positives: int = 0

    @property
    def precision(self) -> float:
        return self.true_positives / self.predicted if self.predicted else 0.0

    @property
    def baseline_precision(self) -> float:
        return self.baseline_true_positives / self.baseline_predicted if self.baseline_predicted else 0.0

    @property
    def baseline_recall(self) -> float:
        return self.baseline_true_positives / self.true_pairs if self.true_pairs else 0.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.true_pairs if self.true_pairs else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def missed_by_blocking(self) -> int:
        return self.true_pairs - self.true_pairs_blocked


def combined(results: list[LinkageResult]) -> LinkageResult:
    """All data sets as one pool of pairs (micro-averaged precision and recall)."""
    return LinkageResult(
        dataset="all",
        records=sum(r.records for r in results),
        true_pairs=sum(r.true_pairs for r in results),
        scored_pairs=sum(r.scored_pairs for r in results),
        true_pairs_blocked=sum(r.true_pairs_blocked for r in results),
        predicted=sum(r.predicted for r in results),
        true_positives=sum(r.true_positives for r in results),
        threshold=results[0].threshold if results else 0.0,
        seconds=sum(r.seconds for r in results),
        baseline_predicted=sum(r.baseline_predicted for r in results),
        baseline_true_positives=sum(r.baseline_true_positives for r in results),
    )


def _read_csv(path: Path, select: str) -> Any:
    """A pyarrow Table of the CSV, every column text, shaped by a DuckDB select list."""
    if not path.exists():
        raise FileNotFoundError(f"data set file not found: {path}")
    con = quiet_duckdb()
    try:
        quoted = str(path).replace("'", "''")
        return con.sql(f"SELECT {select} FROM read_csv('{quoted}', all_varchar = true, header = true)").to_arrow_table()
    finally:
        con.close()


_FEBRL_SELECT = (
    "rec_id AS unique_id, split_part(rec_id, '-', 2) AS entity, given_name, surname, street_number, "
    "address_1, suburb, postcode, state, date_of_birth, soc_sec_id"
)


def febrl_model(link_type: str = "dedupe_only") -> LinkageModel:
    import splink.comparison_library as cl
    from splink import block_on

    return LinkageModel(
        link_type=link_type,
        comparisons=[
            cl.NameComparison("given_name"),
            cl.NameComparison("surname"),
            cl.LevenshteinAtThresholds("date_of_birth", [1, 2]),
            cl.LevenshteinAtThresholds("soc_sec_id", [1, 2]),
            cl.ExactMatch("street_number"),
            cl.JaroWinklerAtThresholds("address_1", [0.9, 0.8]),
            cl.JaroWinklerAtThresholds("suburb", [0.9, 0.8]),
            cl.LevenshteinAtThresholds("postcode", [1, 2]),
            cl.ExactMatch("state"),
        ],
        prediction_rules=[
            block_on("given_name"),
            block_on("surname"),
            block_on("date_of_birth"),
            block_on("soc_sec_id"),
            block_on("postcode", "street_number"),
        ],
        training_rules=[block_on("given_name", "surname"), block_on("date_of_birth"), block_on("soc_sec_id")],
        deterministic_rules=[block_on("soc_sec_id", "date_of_birth"), block_on("given_name", "surname", "postcode")],
        deterministic_recall=0.6,
        retain_columns=["entity"],
    )


def fake_1000_model() -> LinkageModel:
    import splink.comparison_library as cl
    from splink import block_on

    return LinkageModel(
        link_type="dedupe_only",
        comparisons=[
            # Term frequencies: agreeing on a rare name or city says more than on a common one.
            cl.NameComparison("first_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("dob", input_is_string=True),
            cl.ExactMatch("city").configure(term_frequency_adjustments=True),
            cl.EmailComparison("email"),
        ],
        prediction_rules=[
            block_on("first_name"),
            block_on("surname"),
            block_on("dob"),
            block_on("email"),
            block_on("substr(first_name, 1, 2)", "substr(surname, 1, 2)"),
            block_on("city", "substr(dob, 1, 4)"),
            block_on("substr(dob, 1, 7)"),
            block_on("substr(first_name, 1, 3)"),
            block_on("substr(surname, 1, 3)"),
            block_on("city", "substr(email, 1, 3)"),
        ],
        training_rules=[block_on("first_name", "surname"), block_on("dob")],
        deterministic_rules=[block_on("first_name", "dob"), block_on("email")],
        deterministic_recall=0.7,
        retain_columns=["entity"],
    )


def historical_model() -> LinkageModel:
    import splink.comparison_library as cl
    from splink import block_on

    return LinkageModel(
        link_type="dedupe_only",
        comparisons=[
            cl.NameComparison("first_name"),
            cl.NameComparison("surname"),
            cl.DateOfBirthComparison("dob", input_is_string=True),
            cl.JaroWinklerAtThresholds("birth_place", [0.9]),
            cl.PostcodeComparison("postcode_fake"),
            cl.ExactMatch("gender"),
            cl.ExactMatch("occupation"),
        ],
        prediction_rules=[
            block_on("surname"),
            block_on("postcode_fake"),
            block_on("dob"),
            block_on("first_name", "birth_place"),
            block_on("birth_place", "occupation"),
        ],
        training_rules=[block_on("first_name", "surname"), block_on("dob")],
        deterministic_rules=[block_on("first_name", "surname", "dob"), block_on("postcode_fake", "dob")],
        deterministic_recall=0.7,
        retain_columns=["entity"],
    )


def _load(dataset: str, root: Path) -> tuple[list[Any], LinkageModel]:
    if dataset in {"febrl1", "febrl2", "febrl3"}:
        return [_read_csv(root / "febrl" / f"dataset{dataset[-1]}.csv", _FEBRL_SELECT)], febrl_model()
    if dataset == "febrl4":
        tables = [_read_csv(root / "febrl" / f"dataset4{side}.csv", _FEBRL_SELECT) for side in "ab"]
        return tables, febrl_model("link_only")
    if dataset == "fake_1000":
        select = "unique_id, cluster AS entity, first_name, surname, dob, city, email"
        return [_read_csv(root / "splink_datasets" / "fake_1000.csv", select)], fake_1000_model()
    if dataset == "historical_50k":
        select = (
            "unique_id, cluster AS entity, first_name, surname, dob, birth_place, postcode_fake, gender, occupation"
        )
        path = root / "splink_datasets" / "historical_figures_with_errors_50k.csv"
        return [_read_csv(path, select)], historical_model()
    raise ValueError(f"unknown data set {dataset!r}; choose from {', '.join(expand(['all']))}")


def expand(names: list[str]) -> list[str]:
    """Data set names as the CLI takes them (febrl = febrl1-4, all = every set) to single sets."""
    out: list[str] = []
    for name in names:
        if name == "all":
            out += expand(list(DATASETS))
        elif name == "febrl":
            out += ["febrl1", "febrl2", "febrl3", "febrl4"]
        else:
            out.append(name)
    return out


def evaluate(dataset: str, *, threshold: float = 0.9, root: Path | None = None) -> LinkageResult:
    """Train on the data set without labels, score every blocked pair, count against the truth."""
    started = time.perf_counter()
    tables, model = _load(dataset, root or datasets_dir())
    linker = train_linker(tables if len(tables) > 1 else tables[0], model)
    predictions = linker.inference.predict(warning_mode="never").as_duckdbpyrelation()
    scored, blocked_true, predicted, correct = predictions.aggregate(
        "count(*), "
        "count(*) FILTER (WHERE entity_l = entity_r), "
        f"count(*) FILTER (WHERE match_probability >= {float(threshold)}), "
        f"count(*) FILTER (WHERE match_probability >= {float(threshold)} AND entity_l = entity_r)"
    ).fetchall()[0]
    seconds = time.perf_counter() - started
    baseline_predicted, baseline_correct = _deterministic_baseline(tables, model)
    return LinkageResult(
        dataset=dataset,
        records=sum(table.num_rows for table in tables),
        true_pairs=_true_pair_count(tables, model.link_type),
        scored_pairs=int(scored),
        true_pairs_blocked=int(blocked_true),
        predicted=int(predicted),
        true_positives=int(correct),
        threshold=threshold,
        seconds=seconds,
        baseline_predicted=baseline_predicted,
        baseline_true_positives=baseline_correct,
    )


def _deterministic_baseline(tables: list[Any], model: LinkageModel) -> tuple[int, int]:
    """(pairs linked, of which true) by the model's near-certain rules alone, without any scoring."""
    import logging

    from splink import DuckDBAPI, Linker, SettingsCreator

    db_api = DuckDBAPI(quiet_duckdb())
    frames = [db_api.register(table) for table in tables]
    settings = SettingsCreator(
        link_type=model.link_type,  # type: ignore[arg-type]
        blocking_rules_to_generate_predictions=model.deterministic_rules,
        additional_columns_to_retain=model.retain_columns,
    )
    linker = Linker(frames if len(frames) > 1 else frames[0], settings, log_level=logging.ERROR)
    pairs = linker.inference.deterministic_link().as_duckdbpyrelation()
    linked, correct = pairs.aggregate("count(*), count(*) FILTER (WHERE entity_l = entity_r)").fetchall()[0]
    return int(linked), int(correct)


def _true_pair_count(tables: list[Any], link_type: str) -> int:
    """Pairs of records that share an entity: within one table, or across two for linkage."""
    counts = [_entity_counts(table) for table in tables]
    if link_type == "link_only":
        left, right = counts
        return sum(n * right.get(entity, 0) for entity, n in left.items())
    return sum(n * (n - 1) // 2 for table_counts in counts for n in table_counts.values())


def _entity_counts(table: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for entity in table.column("entity").to_pylist():
        counts[entity] = counts.get(entity, 0) + 1
    return counts


def evaluate_many(
    names: list[str],
    *,
    threshold: float = 0.9,
    root: Path | None = None,
    on_result: Callable[[LinkageResult], None] | None = None,
) -> list[LinkageResult]:
    results = []
    for dataset in expand(names):
        result = evaluate(dataset, threshold=threshold, root=root)
        if on_result:
            on_result(result)
        results.append(result)
    return results
