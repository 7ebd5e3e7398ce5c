"""The request context carried by every API request and RPC message."""

from oslo_context import context


class RequestContext(context.RequestContext):
    """Who asks (user, project, roles) and which request it belongs to."""

    @property
    def is_admin_role(self):
        return "admin" in (self.roles or [])

    def to_wire(self):
        return {
            "request_id": self.request_id,
            "user_id": self.user_id,
            "project_id": self.project_id,
            "roles": list(self.roles or []),
            "is_admin": self.is_admin,
            "global_request_id": self.global_request_id,
        }

    @classmethod
    def from_wire(cls, values):
        return cls(
            request_id=values.get("request_id"),
            user_id=values.get("user_id"),
            project_id=values.get("project_id"),
            roles=values.get("roles") or [],
            is_admin=values.get("is_admin", False),
            global_request_id=values.get("global_request_id"),
            overwrite=False,
        )


def admin_context(request_id=None):
    """A context for the services' own work (periodic tasks, heartbeats)."""
    kwargs = {"request_id": request_id} if request_id else {}
    return RequestContext(user_id="vmctl", project_id="vmctl", roles=["admin"],
                          is_admin=True, overwrite=False, **kwargs)
