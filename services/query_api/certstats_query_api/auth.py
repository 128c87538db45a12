"""Bearer-token authentication (SPEC.md §4): who is asking, on which platform.

Tokens are JWTs signed HS256 with the configured secret, or RS256/ES256 with a key of the
configured JWKS file (chosen by ``kid``, or the only key). Required claims: ``sub``,
``platform_id``, ``exp``; optional ``roles`` (``["platform_admin"]``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jwt
from jwt.types import Options

from certstats_query_api.problems import unauthorized
from certstats_query_api.settings import ApiSettings

PLATFORM_ADMIN = "platform_admin"
_ASYMMETRIC = ("RS256", "ES256")


@dataclass(frozen=True)
class Requester:
    """The authenticated requester: ``user_id`` (the ``sub`` claim) on ``platform_id``."""

    user_id: str
    platform_id: str
    platform_admin: bool


class TokenVerifier:
    """Verifies bearer tokens against the keys of :class:`ApiSettings`."""

    def __init__(self, settings: ApiSettings) -> None:
        self._secret = settings.jwt_secret
        self._jwks: dict[str | None, jwt.PyJWK] = {}
        if settings.jwt_jwks_file is not None:
            keys = jwt.PyJWKSet.from_json(settings.jwt_jwks_file.read_text()).keys
            self._jwks = {key.key_id: key for key in keys}

    def requester(self, authorization: str | None) -> Requester:
        """The requester of an ``Authorization`` header value.

        Raises:
            ApiProblem: 401 for a missing/malformed header, a bad signature or algorithm, an
                expired token or a missing/invalid claim.
        """
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthorized("missing bearer token")
        try:
            claims = self._decode(token.strip())
        except jwt.PyJWTError as error:
            raise unauthorized(f"invalid token: {error}") from error
        return _requester_of(claims)

    def _decode(self, token: str) -> dict[str, Any]:
        header = jwt.get_unverified_header(token)
        options: Options = {"require": ["sub", "platform_id", "exp"]}
        algorithm = header.get("alg")
        if algorithm == "HS256" and self._secret is not None:
            return jwt.decode(token, self._secret, algorithms=["HS256"], options=options)
        if algorithm in _ASYMMETRIC and self._jwks:
            key = self._jwks.get(header.get("kid"))
            if key is None and len(self._jwks) == 1 and "kid" not in header:
                key = next(iter(self._jwks.values()))
            if key is None or key.algorithm_name != algorithm:
                raise jwt.InvalidKeyError("no matching key")
            return jwt.decode(token, key, algorithms=[algorithm], options=options)
        raise jwt.InvalidAlgorithmError(f"algorithm {algorithm!r} not accepted")


def _requester_of(claims: dict[str, Any]) -> Requester:
    sub, platform_id, roles = claims["sub"], claims["platform_id"], claims.get("roles", [])
    if not (isinstance(sub, str) and sub and isinstance(platform_id, str) and platform_id):
        raise unauthorized("claims sub and platform_id must be non-empty strings")
    exp = claims["exp"]
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        raise unauthorized("claim exp must be a number (RFC 7519 NumericDate)")
    if not (isinstance(roles, list) and all(isinstance(role, str) for role in roles)):
        raise unauthorized("claim roles must be an array of strings")
    return Requester(sub, platform_id, PLATFORM_ADMIN in roles)


def mint_token(
    secret: str, *, sub: str, platform_id: str, roles: list[str], ttl_seconds: int, now: int
) -> str:
    """A development HS256 token for ``certstats token`` and the tests."""
    claims = {"sub": sub, "platform_id": platform_id, "roles": roles, "exp": now + ttl_seconds}
    return jwt.encode(claims, secret, algorithm="HS256")
