"""``web.auth.oidc.OidcClient`` against the dev stack's real provider: PKCE, nonce,
audience and signature checks of the ID token."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from tests.conftest import require_tcp

pytestmark = pytest.mark.integration
ISSUER = "http://127.0.0.1:8090/default"
REDIRECT = "http://127.0.0.1:1/auth/callback"


async def code_for(client, nonce: str, verifier: str, claims: dict) -> str:
    url = await client.authorization_url("st", nonce, verifier)
    async with aiohttp.ClientSession() as http, \
            http.post(url, data={"username": "zoe", "claims": json.dumps(claims)},
                      allow_redirects=False) as response:
        assert response.status == 302
        return parse_qs(urlsplit(response.headers["Location"]).query)["code"][0]


@pytest.fixture()
def client():
    require_tcp("OIDC provider", "127.0.0.1:8090")
    from web.auth.oidc import OidcClient

    return OidcClient(ISSUER, "logwarden", "logwarden-secret", REDIRECT)


async def test_verified_claims_and_rejections(client) -> None:
    from web.auth.oidc import OidcClient, OidcError

    code = await code_for(client, "n-1", "v" * 50, {"roles": ["admin"]})
    tokens = await client.exchange(code, "v" * 50)
    claims = await client.verify_id_token(tokens["id_token"], "n-1", time.time())
    assert (claims["sub"], claims["roles"], claims["iss"]) == ("zoe", ["admin"], ISSUER)

    with pytest.raises(OidcError, match="nonce"):
        await client.verify_id_token(tokens["id_token"], "another-nonce", time.time())
    with pytest.raises(OidcError, match="exp"):
        await client.verify_id_token(tokens["id_token"], "n-1", time.time() + 86400)
    other = OidcClient(ISSUER, "someone-else", "x", REDIRECT)
    with pytest.raises(OidcError, match="aud"):
        await other.verify_id_token(tokens["id_token"], "n-1", time.time())
    header, payload, signature = tokens["id_token"].split(".")
    forged = f"{header}.{payload[:-4]}AAAA.{signature}"
    with pytest.raises(OidcError):
        await client.verify_id_token(forged, "n-1", time.time())


async def test_pkce_verifier_must_match(client) -> None:
    from web.auth.oidc import OidcError

    code = await code_for(client, "n-2", "a" * 50, {"roles": ["viewer"]})
    with pytest.raises(OidcError, match="HTTP 400"):
        await client.exchange(code, "b" * 50)
