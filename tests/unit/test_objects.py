"""Fingerprints of the versioned objects (vmctl/objects).

A record sent over RPC is read by daemons of the previous release during an
upgrade, so changing its fields means a new VERSION. Each object's fields
(names, types, nullability, defaults) are hashed with its VERSION and
compared with the fingerprints recorded below: changing a field without
bumping the version fails here, with the steps to follow.
"""

import hashlib

from oslo_versionedobjects import fields
import pytest

from vmctl import objects
from vmctl.objects import base

# object name -> "VERSION-hash of its fields". Change a line only together
# with the object's VERSION (the failure message says how).
FINGERPRINTS = {
    "Flavor": "1.0-5ed558c4bc286d9812eaa3233112ef2d",
    "Instance": "1.0-a5cff89e46525d72279cf403be17fd66",
    "Migration": "1.0-cdf7dbeeb20b497a8a0d5d41234e9bfd",
}


def describe_field(name, field):
    """One line per field; anything that changes what travels changes it."""
    kind = type(field._type).__name__
    if isinstance(field._type, fields.Object):
        kind += "(%s)" % field._type._obj_name
    elif hasattr(field._type, "_element_type"):
        kind += "(%s)" % type(field._type._element_type._type).__name__
    default = "unset" if field.default is fields.UnspecifiedDefault else repr(field.default)
    return "%s: %s %s nullable=%s default=%s" % (name, type(field).__name__, kind,
                                                 field.nullable, default)


def fingerprint(cls):
    text = "\n".join(describe_field(name, cls.fields[name]) for name in sorted(cls.fields))
    return "%s-%s" % (cls.VERSION, hashlib.md5(text.encode(), usedforsecurity=False).hexdigest())


def registered():
    """name -> the newest registered class of every vmctl object."""
    objects.register_all()
    return {name: classes[0] for name, classes in base.VmctlObjectRegistry.obj_classes().items()
            if classes[0].OBJ_PROJECT_NAMESPACE == base.VmctlObject.OBJ_PROJECT_NAMESPACE}


def problems(current, recorded):
    """What is wrong, and what to do, for each object whose fingerprint moved."""
    found = []
    for name in sorted(set(current) | set(recorded)):
        now, before = current.get(name), recorded.get(name)
        if now == before:
            continue
        if before is None:
            found.append("%s is new: record it in FINGERPRINTS as %r." % (name, now))
        elif now is None:
            found.append("%s is gone: remove it from FINGERPRINTS (and make sure no daemon "
                         "of the previous release still sends it)." % name)
        elif now.split("-")[0] == before.split("-")[0]:
            found.append(
                "%s changed its fields but not its VERSION (%s). Bump VERSION in "
                "vmctl/objects, add a line to the version history comment above it, make "
                "obj_make_compatible drop or convert the change for the previous version "
                "if older daemons must read it, then record the new fingerprint here." % (
                    name, before.split("-")[0]))
        else:
            found.append("%s is now %s: if that version bump is intended, record %r in "
                         "FINGERPRINTS." % (name, now.split("-")[0], now))
    return found


def test_fingerprints_are_recorded():
    current = {name: fingerprint(cls) for name, cls in registered().items()}
    found = problems(current, FINGERPRINTS)
    assert not found, "\n".join(found) + "\nComputed fingerprints: %r" % current


def test_a_field_change_changes_the_fingerprint():
    instance = registered()["Instance"]
    changed = dict(instance.fields, task_state=fields.StringField())   # no longer nullable
    added = dict(instance.fields, ephemeral=fields.ListOfStringsField())
    prints = {fingerprint(type("X", (), {"VERSION": instance.VERSION, "fields": f}))
              for f in (instance.fields, changed, added)}
    assert len(prints) == 3


@pytest.mark.parametrize("current, hint", [
    ({"Instance": "1.0-new"}, "changed its fields but not its VERSION (1.0). Bump VERSION"),
    ({"Instance": "1.1-new"}, "is now 1.1: if that version bump is intended, record"),
    ({}, "Instance is gone"),
])
def test_the_message_says_what_to_do(current, hint):
    [message] = problems(current, {"Instance": "1.0-old"})
    assert hint in message
