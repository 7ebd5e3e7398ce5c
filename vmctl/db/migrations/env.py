"""Alembic environment for vmctl.

``vmctl.db.migration`` passes an open connection in
``config.attributes["connection"]``; the plain ``sqlalchemy.url`` option is
only used when alembic runs offline (``--sql``) or without a connection.
"""

from alembic import context
import sqlalchemy

from vmctl.db import models

TARGET_METADATA = models.Base.metadata


def _configure_kwargs(dialect_name):
    return {
        "target_metadata": TARGET_METADATA,
        "compare_type": True,
        # SQLite cannot ALTER most things: later revisions use batch mode.
        "render_as_batch": dialect_name == "sqlite",
        # MySQL/MariaDB cannot roll DDL back: commit each revision on its own
        # so a failure leaves the version table pointing at the last good one.
        "transaction_per_migration": True,
    }


def run_offline(config):
    url = sqlalchemy.engine.make_url(config.get_main_option("sqlalchemy.url"))
    context.configure(url=url, literal_binds=True,
                      **_configure_kwargs(url.get_backend_name()))
    with context.begin_transaction():
        context.run_migrations()


def run_online(config):
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_with(connection)
        return
    engine = sqlalchemy.create_engine(config.get_main_option("sqlalchemy.url"))
    try:
        with engine.connect() as connection:
            _run_with(connection)
    finally:
        engine.dispose()


def _run_with(connection):
    context.configure(connection=connection,
                      **_configure_kwargs(connection.dialect.name))
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline(context.config)
else:
    run_online(context.config)
