"""What an access token says about itself: its tenant and the caller's Exchange rights.

Read before anything is sent, so that a token for one tenant never reaches another
tenant's URL, and so that a deployment identity without Exchange.ManageAsApp or an
Exchange administrator role is told so plainly instead of with Exchange's 401/403.
The token is our own, just issued by Entra ID: its claims are read, not verified (the
service verifies it). A sandbox token `sandbox.<tenantId>` carries no claims.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

SANDBOX_PREFIX = "sandbox."
MANAGE_AS_APP = "Exchange.ManageAsApp"
# Directory roles that let a service principal run Exchange cmdlets (roleTemplateIds).
EXCHANGE_ADMIN_ROLES = {
    "29232cdf-9323-42fd-ade2-1d097af3e4de": "Exchange Administrator",
    "62e90394-69f5-4237-9190-012177145e10": "Global Administrator",
}


@dataclass(frozen=True)
class TokenFacts:
    tenant_id: str | None  # tid, or the sandbox token's tenant; None when unknown
    app_only: bool = False
    roles: frozenset[str] | None = frozenset()  # None: the claim is not a list (nothing can be said)
    wids: frozenset[str] | None = None  # None: the claim is absent (nothing can be said)


def sandbox_token(tenant_id: str) -> str:
    """The sandbox's static bearer token for `tenant_id` (it holds no secret): what every
    client sends to the sandbox in place of a credential's token, and what token_facts reads back."""
    return f"{SANDBOX_PREFIX}{tenant_id}"


def token_facts(token: str) -> TokenFacts:
    if token.startswith(SANDBOX_PREFIX):
        return TokenFacts(tenant_id=token[len(SANDBOX_PREFIX):].strip().lower() or None)
    claims = _claims(token)
    if claims is None:
        return TokenFacts(tenant_id=None)
    # No `roles` claim: no application permission at all. A `roles` that is not a list: unknown.
    wids, roles, tid = claims.get("wids"), claims.get("roles", []), claims.get("tid")
    return TokenFacts(
        tenant_id=tid.lower() or None if isinstance(tid, str) else None,
        # App-only tokens carry `roles` and no `scp` (Microsoft identity platform access tokens).
        app_only="scp" not in claims,
        roles=frozenset(str(r) for r in roles) if isinstance(roles, list) else None,
        wids=frozenset(str(w).lower() for w in wids) if isinstance(wids, list) else None,
    )


def _claims(token: str) -> dict | None:
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    return claims if isinstance(claims, dict) else None


def missing_permissions(facts: TokenFacts) -> list[str]:
    """What the token shows to be missing for Centralized Deployment; [] when nothing is
    known to be missing (a sandbox token, a delegated token, or no `wids` claim; a `roles` claim
    that is not a list says nothing either way)."""
    if not facts.app_only:
        return []
    missing = []
    if facts.roles is not None and MANAGE_AS_APP not in facts.roles:
        missing.append(f"the application permission {MANAGE_AS_APP} on Office 365 Exchange Online "
                       "(appId 00000002-0000-0ff1-ce00-000000000000), admin-consented")
    if facts.wids is not None and not facts.wids & EXCHANGE_ADMIN_ROLES.keys():
        missing.append("an Exchange Administrator role assignment for the service principal")
    return missing
