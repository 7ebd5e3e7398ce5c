"""Models of server groups and host aggregates (availability zones).

Imported at the end of vmctl/db/models.py so they share its ``Base``; the
alembic revision 0005 creates the same tables.
"""

import datetime

from sqlalchemy import JSON
from sqlalchemy import ForeignKey
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from vmctl.db.models import Base
from vmctl.db.models import TimestampMixin
from vmctl.db.models import utcnow
from vmctl.db.types import Timestamp


class InstanceGroup(TimestampMixin, Base):
    """A server group: its members are placed by ``policy`` (and ``rules``)."""

    __tablename__ = "instance_groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    user_id: Mapped[str] = mapped_column(String(255))
    # affinity | anti-affinity | soft-affinity | soft-anti-affinity
    policy: Mapped[str] = mapped_column(String(255))
    # e.g. {"max_server_per_host": 2} (anti-affinity only)
    rules: Mapped[dict] = mapped_column(JSON, default=dict)
    members: Mapped[list["InstanceGroupMember"]] = relationship(
        back_populates="group", cascade="all, delete-orphan",
        order_by="InstanceGroupMember.id", lazy="selectin")


class InstanceGroupMember(Base):
    """An instance in a group; an instance is in one group at most. The
    order of the rows (``id``) is the order members joined: a later member
    yields to an earlier one when the compute's late check finds a race."""

    __tablename__ = "instance_group_members"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("instance_groups.id", ondelete="CASCADE"), index=True)
    instance_uuid: Mapped[str] = mapped_column(String(36), unique=True)
    created_at: Mapped[datetime.datetime] = mapped_column(Timestamp, default=utcnow)
    group: Mapped[InstanceGroup] = relationship(back_populates="members")


class Aggregate(TimestampMixin, Base):
    """A host aggregate; ``availability_zone`` in its metadata makes its
    hosts a zone."""

    __tablename__ = "aggregates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    metadata_: Mapped[dict] = mapped_column("metadata", JSON, default=dict)
    hosts: Mapped[list["AggregateHost"]] = relationship(
        back_populates="aggregate", cascade="all, delete-orphan",
        order_by="AggregateHost.id", lazy="selectin")


class AggregateHost(Base):
    __tablename__ = "aggregate_hosts"
    __table_args__ = (UniqueConstraint("aggregate_id", "host",
                                       name="uniq_aggregate_hosts_aggregate_host"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    aggregate_id: Mapped[int] = mapped_column(
        ForeignKey("aggregates.id", ondelete="CASCADE"), index=True)
    host: Mapped[str] = mapped_column(String(255), index=True)
    created_at: Mapped[datetime.datetime] = mapped_column(Timestamp, default=utcnow)
    aggregate: Mapped[Aggregate] = relationship(back_populates="hosts")
