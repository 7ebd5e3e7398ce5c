"""bcrypt password hashes."""

from vmctl.identity import passwords


def test_hash_and_check():
    hashed = passwords.hash_password("correct horse", rounds=4)
    assert hashed.startswith("$2b$04$")
    assert "correct horse" not in hashed
    assert passwords.check_password("correct horse", hashed)
    assert not passwords.check_password("correct horsE", hashed)
    assert not passwords.check_password("", hashed)


def test_salted():
    assert passwords.hash_password("x", rounds=4) != passwords.hash_password("x", rounds=4)


def test_long_passwords_keep_every_character():
    base = "a" * 100
    hashed = passwords.hash_password(base + "1", rounds=4)
    assert passwords.check_password(base + "1", hashed)
    assert not passwords.check_password(base + "2", hashed)


def test_no_hash_or_garbage_never_matches():
    assert not passwords.check_password("x", None)
    assert not passwords.check_password("x", "")
    assert not passwords.check_password("x", "not-a-bcrypt-hash")
    assert not passwords.check_password(None, passwords.hash_password("x", rounds=4))
