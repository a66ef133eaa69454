"""How clients of the speech services authenticate (a leaf: engines and servers share it)."""

from __future__ import annotations


def bearer_headers(token: str) -> dict[str, str]:
    """What a client of a speech service sends (nothing when no token is configured);
    the servers check it in callcenter.remote.serving.ServiceTokenGuard."""
    return {"authorization": f"Bearer {token}"} if token else {}
