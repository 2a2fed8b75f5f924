"""Storage: SQLAlchemy models, data access and Alembic migrations."""
