"""Placeholder so the area-table import block in tables.py is never empty; areas add their own modules."""
