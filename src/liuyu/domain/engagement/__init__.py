"""Engagement: know each small group of customers (segments, RFM, lifecycle) and act on it.

Pure functions over plain data; storage compiles segments to SQL and computes the rows.
"""

from __future__ import annotations

from liuyu.domain.engagement.lifecycle import LifecycleVerdict, LifecycleWindows, Stage, stage_of
from liuyu.domain.engagement.rfm import BuyerRow, RfmScore, score
from liuyu.domain.engagement.segment import SegmentSyntaxError, explain, from_json, parse, to_json, to_text

__all__ = [
    "BuyerRow",
    "LifecycleVerdict",
    "LifecycleWindows",
    "RfmScore",
    "SegmentSyntaxError",
    "Stage",
    "explain",
    "from_json",
    "parse",
    "score",
    "stage_of",
    "to_json",
    "to_text",
]
