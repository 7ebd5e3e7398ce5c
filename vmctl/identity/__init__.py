"""The embedded identity service: a Keystone v3-compatible subset.

``tokens`` (Fernet tokens and the key repository), ``passwords`` (bcrypt),
``api`` (the /identity handlers), ``views`` (Keystone-shaped bodies),
``schemas`` (request validation), ``exception`` (its domain errors). The
tables are in vmctl/db/identity_models.py, their access in
vmctl/db/identity.py. See doc/identity.md.
"""
