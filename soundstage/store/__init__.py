"""The database: engines, migrations and tables.

    engine = open_store(settings)          # connect + migrate to head; StoreError if not
    with Session(engine) as session: ...   # plain SQLAlchemy 2 from there

Other packages put their SQL next to their logic (see `soundstage.jobs.queue`) and their
tables in `schema.py` plus a migration file.
"""

from soundstage.store.db import (
    current_revision,
    head_revision,
    make_engine,
    open_store,
    parse_url,
    translate_errors,
    upgrade,
)
from soundstage.store.schema import Base, Job, utcnow

__all__ = [
    "Base",
    "Job",
    "current_revision",
    "head_revision",
    "make_engine",
    "open_store",
    "parse_url",
    "translate_errors",
    "upgrade",
    "utcnow",
]
