"""vmctl host list/disable/enable/force-down; service list; hypervisor list.

A host is a compute service and its hypervisor: ``host list`` merges
``/os-services`` (state, status, forced down) with ``/os-hypervisors/detail``
read at 2.87, the last microversion that still shows usage figures.
"""

import click

from vmctl.cli.app import output_options
from vmctl.cli.app import pass_app
from vmctl.cli.app import quote
from vmctl.cli.output import CLIError

COMPUTE_BINARY = "vmctl-compute"
SERVICES_VERSION = "2.53"       # uuid ids, PUT /os-services/{id}
USAGE_VERSION = "2.87"          # the last with vcpus_used, memory_mb_used, running_vms


def _used(row, used, total):
    if row.get(total) is None:
        return ""
    return "%s/%s" % (row.get(used), row.get(total))


HOST_COLUMNS = [
    ("Host", lambda h: h["host"]),
    ("State", lambda h: h.get("state")),
    ("Status", lambda h: h.get("status")),
    ("Disabled Reason", lambda h: h.get("disabled_reason")),
    ("Forced Down", lambda h: h.get("forced_down")),
    ("Zone", lambda h: h.get("zone")),
    ("vCPUs Used/Total", lambda h: _used(h, "vcpus_used", "vcpus")),
    ("RAM MiB Used/Total", lambda h: _used(h, "memory_mb_used", "memory_mb")),
    ("Disk GB Used/Total", lambda h: _used(h, "local_gb_used", "local_gb")),
    ("VMs", lambda h: h.get("running_vms")),
]
SERVICE_COLUMNS = [
    ("ID", lambda s: s.get("id")),
    ("Binary", lambda s: s.get("binary")),
    ("Host", lambda s: s.get("host")),
    ("Zone", lambda s: s.get("zone")),
    ("Status", lambda s: s.get("status")),
    ("State", lambda s: s.get("state")),
    ("Forced Down", lambda s: s.get("forced_down")),
    ("Updated At", lambda s: s.get("updated_at")),
]
HYPERVISOR_COLUMNS = [
    ("ID", lambda h: h.get("id")),
    ("Hypervisor Hostname", lambda h: h.get("hypervisor_hostname")),
    ("Type", lambda h: h.get("hypervisor_type")),
    ("Host IP", lambda h: h.get("host_ip")),
    ("State", lambda h: h.get("state")),
    ("Status", lambda h: h.get("status")),
]


def merge_hosts(services, hypervisors):
    """One row per compute service, with its hypervisor's figures."""
    by_host = {}
    for hyp in hypervisors:
        host = (hyp.get("service") or {}).get("host") or hyp.get("hypervisor_hostname")
        by_host.setdefault(host, hyp)
    rows = []
    for svc in sorted(services, key=lambda s: s["host"]):
        row = dict(by_host.get(svc["host"], {}))
        row.update({k: svc.get(k) for k in ("host", "state", "status", "disabled_reason",
                                            "forced_down", "zone")})
        row["service_id"] = svc.get("id")
        rows.append(row)
    return rows


def compute_services(app):
    return app.get("/os-services", params={"binary": COMPUTE_BINARY},
                   microversion=SERVICES_VERSION)["services"]


@click.group("host")
def host_group():
    """Compute hosts (admin)."""


@host_group.command("list")
@output_options
@pass_app
def host_list(app):
    """List compute hosts with their state and usage."""
    hypervisors = app.get("/os-hypervisors/detail", microversion=USAGE_VERSION)["hypervisors"]
    app.output.list(HOST_COLUMNS, merge_hosts(compute_services(app), hypervisors))


def _update_service(app, host, body):
    found = [s for s in compute_services(app) if s["host"] == host]
    if not found:
        raise CLIError("no compute service on host %r (see 'vmctl host list')" % host)
    return app.compute("PUT", "/os-services/%s" % quote(found[0]["id"]), body=body,
                       microversion=SERVICES_VERSION).body["service"]


@host_group.command("disable")
@click.argument("host")
@click.option("--reason", help="Why (shown in host list).")
@pass_app
def host_disable(app, host, reason):
    """Stop scheduling new servers to a host."""
    body = {"status": "disabled"}
    if reason:
        body["disabled_reason"] = reason
    _update_service(app, host, body)
    app.output.message("Host %s disabled." % host)


@host_group.command("enable")
@click.argument("host")
@pass_app
def host_enable(app, host):
    """Schedule to a host again."""
    _update_service(app, host, {"status": "enabled"})
    app.output.message("Host %s enabled." % host)


@host_group.command("force-down")
@click.argument("host")
@click.option("--unset", is_flag=True, help="Clear the forced-down mark.")
@pass_app
def host_force_down(app, host, unset):
    """Mark a host's compute service down now (e.g. before evacuating)."""
    _update_service(app, host, {"forced_down": not unset})
    app.output.message("Host %s %s." % (host, "no longer forced down" if unset
                                        else "forced down"))


@click.group("service")
def service_group():
    """Services of the control plane (admin)."""


@service_group.command("list")
@output_options
@pass_app
def service_list(app):
    """List the services and whether they are up."""
    services = app.get("/os-services", microversion=SERVICES_VERSION)["services"]
    app.output.list(SERVICE_COLUMNS, services)


@click.group("hypervisor")
def hypervisor_group():
    """Hypervisors (admin)."""


@hypervisor_group.command("list")
@output_options
@pass_app
def hypervisor_list(app):
    """List the hypervisors."""
    app.output.list(HYPERVISOR_COLUMNS, app.get("/os-hypervisors/detail")["hypervisors"])
