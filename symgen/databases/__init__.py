"""Read-only database adapters (SQLite, DuckDB, PostgreSQL) that run generated SQL in a bounded worker process; every SQL stage executes through them."""
