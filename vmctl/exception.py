"""Domain errors. The API maps each to an HTTP code by its ``code``;
RPC endpoints list the ones they raise on purpose in
``rpc.expected_exceptions`` (no traceback is logged for them), and the
caller gets the same class back (this module is in
``rpc.ALLOWED_REMOTE_EXMODS``): catch it by name, read ``message``.
"""


class VmctlError(Exception):
    code = 500
    msg_fmt = "An unknown error occurred."

    def __init__(self, message=None, **kwargs):
        self.kwargs = kwargs
        super().__init__(message or self.msg_fmt % kwargs)

    @property
    def message(self):
        """The message alone (``str()`` of an error re-raised from another
        daemon also holds the remote traceback)."""
        return self.args[0] if self.args else self.msg_fmt


class Invalid(VmctlError):
    code = 400
    msg_fmt = "Invalid input: %(reason)s"


class NotFound(VmctlError):
    code = 404
    msg_fmt = "Resource could not be found."


class InstanceNotFound(NotFound):
    msg_fmt = "Instance %(uuid)s could not be found."


class FlavorNotFound(NotFound):
    msg_fmt = "Flavor %(flavor_id)s could not be found."


class FlavorExtraSpecNotFound(NotFound):
    msg_fmt = "Flavor %(flavor_id)s has no extra spec with key %(key)s."


class ServiceNotFound(NotFound):
    msg_fmt = "Service %(service_id)s could not be found."


class ComputeNodeNotFound(NotFound):
    msg_fmt = "Compute node %(node)s could not be found."


class ActionNotFound(NotFound):
    msg_fmt = "Action for request %(request_id)s on instance %(uuid)s not found."


class Conflict(VmctlError):
    code = 409
    msg_fmt = "Conflict: %(reason)s"


class InstanceInvalidState(Conflict):
    msg_fmt = ("Cannot '%(action)s' instance %(uuid)s while it is in "
               "vm_state %(vm_state)s, task_state %(task_state)s.")


class FlavorExists(Conflict):
    msg_fmt = "Flavor with %(field)s %(value)s already exists."


class NoValidHost(VmctlError):
    code = 400
    msg_fmt = "No valid host was found. %(reason)s"


class ClaimFailed(VmctlError):
    msg_fmt = "Could not claim resources on %(node)s: %(reason)s"


class BuildFailed(VmctlError):
    msg_fmt = "Build of instance %(uuid)s failed on %(host)s: %(reason)s"


class PolicyNotAuthorized(VmctlError):
    code = 403
    msg_fmt = "Policy doesn't allow %(action)s to be performed."


# --- expected failures of RPC endpoints (the caller decides what follows) -----

class MigrationPreCheckError(VmctlError):
    """A host cannot take part in a live migration (its pre-check)."""

    code = 400
    msg_fmt = "%(reason)s"


class DestinationNotReady(VmctlError):
    """A move's destination could not make itself ready for the guest
    (pre_live_migration, prep_resize)."""

    msg_fmt = "%(reason)s"


class ConsoleOutputUnavailable(VmctlError):
    code = 404
    msg_fmt = "%(reason)s"
