"""An instance as the conductor hands it to a compute agent."""

from oslo_versionedobjects import fields

from vmctl.objects import base
from vmctl.objects import flavor as flavor_obj


@base.VmctlObjectRegistry.register
class Instance(base.VmctlObject):
    # Version 1.0: initial
    VERSION = "1.0"

    fields = {
        "uuid": fields.UUIDField(),
        "display_name": fields.StringField(),
        "project_id": fields.StringField(),
        "user_id": fields.StringField(),
        "vm_state": fields.StringField(),
        "task_state": fields.StringField(nullable=True),
        "power_state": fields.IntegerField(default=0),
        "host": fields.StringField(nullable=True),
        "node": fields.StringField(nullable=True),
        "availability_zone": fields.StringField(nullable=True),
        "image_ref": fields.StringField(),
        "metadata": fields.DictOfStringsField(default={}),
        "flavor": fields.ObjectField("Flavor"),
    }

    @classmethod
    def from_db(cls, row):
        """From a database row (any object with the columns as attributes)."""
        values = {name: getattr(row, name) for name in cls.fields
                  if name not in ("metadata", "flavor")}
        values["metadata"] = dict(row.metadata_ or {})
        values["flavor"] = flavor_obj.Flavor.from_values(dict(row.flavor))
        return cls.from_values(values)
