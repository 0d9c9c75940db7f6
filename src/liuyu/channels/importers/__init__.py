"""Channel importers: channel files (marketplace exports, API dumps, till and login logs) to events.

A pure parsing layer: it reads, normalizes and explains bad rows; storing is the import
service's job. See docs/importers.md for every built-in layout.
"""

from liuyu.channels.importers.base import IMPORT_KINDS, ImportReader, RowResult, open_import

__all__ = ["IMPORT_KINDS", "ImportReader", "RowResult", "open_import"]
