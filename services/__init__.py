"""Linli business rules and queries. Never imports `api` or `workers`."""
