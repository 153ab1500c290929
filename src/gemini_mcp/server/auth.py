"""Who may call the HTTP server: a static bearer token, or OAuth 2.1 access tokens (JWT) as a resource server.

Both plug into the `mcp` SDK's `TokenVerifier` hook, so the SDK answers 401 with `WWW-Authenticate` and,
for OAuth, serves the protected-resource metadata (RFC 9728) that points clients at the issuer. JWTs are
verified against the issuer's JWKS (signature, `exp`, `iss`) and their audience must be this server
(RFC 8707), so a token minted for another service is refused.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

import anyio
from mcp.server.auth.provider import AccessToken, TokenVerifier
from mcp.server.auth.settings import AuthSettings

from gemini_mcp.config.settings import Settings

logger = logging.getLogger("gemini_mcp.auth")

JWT_ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256", "EdDSA"]


class StaticTokenVerifier:
    """Accepts exactly one token, compared in constant time."""

    def __init__(self, token: str) -> None:
        self._token = token.encode()

    async def verify_token(self, token: str) -> AccessToken | None:
        if hmac.compare_digest(token.encode(), self._token):
            return AccessToken(token="static", client_id="static-token", scopes=[])
        return None


class JwtVerifier:
    """OAuth 2.1 access tokens as JWTs signed by the issuer's keys (fetched from its JWKS, cached)."""

    def __init__(self, issuer: str, jwks_url: str, audience: str) -> None:
        import jwt

        self.issuer = issuer
        self.audience = audience
        self._jwks = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=600, timeout=10)

    def _decode(self, token: str) -> dict[str, Any]:
        import jwt

        key = self._jwks.get_signing_key_from_jwt(token).key
        return jwt.decode(  # type: ignore[no-any-return]
            token,
            key=key,
            algorithms=JWT_ALGORITHMS,
            audience=self.audience,
            issuer=self.issuer,
            options={"require": ["exp", "iss", "aud"]},
            leeway=30,
        )

    async def verify_token(self, token: str) -> AccessToken | None:
        import jwt

        try:
            claims = await anyio.to_thread.run_sync(self._decode, token)  # the JWKS fetch blocks
        except jwt.PyJWTError as exc:
            logger.info("rejected an access token: %s", type(exc).__name__)
            return None
        scope = claims.get("scope") or claims.get("scp") or ""
        scopes = scope.split() if isinstance(scope, str) else list(scope)
        return AccessToken(
            token="jwt",
            client_id=str(claims.get("client_id") or claims.get("azp") or claims.get("sub") or "unknown"),
            scopes=scopes,
            expires_at=int(claims["exp"]) if "exp" in claims else None,
            resource=self.audience,
            subject=claims.get("sub"),
            claims={"iss": claims.get("iss")},
        )


def public_url(settings: Settings) -> str:
    return (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")


def build_auth(settings: Settings) -> tuple[AuthSettings | None, TokenVerifier | None]:
    """The SDK's auth settings and token verifier for these settings (None, None: no auth)."""
    base = public_url(settings)
    if settings.oauth_issuer:
        if not settings.oauth_jwks_url:
            raise ValueError("GEMINI_MCP_OAUTH_ISSUER needs GEMINI_MCP_OAUTH_JWKS_URL (the issuer's signing keys)")
        audience = settings.oauth_audience or f"{base}/mcp"
        auth = AuthSettings(
            issuer_url=settings.oauth_issuer,  # type: ignore[arg-type]
            resource_server_url=audience,  # type: ignore[arg-type]
            required_scopes=None,
        )
        return auth, JwtVerifier(settings.oauth_issuer, settings.oauth_jwks_url, audience)
    if settings.auth_token is not None:
        auth = AuthSettings(issuer_url=base, resource_server_url=None)  # type: ignore[arg-type]
        return auth, StaticTokenVerifier(settings.auth_token.get_secret_value())
    return None, None
