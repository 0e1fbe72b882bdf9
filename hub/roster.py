#!/usr/bin/env python3
"""A class roster -> per-student passwords, and the JupyterHub authenticator that checks them.

The roster is a CSV with a header ``username,full_name,role`` (``role`` is ``student`` or ``admin``; see
``hub/roster.example.csv``). ``python hub/roster.py --roster ROSTER --out build/hub`` (run by ``make hub``)

* gives every user without a password a new random one (``secrets``, 12 characters from an alphabet without
  look-alikes), keeps the passwords of users already there, and drops users no longer in the roster;
* writes ``passwords.csv`` (username, full name, password; mode 0600) for the instructor to hand out, and
  ``roster.json`` (username -> role, salt, PBKDF2-SHA256 hash; mode 0600) that the hub reads.

:class:`RosterAuthenticator` is a JupyterHub ``Authenticator``: it checks a login against ``roster.json``
(constant-time comparison), allows exactly the roster's users and makes ``admin`` rows hub admins.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import hmac
import json
import os
import re
import secrets
import sys
from pathlib import Path

ALPHABET = "abcdefghjkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY23456789"   # no 0/O, 1/l/I, 5/S
PASSWORD_LENGTH = 12
ITERATIONS = 200_000
MAX_USERS = 500
USERNAME = re.compile(r"^[a-z][a-z0-9_\-]{0,31}$")
ROLES = ("student", "admin")


def hash_password(password: str, salt: bytes, iterations: int = ITERATIONS) -> str:
    """PBKDF2-SHA256 of ``password`` as hex."""
    return hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations).hex()


def read_roster(path: Path | str) -> list[dict[str, str]]:
    """The roster's rows (username, full_name, role), checked: clear errors naming the row."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"roster {path} does not exist: copy hub/roster.example.csv and list your class")
    rows, seen = [], set()
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or "username" not in reader.fieldnames:
            raise ValueError(f"roster {path}: the first line must be the header 'username,full_name,role'")
        for k, row in enumerate(reader, start=2):
            name = (row.get("username") or "").strip()
            role = (row.get("role") or "student").strip() or "student"
            if not USERNAME.match(name):
                raise ValueError(f"roster {path} line {k}: username {name!r} must be 1-32 lower-case letters, "
                                 "digits, '_' or '-', starting with a letter")
            if role not in ROLES:
                raise ValueError(f"roster {path} line {k}: role {role!r} must be one of {ROLES}")
            if name in seen:
                raise ValueError(f"roster {path} line {k}: username {name!r} is listed twice")
            seen.add(name)
            rows.append({"username": name, "full_name": (row.get("full_name") or "").strip(), "role": role})
    if not rows:
        raise ValueError(f"roster {path} lists no users")
    if len(rows) > MAX_USERS:
        raise ValueError(f"roster {path} lists {len(rows)} users; a one-server hub is meant for at most "
                         f"{MAX_USERS} (use Zero to JupyterHub, hub/values.yaml, for more)")
    return rows


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
    os.replace(tmp, path)


def generate(roster: Path | str, out: Path | str, *, length: int = PASSWORD_LENGTH) -> dict[str, str]:
    """Write ``passwords.csv`` and ``roster.json`` into ``out`` for ``roster``; returns username -> password
    (existing passwords kept)."""
    if not isinstance(length, int) or not 8 <= length <= 64:
        raise ValueError(f"length must be an int in 8..64, got {length!r}")
    rows = read_roster(roster)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    old: dict[str, str] = {}
    pw_file = out / "passwords.csv"
    if pw_file.exists():
        with pw_file.open(newline="", encoding="utf-8") as fh:
            old = {r["username"]: r["password"] for r in csv.DictReader(fh) if r.get("password")}
    passwords, users = {}, {}
    for row in rows:
        pw = old.get(row["username"]) or "".join(secrets.choice(ALPHABET) for _ in range(length))
        passwords[row["username"]] = pw
        salt = secrets.token_bytes(16)
        users[row["username"]] = {"role": row["role"], "full_name": row["full_name"], "salt": salt.hex(),
                                  "iterations": ITERATIONS, "hash": hash_password(pw, salt)}
    lines = ["username,full_name,password"]
    for row in rows:
        lines.append(",".join(csv_field(v) for v in (row["username"], row["full_name"], passwords[row["username"]])))
    _write_private(pw_file, "\n".join(lines) + "\n")
    _write_private(out / "roster.json", json.dumps({"users": users}, indent=1))
    return passwords


def csv_field(value: str) -> str:
    return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\n') else value


def load_users(path: Path | str) -> dict[str, dict]:
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path} does not exist: run `python hub/roster.py --roster ROSTER --out {path.parent}`")
    return json.loads(path.read_text(encoding="utf-8"))["users"]


def check_password(users: dict[str, dict], username: str, password: str) -> bool:
    """True when ``password`` is ``username``'s (constant-time; unknown users cost the same)."""
    entry = users.get(username)
    salt = bytes.fromhex(entry["salt"]) if entry else b"\0" * 16
    iterations = int(entry["iterations"]) if entry else ITERATIONS
    digest = hash_password(password if isinstance(password, str) else "", salt, iterations)
    return bool(entry) and hmac.compare_digest(digest, entry["hash"])


try:  # the authenticator needs JupyterHub; generating passwords does not
    from jupyterhub.auth import Authenticator
    from traitlets import Unicode

    class RosterAuthenticator(Authenticator):
        """Log in with the per-student password generated from the roster (``roster.json``)."""

        roster_file = Unicode("roster.json", config=True, help="roster.json written by hub/roster.py")

        def _users(self) -> dict[str, dict]:
            return load_users(self.roster_file)     # re-read: a roster update needs no hub restart

        def check_allowed(self, username, authentication=None):
            return username in self._users()

        def is_admin(self, handler, authentication):
            return self._users().get(authentication["name"], {}).get("role") == "admin"

        async def authenticate(self, handler, data):
            username = (data or {}).get("username", "")
            password = (data or {}).get("password", "")
            if not isinstance(username, str) or not isinstance(password, str) or len(password) > 256:
                return None
            users = self._users()
            if check_password(users, username, password):
                return {"name": username, "admin": users[username]["role"] == "admin"}
            self.log.warning("failed login for %r", username[:32])
            return None
except ImportError:  # pragma: no cover - only without the classroom extra
    RosterAuthenticator = None  # type: ignore[assignment,misc]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="per-student passwords from a class roster")
    ap.add_argument("--roster", required=True, help="CSV: username,full_name,role")
    ap.add_argument("--out", required=True, help="folder for passwords.csv and roster.json (e.g. build/hub)")
    args = ap.parse_args(argv)
    try:
        pw = generate(args.roster, args.out)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{len(pw)} users; passwords for the instructor in {Path(args.out) / 'passwords.csv'} (keep private)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
