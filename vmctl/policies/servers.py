"""Policies of /servers and the attributes only some callers see."""

from vmctl.policies import base

PREFIX = "os_compute_api:servers:%s"

INDEX = PREFIX % "index"
DETAIL = PREFIX % "detail"
SHOW = PREFIX % "show"
CREATE = PREFIX % "create"
DELETE = PREFIX % "delete"
ALL_TENANTS = PREFIX % "index:get_all_tenants"
ADMIN_FILTERS = PREFIX % "allow_all_filters"
EXTENDED_ATTRS = "os_compute_api:os-extended-server-attributes"
FAULT_DETAILS = PREFIX % "show:fault_details"
REQUESTED_DESTINATION = "compute:servers:create:requested_destination"

RULES = [
    base.api_rule(INDEX, base.PROJECT_READER_OR_ADMIN, "List servers",
                  [("GET", "/servers")]),
    base.api_rule(DETAIL, base.PROJECT_READER_OR_ADMIN, "List servers with details",
                  [("GET", "/servers/detail")]),
    base.api_rule(SHOW, base.PROJECT_READER_OR_ADMIN, "Show a server",
                  [("GET", "/servers/{server_id}")]),
    base.api_rule(CREATE, base.PROJECT_MEMBER_OR_ADMIN, "Create servers",
                  [("POST", "/servers")]),
    base.api_rule(REQUESTED_DESTINATION, base.ADMIN, "Create servers on a host "
                  "of the caller's choice (host, hypervisor_hostname; 2.74)",
                  [("POST", "/servers")]),
    base.api_rule(DELETE, base.PROJECT_MEMBER_OR_ADMIN, "Delete a server",
                  [("DELETE", "/servers/{server_id}")]),
    base.api_rule(ALL_TENANTS, base.ADMIN, "List the servers of every project "
                  "(all_tenants filter)",
                  [("GET", "/servers"), ("GET", "/servers/detail")]),
    base.api_rule(ADMIN_FILTERS, base.ADMIN, "Filter servers on admin-only "
                  "attributes (host); others' such filters are ignored",
                  [("GET", "/servers"), ("GET", "/servers/detail")]),
    base.api_rule(EXTENDED_ATTRS, base.ADMIN, "See OS-EXT-SRV-ATTR:* attributes "
                  "(host, hypervisor_hostname, instance_name, ...)",
                  [("GET", "/servers/{server_id}"), ("GET", "/servers/detail")]),
    base.api_rule(FAULT_DETAILS, base.ADMIN, "See the details of a server's "
                  "fault (the details of non-500 faults are shown to all)",
                  [("GET", "/servers/{server_id}"), ("GET", "/servers/detail")]),
]


def list_rules():
    return RULES
