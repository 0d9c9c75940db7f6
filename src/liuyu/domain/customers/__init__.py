"""Customers: identifiers, identity resolution, profiles."""
