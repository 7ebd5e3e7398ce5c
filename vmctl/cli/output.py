"""How results are printed: a table (rich), JSON, or bare values, like OSC.

A list is printed from ``columns`` — (header, function of the item) pairs —
and a single record as Field/Value rows. ``-c NAME`` keeps only the named
columns (headers or record keys, case-insensitive), in the order given.
"""

import json
import sys

import click
from rich import box
from rich.console import Console
from rich.table import Table

FORMATS = ("table", "json", "value")


class CLIError(click.ClickException):
    """A failure shown as one ``vmctl: error: ...`` line, exit code 1."""

    def show(self, file=None):
        click.echo("vmctl: error: %s" % self.format_message(), err=True, file=file)


def cell(value):
    """How one value reads in a table cell or a ``value`` line."""
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def select(names, wanted):
    """The indexes of ``wanted`` among ``names`` (case-insensitive)."""
    if not wanted:
        return list(range(len(names)))
    lowered = [n.lower() for n in names]
    found = []
    for name in wanted:
        if name.lower() not in lowered:
            raise CLIError("unknown column %r (columns: %s)" % (name, ", ".join(names)))
        found.append(lowered.index(name.lower()))
    return found


class Output:
    def __init__(self, fmt="table", columns=(), stream=None):
        self.fmt = fmt
        self.columns = list(columns or ())
        self.stream = stream if stream is not None else sys.stdout

    # --- entry points ---------------------------------------------------------------
    def list(self, columns, items):
        headers = [c[0] for c in columns]
        keep = select(headers, self.columns)
        headers = [headers[i] for i in keep]
        rows = [[columns[i][1](item) for i in keep] for item in items]
        if self.fmt == "json":
            self._json([dict(zip(headers, row)) for row in rows])
        elif self.fmt == "value":
            for row in rows:
                self._line(" ".join(cell(v) for v in row))
        else:
            self._table(headers, rows)

    def record(self, record):
        keys = sorted(record)
        keep = select(keys, self.columns) if self.columns else range(len(keys))
        keys = [keys[i] for i in keep]
        if self.fmt == "json":
            self._json({k: record[k] for k in keys})
        elif self.fmt == "value":
            for key in keys:
                self._line(cell(record[key]))
        else:
            self._table(["Field", "Value"], [[k, record[k]] for k in keys])

    def message(self, text):
        """A line for a human (suppressed with -f json / value)."""
        if self.fmt == "table":
            self._line(text)

    # --- rendering ----------------------------------------------------------------------
    def _line(self, text):
        self.stream.write(text + "\n")
        self.stream.flush()

    def _json(self, data):
        self._line(json.dumps(data, indent=2, sort_keys=True))

    def _table(self, headers, rows):
        tty = isatty(self.stream)
        table = Table(box=box.SQUARE if tty else box.ASCII, show_lines=False,
                      header_style="bold" if tty else "")
        for header in headers:
            table.add_column(header, overflow="fold")
        for row in rows:
            table.add_row(*[cell(v) for v in row])
        console = Console(file=self.stream, highlight=False, soft_wrap=False,
                          width=None if tty else 100000, no_color=not tty,
                          force_terminal=tty)
        if tty:
            console.print(table)
            return
        with console.capture() as captured:
            console.print(table)
        for line in captured.get().splitlines():
            self._line(line.rstrip())


def isatty(stream):
    """Whether ``stream`` is a terminal (False for anything without isatty)."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
