"""Every route of the API, in one table.

A path template's ``{name}`` segments are passed to the handler as keyword
arguments. Public routes need no identity; versioned routes negotiate a
microversion and answer with its headers.
"""

import collections
import re

from vmctl.api import aggregates
from vmctl.api import availability_zones
from vmctl.api import flavor_extra_specs
from vmctl.api import flavors
from vmctl.api import hypervisors
from vmctl.api import images
from vmctl.api import instance_actions
from vmctl.api import live_migrations
from vmctl.api import migrations
from vmctl.api import openapi
from vmctl.api import server_actions
from vmctl.api import server_groups
from vmctl.api import servers
from vmctl.api import services
from vmctl.api import versions
from vmctl.identity import api as identity

Route = collections.namedtuple("Route", "method template handler public versioned regex")


def route(method, template, handler, public=False, versioned=True):
    pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
    return Route(method, template, handler, public, versioned,
                 re.compile("%s/?" % pattern.rstrip("/")))


V = "/v2.1"
IMG = "/image"
IMG2 = IMG + "/v2"
ID = "/identity"
ID3 = ID + "/v3"
ID_GRANT = ID3 + "/projects/{project_id}/users/{user_id}/roles/{role_id}"

ROUTES = [
    route("GET", "/", versions.list_versions, public=True, versioned=False),
    route("GET", V, versions.show_v21, public=True),
    # This API described in OpenAPI 3.1 (vmctl/api/openapi.py), for anyone.
    route("GET", V + "/openapi.json", openapi.show, public=True, versioned=False),

    route("GET", V + "/flavors", flavors.index),
    route("POST", V + "/flavors", flavors.create),
    route("GET", V + "/flavors/detail", flavors.detail),
    route("GET", V + "/flavors/{flavor_id}", flavors.show),
    route("DELETE", V + "/flavors/{flavor_id}", flavors.delete),
    route("GET", V + "/flavors/{flavor_id}/os-extra_specs", flavor_extra_specs.index),
    route("POST", V + "/flavors/{flavor_id}/os-extra_specs", flavor_extra_specs.create),
    route("GET", V + "/flavors/{flavor_id}/os-extra_specs/{key}", flavor_extra_specs.show),
    route("PUT", V + "/flavors/{flavor_id}/os-extra_specs/{key}", flavor_extra_specs.update),
    route("DELETE", V + "/flavors/{flavor_id}/os-extra_specs/{key}",
          flavor_extra_specs.delete),

    route("GET", V + "/servers", servers.index),
    route("POST", V + "/servers", servers.create),
    route("GET", V + "/servers/detail", servers.detail),
    route("GET", V + "/servers/{server_id}", servers.show),
    route("DELETE", V + "/servers/{server_id}", servers.delete),
    route("POST", V + "/servers/{server_id}/action", server_actions.action),
    route("GET", V + "/servers/{server_id}/migrations", live_migrations.index),
    route("GET", V + "/servers/{server_id}/migrations/{migration_id}", live_migrations.show),
    route("POST", V + "/servers/{server_id}/migrations/{migration_id}/action",
          live_migrations.action),
    route("DELETE", V + "/servers/{server_id}/migrations/{migration_id}", live_migrations.delete),
    route("GET", V + "/os-migrations", migrations.list_all),
    route("GET", V + "/servers/{server_id}/os-instance-actions", instance_actions.index),
    route("GET", V + "/servers/{server_id}/os-instance-actions/{request_id}",
          instance_actions.show),

    route("GET", V + "/os-services", services.index),
    route("PUT", V + "/os-services/{service_id}", services.update),
    route("DELETE", V + "/os-services/{service_id}", services.delete),

    route("GET", V + "/os-hypervisors", hypervisors.index),
    route("GET", V + "/os-hypervisors/detail", hypervisors.detail),
    route("GET", V + "/os-hypervisors/{hypervisor_id}", hypervisors.show),

    # --- scheduling resources: server groups, availability zones, aggregates ---
    route("GET", V + "/os-server-groups", server_groups.index),
    route("POST", V + "/os-server-groups", server_groups.create),
    route("GET", V + "/os-server-groups/{server_group_id}", server_groups.show),
    route("DELETE", V + "/os-server-groups/{server_group_id}", server_groups.delete),
    route("GET", V + "/os-availability-zone", availability_zones.index),
    route("GET", V + "/os-availability-zone/detail", availability_zones.detail),
    route("GET", V + "/os-aggregates", aggregates.index),
    route("POST", V + "/os-aggregates", aggregates.create),
    route("GET", V + "/os-aggregates/{aggregate_id}", aggregates.show),
    route("PUT", V + "/os-aggregates/{aggregate_id}", aggregates.update),
    route("DELETE", V + "/os-aggregates/{aggregate_id}", aggregates.delete),
    route("POST", V + "/os-aggregates/{aggregate_id}/action", aggregates.action),
    # --- end of scheduling resources ---

    # The image service (Glance v2-compatible): no compute microversions.
    route("GET", IMG, images.versions, public=True, versioned=False),
    route("GET", IMG + "/versions", images.list_versions, public=True, versioned=False),
    route("GET", IMG2 + "/schemas/image", images.image_schema, versioned=False),
    route("GET", IMG2 + "/schemas/images", images.images_schema, versioned=False),
    route("GET", IMG2 + "/images", images.index, versioned=False),
    route("POST", IMG2 + "/images", images.create, versioned=False),
    route("GET", IMG2 + "/images/{image_id}", images.show, versioned=False),
    route("PATCH", IMG2 + "/images/{image_id}", images.update, versioned=False),
    route("DELETE", IMG2 + "/images/{image_id}", images.delete, versioned=False),
    route("PUT", IMG2 + "/images/{image_id}/file", images.upload, versioned=False),
    route("GET", IMG2 + "/images/{image_id}/file", images.download, versioned=False),

    # --- The identity service (Keystone v3 subset, vmctl/identity/) --------
    # Not compute-microversioned. Public: the version documents and token
    # issue. Fixed segments before {ids}.
    route("GET", ID, identity.versions, public=True, versioned=False),
    route("GET", ID3, identity.show_v3, public=True, versioned=False),
    route("POST", ID3 + "/auth/tokens", identity.issue_token, public=True, versioned=False),
    route("GET", ID3 + "/auth/tokens", identity.validate_token, versioned=False),
    route("HEAD", ID3 + "/auth/tokens", identity.check_token, versioned=False),
    route("DELETE", ID3 + "/auth/tokens", identity.revoke_token, versioned=False),
    route("GET", ID3 + "/auth/projects", identity.auth_projects, versioned=False),
    route("GET", ID3 + "/auth/catalog", identity.auth_catalog, versioned=False),
    route("GET", ID3 + "/domains", identity.list_domains, versioned=False),
    route("GET", ID3 + "/domains/{domain_id}", identity.show_domain, versioned=False),
    route("GET", ID3 + "/users", identity.list_users, versioned=False),
    route("POST", ID3 + "/users", identity.create_user, versioned=False),
    route("GET", ID3 + "/users/{user_id}", identity.show_user, versioned=False),
    route("PATCH", ID3 + "/users/{user_id}", identity.update_user, versioned=False),
    route("DELETE", ID3 + "/users/{user_id}", identity.delete_user, versioned=False),
    route("POST", ID3 + "/users/{user_id}/password", identity.change_password,
          versioned=False),
    route("GET", ID3 + "/users/{user_id}/projects", identity.user_projects, versioned=False),
    route("GET", ID3 + "/projects", identity.list_projects, versioned=False),
    route("POST", ID3 + "/projects", identity.create_project, versioned=False),
    route("GET", ID3 + "/projects/{project_id}", identity.show_project, versioned=False),
    route("PATCH", ID3 + "/projects/{project_id}", identity.update_project, versioned=False),
    route("DELETE", ID3 + "/projects/{project_id}", identity.delete_project,
          versioned=False),
    route("GET", ID3 + "/projects/{project_id}/users/{user_id}/roles",
          identity.list_grants, versioned=False),
    route("GET", ID_GRANT, identity.check_grant, versioned=False),
    route("HEAD", ID_GRANT, identity.check_grant, versioned=False),
    route("PUT", ID_GRANT, identity.create_grant, versioned=False),
    route("DELETE", ID_GRANT, identity.revoke_grant, versioned=False),
    route("GET", ID3 + "/roles", identity.list_roles, versioned=False),
    route("POST", ID3 + "/roles", identity.create_role, versioned=False),
    route("GET", ID3 + "/roles/{role_id}", identity.show_role, versioned=False),
    route("DELETE", ID3 + "/roles/{role_id}", identity.delete_role, versioned=False),
    route("GET", ID3 + "/role_assignments", identity.list_role_assignments,
          versioned=False),
    # --- end of the identity service -----------------------------------------
]


def match(method, path, routes=ROUTES):
    """(route, path params) for a request; (None, allowed methods) if none.

    The first route whose template and method match wins, so fixed
    segments (``/servers/detail``) are listed before ``{server_id}``.
    """
    allowed = []
    for candidate in routes:
        found = candidate.regex.fullmatch(path)
        if found is None:
            continue
        if candidate.method == method:
            return candidate, found.groupdict()
        allowed.append(candidate.method)
    return None, allowed


def is_public(method, path):
    """Whether ``method path`` is a route needing no identity (a public GET
    does not make other methods on the same path public)."""
    found, _ = match(method, path)
    return found is not None and found.public
