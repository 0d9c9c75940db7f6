"""Probabilistic identity matching: who may be one person although no strong identifier says so.

An edge package (Splink on DuckDB). It scores pairs of records and never merges anything:
the batch job in liuyu.jobs.identity_suggestions stores its pairs as suggestions for review.
"""

from liuyu.matching.probabilistic import LinkageModel, ScoredPair, score_pairs, train_linker

__all__ = ["LinkageModel", "ScoredPair", "score_pairs", "train_linker"]
