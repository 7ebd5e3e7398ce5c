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

The compute agent's sides of a migration, which do I/O (the driver, RPC):

- ``source``       one migration's run on the source, start to end
- ``departures``   the source's runs: start, adopt after a restart, operator
                   requests, clean-up after a departure
- ``destination``  pre-checks, preparation, arrival, post / rollback, and
                   the incoming count
- ``records``      both sides' records in state_path, across restarts
- ``monitor``      watches a hypervisor job and applies the policy
"""
