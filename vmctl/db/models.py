"""SQLAlchemy 2 models. Alembic revisions in vmctl/db/migrations/ must agree with
these (tests/functional/test_migrations.py compares them on every backend).
"""

import datetime

from sqlalchemy import JSON
from sqlalchemy import BigInteger
from sqlalchemy import Boolean
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from vmctl.db.types import Ratio
from vmctl.db.types import Timestamp


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class TimestampMixin:
    created_at: Mapped[datetime.datetime] = mapped_column(Timestamp, default=utcnow,
                                                          nullable=False)
    updated_at: Mapped[datetime.datetime | None] = mapped_column(Timestamp, onupdate=utcnow)


class Service(TimestampMixin, Base):
    __tablename__ = "services"
    __table_args__ = (UniqueConstraint("host", "binary", name="uniq_services_host_binary"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    host: Mapped[str] = mapped_column(String(255))
    binary: Mapped[str] = mapped_column(String(64))
    topic: Mapped[str] = mapped_column(String(255))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled_reason: Mapped[str | None] = mapped_column(String(255))
    forced_down: Mapped[bool] = mapped_column(Boolean, default=False)
    report_count: Mapped[int] = mapped_column(Integer, default=0)
    last_seen_at: Mapped[datetime.datetime | None] = mapped_column(Timestamp)
    version: Mapped[str] = mapped_column(String(32), default="")


class ComputeNode(TimestampMixin, Base):
    __tablename__ = "compute_nodes"
    __table_args__ = (UniqueConstraint("host", "hypervisor_hostname", name="uniq_compute_nodes_host_node"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    service_id: Mapped[int | None] = mapped_column(ForeignKey("services.id", ondelete="SET NULL"))
    host: Mapped[str] = mapped_column(String(255))
    hypervisor_hostname: Mapped[str] = mapped_column(String(255))
    hypervisor_type: Mapped[str] = mapped_column(String(64))
    hypervisor_version: Mapped[int] = mapped_column(Integer, default=0)
    host_ip: Mapped[str | None] = mapped_column(String(64))
    availability_zone: Mapped[str] = mapped_column(String(255), default="nova")
    vcpus: Mapped[int] = mapped_column(Integer)
    memory_mb: Mapped[int] = mapped_column(Integer)
    local_gb: Mapped[int] = mapped_column(Integer)
    vcpus_used: Mapped[int] = mapped_column(Integer, default=0)
    memory_mb_used: Mapped[int] = mapped_column(Integer, default=0)
    local_gb_used: Mapped[int] = mapped_column(Integer, default=0)
    running_vms: Mapped[int] = mapped_column(Integer, default=0)
    cpu_allocation_ratio: Mapped[float] = mapped_column(Ratio, default=4.0)
    ram_allocation_ratio: Mapped[float] = mapped_column(Ratio, default=1.0)
    disk_allocation_ratio: Mapped[float] = mapped_column(Ratio, default=1.0)
    # Bumped by every claim and release: claims are compare-and-swap on it.
    generation: Mapped[int] = mapped_column(Integer, default=0)


class Flavor(TimestampMixin, Base):
    __tablename__ = "flavors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    flavorid: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    vcpus: Mapped[int] = mapped_column(Integer)
    memory_mb: Mapped[int] = mapped_column(Integer)
    root_gb: Mapped[int] = mapped_column(Integer, default=0)
    ephemeral_gb: Mapped[int] = mapped_column(Integer, default=0)
    swap: Mapped[int] = mapped_column(Integer, default=0)
    rxtx_factor: Mapped[float] = mapped_column(Ratio, default=1.0)
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str | None] = mapped_column(Text)
    extra_specs: Mapped[list["FlavorExtraSpec"]] = relationship(
        back_populates="flavor", cascade="all, delete-orphan", lazy="selectin"
    )


class FlavorExtraSpec(TimestampMixin, Base):
    __tablename__ = "flavor_extra_specs"
    __table_args__ = (UniqueConstraint("flavor_id", "key", name="uniq_flavor_extra_specs_flavor_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    flavor_id: Mapped[int] = mapped_column(ForeignKey("flavors.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    value: Mapped[str] = mapped_column(String(255))
    flavor: Mapped[Flavor] = relationship(back_populates="extra_specs")


class Instance(TimestampMixin, Base):
    __tablename__ = "instances"
    __table_args__ = (
        Index("instances_project_deleted_idx", "project_id", "deleted"),
        Index("instances_host_deleted_idx", "host", "deleted"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    display_name: Mapped[str] = mapped_column(String(255))
    project_id: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(String(255))
    reservation_id: Mapped[str] = mapped_column(String(255))
    launch_index: Mapped[int] = mapped_column(Integer, default=0)
    vm_state: Mapped[str] = mapped_column(String(255))
    task_state: Mapped[str | None] = mapped_column(String(255))
    power_state: Mapped[int] = mapped_column(Integer, default=0)
    host: Mapped[str | None] = mapped_column(String(255))
    node: Mapped[str | None] = mapped_column(String(255))
    availability_zone: Mapped[str | None] = mapped_column(String(255))
    flavor: Mapped[dict] = mapped_column(JSON)
    image_ref: Mapped[str] = mapped_column(String(255))
    metadata_: Mapped[dict] = mapped_column("metadata", JSON, default=dict)
    # The guest hostname given at create (2.90); None: derived from the name.
    hostname: Mapped[str | None] = mapped_column(String(255))
    # The host an admin asked to build on (2.74): the only one scheduled.
    requested_host: Mapped[str | None] = mapped_column(String(255))
    launched_at: Mapped[datetime.datetime | None] = mapped_column(Timestamp)
    terminated_at: Mapped[datetime.datetime | None] = mapped_column(Timestamp)
    deleted_at: Mapped[datetime.datetime | None] = mapped_column(Timestamp)
    # 0 while the instance exists; its id once soft-deleted.
    deleted: Mapped[int] = mapped_column(Integer, default=0)


class InstanceFault(Base):
    __tablename__ = "instance_faults"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_uuid: Mapped[str] = mapped_column(String(36), index=True)
    code: Mapped[int] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(String(255))
    details: Mapped[str | None] = mapped_column(Text)
    host: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime.datetime] = mapped_column(Timestamp, default=utcnow)


class InstanceAction(TimestampMixin, Base):
    __tablename__ = "instance_actions"
    __table_args__ = (Index("instance_actions_uuid_req_idx", "instance_uuid", "request_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    action: Mapped[str] = mapped_column(String(255))
    instance_uuid: Mapped[str] = mapped_column(String(36))
    request_id: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(String(255))
    project_id: Mapped[str] = mapped_column(String(255))
    start_time: Mapped[datetime.datetime] = mapped_column(Timestamp, default=utcnow)
    finish_time: Mapped[datetime.datetime | None] = mapped_column(Timestamp)
    message: Mapped[str | None] = mapped_column(String(255))
    events: Mapped[list["InstanceActionEvent"]] = relationship(
        back_populates="action", cascade="all, delete-orphan",
        order_by="InstanceActionEvent.id",
    )


class InstanceActionEvent(TimestampMixin, Base):
    __tablename__ = "instance_actions_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("instance_actions.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(255))
    start_time: Mapped[datetime.datetime] = mapped_column(Timestamp, default=utcnow)
    finish_time: Mapped[datetime.datetime | None] = mapped_column(Timestamp)
    result: Mapped[str | None] = mapped_column(String(255))
    host: Mapped[str | None] = mapped_column(String(255))
    details: Mapped[str | None] = mapped_column(Text)
    action: Mapped[InstanceAction] = relationship(back_populates="events")


class Migration(TimestampMixin, Base):
    __tablename__ = "migrations"
    __table_args__ = (Index("migrations_instance_status_idx", "instance_uuid", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    instance_uuid: Mapped[str] = mapped_column(String(36))
    migration_type: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32))
    source_compute: Mapped[str | None] = mapped_column(String(255))
    source_node: Mapped[str | None] = mapped_column(String(255))
    dest_compute: Mapped[str | None] = mapped_column(String(255))
    dest_node: Mapped[str | None] = mapped_column(String(255))
    old_flavor: Mapped[dict | None] = mapped_column(JSON)
    new_flavor: Mapped[dict | None] = mapped_column(JSON)
    memory_total: Mapped[int | None] = mapped_column(BigInteger)
    memory_processed: Mapped[int | None] = mapped_column(BigInteger)
    memory_remaining: Mapped[int | None] = mapped_column(BigInteger)
    disk_total: Mapped[int | None] = mapped_column(BigInteger)
    disk_processed: Mapped[int | None] = mapped_column(BigInteger)
    disk_remaining: Mapped[int | None] = mapped_column(BigInteger)
    user_id: Mapped[str | None] = mapped_column(String(255))
    project_id: Mapped[str | None] = mapped_column(String(255))
    completed_at: Mapped[datetime.datetime | None] = mapped_column(Timestamp)
    block_migration: Mapped[bool] = mapped_column(Boolean, default=False)
    # Evacuation at 2.95 of a stopped server: it stays stopped on the new host.
    keep_stopped: Mapped[bool] = mapped_column(Boolean, default=False)


class ResourceClaim(Base):
    """Resources one consumer holds on one compute node.

    The consumer is an instance (its uuid) or, during a move, a migration
    (its uuid) holding the other side.
    """

    __tablename__ = "resource_claims"
    __table_args__ = (UniqueConstraint("consumer_uuid", "compute_node_id", name="uniq_claims_consumer_node"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    consumer_uuid: Mapped[str] = mapped_column(String(36), index=True)
    instance_uuid: Mapped[str] = mapped_column(String(36), index=True)
    compute_node_id: Mapped[int] = mapped_column(ForeignKey("compute_nodes.id"), index=True)
    vcpus: Mapped[int] = mapped_column(Integer)
    memory_mb: Mapped[int] = mapped_column(Integer)
    disk_gb: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime.datetime] = mapped_column(Timestamp, default=utcnow)


class Image(TimestampMixin, Base):
    """An image of the Glance v2-compatible image service (vmctl/images).

    ``status`` moves along vmctl/images/states.py; a deleted image keeps
    its row (status ``deleted``) so its id is never reused.
    """

    __tablename__ = "images"
    __table_args__ = (
        Index("images_owner_status_idx", "owner", "status"),
        Index("images_visibility_status_idx", "visibility", "status"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(30))
    visibility: Mapped[str] = mapped_column(String(20))
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    disk_format: Mapped[str | None] = mapped_column(String(20))
    container_format: Mapped[str | None] = mapped_column(String(20))
    size: Mapped[int | None] = mapped_column(BigInteger)
    virtual_size: Mapped[int | None] = mapped_column(BigInteger)
    checksum: Mapped[str | None] = mapped_column(String(32))
    os_hash_algo: Mapped[str | None] = mapped_column(String(64))
    os_hash_value: Mapped[str | None] = mapped_column(String(128))
    min_disk: Mapped[int] = mapped_column(Integer, default=0)
    min_ram: Mapped[int] = mapped_column(Integer, default=0)
    owner: Mapped[str | None] = mapped_column(String(255))
    tags: Mapped[list] = mapped_column(JSON, default=list)
    # Extra properties (kernel_id, os_command_line, ...): string -> string.
    properties: Mapped[dict] = mapped_column(JSON, default=dict)
    deleted_at: Mapped[datetime.datetime | None] = mapped_column(Timestamp)


from vmctl.db import group_models  # noqa: E402,F401  (server groups, aggregates: 0005)
from vmctl.db import identity_models  # noqa: E402,F401  (users, projects, roles: 0004)
