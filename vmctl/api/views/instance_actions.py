"""Instance action and event views."""

from vmctl.api import microversion as mv
from vmctl.api.views import iso_us
from vmctl.api.views import servers as server_views


def action(row, with_updated=False):
    """One action; ``with_updated`` (2.58) adds when it last changed."""
    body = {
        "action": row.action,
        "instance_uuid": row.instance_uuid,
        "request_id": row.request_id,
        "user_id": row.user_id,
        "project_id": row.project_id,
        "start_time": iso_us(row.start_time),
        "message": row.message,
    }
    if with_updated:
        body["updated_at"] = iso_us(row.updated_at or row.start_time)
    return body


def event(api, row, project_id, show_details):
    """One event; ``show_details`` (admin) adds the traceback and host."""
    body = {
        "event": row.event,
        "start_time": iso_us(row.start_time),
        "finish_time": iso_us(row.finish_time),
        "result": row.result,
    }
    if show_details:
        body["traceback"] = row.details
    if api.version.matches(mv.EVENT_HOST):
        body["hostId"] = server_views.host_id(project_id, row.host)
        if show_details:
            body["host"] = row.host or ""
    if api.version.matches(mv.EVENT_DETAILS):
        body["details"] = summary_line(row.details)
    return body


def summary_line(details):
    """The last line of a traceback-like text: the error message itself."""
    if not details:
        return None
    lines = [line for line in details.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else None
