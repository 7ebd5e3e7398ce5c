"""The API's short-lived cache of validated tokens."""

import datetime

from vmctl.identity import cache

NOW = datetime.datetime(2026, 11, 22, 12, 0)
IDENTITY = {"user_id": "u", "project_id": "p", "roles": ["member", "reader"]}


class Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def _cache(ttl=5):
    clock = Clock()
    return cache.TokenCache(ttl, clock=clock, now=lambda: NOW + datetime.timedelta(
        seconds=clock.t - 100)), clock


def test_kept_for_the_ttl_then_forgotten():
    tokens, clock = _cache()
    tokens.put("tok", IDENTITY, NOW + datetime.timedelta(hours=1))
    assert tokens.get("tok") == IDENTITY and tokens.get("other") is None
    clock.t += 4.9
    assert tokens.get("tok") == IDENTITY
    clock.t += 0.2
    assert tokens.get("tok") is None


def test_never_past_the_tokens_expiry():
    tokens, clock = _cache(ttl=60)
    tokens.put("tok", IDENTITY, NOW + datetime.timedelta(seconds=2))
    clock.t += 1.5
    assert tokens.get("tok") == IDENTITY
    clock.t += 1.0
    assert tokens.get("tok") is None
    tokens.put("expired", IDENTITY, NOW)
    assert tokens.get("expired") is None


def test_clear_and_ttl_zero():
    tokens, _ = _cache()
    tokens.put("tok", IDENTITY, NOW + datetime.timedelta(hours=1))
    tokens.clear()
    assert tokens.get("tok") is None
    off, _ = _cache(ttl=0)
    off.put("tok", IDENTITY, NOW + datetime.timedelta(hours=1))
    assert off.get("tok") is None


def test_callers_cannot_change_what_is_cached():
    tokens, _ = _cache()
    tokens.put("tok", IDENTITY, NOW + datetime.timedelta(hours=1))
    tokens.get("tok")["roles"].append("admin")
    assert tokens.get("tok")["roles"] == ["member", "reader"]


def test_tokens_are_not_kept_in_clear():
    tokens, _ = _cache()
    tokens.put("secret-token", IDENTITY, NOW + datetime.timedelta(hours=1))
    assert all(isinstance(k, bytes) and b"secret" not in k for k in tokens._entries)
