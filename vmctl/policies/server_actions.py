"""Policies of POST /servers/{server_id}/action, one rule per action."""

from vmctl.policies import base

# body key -> rule name
RULE_FOR_KEY = {
    "os-start": "os_compute_api:servers:start",
    "os-stop": "os_compute_api:servers:stop",
    "reboot": "os_compute_api:servers:reboot",
    "pause": "os_compute_api:os-pause-server:pause",
    "unpause": "os_compute_api:os-pause-server:unpause",
    "suspend": "os_compute_api:os-suspend-server:suspend",
    "resume": "os_compute_api:os-suspend-server:resume",
    "os-getConsoleOutput": "os_compute_api:os-console-output",
}

RULES = [
    base.api_rule(rule, base.PROJECT_MEMBER_OR_ADMIN,
                  "Server action %s" % key,
                  [("POST", "/servers/{server_id}/action (%s)" % key)])
    for key, rule in RULE_FOR_KEY.items()
]


def list_rules():
    return RULES
