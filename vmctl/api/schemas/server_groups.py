"""Request bodies of /os-server-groups, per microversion."""

from vmctl.api.schemas import parameter_types

HARD = ["affinity", "anti-affinity"]
SOFT = ["soft-affinity", "soft-anti-affinity"]


def create(soft, policy_rules):
    """Before 2.64 ``policies: [one policy]`` (the soft ones from 2.15);
    from 2.64 ``policy`` and ``rules`` (max_server_per_host, anti-affinity
    only: checked by the handler)."""
    policies = HARD + (SOFT if soft else [])
    if policy_rules:
        group = {
            "type": "object",
            "properties": {
                "name": parameter_types.name,
                "policy": {"type": "string", "enum": HARD + SOFT},
                "rules": {
                    "type": "object",
                    "properties": {
                        "max_server_per_host": parameter_types.positive_integer},
                    "additionalProperties": False,
                },
            },
            "required": ["name", "policy"],
            "additionalProperties": False,
        }
    else:
        group = {
            "type": "object",
            "properties": {
                "name": parameter_types.name,
                "policies": {"type": "array", "minItems": 1, "maxItems": 1,
                             "items": {"type": "string", "enum": policies}},
            },
            "required": ["name", "policies"],
            "additionalProperties": False,
        }
    return {"type": "object", "properties": {"server_group": group},
            "required": ["server_group"], "additionalProperties": False}
