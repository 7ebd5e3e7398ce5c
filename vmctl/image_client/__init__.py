"""The compute side of the image service: an HTTP client (client.py).

Compute agents import this package, so it uses only the standard library
and never reaches vmctl.images or vmctl.db (tests/unit/test_agent_no_db.py).
"""
