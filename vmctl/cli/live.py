"""Watching one live migration: progress, policy decisions, the outcome.

Each poll reads the migration (``/os-migrations``, newest for the server),
its progress while it runs (``/servers/{id}/migrations/{mid}``) and the
events of the request's instance action. The convergence policy records
each decision as a ``live_migration_policy`` event whose details read
``kind(args): reason [figure=value, ...]`` (vmctl/compute/live_migration/
source.py): the allowed downtime comes from ``set_downtime``'s
``downtime_ms`` and the dirty rate from the ``dirty_rate_bps`` figure.
"""

import dataclasses
import re
import time

from vmctl.cli import progress as cli_progress
from vmctl.cli import session as cli_session
from vmctl.cli.app import quote
from vmctl.cli.migrations import MIGRATIONS_VERSION
from vmctl.cli.output import CLIError

TERMINAL = ("completed", "failed", "cancelled", "error")
RUNNING = ("running", "running (post-copy)")
POLICY_EVENT = "live_migration_policy"
SCHEDULE_EVENT = "conductor_live_migrate_instance"
EVENTS_VERSION = "2.84"       # instance action events with details
POLL_INTERVAL = 0.5
_DECISION_RE = re.compile(r"^(?P<kind>\w+)\((?P<args>[^)]*)\)")
_FIGURES_RE = re.compile(r"\[(?P<figures>[^\[\]]*)\]\s*$")


def _number(text):
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


_PAIR_SPLIT_RE = re.compile(r",\s*(?=[\w.]+=)")


def _pairs(text):
    """``a=1, b=x, y`` -> {"a": 1, "b": "x, y"} (values may hold commas)."""
    pairs = {}
    for part in _PAIR_SPLIT_RE.split(text):
        key, eq, value = part.strip().partition("=")
        if eq and key:
            pairs[key.strip()] = _number(value.strip())
    return pairs


def parse_decision(details):
    """{"kind", "args", "figures"} of a decision event's details, or None."""
    match = _DECISION_RE.match((details or "").strip())
    if match is None:
        return None
    figures = _FIGURES_RE.search(details)
    return {"kind": match.group("kind"), "args": _pairs(match.group("args")),
            "figures": _pairs(figures.group("figures")) if figures else {}}


# decisions that end a migration other than by converging -> how to say so
SWITCHES = {"start_postcopy": "switched to post-copy",
            "force_complete": "guest paused to complete"}
# figure -> (label, how it reads), for the figures a decision line shows.
SHOWN_FIGURES = (
    ("predicted_downtime_ms", "predicted downtime", lambda v: "%s ms" % v),
    ("dirty_rate_bps", "dirty", cli_progress.rate),
    ("bandwidth_bps", "bandwidth", cli_progress.rate),
    ("iteration", "pass", str),
    ("elapsed_s", "after", lambda v: "%s s" % v),
)


def describe_decision(details, decision):
    """The decision without its raw figures, then the telling ones, readable."""
    if decision is None:
        return details
    text = _FIGURES_RE.sub("", details).strip()
    shown = ["%s %s" % (label, fmt(decision["figures"][key]))
             for key, label, fmt in SHOWN_FIGURES if key in decision["figures"]]
    return "%s (%s)" % (text, ", ".join(shown)) if shown else text


@dataclasses.dataclass
class Figures:
    """What the progress line shows, updated from each poll."""
    processed: int = 0
    total: int | None = None
    remaining: int | None = None
    dirty_rate: float | None = None
    downtime_ms: int | None = None
    status: str = "accepted"
    switch: str | None = None  # how it ended other than by converging

    def take_progress(self, migration):
        mem = [migration.get("memory_%s_bytes" % k) for k in ("processed", "total",
                                                                "remaining")]
        disk = [migration.get("disk_%s_bytes" % k) for k in ("processed", "total",
                                                              "remaining")]
        if mem[1]:
            self.processed = (mem[0] or 0) + (disk[0] or 0)
            self.total = mem[1] + (disk[1] or 0)
            self.remaining = (mem[2] or 0) + (disk[2] or 0)

    def take_decision(self, decision):
        if decision["kind"] == "set_downtime" and "downtime_ms" in decision["args"]:
            self.downtime_ms = decision["args"]["downtime_ms"]
        if decision["kind"] in SWITCHES:
            self.switch = SWITCHES[decision["kind"]]
        rate = decision["figures"].get("dirty_rate_bps")
        if isinstance(rate, (int, float)):
            self.dirty_rate = rate

    def done(self):
        """Bytes of the total already there: what the current pass has left
        is all that counts (``processed`` grows past the total as dirtied
        memory is sent again)."""
        if not self.total:
            return 0
        return max(0, self.total - (self.remaining or 0))

    def detail(self):
        parts = [self.status]
        if self.total:
            parts.append("sent %s" % cli_progress.size(self.processed))
            parts.append("remaining %s of %s" % (cli_progress.size(self.remaining),
                                                 cli_progress.size(self.total)))
        parts.append("dirty %s" % cli_progress.rate(self.dirty_rate))
        parts.append("downtime %s" % ("%d ms" % self.downtime_ms
                                       if self.downtime_ms is not None else "-"))
        return ", ".join(parts)


