"""vmctl: the command-line client of a vmctl cloud (click + rich).

    vmctl [--os-cloud NAME | --os-auth-url ... ] [--debug] GROUP COMMAND ...

Configuration is read like the OpenStack client's (config.py); see
doc/cli.md. Every failure is one ``vmctl: error: ...`` line on stderr with
exit code 1; usage errors exit with 2, as click does.
"""

import sys

import click

from vmctl.cli import config as cli_config
from vmctl.cli import session as cli_session
from vmctl.cli.app import App
from vmctl.cli.flavors import flavor_group
from vmctl.cli.hosts import host_group
from vmctl.cli.hosts import hypervisor_group
from vmctl.cli.hosts import service_group
from vmctl.cli.images import image_group
from vmctl.cli.migrations import migration_group
from vmctl.cli.moves import live_migrate  # noqa: F401  (registers server moves)
from vmctl.cli.output import CLIError
from vmctl.cli.servers import server_group

PROG = "vmctl"

# --os-* option -> config key (see config.AUTH_VARS / CLOUD_VARS).
OS_OPTIONS = [
    ("--os-auth-type", "auth_type", "Auth type: password, token, admin_token or noauth."),
    ("--os-auth-url", "auth_url", "Identity (Keystone v3) URL."),
    ("--os-username", "username", "User name."),
    ("--os-password", "password", "Password."),
    ("--os-project-name", "project_name", "Project to scope to."),
    ("--os-project-id", "project_id", "Project id to scope to."),
    ("--os-user-domain-name", "user_domain_name", "The user's domain (Default)."),
    ("--os-project-domain-name", "project_domain_name", "The project's domain (Default)."),
    ("--os-region-name", "region_name", "Region of the endpoints."),
    ("--os-interface", "interface", "Endpoint interface: public, internal or admin."),
    ("--os-compute-api-version", "compute_api_version", "Compute API microversion."),
    ("--os-token", "token", "A token (auth type token)."),
    ("--os-endpoint", "endpoint", "The API endpoint (auth types token and noauth)."),
]


def os_options(func):
    for flag, key, help_text in reversed(OS_OPTIONS):
        func = click.option(flag, key, metavar="VALUE", help=help_text)(func)
    return func


@click.group(context_settings={"help_option_names": ["-h", "--help"],
                               "max_content_width": 100})
@click.option("--os-cloud", "cloud", metavar="NAME", help="Cloud of clouds.yaml (OS_CLOUD).")
@os_options
@click.option("--debug", is_flag=True, help="Trace HTTP requests (tokens redacted).")
@click.option("--timeout", "http_timeout", type=click.FloatRange(min=1), default=60.0,
              show_default=True, help="Seconds one HTTP request may take.")
@click.option("--json", "json_flag", is_flag=True, help="Same as -f json on the command.")
@click.version_option(package_name="vmctl", prog_name=PROG)
@click.pass_context
def cli(ctx, debug, http_timeout, json_flag, **options):
    """The vmctl cloud's command-line client."""
    ctx.obj = App(options, debug=debug, timeout=http_timeout,
                  fmt="json" if json_flag else None)


for _group in (server_group, migration_group, host_group, flavor_group, image_group,
               service_group, hypervisor_group):
    cli.add_command(_group)


def main(argv=None):
    """Run the CLI; the exit code (0 ok, 1 error, 2 usage error, 130 interrupted)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        rv = cli.main(args=argv, prog_name=PROG, standalone_mode=False)
    except click.exceptions.UsageError as exc:
        exc.show()
        return exc.exit_code
    except click.ClickException as exc:
        CLIError(exc.format_message()).show()
        return 1
    except (cli_session.ApiError, cli_config.ConfigError) as exc:
        CLIError(str(exc)).show()
        return 1
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("%s: interrupted" % PROG, err=True)
        return 130
    except BrokenPipeError:
        return 1
    except Exception as exc:  # a bug: one line, the traceback only with --debug
        if "--debug" in argv:
            raise
        CLIError("unexpected %s: %s (run with --debug for the traceback)"
                 % (type(exc).__name__, exc)).show()
        return 1
    return rv if isinstance(rv, int) else 0


if __name__ == "__main__":
    sys.exit(main())
