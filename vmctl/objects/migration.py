"""A migration as the conductor hands it to the computes that run it."""

from oslo_versionedobjects import fields

from vmctl.objects import base


@base.VmctlObjectRegistry.register
class Migration(base.VmctlObject):
    # Version 1.0: initial
    VERSION = "1.0"

    fields = {
        "uuid": fields.UUIDField(),
        "instance_uuid": fields.UUIDField(),
        "migration_type": fields.StringField(),
        "status": fields.StringField(),
        "source_compute": fields.StringField(nullable=True),
        "source_node": fields.StringField(nullable=True),
        "dest_compute": fields.StringField(nullable=True),
        "dest_node": fields.StringField(nullable=True),
        "block_migration": fields.BooleanField(default=False),
    }
