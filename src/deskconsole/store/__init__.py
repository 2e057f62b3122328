"""Persistence: SQLModel tables and the engine factory (SQLite default, PostgreSQL by URL)."""
