"""Compute API microversions: the one list, and the negotiation.

Every version vmctl accepts lies between ``MIN_VERSION`` and ``MAX_VERSION``.
``VERSIONS`` names each version at which a vmctl resource changes shape or
behaviour, with a comment saying what changed; code tests a request against
the named constants below, never against a literal. Nova microversions in
between that concern features vmctl does not have (keypairs, volumes,
networks, ...) are accepted and change nothing here.
"""

import re

from vmctl.api import errors

# ---------------------------------------------------------------------------
# The versions, oldest first. Each constant is referenced by the code that
# implements the change; tests/unit/api/test_microversion.py checks the list
# is sorted, unique, and that every constant appears in it.
# ---------------------------------------------------------------------------
V2_1 = "2.1"  # base: flavors, servers, server actions, instance actions,
#              os-services, os-hypervisors.
EXTENDED_SERVER_ATTRS = "2.3"  # server show/detail (admin): reservation_id,
#              launch_index, hostname, root_device_name, ... attributes.
SERVER_LOCKED = "2.9"  # server show/detail: "locked".
SERVICE_FORCED_DOWN = "2.11"  # os-services: "forced_down".
SERVER_GROUP_USER_PROJECT = "2.13"  # server groups: "project_id", "user_id".
EVACUATE_NO_SHARED_STORAGE = "2.14"  # evacuate: onSharedStorage is gone (the
#              storage is detected) and the reply has no adminPass body.
SOFT_AFFINITY = "2.15"  # server groups: soft-affinity, soft-anti-affinity.
HOST_STATUS = "2.16"  # server show/detail (admin): "host_status" (UP, DOWN,
#              MAINTENANCE, or "" without a host).
SERVER_DESCRIPTION = "2.19"  # server show/detail: "description".
MIGRATION_FORCE_COMPLETE = "2.22"  # POST /servers/{id}/migrations/{id}/action
#              force_complete.
SERVER_MIGRATIONS = "2.23"  # GET /servers/{id}/migrations[/{id}]; os-migrations
#              entries gain "migration_type" and, for live ones, links.
MIGRATION_ABORT = "2.24"  # DELETE /servers/{id}/migrations/{id} aborts.
BLOCK_MIGRATION_AUTO = "2.25"  # os-migrateLive: block_migration may be "auto";
#              disk_over_commit is gone.
SERVER_TAGS = "2.26"  # server show/detail: "tags".
EVACUATE_FORCE = "2.29"  # evacuate: "force" accepted (vmctl still checks the host).
LIVE_MIGRATE_FORCE = "2.30"  # os-migrateLive: "force" accepted (vmctl still
#              checks the host).
AGGREGATE_UUID = "2.41"  # os-aggregates: "uuid".
SERVER_EMBEDDED_FLAVOR = "2.47"  # server show/detail: flavor is embedded
#              (original_name, vcpus, ram, disk, ephemeral, swap,
#              extra_specs) instead of {"id", "links"}.
ACTION_EVENTS_FOR_ALL = "2.51"  # instance action show: events are shown to
#              non-admin users too (before: admin only).
UUID_IDS = "2.53"  # os-services and os-hypervisors: "id" is the uuid;
#              PUT/DELETE /os-services/{uuid} (status, disabled_reason,
#              forced_down) replace the host/binary actions; os-hypervisors
#              take hypervisor_hostname_pattern and with_servers.
FLAVOR_DESCRIPTION = "2.55"  # flavors: "description" shown and accepted.
MIGRATE_HOST = "2.56"  # migrate: optional "host" (still checked by the scheduler).
ACTION_PAGING = "2.58"  # os-instance-actions: limit, marker (a request id),
#              changes-since; actions show "updated_at"; instanceActions_links.
MIGRATION_UUID_PAGING = "2.59"  # migrations: "uuid"; os-migrations paging
#              (limit, marker) and changes-since.
FLAVOR_EXTRA_SPECS = "2.61"  # flavor show/detail: "extra_specs" embedded.
EVENT_HOST = "2.62"  # instance action events: "hostId" (and "host" for
#              admins).
TRUSTED_CERTS = "2.63"  # server show/detail: "trusted_image_certificates"
#              (always null: vmctl verifies no image certificates).
GROUP_POLICY_RULES = "2.64"  # server groups: "policy" and "rules" replace
#              "policies"; "metadata" is gone.
CHANGES_BEFORE = "2.66"  # os-instance-actions and os-migrations:
#              changes-before.
EVACUATE_NO_FORCE = "2.68"  # evacuate and os-migrateLive: "force" is refused
#              again.
SERVER_GROUPS_SHOWN = "2.71"  # server show: "server_groups" (the group's id,
#              or an empty list).
SERVER_LOCKED_REASON = "2.73"  # server show/detail: "locked_reason".
REQUESTED_DESTINATION = "2.74"  # create: "host" and/or "hypervisor_hostname"
#              (admin by policy): the server is scheduled on that host only.
MIGRATION_USER_PROJECT = "2.80"  # migrations: "user_id", "project_id" (and
#              os-migrations filters of those names).
FLAVOR_SWAP_INT = "2.75"  # flavors: "swap" is 0 (not "") when unset.
EVENT_DETAILS = "2.84"  # instance action events: "details" (the message).
HYPERVISOR_NO_USAGE = "2.88"  # os-hypervisors: vcpus, memory_mb, local_gb,
#              *_used, free_*, running_vms, ... dropped; "uptime" in show.
SERVER_HOSTNAME = "2.90"  # servers: OS-EXT-SRV-ATTR:hostname shown to
#              non-admins too; create accepts a "hostname" (one DNS label),
#              shown there instead of the one made from the name.
EVACUATE_KEEP_STOPPED = "2.95"  # evacuate: a stopped (SHUTOFF) server stays
#              stopped on its new host (before: it comes back ACTIVE).
PINNED_AZ = "2.96"  # server show/detail: "pinned_availability_zone" (the
#              zone asked for at create, else null).
IMAGE_PROPERTIES = "2.98"  # server show/detail: image "properties" embedded.
SCHEDULER_HINTS = "2.100"  # server show/detail: "scheduler_hints" (each
#              hint's values as a list, as given at create).

