"""Engine and transactions. One ``Database`` per process, passed in."""

import contextlib
import os

import sqlalchemy
from sqlalchemy import event
from sqlalchemy import orm

# The largest integer id column value on every backend (a signed 32-bit INT).
MAX_ID = 2147483647


class Database:
    def __init__(self, url, pool_size=10, recycle=3600, busy_timeout_ms=30000):
        self.url = sqlalchemy.engine.make_url(url)
        kwargs = {"future": True}
        if self.url.get_backend_name() == "sqlite":
            _ensure_sqlite_dir(self.url)
            kwargs["connect_args"] = {"check_same_thread": False,
                                      "timeout": busy_timeout_ms / 1000.0}
        else:
            kwargs.update(pool_size=pool_size, max_overflow=pool_size * 2,
                          pool_recycle=recycle, pool_pre_ping=True)
            if self.url.get_backend_name() == "mysql":
                kwargs["isolation_level"] = "READ COMMITTED"
        self.engine = sqlalchemy.create_engine(self.url, **kwargs)
        if self.url.get_backend_name() == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin_immediate)
        self._sessionmaker = orm.sessionmaker(self.engine, expire_on_commit=False)
        self._reader_sessionmaker = orm.sessionmaker(
            self.engine.execution_options(vmctl_reader=True),
            expire_on_commit=False)

    @classmethod
    def from_conf(cls, conf):
        db = conf.database
        return cls(db.connection, db.max_pool_size, db.connection_recycle_time,
                   db.busy_timeout_ms)

    @contextlib.contextmanager
    def transaction(self):
        """A session inside one transaction: committed on success."""
        with self._sessionmaker() as session, session.begin():
            yield session

    @contextlib.contextmanager
    def reader(self):
        """A read-only session (on SQLite it does not take the write lock)."""
        with self._reader_sessionmaker() as session, session.begin():
            yield session

    def dispose(self):
        self.engine.dispose()


def _ensure_sqlite_dir(url):
    if url.database and url.database != ":memory:":
        os.makedirs(os.path.dirname(os.path.abspath(url.database)), exist_ok=True)


def _sqlite_pragmas(dbapi_conn, _record):
    # pysqlite's own transaction handling is turned off so "begin" below
    # takes the write lock up front: concurrent processes then queue on the
    # busy timeout instead of failing half-way through a transaction.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _sqlite_begin_immediate(conn):
    if conn.get_execution_options().get("vmctl_reader"):
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def int_id(value):
    """``value`` as an integer row id, or None when it is not one: only ASCII
    digits ("²".isdigit() is true, int("²") fails) within MAX_ID (a larger
    number overflows the column's type in SQL)."""
    text = str(value)
    if text.isascii() and text.isdigit() and int(text) <= MAX_ID:
        return int(text)
    return None
