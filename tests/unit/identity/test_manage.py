"""vmctl-manage's identity commands, in-process against a SQLite file."""

import os
import stat

import pytest
import sqlalchemy as sa

from vmctl.cmd import manage
from vmctl.db import api as db_api
from vmctl.db import identity as db_identity
from vmctl.db.identity_models import IdentityRoleAssignment
from vmctl.db.identity_models import IdentityUser
from vmctl.identity import passwords


@pytest.fixture
def conf_file(tmp_path):
    path = tmp_path / "vmctl.conf"
    path.write_text("[database]\nconnection = sqlite:///%s\n[identity]\nkey_repository = %s\n"
                    "password_hash_rounds = 4\n" % (tmp_path / "db.sqlite", tmp_path / "keys"))
    assert manage.main(["--config-file", str(path), "db", "sync"]) == 0
    return str(path)


def run(conf_file, *args, env=None, monkeypatch=None):
    if env:
        for key, value in env.items():
            monkeypatch.setenv(key, value)
    return manage.main(["--config-file", conf_file, *args])


def _db(conf_file):
    url = open(conf_file).read().split("connection = ")[1].split("\n")[0]
    return db_api.Database(url)


def test_fernet_setup_and_rotate(conf_file, tmp_path, capsys):
    assert run(conf_file, "fernet", "rotate") == 1  # nothing to rotate yet
    assert run(conf_file, "fernet", "setup") == 0
    keys = tmp_path / "keys"
    assert sorted(os.listdir(keys)) == ["0", "1"]
    assert stat.S_IMODE(os.stat(keys).st_mode) == 0o700
    assert run(conf_file, "fernet", "setup") == 0  # idempotent
    assert "already set up" in capsys.readouterr().out
    assert run(conf_file, "fernet", "rotate") == 0
    assert sorted(os.listdir(keys)) == ["0", "1", "2"]
    assert run(conf_file, "fernet", "rotate") == 0
    assert sorted(os.listdir(keys)) == ["0", "2", "3"]  # max_active_keys = 3


def test_bootstrap_is_idempotent(conf_file, monkeypatch, capsys):
    env = {"PW": "first-pw"}
    assert run(conf_file, "bootstrap", "--password-env", "PW", env=env,
               monkeypatch=monkeypatch) == 0
    out = capsys.readouterr().out
    assert "first-pw" not in out and "(created)" in out
    assert run(conf_file, "bootstrap", "--password-env", "PW", env=env,
               monkeypatch=monkeypatch) == 0
    assert "(created)" not in capsys.readouterr().out
    db = _db(conf_file)
    try:
        with db.reader() as session:
            assert len(db_identity.list_users(session)) == 1
            assert [r.name for r in db_identity.list_roles(session)] == [
                "admin", "member", "reader", "service"]
            user = db_identity.find_user(session, "admin")
            assert user.tokens_valid_after is None
            assert len(list(session.scalars(sa.select(IdentityRoleAssignment)))) == 1
        # A new password: set again, and the user's tokens are invalidated.
        assert run(conf_file, "bootstrap", "--password-env", "PW", env={"PW": "second-pw"},
                   monkeypatch=monkeypatch) == 0
        assert "password reset" in capsys.readouterr().out
        with db.reader() as session:
            user = session.scalars(sa.select(IdentityUser)).one()
            assert passwords.check_password("second-pw", user.password_hash)
            assert user.tokens_valid_after is not None
    finally:
        db.dispose()


def test_users_projects_roles(conf_file, monkeypatch, capsys):
    assert run(conf_file, "project", "create", "demo") == 0
    assert run(conf_file, "project", "create", "demo") == 1  # duplicate
    assert run(conf_file, "user", "create", "alice", "--project", "demo",
               "--password-env", "PW", env={"PW": "alice-pw"}, monkeypatch=monkeypatch) == 0
    assert run(conf_file, "role", "add", "--user", "alice", "--project", "demo",
               "--role", "member") == 0
    assert run(conf_file, "role", "add", "--user", "nobody", "--project", "demo",
               "--role", "member") == 1
    assert "Could not find user: nobody" in capsys.readouterr().err
    assert run(conf_file, "role", "add", "--user", "alice", "--project", "nowhere",
               "--role", "member") == 1
    assert "Could not find project: nowhere" in capsys.readouterr().err
    db = _db(conf_file)
    try:
        with db.reader() as session:
            alice = db_identity.find_user(session, "alice")
            demo = db_identity.find_project(session, "demo")
            assert alice.default_project_id == demo.id
        # By id as well as by name.
        assert run(conf_file, "role", "add", "--user", alice.id, "--project", demo.id,
                   "--role", "admin") == 0
        with db.reader() as session:
            assert [r.name for r in db_identity.roles_of(session, alice.id, demo.id)] == [
                "admin", "member"]
    finally:
        db.dispose()


def test_password_needs_a_source_without_a_terminal(conf_file, monkeypatch):
    monkeypatch.setattr("sys.stdin", open(os.devnull))
    with pytest.raises(SystemExit):
        run(conf_file, "bootstrap")
    with pytest.raises(SystemExit):
        run(conf_file, "bootstrap", "--password-env", "UNSET_VAR_H1")


def test_bootstrap_a_service_user(conf_file, monkeypatch, capsys):
    """devstack's vmctl-compute: the service role, not admin (issue 21)."""
    env = {"PW": "svc-pw"}
    assert run(conf_file, "bootstrap", "--username", "svc", "--project", "service",
               "--role", "service", "--password-env", "PW", env=env,
               monkeypatch=monkeypatch) == 0
    assert "role service of svc on service" in capsys.readouterr().out
