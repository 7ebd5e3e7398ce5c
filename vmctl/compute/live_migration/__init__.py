"""Live migration convergence: job statistics, policies and their settings.

Pure code, no I/O: the migration monitor (vmctl/virt/libvirt) and the fake
driver feed it ``JobStats`` and apply the actions it returns.

- ``stats``     JobStats and its parser of libvirt's jobStats() dict
- ``config``    MigrationPolicy, resolved from [migration] + flavor extra specs
- ``actions``   SetDowntime, StartPostCopy, EnableThrottle, IncreaseThrottle,
                Abort, ForceComplete
- ``policies``  start / decide / on_force_complete over both policies
- ``steps``     the Nova-compatible policy; ``adaptive`` the default one
- ``simulate``  run a policy against a migration model (tests, benchmark)
"""
