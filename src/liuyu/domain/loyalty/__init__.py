"""domain/loyalty."""
