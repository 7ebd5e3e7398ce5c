"""Fernet tokens and the key repository: issue, read, rotate, expire, tamper."""

import base64
import datetime
import os
import stat
import uuid

from cryptography import fernet
import pytest

from vmctl.identity import tokens


@pytest.fixture
def repo(tmp_path):
    path = str(tmp_path / "keys")
    tokens.setup(path, max_active_keys=3)
    return path


def test_setup_makes_staged_and_primary_private(repo):
    assert tokens.key_ids(repo) == [0, 1]
    assert stat.S_IMODE(os.stat(repo).st_mode) == 0o700
    for key_id in (0, 1):
        assert stat.S_IMODE(os.stat(os.path.join(repo, str(key_id))).st_mode) == 0o600


def test_setup_keeps_existing_keys(repo):
    with open(os.path.join(repo, "1"), "rb") as f:
        before = f.read()
    assert tokens.setup(repo, 3) == [0, 1]
    with open(os.path.join(repo, "1"), "rb") as f:
        assert f.read() == before


def test_issue_and_read_roundtrip(repo):
    provider = tokens.FernetProvider(repo, 3600)
    # Ids as long as real ones: a short one ("u1") turns up in a random
    # base64 token by chance about one time in twenty.
    user_id, project_id = uuid.uuid4().hex, uuid.uuid4().hex
    token, data = provider.issue(user_id, project_id, ["password"])
    read = provider.read(token)
    assert (read.user_id, read.project_id, read.methods, read.audit_id) == (
        user_id, project_id, ["password"], data.audit_id)
    assert abs((read.issued_at - data.issued_at).total_seconds()) < 1e-5
    assert read.expires_at - read.issued_at == datetime.timedelta(seconds=3600)
    assert not read.expired()
    # Encrypted, not just signed: the ids are not in the token's bytes.
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    assert user_id.encode() not in raw and project_id.encode() not in raw


def test_expiry():
    data = tokens.TokenData("u", "p", ["password"], datetime.datetime(2020, 1, 1),
                            datetime.datetime(2020, 1, 1, 1), "a")
    assert data.expired(datetime.datetime(2020, 1, 1, 1))
    assert not data.expired(datetime.datetime(2020, 1, 1, 0, 59))


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-4] + ("AAAA" if t[-4:] != "AAAA" else "BBBB"),
    lambda t: t[:20] + ("x" if t[20] != "x" else "y") + t[21:],
    lambda t: t + "A",
    lambda t: "",
    lambda t: "not a token at all",
    lambda t: "é" * 10,
])
def test_tampered_tokens_are_refused(repo, mangle):
    provider = tokens.FernetProvider(repo, 3600)
    token, _ = provider.issue("u1", "p1", ["password"])
    with pytest.raises(tokens.TokenError):
        provider.read(mangle(token))


def test_token_of_foreign_key_refused(repo):
    other = fernet.Fernet(fernet.Fernet.generate_key())
    payload = tokens.pack(tokens.TokenData("u", "p", ["password"], tokens.utcnow(),
                                           tokens.utcnow(), "a"))
    with pytest.raises(tokens.TokenError):
        tokens.FernetProvider(repo, 3600).read(other.encrypt(payload).decode())


def test_rotation_keeps_recent_tokens_and_drops_old(repo):
    provider = tokens.FernetProvider(repo, 3600)
    old, _ = provider.issue("u1", "p1", ["password"])
    assert tokens.rotate(repo, 3) == [0, 1, 2]
    # The provider notices the rotation: new tokens use the new primary,
    # the old token is still read with the now-secondary key 1.
    new, _ = provider.issue("u2", "p2", ["password"])
    assert provider.read(old).user_id == "u1"
    with open(os.path.join(repo, "2"), "rb") as f:
        assert fernet.Fernet(f.read()).decrypt(new.encode())
    assert tokens.rotate(repo, 3) == [0, 2, 3]  # key 1 pruned
    with pytest.raises(tokens.TokenError):
        provider.read(old)
    assert provider.read(new).user_id == "u2"


def test_staged_key_validates_before_promotion(repo):
    """A node that already rotated issues with the key the others still
    hold as staged: they must accept its tokens."""
    with open(os.path.join(repo, "0"), "rb") as f:
        staged = fernet.Fernet(f.read())
    payload = tokens.pack(tokens.TokenData("u", "p", ["password"], tokens.utcnow(),
                                           tokens.utcnow(), "a"))
    assert tokens.FernetProvider(repo, 60).read(staged.encrypt(payload).decode()).user_id == "u"


def test_missing_repository(tmp_path):
    provider = tokens.FernetProvider(str(tmp_path / "nowhere"), 60)
    with pytest.raises(tokens.KeyRepositoryError):
        provider.issue("u", "p", ["password"])
    with pytest.raises(tokens.KeyRepositoryError):
        tokens.rotate(str(tmp_path / "nowhere"), 3)


def test_repr_never_shows_token(repo):
    token, data = tokens.FernetProvider(repo, 60).issue("u", "p", ["password"])
    assert token not in repr(data)
