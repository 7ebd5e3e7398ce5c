"""vmctl-manage: operator tasks run against the database.

    vmctl-manage [--config-file F] db sync [--revision R]
    vmctl-manage [--config-file F] db version
    vmctl-manage [--config-file F] flavor create NAME --vcpus N --ram MB --disk GB [--id ID]
    vmctl-manage [--config-file F] fernet setup | rotate
    vmctl-manage [--config-file F] bootstrap --username U (--password P | --password-env VAR)
                                             --project P [--role admin | service]
    vmctl-manage [--config-file F] user create NAME (--password P | --password-env VAR)
    vmctl-manage [--config-file F] project create NAME
    vmctl-manage [--config-file F] role add --user U --project P --role R
    vmctl-manage [--config-file F] openapi [--output FILE]
    vmctl-manage compute-conf --output FILE --host NAME [--image-api-url URL]
                 [--libvirt-uri URI --host-dir DIR [--migration-uri U] [--host-ip IP]
                  [--virt-type T] [--transfer-address IP]
                  | --lab-env DATADIR/lab.env --lab-host N --host-dir DIR]
                 [--service-auth-url URL --service-username U --service-project P
                  --service-password-file FILE]

Passwords are best passed through --password-env (or typed at the prompt):
a --password on the command line is visible to every local user.
"""

import getpass
import logging
import os
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


def _password(args):
    """The password of --password, --password-env or the prompt."""
    if args.password is not None:
        return args.password
    if args.password_env:
        value = os.environ.get(args.password_env)
        if not value:
            raise SystemExit("environment variable %s is empty or unset" % args.password_env)
        return value
    if not sys.stdin.isatty():
        raise SystemExit("give --password or --password-env (no terminal to prompt on)")
    first = getpass.getpass("Password: ")
    if not first or first != getpass.getpass("Again: "):
        raise SystemExit("passwords are empty or do not match")
    return first


def _with_db(conf, work):
    from vmctl.db import api as db_api
    from vmctl.identity import exception as identity_exc

    database = db_api.Database.from_conf(conf)
    try:
        return work(database)
    except (identity_exc.IdentityConflict, exception.NotFound) as exc:
        print(exc, file=sys.stderr)
        return 1
    finally:
        database.dispose()


def fernet_setup(conf, args):
    from vmctl.identity import tokens

    path = conf.identity.key_repository
    before = os.path.isdir(path) and tokens.key_ids(path)
    ids = tokens.setup(path, conf.identity.max_active_keys)
    print("Key repository %s %s: keys %s." % (
        path, "already set up" if before else "created", ", ".join(map(str, ids))))
    return 0


def fernet_rotate(conf, args):
    from vmctl.identity import tokens

    path = conf.identity.key_repository
    try:
        ids = tokens.rotate(path, conf.identity.max_active_keys)
    except tokens.KeyRepositoryError as exc:
        print(exc, file=sys.stderr)
        return 1
    print("Rotated %s: primary key %d, keys %s." % (path, max(ids),
                                                    ", ".join(map(str, ids))))
    return 0


def bootstrap(conf, args):
    from vmctl.identity import bootstrap as identity_bootstrap

    password = _password(args)

    def work(database):
        for line in identity_bootstrap.bootstrap(database, args.username, password,
                                                 args.project_name,
                                                 conf.identity.password_hash_rounds,
                                                 role=args.role):
            print(line)
        return 0
    return _with_db(conf, work)


def user_create(conf, args):
    from vmctl.db import identity as db_identity
    from vmctl.identity import passwords

    password = _password(args)

    def work(database):
        with database.transaction() as session:
            project_id = None
            if args.project:
                project_id = _project(session, args.project).id
            row = db_identity.create_user(session, {
                "name": args.user_name,
                "password_hash": passwords.hash_password(
                    password, conf.identity.password_hash_rounds),
                "default_project_id": project_id})
            print("Created user %s (id %s)." % (row.name, row.id))
        return 0
    return _with_db(conf, work)


