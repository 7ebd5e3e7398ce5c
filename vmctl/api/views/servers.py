"""Server views: the short list entry and Nova's full detail shape.

``DetailView`` is built once per request (it resolves microversion and
policy questions up front) and then turns each row into a dict with no
further queries: 500 servers cost one query for instances and one for
faults.
"""

import hashlib
import re

from vmctl import instance_states as states
from vmctl.api import microversion as mv
from vmctl.api.views import iso_us
from vmctl.api.views import iso_z


def summary(api, row):
    return {"id": row.uuid, "name": row.display_name,
            "links": api.links("servers", row.uuid)}


def host_id(project_id, host):
    """An opaque per-project host id, as Nova computes it."""
    if not host:
        return ""
    return hashlib.sha224((project_id + host).encode("utf-8")).hexdigest()


def instance_name(row):
    """The instance name the API shows (Nova's template, on the row id)."""
    return "instance-%08x" % row.id


def hostname(display_name):
    """The guest hostname Nova derives from a display name."""
    name = re.sub(r"[^\w.-]+", "-", display_name.lower()).strip("-.")
    return name[:63] or "server"


def hostname_of(row):
    """The hostname given at create (2.90), else the one from the name
    (rows made before 2.90 support, and test doubles, have none)."""
    return getattr(row, "hostname", None) or hostname(row.display_name)


class Lookups:
    """What the rows of one response need from other tables, read once by
    the handler: {host: zone}, {instance uuid: server group uuid} and
    {image id: properties}, {host: UP | DOWN | MAINTENANCE}."""

    def __init__(self, zones=None, groups=None, images=None, host_status=None,
                 single=False):
        self.zones = zones or {}
        self.groups = groups or {}
        self.images = images or {}
        self.host_status = host_status or {}
        # A show (not a list): "server_groups" (2.71) is shown there only.
        self.single = single


