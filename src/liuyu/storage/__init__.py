"""SQLAlchemy storage: schema, engine, repositories and read queries."""
