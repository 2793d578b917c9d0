"""Generate an Alembic migration from the models: `python scripts/new_migration.py 0002 "message"`.

Autogenerates against a scratch SQLite database upgraded to the current head, so the new
revision holds exactly the difference between the migrations and the models.
"""

import sys
import tempfile
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine

from planfuse.storage.database import alembic_config, upgrade_schema


def main() -> None:
    rev_id, message = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{Path(tmp) / 'scratch.db'}")
        upgrade_schema(engine)
        command.revision(alembic_config(engine), message=message, autogenerate=True, rev_id=rev_id)
        engine.dispose()


if __name__ == "__main__":
    main()
