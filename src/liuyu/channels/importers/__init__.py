"""channels/importers."""
