"""Pecan hooks: Nova-shaped errors for everything that goes wrong."""

import logging

from pecan import hooks

from vmctl.api import errors
from vmctl.api import microversion as mv

LOG = logging.getLogger(__name__)


class ErrorHook(hooks.PecanHook):
    """Maps ApiError and domain errors to their HTTP code; anything else is
    logged with its traceback and answered with a bare computeFault."""

    def on_error(self, state, exc):
        mapped = errors.from_exception(exc)
        if mapped is None and getattr(exc, "status_int", None):
            mapped = (exc.status_int, getattr(exc, "detail", None) or str(exc))
        if mapped is None:
            LOG.exception("Unexpected error handling %s %s",
                          state.request.method, state.request.path)
            mapped = (500, errors.COMPUTE_FAULT_MESSAGE)
        elif mapped[0] >= 500:
            LOG.error("%s %s failed: %s", state.request.method,
                      state.request.path, mapped[1])
        headers = {}
        version = state.request.context.get("vmctl.version")
        if version is not None:
            headers = mv.response_headers(version)
        return errors.fault_response(mapped[0], mapped[1], headers)
