"""Where admin-defined HTTP tools may connect: public addresses, unless a deployment allows more.

An HTTP tool's URL is typed by an admin, but the request runs inside our network, next
to Redis, Postgres, the metrics port and a cloud's metadata service. So every connection
(the first, and any a redirect would make) is checked *after* DNS resolution, on the
address actually dialled: a hostname that resolves to 127.0.0.1, a decimal IP like
``2130706433`` or an IPv4-mapped IPv6 address are all caught, and a name that resolves
to a public address for the check and a private one for the connection (DNS rebinding)
cannot slip through, because we connect to the address we checked.

Refused unless listed in ``CALLCENTER_TOOL_ALLOWED_NETWORKS``: every address that is not
globally routable (loopback, RFC 1918 private, link-local incl. 169.254.169.254
metadata, carrier-grade NAT, unique-local IPv6, unspecified, reserved) and multicast.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

from callcenter.settings import Settings, split_list

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class DestinationRefused(Exception):
    """The tool's host resolves to an address tools may not reach (or does not resolve)."""


class EgressPolicy:
    def __init__(self, allowed: Iterable[IPNetwork] = ()) -> None:
        self.allowed = tuple(allowed)

    @classmethod
    def from_settings(cls, settings: Settings) -> EgressPolicy:
        networks = split_list(settings.tool_allowed_networks)
        return cls(ipaddress.ip_network(item, strict=False) for item in networks)

    def permits(self, address: IPAddress) -> bool:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if any(address in network for network in self.allowed):
            return True
        return address.is_global and not address.is_multicast

    def resolve(self, host: str, port: int) -> str:
        """The address to dial for ``host``: every address it resolves to must pass."""
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            raise DestinationRefused("the host does not resolve") from None
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
        if not addresses:
            raise DestinationRefused("the host does not resolve")
        refused = [address for address in addresses if not self.permits(address)]
        if refused:
            raise DestinationRefused(
                "the host resolves to an internal address "
                "(allow it with CALLCENTER_TOOL_ALLOWED_NETWORKS)"
            )
        return str(addresses[0])


class _GuardedBackend(httpcore.NetworkBackend):
    """httpcore's own socket backend, dialling only addresses the policy permits. TLS
    still verifies the certificate against the hostname (httpcore passes it as SNI)."""

    def __init__(self, policy: EgressPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        address = self._policy.resolve(host, port)
        return self._inner.connect_tcp(address, port, timeout, local_address, socket_options)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        raise DestinationRefused("unix sockets are not reachable by tools")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def guarded_client(policy: EgressPolicy, timeout: float) -> httpx.Client:
    """An httpx client whose every connection goes through ``policy``. No proxies from the
    environment (a proxy would dial on our behalf, unchecked) and no redirects (an
    endpoint must not bounce the headers' secrets elsewhere)."""
    transport = httpx.HTTPTransport(trust_env=False)
    # httpx has no public hook for the network backend; its pool is httpcore's.
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False),
        network_backend=_GuardedBackend(policy),
    )
    return httpx.Client(
        transport=transport, timeout=timeout, follow_redirects=False, trust_env=False
    )
