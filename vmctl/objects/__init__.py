"""Versioned records that cross the message bus.

Only what travels between daemons is here; API-only data stays plain.
``register_all`` imports every object so the registry knows them.
"""


def register_all():
    from vmctl.objects import flavor  # noqa: F401
    from vmctl.objects import instance  # noqa: F401
    from vmctl.objects import migration  # noqa: F401
