"""Live migration convergence: job statistics, policies and their settings.

The policies are pure code, no I/O: the migration monitor feeds them the
``JobStats`` of a driver's job (``vmctl.virt.live_job``, the job contract)
and applies the actions they return.

- ``config``    MigrationPolicy, resolved from [migration] + flavor extra specs
- ``actions``   SetDowntime, StartPostCopy, EnableThrottle, IncreaseThrottle,
                Abort, ForceComplete; ``apply`` makes one a job's control call
- ``monitor``   polls a running job and applies its policy's decisions
- ``policies``  start / decide / on_force_complete over both policies
- ``steps``     the Nova-compatible policy; ``adaptive`` the default one
- ``simulate``  run a policy against a migration model (tests, benchmark)
"""
