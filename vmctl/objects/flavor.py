"""The flavor an instance was built with (a snapshot, not a live link)."""

from oslo_versionedobjects import fields

from vmctl.objects import base


@base.VmctlObjectRegistry.register
class Flavor(base.VmctlObject):
    # Version 1.0: initial
    VERSION = "1.0"

    fields = {
        "flavorid": fields.StringField(),
        "name": fields.StringField(),
        "vcpus": fields.IntegerField(),
        "memory_mb": fields.IntegerField(),
        "root_gb": fields.IntegerField(),
        "ephemeral_gb": fields.IntegerField(default=0),
        "swap": fields.IntegerField(default=0),
        "extra_specs": fields.DictOfStringsField(default={}),
    }

    def snapshot(self):
        """The plain dict stored with an instance."""
        return {name: getattr(self, name) for name in self.fields
                if self.obj_attr_is_set(name)}

    @property
    def disk_gb(self):
        return disk_gb(self.snapshot())


def disk_gb(flavor):
    """GiB of disk a flavor (snapshot dict) claims: root + ephemeral + swap (MiB, rounded up)."""
    return (flavor["root_gb"] + flavor.get("ephemeral_gb", 0)
            + (flavor.get("swap", 0) + 1023) // 1024)
