"""Probabilistic record linkage with Splink on DuckDB: records in, scored pairs out.

A model is described as data (:class:`LinkageModel`): how two records are compared, which
pairs are scored at all (blocking), and how it learns its weights without labels
(u by random sampling, the prior from near-certain rules, m by expectation maximisation).
Nothing here merges anything; callers decide what a score means.

Splink and DuckDB are imported inside the functions so that importing liuyu stays fast.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from splink import Linker

#: Fewer pairs than this teach EM or the prior estimate nothing reliable.
MIN_PAIRS_TO_LEARN = 50

#: One table of records: rows as dicts, a dict of columns, or a pyarrow Table.
Records = Sequence[Mapping[str, Any]] | Mapping[str, Sequence[Any]] | Any


@dataclass(frozen=True, slots=True)
class LinkageModel:
    """A Splink model as data.

    ``training_rules`` are EM blocking rules: each one trains the comparisons it does not
    block on, so together they must leave every comparison free at least once.
    ``deterministic_rules`` admit almost no false matches; they estimate how likely two
    random records are the same person, assuming they find ``deterministic_recall`` of them.
    Below ``min_records_to_train`` records there is too little to learn from, so the
    priors set on the comparison levels are used as they are.
    """

    link_type: str
    comparisons: list[Any]
    prediction_rules: list[Any]
    training_rules: list[Any]
    deterministic_rules: list[Any]
    deterministic_recall: float = 0.7
    min_records_to_train: int = 300
    prior_duplicates_per_record: float = 0.05
    retain_columns: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ScoredPair:
    """Two records that may be the same person, with the evidence per comparison."""

    left: Any
    right: Any
    probability: float
    match_weight: float
    levels: dict[str, str]
    weights: dict[str, float]


def train_linker(tables: Records | list[Records], model: LinkageModel, *, seed: int = 42) -> Linker:
    """A Splink linker on an in-memory DuckDB, trained on the records themselves (no labels)."""
    from splink import DuckDBAPI, Linker, SettingsCreator

    inputs = tables if isinstance(tables, list) else [tables]
    db_api = DuckDBAPI(quiet_duckdb())
    frames = [db_api.register(table) for table in inputs]
    record_count = sum(frame.as_duckdbpyrelation().shape[0] for frame in frames)
    settings = SettingsCreator(
        link_type=model.link_type,  # type: ignore[arg-type]
        comparisons=model.comparisons,
        blocking_rules_to_generate_predictions=model.prediction_rules,
        probability_two_random_records_match=_prior_match_probability(record_count, model),
        retain_intermediate_calculation_columns=True,
        retain_matching_columns=True,  # also keeps the gamma (level) columns
        additional_columns_to_retain=model.retain_columns,
    )
    linker = Linker(frames if len(frames) > 1 else frames[0], settings, log_level=logging.ERROR)
    if record_count < model.min_records_to_train:
        return linker
    training = linker.training
    # Each step needs pairs to learn from; where there are too few, the prior stays.
    if _pair_count(frames, model.deterministic_rules, model.link_type) >= MIN_PAIRS_TO_LEARN:
        training.estimate_probability_two_random_records_match(
            model.deterministic_rules, recall=model.deterministic_recall
        )
    pairs = record_count * (record_count - 1) / 2
    training.estimate_u_using_random_sampling(max_pairs=min(pairs, 1e6), seed=seed)
    for rule in model.training_rules:
        if _pair_count(frames, [rule], model.link_type) >= MIN_PAIRS_TO_LEARN:
            training.estimate_parameters_using_expectation_maximisation(rule, max_pairs=5e6)
    return linker


def _pair_count(frames: list[Any], rules: list[Any], link_type: str) -> int:
    """How many pairs any of ``rules`` admits (exact count)."""
    from splink.blocking_analysis import count_comparisons_from_blocking_rules

    counts = count_comparisons_from_blocking_rules(
        frames if len(frames) > 1 else frames[0],
        blocking_rules=rules,
        link_type=link_type,  # type: ignore[arg-type]
        record_sample_proportion=1.0,
    )
    return int(counts[-1]["cumulative_comparison_count"]) if counts else 0


def quiet_duckdb() -> Any:
    """An in-memory DuckDB that does not draw progress bars over the CLI's output."""
    import duckdb

    connection = duckdb.connect()
    connection.execute("SET enable_progress_bar = false")
    return connection


def _prior_match_probability(record_count: int, model: LinkageModel) -> float:
    """The untrained prior: each record has ``prior_duplicates_per_record`` look-alikes."""
    pairs = max(record_count * (record_count - 1) / 2, 1.0)
    return min(max(model.prior_duplicates_per_record * record_count / 2 / pairs, 1e-9), 0.5)


def score_pairs(
    tables: Records | list[Records], model: LinkageModel, *, threshold: float = 0.9, seed: int = 42
) -> list[ScoredPair]:
    """Pairs whose match probability is at least ``threshold``, best first."""
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be between 0 and 1, not {threshold}")
    linker = train_linker(tables, model, seed=seed)
    # Splink turns the threshold into a match weight, which is infinite at 1.0.
    predictions = linker.inference.predict(threshold_match_probability=min(threshold, 0.999999), warning_mode="never")
    labels = level_labels(linker)
    pairs = [_scored_pair(row, labels) for row in predictions.as_record_list()]
    pairs = [pair for pair in pairs if pair.probability >= threshold]
    pairs.sort(key=lambda pair: (-pair.probability, str(pair.left), str(pair.right)))
    return pairs


def level_labels(linker: Linker) -> dict[str, dict[int, str]]:
    """For each comparison, the label of each level by its gamma value (-1 is 'missing')."""
    model = linker.misc.save_model_to_json()
    labels: dict[str, dict[int, str]] = {}
    for comparison in model["comparisons"]:
        levels = comparison["comparison_levels"]
        counter = sum(1 for level in levels if not level.get("is_null_level")) - 1
        by_gamma: dict[int, str] = {}
        for level in levels:
            label = level.get("label_for_charts") or level["sql_condition"]
            if level.get("is_null_level"):
                by_gamma[-1] = label
            else:
                by_gamma[counter] = label
                counter -= 1
        labels[comparison["output_column_name"]] = by_gamma
    return labels


def _scored_pair(row: Mapping[str, Any], labels: Mapping[str, Mapping[int, str]]) -> ScoredPair:
    levels = {name: by_gamma.get(int(row[f"gamma_{name}"]), "?") for name, by_gamma in labels.items()}
    weights = {name: round(float(row[f"mw_{name}"]), 3) for name in labels}
    return ScoredPair(
        left=row["unique_id_l"],
        right=row["unique_id_r"],
        probability=float(row["match_probability"]),
        match_weight=float(row["match_weight"]),
        levels=levels,
        weights=weights,
    )
