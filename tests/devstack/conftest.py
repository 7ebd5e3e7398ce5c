"""tests/devstack: the README's first command (devstack/stack.sh) run end to end.

Marked ``kvm`` (real QEMU guests on namespaced libvirt hosts, root) and
``slow``; like tests/kvm they never skip by themselves. Deselect with
``-m "not kvm"`` or ``VMCTL_TEST_SKIP_KVM=1`` (reported as skipped).
"""

import os

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SKIP_ENV = "VMCTL_TEST_SKIP_KVM"


def pytest_collection_modifyitems(config, items):
    skip = os.environ.get(SKIP_ENV) == "1"
    for item in items:
        if not str(item.path).startswith(HERE + os.sep):
            continue
        item.add_marker(pytest.mark.kvm)
        item.add_marker(pytest.mark.slow)
        if skip:
            item.add_marker(pytest.mark.skip(reason="%s=1" % SKIP_ENV))
