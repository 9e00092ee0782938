"""redact(): tokens and secrets never reach a message, a log or a report."""

from sage365.graph.redact import redact

JWT = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJ0aWQiOiIxMTExIiwiYXVkIjoiZ3JhcGgifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ"


def test_bearer_tokens_are_redacted():
    assert redact(f"headers: {{'Authorization': 'Bearer {JWT}'}}") == "headers: {'Authorization': 'Bearer [redacted]'}"
    assert redact("Authorization: bearer sandbox.11111111-1111-4111-8111-111111111111") == "Authorization: bearer [redacted]"


def test_bare_jwts_are_redacted():
    assert redact(f"AADSTS700024: client assertion {JWT} is not within its valid time range") == (
        "AADSTS700024: client assertion [redacted] is not within its valid time range"
    )


def test_secret_named_values_are_redacted_keeping_the_shape():
    assert redact('{"token_type": "Bearer", "access_token": "abc.def", "expires_in": 3599}') == (
        '{"token_type": "Bearer", "access_token": "[redacted]", "expires_in": 3599}'
    )
    assert redact("grant_type=client_credentials&client_secret=s3cr3t~x&scope=https://graph") == (
        "grant_type=client_credentials&client_secret=[redacted]&scope=https://graph"
    )
    assert redact("certificate password: hunter2, path /etc/cert.pem") == "certificate password: [redacted], path /etc/cert.pem"
    assert redact("https://x.blob.core.windows.net/c?sv=2024&sig=AbC%2Bdef") == "https://x.blob.core.windows.net/c?sv=2024&sig=[redacted]"


def test_ordinary_graph_errors_are_left_alone():
    assert redact("401 InvalidAuthenticationToken: Access token is empty.") == "401 InvalidAuthenticationToken: Access token is empty."
    text = "403 Authorization_RequestDenied: Insufficient privileges to complete the operation. code: Request_ResourceNotFound"
    assert redact(text) == text


def test_credentials_in_a_url_are_redacted_keeping_the_rest():
    assert redact("403, message='Forbidden', url='http://CORP%5Cpartner:Hunter2-pw@127.0.0.1:37807'") == (
        "403, message='Forbidden', url='http://[redacted]@127.0.0.1:37807'")
    assert redact("proxy https://user:pw@proxy.corp:3128/ refused") == "proxy https://[redacted]@proxy.corp:3128/ refused"
    assert redact("https://graph.microsoft.com:443/v1.0/users/admin@contoso.com") == (
        "https://graph.microsoft.com:443/v1.0/users/admin@contoso.com")
