"""Models of the embedded identity service: users, projects, roles, role
assignments and revoked tokens (alembic revision 0004).

Only the domain ``default`` exists; ``domain_id`` columns are there so the
unique names are per domain, as in Keystone. Assignments are deleted by
vmctl/db/identity.py together with their user, project or role.
"""

import datetime

from sqlalchemy import Boolean
from sqlalchemy import ForeignKey
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from vmctl.db.models import Base
from vmctl.db.models import TimestampMixin
from vmctl.db.types import Timestamp

DEFAULT_DOMAIN_ID = "default"


class IdentityUser(TimestampMixin, Base):
    __tablename__ = "identity_users"
    __table_args__ = (UniqueConstraint("domain_id", "name", name="uniq_identity_users_domain_name"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    domain_id: Mapped[str] = mapped_column(String(64), default=DEFAULT_DOMAIN_ID)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(String(255))
    default_project_id: Mapped[str | None] = mapped_column(String(64))
    # Tokens issued before this moment are no longer valid (password
    # change, disabling).
    tokens_valid_after: Mapped[datetime.datetime | None] = mapped_column(Timestamp)
    # Failed password authentications in a row, and when the last one was
    # ([identity] lockout_failure_attempts); a success resets them.
    failed_auth_count: Mapped[int] = mapped_column(Integer, default=0)
    failed_auth_at: Mapped[datetime.datetime | None] = mapped_column(Timestamp)


class IdentityProject(TimestampMixin, Base):
    __tablename__ = "identity_projects"
    __table_args__ = (UniqueConstraint("domain_id", "name",
                                       name="uniq_identity_projects_domain_name"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    domain_id: Mapped[str] = mapped_column(String(64), default=DEFAULT_DOMAIN_ID)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str | None] = mapped_column(String(255))


class IdentityRole(TimestampMixin, Base):
    __tablename__ = "identity_roles"
    __table_args__ = (UniqueConstraint("name", name="uniq_identity_roles_name"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(String(255))


class IdentityRoleAssignment(Base):
    __tablename__ = "identity_role_assignments"

    user_id: Mapped[str] = mapped_column(ForeignKey("identity_users.id"), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("identity_projects.id"),
                                            primary_key=True)
    role_id: Mapped[str] = mapped_column(ForeignKey("identity_roles.id"), primary_key=True)


class IdentityRevokedToken(Base):
    """A token revoked by ``DELETE /v3/auth/tokens``, by its audit id, kept
    until the token would have expired anyway."""

    __tablename__ = "identity_revoked_tokens"

    audit_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime.datetime] = mapped_column(Timestamp)
