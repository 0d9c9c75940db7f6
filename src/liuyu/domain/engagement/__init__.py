"""domain/engagement."""
