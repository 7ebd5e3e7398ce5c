"""Server group views, per microversion."""

from vmctl.api import microversion as mv


def group(api, row, members):
    body = {"id": row.uuid, "name": row.name, "members": list(members)}
    if api.version.matches(mv.GROUP_POLICY_RULES):
        body["policy"] = row.policy
        body["rules"] = {k: v for k, v in (row.rules or {}).items()}
    else:
        body["policies"] = [row.policy]
        body["metadata"] = {}
    if api.version.matches(mv.SERVER_GROUP_USER_PROJECT):
        body["project_id"] = row.project_id
        body["user_id"] = row.user_id
    return body