VERSIONS = [
    V2_1,
    EXTENDED_SERVER_ATTRS,
    SERVER_LOCKED,
    SERVICE_FORCED_DOWN,
    SERVER_GROUP_USER_PROJECT,
    EVACUATE_NO_SHARED_STORAGE,
    SOFT_AFFINITY,
    HOST_STATUS,
    SERVER_DESCRIPTION,
    MIGRATION_FORCE_COMPLETE,
    SERVER_MIGRATIONS,
    MIGRATION_ABORT,
    BLOCK_MIGRATION_AUTO,
    SERVER_TAGS,
    EVACUATE_FORCE,
    LIVE_MIGRATE_FORCE,
    AGGREGATE_UUID,
    SERVER_EMBEDDED_FLAVOR,
    ACTION_EVENTS_FOR_ALL,
    UUID_IDS,
    FLAVOR_DESCRIPTION,
    MIGRATE_HOST,
    ACTION_PAGING,
    MIGRATION_UUID_PAGING,
    FLAVOR_EXTRA_SPECS,
    EVENT_HOST,
    TRUSTED_CERTS,
    GROUP_POLICY_RULES,
    CHANGES_BEFORE,
    EVACUATE_NO_FORCE,
    SERVER_GROUPS_SHOWN,
    SERVER_LOCKED_REASON,
    REQUESTED_DESTINATION,
    FLAVOR_SWAP_INT,
    MIGRATION_USER_PROJECT,
    EVENT_DETAILS,
    HYPERVISOR_NO_USAGE,
    SERVER_HOSTNAME,
    EVACUATE_KEEP_STOPPED,
    PINNED_AZ,
    IMAGE_PROPERTIES,
    SCHEDULER_HINTS,
]

MIN_VERSION = VERSIONS[0]
MAX_VERSION = VERSIONS[-1]

SERVICE_TYPE = "compute"
HEADER = "OpenStack-API-Version"
LEGACY_HEADER = "X-OpenStack-Nova-API-Version"
VARY = "%s, %s" % (HEADER, LEGACY_HEADER)

_VERSION_RE = re.compile(r"([1-9]\d*)\.([1-9]\d*|0)")


class Version(tuple):
    """A (major, minor) pair that compares like numbers and prints as 'X.Y'."""

    def __new__(cls, major, minor):
        return super().__new__(cls, (int(major), int(minor)))

    @classmethod
    def parse(cls, text):
        match = _VERSION_RE.fullmatch(text.strip())
        if not match:
            raise ValueError(text)
        return cls(*match.groups())

    def matches(self, minimum):
        """True when this request version is ``minimum`` (a constant) or newer."""
        return self >= parse(minimum)

    def __str__(self):
        return "%d.%d" % self


def parse(text):
    return Version.parse(text)


def min_version():
    return parse(MIN_VERSION)


def max_version():
    return parse(MAX_VERSION)


def requested(headers):
    """The compute version string asked for in ``headers``, or None.

    ``OpenStack-API-Version: compute X`` wins over the legacy
    ``X-OpenStack-Nova-API-Version: X``. Other services' entries in the
    header (comma separated) are ignored.
    """
    value = headers.get(HEADER)
    if value:
        for item in value.split(","):
            parts = item.strip().split(None, 1)
            if len(parts) == 2 and parts[0].lower() == SERVICE_TYPE:
                return parts[1].strip()
    legacy = headers.get(LEGACY_HEADER)
    return legacy.strip() if legacy else None


def negotiate(headers):
    """The Version to serve a request with; errors.NotAcceptable if none.

    No header means the minimum; ``latest`` means the maximum. A malformed
    value is a 400, a well-formed one outside the window a 406 (as Nova).
    """
    text = requested(headers)
    if text is None:
        return min_version()
    if text.lower() == "latest":
        return max_version()
    try:
        version = parse(text)
    except ValueError:
        raise errors.BadRequest(
            "Invalid API version request string %s" % text) from None
    if not min_version() <= version <= max_version():
        raise errors.NotAcceptable(
            "Version %s is not supported by the API. Minimum is %s and "
            "maximum is %s." % (text, MIN_VERSION, MAX_VERSION))
    return version


def response_headers(version):
    return {
        HEADER: "%s %s" % (SERVICE_TYPE, version),
        LEGACY_HEADER: str(version),
        "Vary": VARY,
    }
