"""What the tools that deploy vmctl share (devstack/, the test fixtures).

A cloud the tests run must be configured as the one a user deploys: the
files both write are built here, once.
"""
