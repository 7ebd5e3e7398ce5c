#!/usr/bin/env python3
"""Print a token of devstack's admin, for curl and the scripts.

    devstack/token.py [API_URL [PASSWORD_FILE]]

With the password file stack.sh wrote (devstack/data/admin-password), a
real token of user admin on project admin from the identity API
(<API_URL>/identity/v3); without one (a noauth cloud), ``admin:admin``.
Exits 1 if the identity API refuses or does not answer.
"""

import json
import os
import sys
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))


def main(argv):
    url = argv[1] if len(argv) > 1 else "http://127.0.0.1:8774"
    password_file = argv[2] if len(argv) > 2 else os.path.join(HERE, "data", "admin-password")
    if not os.path.exists(password_file):
        print("admin:admin")
        return 0
    with open(password_file) as f:
        password = f.read().strip()
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}
    req = urllib.request.Request(url.rstrip("/") + "/identity/v3/auth/tokens?nocatalog",
                                 data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            print(resp.headers["X-Subject-Token"])
            return 0
    except (urllib.error.URLError, OSError) as exc:
        print("token.py: no token from %s: %s" % (url, exc), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
