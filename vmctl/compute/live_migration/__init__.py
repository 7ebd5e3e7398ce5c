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

The compute agent's sides of a migration, which do I/O (the driver, RPC):

- ``source``       one migration's run on the source, start to end
- ``departures``   the source's runs: start, adopt after a restart, operator
                   requests, clean-up after a departure
- ``destination``  pre-checks, preparation, arrival, post / rollback, and
                   the incoming count
- ``records``      both sides' records in state_path, across restarts
- ``monitor``      watches a hypervisor job and applies the policy
"""
