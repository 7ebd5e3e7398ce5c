"""Progress on stderr: a live rich bar on a terminal, plain lines otherwise.

Plain mode (stderr not a terminal: scripts, CI, tests) prints one line per
change, ``<title>: <percent>% <detail>``, and each note on its own line;
stdout stays free for the command's result.
"""

import sys

from rich.console import Console
from rich.progress import BarColumn
from rich.progress import Progress as RichProgress
from rich.progress import TaskProgressColumn
from rich.progress import TextColumn
from rich.progress import TimeElapsedColumn

from vmctl.cli.output import isatty

UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def size(n):
    """Bytes as a short human figure: 512.0 MiB."""
    if n is None:
        return "-"
    value = float(n)
    for unit in UNITS:
        if abs(value) < 1024 or unit == UNITS[-1]:
            return "%d %s" % (value, unit) if unit == "B" else "%.1f %s" % (value, unit)
        value /= 1024
    return str(n)


def rate(bps):
    return "-" if bps is None else size(bps) + "/s"


def percent(done, total):
    if not total:
        return None
    return max(0, min(100, int(done * 100 // total)))


class Progress:
    def __init__(self, title, total=None, stream=None, tty=None):
        self.title = title
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.tty = isatty(self.stream) if tty is None else tty
        self._last = None
        self._bar = None
        self._task = None

    def __enter__(self):
        if self.tty:
            console = Console(file=self.stream)
            self._bar = RichProgress(TextColumn("{task.description}"), BarColumn(),
                                     TaskProgressColumn(), TimeElapsedColumn(),
                                     TextColumn("{task.fields[detail]}"), console=console)
            self._bar.start()
            self._task = self._bar.add_task(self.title, total=self.total, detail="")
        return self

    def __exit__(self, *exc):
        if self._bar is not None:
            self._bar.stop()

    def update(self, completed, total=None, detail=""):
        if total is not None:
            self.total = total
        if self._bar is not None:
            self._bar.update(self._task, completed=completed, total=self.total, detail=detail)
            return
        shown = percent(completed, self.total)
        line = "%s: %s%s" % (self.title, "-" if shown is None else "%d%%" % shown,
                             " " + detail if detail else "")
        if line != self._last:
            self._write(line)
            self._last = line

    def note(self, text):
        if self._bar is not None:
            self._bar.console.print(text, highlight=False, markup=False)
        else:
            self._write(text)

    def _write(self, line):
        self.stream.write(line + "\n")
        self.stream.flush()