def project_create(conf, args):
    from vmctl.db import identity as db_identity

    def work(database):
        with database.transaction() as session:
            row = db_identity.create_project(session, {"name": args.project_name,
                                                       "description": args.description})
            print("Created project %s (id %s)." % (row.name, row.id))
        return 0
    return _with_db(conf, work)


def role_add(conf, args):
    from vmctl.identity import bootstrap as identity_bootstrap

    def work(database):
        with database.transaction() as session:
            user = _user(session, args.user)
            project = _project(session, args.project)
            identity_bootstrap.grant(session, user, project, args.role)
        print("Granted %s to %s on %s." % (args.role, args.user, args.project))
        return 0
    return _with_db(conf, work)


def _user(session, name_or_id):
    """A user by name (default domain), else by id (UserNotFound)."""
    from vmctl.db import identity as db_identity

    return (db_identity.find_user(session, name_or_id)
            or db_identity.get_user(session, name_or_id))


def _project(session, name_or_id):
    """A project by name (default domain), else by id (ProjectNotFound)."""
    from vmctl.db import identity as db_identity

    return (db_identity.find_project(session, name_or_id)
            or db_identity.get_project(session, name_or_id))


def openapi_write(conf, args):
    """The API's OpenAPI document (as GET /v2.1/openapi.json serves it)."""
    import json

    from vmctl.api import openapi

    text = json.dumps(openapi.document(conf), indent=2, sort_keys=True) + "\n"
    if args.output in (None, "-"):
        sys.stdout.write(text)
    else:
        with open(args.output, "w") as f:
            f.write(text)
    return 0


def compute_conf_write(conf, args):
    """Write one compute agent's file (vmctl.deploy.compute_conf), mode 0600."""
    from vmctl.deploy import compute_conf

    if args.lab_env and args.libvirt_uri:
        raise SystemExit("give --lab-env or --libvirt-uri, not both")
    libvirt = None
    if args.lab_env or args.libvirt_uri:
        if not args.host_dir:
            raise SystemExit("--host-dir is needed with a libvirt host")
    if args.lab_env:
        if args.lab_host is None:
            raise SystemExit("--lab-env needs --lab-host N")
        try:
            libvirt = compute_conf.lab_host(compute_conf.read_lab_env(args.lab_env),
                                            args.lab_host, args.host_dir)
        except KeyError as exc:
            raise SystemExit("%s names no lab host %d (%s)" % (args.lab_env, args.lab_host,
                                                              exc)) from None
    elif args.libvirt_uri:
        libvirt = compute_conf.LibvirtHost(
            connection_uri=args.libvirt_uri, host_dir=args.host_dir,
            migration_uri=args.migration_uri or "", host_ip=args.host_ip or "",
            virt_type=args.virt_type, transfer_address=args.transfer_address or "")
    compute_conf.write(args.output, compute_conf.compute_groups(
        args.compute_host, libvirt=libvirt, image_api_url=args.image_api_url,
        service_user=_service_user(args)), header=args.header)
    print("Wrote %s (mode 0600)." % args.output)
    return 0


def _service_user(args):
    """The ServiceUser of the --service-* options (password read from a file), or None."""
    from vmctl.deploy import compute_conf

    given = (args.service_auth_url, args.service_username, args.service_password_file)
    if not any(given):
        return None
    if not all(given):
        raise SystemExit("--service-auth-url, --service-username and "
                         "--service-password-file go together")
    with open(args.service_password_file) as f:
        password = f.read().strip()
    if not password:
        raise SystemExit("%s is empty" % args.service_password_file)
    return compute_conf.ServiceUser(auth_url=args.service_auth_url,
                                    username=args.service_username, password=password,
                                    project_name=args.service_project)


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
    _add_identity_commands(subparsers)

    spec = subparsers.add_parser("openapi", help="write the API's OpenAPI document")
    spec.add_argument("--output", default=None, help="file to write (default: stdout)")
    spec.set_defaults(func=openapi_write)
    _add_compute_conf_command(subparsers)


def _add_password_args(parser):
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--password", default=None,
                       help="the password (visible to local users: prefer --password-env)")
    group.add_argument("--password-env", metavar="VAR", default=None,
                       help="read the password from environment variable VAR")


