"""``python -m vmctl.cmd.cli``: the vmctl CLI (vmctl/cli, doc/cli.md).

The ``vmctl`` console script calls ``vmctl.cli.main`` directly; this shim
keeps the old module path working and exits like a console script.
"""

import sys

from vmctl import cli


def main():
    sys.exit(cli.main())


if __name__ == "__main__":
    main()
