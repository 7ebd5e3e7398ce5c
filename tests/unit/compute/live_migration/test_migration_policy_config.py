"""MigrationPolicy: [migration] options, then migration:* flavor extra specs."""

import dataclasses

from oslo_config import cfg
import pytest

from vmctl.compute.live_migration import config
from vmctl.conf import migration as migration_conf


@pytest.fixture
def conf():
    conf = cfg.ConfigOpts()
    migration_conf.register_opts(conf)
    conf([], default_config_files=[])
    return conf


def test_defaults_match_the_options(conf):
    """The dataclass defaults are the option defaults (no drift)."""
    policy = config.MigrationPolicy.from_config(conf.migration)
    assert policy == config.MigrationPolicy()
    names = {f.name for f in dataclasses.fields(config.MigrationPolicy)}
    assert names == set(migration_conf.FLAVOR_OVERRIDABLE)


def test_every_option_has_help_and_numbers_have_bounds():
    for opt in migration_conf.OPTS:
        assert len(opt.help) > 30, opt.name
        if isinstance(opt, (cfg.IntOpt, cfg.FloatOpt)):
            assert opt.type.min is not None and opt.type.max is not None, opt.name


def test_extra_specs_override_the_host(conf):
    conf.set_override("permit_post_copy", False, group="migration")
    policy = config.resolve(conf.migration, {
        "migration:policy": "steps",
        "migration:max_downtime_ms": "800",
        "migration:permit_post_copy": "true",
        "migration:permit_auto_converge": "True",
        "hw:cpu_policy": "dedicated",          # other namespaces are ignored
    })
    assert policy.policy == "steps"
    assert policy.max_downtime_ms == 800
    assert policy.permit_post_copy is True
    assert policy.permit_auto_converge is True
    assert config.resolve(conf.migration, None) == config.MigrationPolicy()


@pytest.mark.parametrize("specs, key", [
    ({"migration:max_downtime_ms": "abc"}, "migration:max_downtime_ms"),
    ({"migration:max_downtime_ms": "50"}, "migration:max_downtime_ms"),
    ({"migration:policy": "fastest"}, "migration:policy"),
    ({"migration:permit_post_copy": "maybe"}, "migration:permit_post_copy"),
    ({"migration:timeout_action": "pause"}, "migration:timeout_action"),
    ({"migration:max_downtime_ms": True}, "migration:max_downtime_ms"),
    ({"migration:postcopy": "true"}, "migration:postcopy"),
    ({"migration:hard_max_downtime_ms": "200"}, "migration:hard_max_downtime_ms"),
    ({"migration:auto_converge_initial": "80",
      "migration:auto_converge_max": "50"}, "migration:auto_converge_initial"),
])
def test_invalid_extra_specs_name_the_key(conf, specs, key):
    with pytest.raises(config.InvalidMigrationPolicy) as err:
        config.resolve(conf.migration, specs)
    assert err.value.key == key
    assert key in str(err.value)
    assert err.value.code == 400


def test_cross_field_error_blames_the_spec_that_was_set(conf):
    conf.set_override("hard_max_downtime_ms", 1000, group="migration")
    with pytest.raises(config.InvalidMigrationPolicy) as err:
        config.resolve(conf.migration, {"migration:max_downtime_ms": "2000"})
    assert err.value.key == "migration:max_downtime_ms"


def test_hard_cap_defaults_to_max_downtime():
    assert config.MigrationPolicy(max_downtime_ms=700).hard_cap_ms == 700
    assert config.MigrationPolicy(hard_max_downtime_ms=2000).hard_cap_ms == 2000
