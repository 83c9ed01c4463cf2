"""API tokens: ``srcost token create NAME [--read-only]`` makes one, ``srcost token revoke NAME`` removes it.

A token is 256 random bits (``secrets.token_urlsafe``), shown once when it is created; the store keeps only
its SHA-256. (A slow password hash buys nothing here: nobody can guess 256 random bits, so the digest of a
stolen store does not lead back to a token.) A request names its token as ``Authorization: Bearer <token>``
(a revoked token is refused within a second); a read-only token may predict and read operator costs and
models, a full one may also submit and cancel jobs.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from dataclasses import dataclass

from hls_gen.errors import SrcostError
from profiler.store import CalibrationStore, TokenRecord

TOKEN_PREFIX = 'srcost_'
_NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$')


class TokenError(SrcostError, ValueError):
    """A token name is malformed or unknown."""


@dataclass(frozen=True)
class Principal:
    """Who made a request: the token's name (``'anonymous'`` without auth) and whether it may submit jobs."""

    name: str
    read_only: bool


ANONYMOUS = Principal('anonymous', read_only=False)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(store: CalibrationStore, name: str, read_only: bool = False) -> str:
    """A new token named ``name``; only its hash is stored. Returns the token (the only time it is seen)."""
    if not _NAME.match(name):
        raise TokenError(f'token name {name!r} must be 1-64 letters, digits or . _ @ - (starting with a letter or digit)')
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    store.put_token(TokenRecord(name, token_hash(token), read_only))
    return token


def revoke_token(store: CalibrationStore, name: str) -> None:
    if not store.delete_token(name):
        known = ', '.join(t.name for t in store.tokens()) or 'none'
        raise TokenError(f'no token named {name!r} in {store.path} (tokens: {known})')


class Authenticator:
    """Checks a request's ``Authorization`` header against the store's tokens. An answer of the store is kept
    for ``ttl_s`` seconds (a lookup per request would cost the store a query, and the predictor the GIL), so
    a revoked token stops working within that time."""

    def __init__(self, store: CalibrationStore, lock: threading.Lock, enabled: bool = True, ttl_s: float = 1.0):
        self.store = store
        self.lock = lock
        self.enabled = enabled
        self.ttl_s = ttl_s
        self._seen: dict[str, tuple[float, Principal | None]] = {}

    def principal(self, authorization: str | None) -> Principal | None:
        """The token's principal, or None when the header is missing, malformed or names no token."""
        if not self.enabled:
            return ANONYMOUS
        if not authorization:
            return None
        scheme, _, token = authorization.partition(' ')
        if scheme.lower() != 'bearer' or not token.strip():
            return None
        digest = token_hash(token.strip())
        now = time.monotonic()
        hit = self._seen.get(digest)
        if hit is not None and now - hit[0] < self.ttl_s:
            return hit[1]
        with self.lock:
            rec = self.store.token_by_hash(digest)
        p = None if rec is None or not secrets.compare_digest(rec.token_hash, digest) else Principal(rec.name, rec.read_only)
        if len(self._seen) > 10_000:  # a flood of wrong tokens cannot grow it without bound
            self._seen.clear()
        self._seen[digest] = (now, p)
        return p
