"""vmctl-manage: operator tasks run against the database.

    vmctl-manage [--config-file F] db sync [--revision R]
    vmctl-manage [--config-file F] db version
    vmctl-manage [--config-file F] flavor create NAME --vcpus N --ram MB --disk GB [--id ID]
"""

import logging
import sys
import uuid

from oslo_config import cfg
from oslo_log import log as oslo_log

from vmctl import exception
from vmctl import version
from vmctl.cmd import common

BINARY = "vmctl-manage"


def db_sync(conf, args):
    from vmctl.db import migration

    url = conf.database.connection
    before = migration.current(url)
    migration.upgrade(url, args.revision)
    after = migration.current(url)
    if before == after:
        print(f"Database already at revision {after}.")
    else:
        print(f"Database migrated from revision {before} to {after}.")
    return 0


def db_version(conf, args):
    from vmctl.db import migration

    print(migration.current(conf.database.connection) or "None")
    return 0


def flavor_create(conf, args):
    from vmctl.db import api as db_api
    from vmctl.db import flavors

    values = {
        "flavorid": args.flavor_id or str(uuid.uuid4()),
        "name": args.flavor_name,
        "vcpus": args.vcpus,
        "memory_mb": args.ram,
        "root_gb": args.disk,
        "ephemeral_gb": args.ephemeral,
        "swap": args.swap,
        "is_public": not args.private,
    }
    database = db_api.Database.from_conf(conf)
    try:
        with database.transaction() as session:
            if args.if_missing and _flavor_named(session, args.flavor_name):
                print(f"Flavor {args.flavor_name} already exists.")
                return 0
            flavors.create(session, values)
    except exception.FlavorExists as exc:
        print(exc, file=sys.stderr)
        return 1
    finally:
        database.dispose()
    print(f"Created flavor {values['name']} (id {values['flavorid']}).")
    return 0


def _flavor_named(session, name):
    import sqlalchemy as sa

    from vmctl.db import models

    query = sa.select(models.Flavor).filter_by(name=name)
    return session.scalars(query).first() is not None


def non_negative_int(text):
    value = int(text)
    if value < 0:
        raise ValueError(text)
    return value


def positive_int(text):
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


def _add_commands(subparsers):
    """Build the argparse tree (oslo.config SubCommandOpt handler)."""
    subparsers.required = True
    db = subparsers.add_parser("db", help="database schema")
    db_actions = db.add_subparsers(dest="action", metavar="ACTION")
    db_actions.required = True
    sync = db_actions.add_parser("sync", help="migrate the schema (to head by default)")
    sync.add_argument("--revision", default="head", help="alembic revision to reach")
    sync.set_defaults(func=db_sync)
    db_actions.add_parser("version", help="print the schema revision").set_defaults(
        func=db_version)

    flavor = subparsers.add_parser("flavor", help="flavors")
    flavor_actions = flavor.add_subparsers(dest="action", metavar="ACTION")
    flavor_actions.required = True
    create = flavor_actions.add_parser("create", help="create a flavor")
    create.add_argument("flavor_name", metavar="NAME")
    create.add_argument("--vcpus", type=positive_int, required=True)
    create.add_argument("--ram", type=positive_int, required=True, help="memory in MiB")
    create.add_argument("--disk", type=non_negative_int, required=True, help="root disk in GiB")
    create.add_argument("--ephemeral", type=non_negative_int, default=0, help="GiB")
    create.add_argument("--swap", type=non_negative_int, default=0, help="MiB")
    create.add_argument("--id", dest="flavor_id", default=None,
                        help="flavor id (default: a new UUID)")
    create.add_argument("--private", action="store_true", help="not public")
    create.add_argument("--if-missing", action="store_true",
                        help="succeed without change if a flavor of that name exists")
    create.set_defaults(func=flavor_create)


def parse(argv=None):
    conf = common.make_conf()
    # Command output goes to stdout (scripts parse it), logs to stderr.
    conf.set_default("use_stderr", True)
    conf.register_cli_opt(cfg.SubCommandOpt(
        "category", title="Commands", handler=_add_commands))
    conf(sys.argv[1:] if argv is None else argv, project="vmctl", prog=BINARY,
         version=version.VERSION)
    return conf


def main(argv=None):
    conf = parse(argv)
    oslo_log.setup(conf, "vmctl")
    if not conf.debug:
        logging.getLogger("alembic").setLevel(logging.WARNING)
    return conf.category.func(conf, conf.category)


if __name__ == "__main__":
    sys.exit(main())
