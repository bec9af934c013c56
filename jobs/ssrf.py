"""Which URLs a webhook may reach, and the one address its request goes to (no persistence here).

A webhook URL is the organization's to choose, and the POST leaves from inside our network: a URL
naming loopback, a private range, link-local or a cloud metadata service would let anyone probe or
call what only we can reach. ``resolve_target`` resolves the host once, refuses the URL if *any* of its
addresses is such a one (a name with one public and one private address is refused), and returns the
address the request must then connect to: connecting by name would resolve again, and a DNS answer
that changed in between (a rebind) would go around the check. Hosts the operator lists in
``TASKQL_WEBHOOK_ALLOWED_HOSTS`` skip the address check (still pinned). Mutations check at create and
update; the job checks again at every send, since DNS answers change.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[..., Sequence[tuple[Any, ...]]]

# Cloud metadata services (AWS/GCP/Azure, AWS over IPv6, Alibaba); the first is link-local anyway,
# the others would pass a check by range alone.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)
MAX_URL_LENGTH = 2048


class UrlNotAllowed(ValueError):
    """The URL may never be a webhook's (its scheme, its form, or an address it resolves to)."""


class HostUnresolvable(OSError):
    """The host has no address now: at send time a connection error, retried like one."""


@dataclass(frozen=True)
class Target:
    """Where a request goes: the URL's parts and the one address it connects to."""

    scheme: str
    host: str
    port: int
    # Path and query, as in the URL ("/" when empty).
    path: str
    address: IpAddress

    @property
    def pinned_url(self) -> str:
        """The URL with the address in place of the host (the Host header carries the name)."""
        literal = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        return f"{self.scheme}://{literal}:{self.port}{self.path}"

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


def forbidden_reason(address: IpAddress) -> str | None:
    """Why a webhook may not connect to ``address``; None when it may."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        # ::ffff:127.0.0.1 is 127.0.0.1 to the kernel; Python 3.11 does not say it is loopback.
        return forbidden_reason(address.ipv4_mapped)
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    checks = (
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (address.is_unspecified, "an unspecified address"),
        (address.is_reserved, "a reserved address"),
        (address.is_private, "a private address"),
        # Shared (carrier-grade NAT), documentation and other special ranges are not global either.
        (not address.is_global, "a non-public address"),
    )
    return next((reason for failed, reason in checks if failed), None)


def _parts(url: str) -> tuple[str, str, int, str]:
    if len(url) > MAX_URL_LENGTH:
        raise UrlNotAllowed(f"the URL is longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise UrlNotAllowed("not a valid URL") from exc
    if parts.scheme not in ("http", "https"):
        raise UrlNotAllowed("only http and https URLs may receive webhooks")
    if not parts.hostname:
        raise UrlNotAllowed("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise UrlNotAllowed("credentials in the URL are not allowed; verify the signature instead")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path


def resolve_target(
    url: str, allowed_hosts: Collection[str], resolve: Resolver = socket.getaddrinfo
) -> Target:
    """The URL's target with its pinned address; UrlNotAllowed or HostUnresolvable otherwise."""
    scheme, host, port, path = _parts(url)
    try:
        infos = resolve(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise HostUnresolvable(f"{host} does not resolve: {exc}") from exc
    # An IPv6 answer may carry a zone ("fe80::1%eth0"); the address is what counts.
    addresses = list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos))
    if not addresses:
        raise HostUnresolvable(f"{host} does not resolve")
    if host not in allowed_hosts:
        for address in addresses:
            reason = forbidden_reason(address)
            if reason is not None:
                raise UrlNotAllowed(f"{host} resolves to {reason} ({address}), which webhooks may not reach")
    return Target(scheme, host, port, path, addresses[0])