def live_migrations(app, server_id):
    """The server's live migrations (os-migrations entries)."""
    return app.get("/os-migrations", params={"instance_uuid": server_id,
                                             "migration_type": "live-migration"},
                   microversion=MIGRATIONS_VERSION)["migrations"]


def newest_migration_id(app, server_id):
    return max((m["id"] for m in live_migrations(app, server_id)), default=0)


class LiveWatch:
    def __init__(self, app, server, request_id, after_id, bar, sleep=time.sleep,
                 clock=time.monotonic):
        self.app = app
        self.server = server
        self.request_id = request_id
        self.after_id = after_id
        self.bar = bar
        self.sleep = sleep
        self.clock = clock
        self.figures = Figures()
        self.migration = None
        self._seen_events = 0

    def run(self, timeout):
        """The migration once it has ended; CLIError after ``timeout``."""
        started = self.clock()
        while True:
            self.poll()
            if self.migration and self.migration["status"] in TERMINAL:
                return self.migration
            if self.clock() - started >= timeout:
                raise CLIError("the live migration of %s is still %s after %ds; it goes on "
                               "(see 'vmctl migration list --server %s')" % (
                                   self.server["name"], self.figures.status, timeout,
                                   self.server["id"]))
            self.sleep(POLL_INTERVAL)

    def poll(self):
        self._poll_migration()
        self._poll_events()
        self.bar.update(self.figures.done(), self.figures.total, self.figures.detail())

    def _poll_migration(self):
        found = [m for m in live_migrations(self.app, self.server["id"])
                 if m["id"] > self.after_id]
        if not found:
            return
        migration = max(found, key=lambda m: m["id"])
        if migration["status"] != self.figures.status or self.migration is None:
            self.bar.note("migration %s: %s%s" % (
                migration["id"], migration["status"],
                " (%s -> %s)" % (migration.get("source_compute"), migration["dest_compute"])
                if migration.get("dest_compute") else ""))
        self.migration = migration
        self.figures.status = migration["status"]
        if migration["status"] in RUNNING:
            self._poll_progress(migration)
        elif migration["status"] == "completed" and self.figures.total:
            # The last saved progress may be older than the end: all of it
            # went across at least once.
            self.figures.remaining = 0
            self.figures.processed = max(self.figures.processed, self.figures.total)

    def _poll_progress(self, migration):
        try:
            shown = self.app.get("/servers/%s/migrations/%s" % (
                quote(self.server["id"]), migration["id"]))["migration"]
        except cli_session.ApiError as exc:
            if exc.status == 404:  # it ended between the two requests
                return
            raise
        self.figures.take_progress(shown)

    def _poll_events(self):
        if not self.request_id:
            return
        events = [e for e in self._action().get("events") or () if e.get("finish_time")]
        events.sort(key=lambda e: (e.get("finish_time") or "", e.get("start_time") or ""))
        for event in events[self._seen_events:]:
            self.bar.note(self._describe(event))
        self._seen_events = max(self._seen_events, len(events))

    def _describe(self, event):
        details = event.get("details") or ""
        if event["event"] == POLICY_EVENT:
            decision = parse_decision(details)
            if decision:
                self.figures.take_decision(decision)
            return "decision: %s" % describe_decision(details, decision)
        if event["event"] == SCHEDULE_EVENT and event.get("result") == "Success":
            return "scheduled: %s" % details
        return "event %s: %s%s" % (event["event"], event.get("result"),
                                   " - %s" % details if details else "")

    def _action(self):
        """The instance action of the request, with its events."""
        return self.app.get("/servers/%s/os-instance-actions/%s" % (
            quote(self.server["id"]), quote(self.request_id)),
            microversion=EVENTS_VERSION)["instanceAction"]

    def failure(self):
        """Why the migration did not complete, from its failed events."""
        try:
            action = self._action()
        except (cli_session.ApiError, TypeError):
            return None
        failed = [e for e in action.get("events") or () if e.get("result") == "Error"]
        return failed[-1].get("details") if failed else None
