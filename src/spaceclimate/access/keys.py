"""API keys for writes: scopes, tokens shown once, and salted digests in the catalog database.

A token reads ``sco_<id>_<secret>``: the id finds the key's row, the 256-bit random secret is
checked against the row's HMAC-SHA256 digest under a per-key random salt (a secret that long
needs no slow hash). The database never holds a token, so a copy of it grants nothing.

A key has one or more scopes:

``admin``
    every write, and reading the audit log;
``provider:<name>``
    collections whose providers (``providers[].name`` or ``sco:agencies``) include *name*
    (case-insensitive): an agency's key writes that agency's collections, and may credit no
    other agency as a provider of a collection (:meth:`ApiKey.foreign_agencies`);
``collection:<id>``
    that one collection.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, insert, select, update

from spaceclimate.clock import now_iso
from spaceclimate.db.schema import api_keys
from spaceclimate.errors import InputError, NotFoundError

SCOPE_KINDS = ("admin", "provider", "collection")
_TOKEN = re.compile(r"^sco_([0-9a-f]{12})_([A-Za-z0-9_-]{20,200})$")
_NAME = re.compile(r"^[^\x00-\x1f]{0,200}$")


@dataclass(frozen=True)
class Scope:
    """What a key may write: ``admin``, ``provider:<name>`` or ``collection:<id>``."""

    kind: str
    value: str = ""

    @classmethod
    def parse(cls, text: str) -> Scope:
        """Read a scope; InputError naming the accepted forms."""
        kind, _sep, value = text.strip().partition(":")
        kind, value = kind.strip().lower(), value.strip()
        if kind == "admin" and not value:
            return cls("admin")
        if kind in ("provider", "collection") and value and len(value) <= 200:
            return cls(kind, value)
        raise InputError(
            f"scope {text!r}: expected admin, provider:<agency> or collection:<collection id>"
        )

    def __str__(self) -> str:
        return self.kind if self.kind == "admin" else f"{self.kind}:{self.value}"


def collection_agencies(doc: Mapping[str, Any]) -> set[str]:
    """Return the lower-cased provider names of a STAC Collection (providers, sco:agencies)."""
    names = [str(a) for a in doc.get("sco:agencies", []) or []]
    for provider in doc.get("providers", []) or []:
        if isinstance(provider, Mapping) and provider.get("name"):
            names.append(str(provider["name"]))
    return {n.strip().lower() for n in names}


@dataclass(frozen=True)
class ApiKey:
    """A stored key (without its secret)."""

    id: str
    name: str
    scopes: tuple[Scope, ...]
    created: str
    revoked: str | None = None

    @property
    def is_admin(self) -> bool:
        """True for a key with the admin scope."""
        return any(s.kind == "admin" for s in self.scopes)

    def may_write(self, collection_id: str, agencies: Iterable[str]) -> bool:
        """Whether the key may write collection *collection_id* of providers *agencies*."""
        lowered = {a.lower() for a in agencies}
        for scope in self.scopes:
            if scope.kind == "admin":
                return True
            if scope.kind == "collection" and scope.value == collection_id:
                return True
            if scope.kind == "provider" and scope.value.lower() in lowered:
                return True
        return False

    def foreign_agencies(self, agencies: Iterable[str]) -> list[str]:
        """Return those of *agencies* the key may not credit as a collection's providers.

        An admin key may name any agency; any other key only the agencies of its
        ``provider:`` scopes (case-insensitive). Naming another agency would let that
        agency's keys write the collection and show it as that agency's.
        """
        if self.is_admin:
            return []
        own = {s.value.strip().lower() for s in self.scopes if s.kind == "provider"}
        return sorted({a.strip().lower() for a in agencies} - own)

    def label(self) -> str:
        """Name the key in messages: ``key 3f2a... (ESA ops: provider:ESA)``."""
        scopes = ", ".join(str(s) for s in self.scopes)
        return (
            f"key {self.id} ({self.name}: {scopes})" if self.name else f"key {self.id} ({scopes})"
        )

    def as_dict(self) -> dict[str, Any]:
        """Return the key as JSON (no secret, no digest)."""
        return {
            "id": self.id,
            "name": self.name,
            "scopes": [str(s) for s in self.scopes],
            "created": self.created,
            "revoked": self.revoked,
        }


def _digest(salt: str, secret: str) -> str:
    return hmac.new(bytes.fromhex(salt), secret.encode(), hashlib.sha256).hexdigest()


class KeyStore:
    """Create, list, revoke and verify API keys in the catalog database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @staticmethod
    def _key(row: Any) -> ApiKey:
        return ApiKey(
            id=row.id,
            name=row.name,
            scopes=tuple(Scope.parse(s) for s in row.scopes),
            created=row.created,
            revoked=row.revoked,
        )

    def create(self, scopes: Iterable[str], name: str = "") -> tuple[ApiKey, str]:
        """Store a new key; return it and its token (which is not kept: show it once)."""
        parsed = tuple(dict.fromkeys(Scope.parse(s) for s in scopes))
        if not parsed:
            raise InputError("--scope: give at least one scope (admin, provider:X, collection:Y)")
        if not _NAME.match(name):
            raise InputError("--name: at most 200 printable characters")
        key_id, secret, salt = (
            secrets.token_hex(6),
            secrets.token_urlsafe(32),
            secrets.token_hex(16),
        )
        key = ApiKey(key_id, name, parsed, now_iso())
        with self.engine.begin() as conn:
            conn.execute(
                insert(api_keys).values(
                    id=key.id,
                    name=name,
                    scopes=[str(s) for s in parsed],
                    salt=salt,
                    digest=_digest(salt, secret),
                    created=key.created,
                    revoked=None,
                )
            )
        return key, f"sco_{key_id}_{secret}"

    def get(self, key_id: str) -> ApiKey:
        """Return one key; NotFoundError when unknown."""
        with self.engine.connect() as conn:
            row = conn.execute(select(api_keys).where(api_keys.c.id == key_id)).first()
        if row is None:
            raise NotFoundError(f"no API key {key_id!r}")
        return self._key(row)

    def list_keys(self, include_revoked: bool = True) -> list[ApiKey]:
        """Return every key, oldest first."""
        query = select(api_keys).order_by(api_keys.c.created, api_keys.c.id)
        if not include_revoked:
            query = query.where(api_keys.c.revoked.is_(None))
        with self.engine.connect() as conn:
            return [self._key(r) for r in conn.execute(query)]

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke a key at once (idempotent); NotFoundError when unknown."""
        with self.engine.begin() as conn:
            conn.execute(
                update(api_keys)
                .where(api_keys.c.id == key_id, api_keys.c.revoked.is_(None))
                .values(revoked=now_iso())
            )
        return self.get(key_id)

    def verify(self, token: str) -> ApiKey | None:
        """Return the live key of *token*, or None (malformed, unknown, wrong or revoked)."""
        match = _TOKEN.match(token.strip())
        if match is None:
            return None
        key_id, secret = match.groups()
        with self.engine.connect() as conn:
            row = conn.execute(select(api_keys).where(api_keys.c.id == key_id)).first()
        if row is None or row.revoked is not None:
            return None
        if not hmac.compare_digest(_digest(row.salt, secret), row.digest):
            return None
        return self._key(row)
