"""The planning database: models, engine and migrations."""

from planfuse.storage.database import Database, DatabaseConfigError

__all__ = ["Database", "DatabaseConfigError"]