def _add_identity_commands(subparsers):
    fernet = subparsers.add_parser("fernet", help="token keys ([identity] key_repository)")
    fernet_actions = fernet.add_subparsers(dest="action", metavar="ACTION")
    fernet_actions.required = True
    fernet_actions.add_parser("setup", help="create the key repository").set_defaults(
        func=fernet_setup)
    fernet_actions.add_parser("rotate", help="rotate the keys").set_defaults(
        func=fernet_rotate)

    boot = subparsers.add_parser("bootstrap", help="roles, first admin user and project")
    boot.add_argument("--username", default="admin")
    boot.add_argument("--project", dest="project_name", default="admin")
    boot.add_argument("--role", default="admin",
                      help="role given on the project: admin (the first administrator), "
                      "or service for a service user such as the computes'")
    _add_password_args(boot)
    boot.set_defaults(func=bootstrap)

    user = subparsers.add_parser("user", help="identity users")
    user_actions = user.add_subparsers(dest="action", metavar="ACTION")
    user_actions.required = True
    create = user_actions.add_parser("create", help="create a user")
    create.add_argument("user_name", metavar="NAME")
    create.add_argument("--project", default=None, help="default project (name or id)")
    _add_password_args(create)
    create.set_defaults(func=user_create)

    project = subparsers.add_parser("project", help="identity projects")
    project_actions = project.add_subparsers(dest="action", metavar="ACTION")
    project_actions.required = True
    create = project_actions.add_parser("create", help="create a project")
    create.add_argument("project_name", metavar="NAME")
    create.add_argument("--description", default=None)
    create.set_defaults(func=project_create)

    role = subparsers.add_parser("role", help="role assignments")
    role_actions = role.add_subparsers(dest="action", metavar="ACTION")
    role_actions.required = True
    add = role_actions.add_parser("add", help="give a user a role on a project "
                                  "(admin implies member and reader, member implies reader)")
    add.add_argument("--user", required=True, help="name or id")
    add.add_argument("--project", required=True, help="name or id")
    add.add_argument("--role", required=True, help="admin, member, reader or another")
    add.set_defaults(func=role_add)


def _add_compute_conf_command(subparsers):
    cc = subparsers.add_parser(
        "compute-conf", help="write the configuration file of one compute agent")
    cc.add_argument("--output", required=True, help="the file to write (mode 0600)")
    cc.add_argument("--host", dest="compute_host", required=True, help="[DEFAULT] host")
    cc.add_argument("--image-api-url", default=None, help="the image service's URL")
    cc.add_argument("--header", default=None, help="a comment put on top of the file")
    cc.add_argument("--host-dir", default=None,
                    help="libvirt: where instances/ and the image cache _base/ go")
    cc.add_argument("--libvirt-uri", default=None, help="libvirt: [libvirt] connection_uri")
    cc.add_argument("--migration-uri", default=None, help="libvirt: [libvirt] migration_uri")
    cc.add_argument("--host-ip", default=None, help="libvirt: this host's address")
    cc.add_argument("--virt-type", default="kvm", choices=("kvm", "qemu"))
    cc.add_argument("--transfer-address", default=None,
                    help="libvirt: the cold-migration disk endpoint's listen and "
                    "advertised address (default: listen everywhere, advertise host_ip)")
    cc.add_argument("--lab-env", default=None,
                    help="libvirt on a kvm lab host (tools/kvm-lab/hosts.sh): its lab.env")
    cc.add_argument("--lab-host", type=positive_int, default=None,
                    help="with --lab-env: the lab host's number N (hN)")
    cc.add_argument("--service-auth-url", default=None, help="[service_user] auth_url")
    cc.add_argument("--service-username", default=None, help="[service_user] username")
    cc.add_argument("--service-project", default="service",
                    help="[service_user] project_name")
    cc.add_argument("--service-password-file", default=None,
                    help="a file holding the service user's password (never on the "
                    "command line)")
    cc.set_defaults(func=compute_conf_write)


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
