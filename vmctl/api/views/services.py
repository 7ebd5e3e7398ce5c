"""os-services and os-hypervisors views."""

from vmctl.api import microversion as mv
from vmctl.api.views import iso_us

COMPUTE_BINARY = "vmctl-compute"
INTERNAL_ZONE = "internal"
DEFAULT_ZONE = "nova"


def service(api, row, up, zone):
    body = {
        "id": row.uuid if api.version.matches(mv.UUID_IDS) else row.id,
        "binary": row.binary,
        "host": row.host,
        "zone": zone,
        "status": "disabled" if row.disabled else "enabled",
        "state": "up" if up else "down",
        "updated_at": iso_us(row.last_seen_at or row.updated_at),
        "disabled_reason": row.disabled_reason,
    }
    if api.version.matches(mv.SERVICE_FORCED_DOWN):
        body["forced_down"] = bool(row.forced_down)
    return body


def hypervisor_summary(api, node, svc, up):
    return {
        "id": node.uuid if api.version.matches(mv.UUID_IDS) else node.id,
        "hypervisor_hostname": node.hypervisor_hostname,
        "state": "up" if up else "down",
        "status": "disabled" if svc is not None and svc.disabled else "enabled",
    }


def hypervisor_detail(api, node, svc, up, show=False):
    body = hypervisor_summary(api, node, svc, up)
    uuid_ids = api.version.matches(mv.UUID_IDS)
    body.update({
        "hypervisor_type": node.hypervisor_type,
        "hypervisor_version": node.hypervisor_version,
        "host_ip": node.host_ip,
        "service": {
            "host": node.host,
            "id": (svc.uuid if uuid_ids else svc.id) if svc is not None else None,
            "disabled_reason": svc.disabled_reason if svc is not None else None,
        },
    })
    if api.version.matches(mv.HYPERVISOR_NO_USAGE):
        if show:
            body["uptime"] = None
        return body
    body.update(_usage(node))
    return body


def _usage(node):
    return {
        "vcpus": node.vcpus,
        "memory_mb": node.memory_mb,
        "local_gb": node.local_gb,
        "vcpus_used": node.vcpus_used,
        "memory_mb_used": node.memory_mb_used,
        "local_gb_used": node.local_gb_used,
        "free_ram_mb": node.memory_mb - node.memory_mb_used,
        "free_disk_gb": node.local_gb - node.local_gb_used,
        "current_workload": 0,
        "running_vms": node.running_vms,
        "disk_available_least": node.local_gb - node.local_gb_used,
        "cpu_info": "{}",
    }
