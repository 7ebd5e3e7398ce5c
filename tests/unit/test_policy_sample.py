"""The committed sample policy file is what the generator produces now, and
a policy file really overrides the defaults in code."""


from tests.fixtures.conf import make_conf
from tests.unit.test_config_sample import REPO
from tests.unit.test_config_sample import assert_sample_current
from vmctl import context
from vmctl import policies

GENERATOR_CONF = REPO / "etc" / "vmctl" / "vmctl-policy-generator.conf"
SAMPLE = REPO / "etc" / "vmctl" / "policy.yaml.sample"
REGENERATE = ("oslopolicy-sample-generator --config-file "
              "etc/vmctl/vmctl-policy-generator.conf")


def test_sample_policy_is_current(tmp_path):
    assert_sample_current(
        tmp_path, ["-c", "from oslo_policy import generator; generator.generate_sample()"],
        GENERATOR_CONF, SAMPLE, REGENERATE, why=" (a policy rule changed)")


def _conf(args):
    conf = make_conf(args)
    return conf


def _member():
    return context.RequestContext(user_id="u", project_id="p1", roles=["member", "reader"],
                                  overwrite=False)


def test_oslo_policy_file_overrides_a_default(tmp_path):
    rule = "os_compute_api:os-services:list"
    (tmp_path / "policy.yaml").write_text('"%s": "role:member"\n' % rule)
    (tmp_path / "vmctl.conf").write_text(
        "[oslo_policy]\npolicy_file = %s\n" % (tmp_path / "policy.yaml"))
    target = {"project_id": "p1"}
    default = policies.make_enforcer(_conf([]))
    assert not default.authorize(rule, target, _member(), do_raise=False)
    overridden = policies.make_enforcer(_conf(["--config-file", str(tmp_path / "vmctl.conf")]))
    assert overridden.authorize(rule, target, _member(), do_raise=False)
    # Rules the file does not name keep their defaults.
    assert not overridden.authorize("os_compute_api:os-hypervisors:list", target, _member(),
                                    do_raise=False)
