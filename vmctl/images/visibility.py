"""Who may see an image, as one rule in plain Python.

The database layer (vmctl/db/images.py) applies the same rule as an SQL
clause; tests/unit/images/test_visibility.py checks that both agree on
every owner x visibility x caller combination.

``project_id`` is the caller's project, or None for a cloud administrator,
who sees every image. There are no image members yet, so a ``shared``
image is seen by its owner only, as a ``private`` one.
"""

VISIBLE_TO_ALL = ("public", "community")


def visible(owner, visibility, project_id):
    """True when the caller of ``project_id`` may see (and boot) an image
    of ``owner`` with ``visibility``."""
    if project_id is None:
        return True
    return owner == project_id or visibility in VISIBLE_TO_ALL
