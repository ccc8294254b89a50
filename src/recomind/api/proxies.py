"""Who sent a request and over what: the peer, or what a trusted reverse proxy says.

``X-Forwarded-For`` and ``X-Forwarded-Proto`` are believed only when the peer is one of
``RECOMIND_TRUSTED_PROXIES`` (uvicorn's own proxy-header handling is turned off where it is
started, so this is the one place that reads them). The client is the right-most address of
``X-Forwarded-For`` that is not itself a trusted proxy: the left part is whatever the client
wrote.
"""

from __future__ import annotations

import ipaddress

from starlette.types import Scope

from recomind.guard_settings import parse_networks

UNKNOWN = "unknown"


class TrustedProxies:
    """Reads the client address and scheme of a request, honouring trusted proxies only."""

    def __init__(self, networks: str) -> None:
        self._networks = parse_networks(networks)

    def _trusted(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host.strip())
        except ValueError:
            return False
        return any(address in net for net in self._networks)

    def _forwarded(self, scope: Scope, name: bytes) -> str | None:
        """The value of header ``name`` when the peer is a trusted proxy, else ``None``."""
        if not self._networks:
            return None
        client = scope.get("client")
        if not client or not self._trusted(client[0]):
            return None
        values = [v.decode("latin-1") for k, v in scope.get("headers", ()) if k == name]
        return ",".join(values) if values else None

    def client(self, scope: Scope) -> str:
        """The client's address (``unknown`` when the server has none, e.g. a unix socket)."""
        peer = scope.get("client")
        host = str(peer[0]) if peer else UNKNOWN
        forwarded = self._forwarded(scope, b"x-forwarded-for")
        if forwarded is None:
            return host
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        for hop in reversed(hops):
            if not self._trusted(hop):
                return hop
        return hops[0] if hops else host

    def scheme(self, scope: Scope) -> str:
        """``https`` or ``http``: as the request reached the first trusted proxy."""
        forwarded = self._forwarded(scope, b"x-forwarded-proto")
        if forwarded:
            return forwarded.split(",")[0].strip().lower()
        return str(scope.get("scheme", "http"))
