"""The ``vmctl`` console script: see vmctl/cli (the click CLI) and doc/cli.md."""

import sys

from vmctl.cli import main

if __name__ == "__main__":
    sys.exit(main())
