"""What every daemon's manager offers the Service that runs it."""


class Manager:
    """Base of the RPC endpoint objects (``target`` set by subclasses)."""

    def init_host(self):
        """Before the RPC server starts."""

    def after_start(self):
        """Once the RPC server consumes."""

    def report_state(self):
        """Heartbeat: called every report_interval seconds."""

    def periodic_tasks(self):
        """[(name, interval seconds or callable, fn)]"""
        return []

    def cleanup(self):
        """After the RPC server drained."""
