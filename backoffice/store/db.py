"""Engine and transactions. SQLite by default (a file under var/), PostgreSQL supported."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets readers (API) run beside a writer (roster import); FKs are off by default.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # no pre-ping: it doubles the round trips of a lookup; dead connections are recycled and
    # a disconnect invalidates the pool (that one request fails, the next reconnects)
    return create_engine(url, pool_recycle=1800, **kwargs)


class Database:
    """One engine and its session factory; `transaction()` is one unit of work."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self.sessions() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self.sessions() as session:
            yield session

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    def dispose(self) -> None:
        self.engine.dispose()


@contextmanager
def pipelined(session: Session) -> Iterator[None]:
    """Send the statements of the block to PostgreSQL together (psycopg pipeline mode): one
    round trip for a run of writes whose results are not needed in between. Elsewhere a no-op.
    Errors surface when the block ends, still inside the caller's transaction."""
    session.flush()
    driver = session.connection().connection.driver_connection
    pipeline = getattr(driver, "pipeline", None)
    if pipeline is None:
        yield
        return
    try:
        with pipeline():
            yield
            session.flush()
    except DBAPIError:
        raise
    except driver.Error as err:  # raised by the pipeline's sync, outside SQLAlchemy's wrapping
        raise DBAPIError.instance(None, None, err, type(driver).Error) from err
