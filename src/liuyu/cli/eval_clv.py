"""``liuyu eval clv``: BG/NBD purchase predictions on CDNOW-format files."""

from __future__ import annotations

from liuyu.cli.eval import app  # noqa: F401  (commands are added here)
