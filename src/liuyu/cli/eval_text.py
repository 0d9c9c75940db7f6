"""``liuyu eval sentiment|match|intent``: text models against their baselines."""

from __future__ import annotations

from liuyu.cli.eval import app  # noqa: F401  (commands are added here)
