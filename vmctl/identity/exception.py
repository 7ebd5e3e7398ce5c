"""Domain errors of the identity service (mapped to HTTP by their code)."""

from vmctl import exception


class UserNotFound(exception.NotFound):
    msg_fmt = "Could not find user: %(user)s."


class ProjectNotFound(exception.NotFound):
    msg_fmt = "Could not find project: %(project)s."


class RoleNotFound(exception.NotFound):
    msg_fmt = "Could not find role: %(role)s."


class DomainNotFound(exception.NotFound):
    msg_fmt = "Could not find domain: %(domain)s."


class AssignmentNotFound(exception.NotFound):
    msg_fmt = "Could not find role assignment of %(role)s to %(user)s on %(project)s."


class IdentityConflict(exception.Conflict):
    msg_fmt = "Conflict occurred attempting to store %(kind)s - Duplicate entry found with name %(name)s."


class Unauthorized(exception.VmctlError):
    code = 401
    msg_fmt = "The request you have made requires authentication."


class InvalidToken(Unauthorized):
    msg_fmt = "The token is invalid, expired or revoked."
