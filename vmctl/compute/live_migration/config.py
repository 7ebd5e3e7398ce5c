"""The convergence policy settings of one live migration.

``MigrationPolicy`` is resolved from the host's ``[migration]`` options
(``vmctl.conf.migration``) and then the flavor's extra specs
``migration:<option>`` for every option in ``FLAVOR_OVERRIDABLE``, e.g.
``migration:policy``, ``migration:max_downtime_ms``,
``migration:permit_post_copy``, ``migration:permit_auto_converge``. An extra
spec is validated with the same type and min/max as the option; an error
names the key.
"""

import dataclasses

from oslo_config import cfg

from vmctl import exception
from vmctl.conf import migration as migration_conf

PREFIX = "migration:"


class InvalidMigrationPolicy(exception.Invalid):
    """A [migration] option or a migration:* extra spec is not acceptable."""

    def __init__(self, key, reason):
        self.key = key
        super().__init__(reason=f"{key}: {reason}")


@dataclasses.dataclass(frozen=True)
class MigrationPolicy:
    """Settings the convergence policies read (see vmctl/conf/migration.py)."""

    policy: str = "adaptive"
    max_downtime_ms: int = 500
    hard_max_downtime_ms: int = 0
    downtime_steps: int = 10
    downtime_delay: int = 75
    completion_timeout: int = 800
    timeout_action: str = "abort"
    min_bandwidth_mib: float = 0.0
    permit_post_copy: bool = False
    permit_auto_converge: bool = False
    auto_converge_initial: int = 20
    auto_converge_increment: int = 10
    auto_converge_max: int = 99
    stall_iterations: int = 2
    convergence_margin: float = 0.9
    bandwidth_mib: int = 0

    @property
    def hard_cap_ms(self):
        """The largest downtime 'adaptive' may ever allow."""
        return max(self.hard_max_downtime_ms, self.max_downtime_ms)

    @classmethod
    def from_config(cls, group):
        """From the [migration] group of a ConfigOpts (or any object with
        those attributes)."""
        values = {name: getattr(group, name) for name in _field_names()}
        return _validated(cls(**values), "[migration] ", set(values))

    def with_extra_specs(self, extra_specs):
        """A copy overridden by the ``migration:*`` keys of ``extra_specs``."""
        overrides = {}
        for key, value in sorted((extra_specs or {}).items()):
            if not key.startswith(PREFIX):
                continue
            name = key[len(PREFIX):]
            if name not in migration_conf.FLAVOR_OVERRIDABLE:
                raise InvalidMigrationPolicy(
                    key, "unknown migration extra spec; known: "
                    + ", ".join(PREFIX + n for n in migration_conf.FLAVOR_OVERRIDABLE))
            overrides[name] = _parse(key, _opt(name), value)
        return _validated(dataclasses.replace(self, **overrides), PREFIX, set(overrides))


def resolve(group, extra_specs=None):
    """The policy of one migration: host config, then flavor extra specs."""
    return MigrationPolicy.from_config(group).with_extra_specs(extra_specs)


def _field_names():
    return [f.name for f in dataclasses.fields(MigrationPolicy)]


def _opt(name):
    for opt in migration_conf.POLICY_OPTS:
        if opt.name == name:
            return opt
    raise KeyError(name)


def _parse(key, opt, value):
    """Convert and range-check ``value`` with the option's own type."""
    if isinstance(value, bool) and not isinstance(opt, cfg.BoolOpt):
        raise InvalidMigrationPolicy(key, f"expected a number, got {value!r}")
    try:
        return opt.type(value)
    except (TypeError, ValueError) as e:
        raise InvalidMigrationPolicy(key, f"invalid value {value!r}: {e}") from None


def _validated(policy, source, changed):
    """Check the ``changed`` fields against their options and the cross-field
    rules; an error names the key that was set (``source`` + option)."""
    def blame(*names):
        return source + next((n for n in names if n in changed), names[0])

    for name in sorted(changed):
        _parse(source + name, _opt(name), getattr(policy, name))
    if policy.hard_max_downtime_ms and policy.hard_max_downtime_ms < policy.max_downtime_ms:
        raise InvalidMigrationPolicy(
            blame("hard_max_downtime_ms", "max_downtime_ms"),
            f"{policy.hard_max_downtime_ms} is below max_downtime_ms "
            f"{policy.max_downtime_ms} (use 0 for 'same as max_downtime_ms')")
    if policy.auto_converge_initial > policy.auto_converge_max:
        raise InvalidMigrationPolicy(
            blame("auto_converge_initial", "auto_converge_max"),
            f"{policy.auto_converge_initial} is above auto_converge_max "
            f"{policy.auto_converge_max}")
    return policy
