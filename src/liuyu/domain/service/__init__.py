"""domain/service."""
