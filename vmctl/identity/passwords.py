"""Password hashing with bcrypt.

bcrypt reads at most 72 bytes of its input, so the password is first
reduced to the base64 of its SHA-256 (44 bytes): long passwords keep every
character significant. Hashes start with ``$2b$`` and carry their salt and
cost.
"""

import base64
import hashlib

import bcrypt

ROUNDS = 12


def _prehash(password):
    digest = hashlib.sha256(password.encode("utf-8")).digest()
    return base64.b64encode(digest)


def hash_password(password, rounds=ROUNDS):
    return bcrypt.hashpw(_prehash(password), bcrypt.gensalt(rounds)).decode("ascii")


def check_password(password, hashed):
    """True when ``password`` matches ``hashed``; False for no hash at all."""
    if not hashed or password is None:
        return False
    try:
        return bcrypt.checkpw(_prehash(password), hashed.encode("ascii"))
    except ValueError:
        return False
