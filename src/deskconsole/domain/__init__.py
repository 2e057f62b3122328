"""The case life cycle as plain Python: no database, no screen, no I/O."""