class DetailView:
    def __init__(self, api, show_extended, show_fault_details, lookups=None):
        self.api = api
        self.version = api.version
        self.show_extended = show_extended
        self.show_fault_details = show_fault_details
        self.lookups = lookups or Lookups()
        self._host_ids = {}
        self.embedded_flavor = self.version.matches(mv.SERVER_EMBEDDED_FLAVOR)
        self.extended_v23 = self.version.matches(mv.EXTENDED_SERVER_ATTRS)
        self.hostname_for_all = self.version.matches(mv.SERVER_HOSTNAME)
        self.image_properties = self.version.matches(mv.IMAGE_PROPERTIES)
        # Fields later microversions add, with their constant values.
        self.versioned_fields = {
            field: value for field, value, since in (
                ("locked", False, mv.SERVER_LOCKED),
                ("description", None, mv.SERVER_DESCRIPTION),
                ("tags", [], mv.SERVER_TAGS),
                ("trusted_image_certificates", None, mv.TRUSTED_CERTS),
                ("locked_reason", None, mv.SERVER_LOCKED_REASON))
            if self.version.matches(since)}
        # Fields later microversions add, computed from the row.
        self.row_fields = [
            (field, value) for field, value, since in (
                ("pinned_availability_zone", lambda r: r.availability_zone, mv.PINNED_AZ),
                ("scheduler_hints", self._scheduler_hints, mv.SCHEDULER_HINTS),
                ("server_groups", self._server_groups, mv.SERVER_GROUPS_SHOWN),
                ("host_status", self._host_status, mv.HOST_STATUS))
            if self.version.matches(since) and self._shown(field)]

    def _shown(self, field):
        if field == "server_groups":
            return self.lookups.single
        if field == "host_status":
            return self.show_extended
        return True

    def __call__(self, row, fault=None):
        api = self.api
        status = states.api_status(row.vm_state, row.task_state)
        server = {
            "id": row.uuid,
            "name": row.display_name,
            "status": status,
            "tenant_id": row.project_id,
            "user_id": row.user_id,
            "metadata": row.metadata_ or {},
            "hostId": self._host_id(row.project_id, row.host),
            "image": self._image(row.image_ref),
            "flavor": self._flavor(row.flavor or {}),
            "created": iso_z(row.created_at),
            "updated": iso_z(row.updated_at or row.created_at),
            "addresses": {},
            "accessIPv4": "",
            "accessIPv6": "",
            "links": api.links("servers", row.uuid),
            "OS-DCF:diskConfig": "MANUAL",
            "progress": 0,
            "config_drive": "",
            "key_name": None,
            "security_groups": [{"name": "default"}],
            "OS-EXT-AZ:availability_zone": self._zone(row),
            "OS-EXT-STS:vm_state": row.vm_state,
            "OS-EXT-STS:task_state": row.task_state,
            "OS-EXT-STS:power_state": row.power_state,
            "OS-SRV-USG:launched_at": iso_us(row.launched_at),
            "OS-SRV-USG:terminated_at": iso_us(row.terminated_at),
            "os-extended-volumes:volumes_attached": [],
        }
        if self.show_extended:
            server.update(self._extended(row))
        if fault is not None and status in ("ERROR", "DELETED"):
            server["fault"] = self._fault(fault)
        if self.hostname_for_all:
            server["OS-EXT-SRV-ATTR:hostname"] = hostname_of(row)
        for field, value in self.versioned_fields.items():
            server[field] = list(value) if isinstance(value, list) else value
        for field, value_of in self.row_fields:
            server[field] = value_of(row)
        return server

    def _zone(self, row):
        """The zone asked for, else the zone of the host it landed on."""
        if row.availability_zone:
            return row.availability_zone
        return self.lookups.zones.get(row.host, "") if row.host else ""

    def _scheduler_hints(self, row):
        group = self.lookups.groups.get(row.uuid)
        return {"group": [group]} if group else {}

    def _server_groups(self, row):
        group = self.lookups.groups.get(row.uuid)
        return [group] if group else []

    def _host_status(self, row):
        return self.lookups.host_status.get(row.host, "UNKNOWN") if row.host else ""

    def _host_id(self, project_id, host):
        key = (project_id, host)
        if key not in self._host_ids:
            self._host_ids[key] = host_id(project_id, host)
        return self._host_ids[key]

    def _image(self, image_ref):
        image = {"id": image_ref,
                 "links": [{"rel": "bookmark",
                            "href": "%s/images/%s" % (self.api.base_url, image_ref)}]}
        if self.image_properties:
            image["properties"] = dict(self.lookups.images.get(image_ref) or {})
        return image

    def _flavor(self, snap):
        if not self.embedded_flavor:
            flavorid = snap.get("flavorid")
            return {"id": flavorid,
                    "links": [{"rel": "bookmark", "href": "%s/flavors/%s" % (
                        self.api.base_url, flavorid)}]}
        return {
            "original_name": snap.get("name"),
            "vcpus": snap.get("vcpus"),
            "ram": snap.get("memory_mb"),
            "disk": snap.get("root_gb"),
            "ephemeral": snap.get("ephemeral_gb", 0),
            "swap": snap.get("swap", 0),
            "extra_specs": dict(snap.get("extra_specs") or {}),
        }

    def _extended(self, row):
        attrs = {
            "OS-EXT-SRV-ATTR:host": row.host,
            "OS-EXT-SRV-ATTR:hypervisor_hostname": row.node,
            "OS-EXT-SRV-ATTR:instance_name": instance_name(row),
        }
        if self.extended_v23:
            attrs.update({
                "OS-EXT-SRV-ATTR:reservation_id": row.reservation_id,
                "OS-EXT-SRV-ATTR:launch_index": row.launch_index,
                "OS-EXT-SRV-ATTR:hostname": hostname_of(row),
                "OS-EXT-SRV-ATTR:kernel_id": "",
                "OS-EXT-SRV-ATTR:ramdisk_id": "",
                "OS-EXT-SRV-ATTR:root_device_name": None,
                "OS-EXT-SRV-ATTR:user_data": None,
            })
        return attrs

    def _fault(self, fault):
        body = {"code": fault.code, "message": fault.message,
                "created": iso_z(fault.created_at)}
        if fault.details and (self.show_fault_details or fault.code != 500):
            body["details"] = fault.details
        return body
