"""Entry point for oslo-config-generator (namespace ``vmctl``)."""

from vmctl import conf as vmctl_conf


def list_opts():
    groups = {}
    for area in vmctl_conf.AREAS:
        for group, opts in area.list_opts().items():
            groups.setdefault(group, []).extend(opts)
    return sorted(groups.items(), key=lambda kv: (kv[0] != "DEFAULT", kv[0]))
