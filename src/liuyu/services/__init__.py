"""Use cases: handlers that take a unit of work and ports, and call the domain."""
