"""Alembic migrations of the store's schema; run them with `timeline migrate` (`timeline.store.migrate`)."""
