"""Daemon and tool entry points.

vmctl runs on native threads. eventlet is installed in many OpenStack
environments as a dependency of oslo.service, and several libraries switch
behaviour when they can import it; blocking the import here makes every
vmctl process use plain threads (tests/unit/test_no_eventlet.py checks it).
"""

import sys

sys.modules.setdefault("eventlet", None)  # type: ignore[arg-type]

from oslo_service import backend as _oslo_backend  # noqa: E402

try:
    _oslo_backend.init_backend(_oslo_backend.BackendType.THREADING)
except Exception:  # already initialised by an embedding program
    pass
