"""The base of vmctl's versioned objects (oslo.versionedobjects)."""

from oslo_versionedobjects import base as ovo_base


class VmctlObjectRegistry(ovo_base.VersionedObjectRegistry):
    pass


class VmctlObject(ovo_base.VersionedObject):
    OBJ_PROJECT_NAMESPACE = "vmctl"
    OBJ_SERIAL_NAMESPACE = "vmctl_object"

    @classmethod
    def from_values(cls, values):
        """Build from a mapping or an object with these attributes."""
        obj = cls()
        get = values.get if isinstance(values, dict) else (
            lambda k, d=None: getattr(values, k, d))
        for name in cls.fields:
            value = get(name)
            if value is not None or cls.fields[name].nullable:
                setattr(obj, name, value)
        obj.obj_reset_changes()
        return obj


class Serializer(ovo_base.VersionedObjectSerializer):
    OBJ_BASE_CLASS = VmctlObject
