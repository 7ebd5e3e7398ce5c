"""Alembic migrations of the vmctl database.

They live inside the package so an installed vmctl can migrate its database
without a source tree; ``vmctl.db.migration`` builds the alembic Config in
code (there is no alembic.ini). ``env.py`` and ``versions/`` are alembic
scripts, loaded by alembic and never imported as ordinary modules.
"""
