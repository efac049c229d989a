"""Requests the platform makes to addresses its clients chose (webhooks, CRM lookups)
never reach the platform's own network: loopback, private, link-local (cloud metadata at
169.254.169.254), multicast, reserved and unspecified addresses are refused — when the
URL is saved, and again when the request leaves.

At delivery the host is resolved once, every address is checked, and the connection goes
to the checked address (the Host header and the TLS server name stay the URL's), so a DNS
answer that changes between the check and the connection (rebinding) cannot redirect it.
Redirects are not followed.

The operator may open networks with `CHAPPE_WEBHOOK_ALLOW_NETWORKS` (comma-separated
CIDRs, empty by default): a developer's receiver on 127.0.0.1, a test's.
"""

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx
from django.conf import settings
from django.utils.translation import gettext as _

type IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
type IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Names that only mean something inside a private network.
_INTERNAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa")
_INTERNAL_NAMES = {"localhost", "localhost.localdomain"}


class UnsafeTarget(ValueError):
    """The URL points at an address the platform must not call."""


@dataclass(frozen=True)
class Outcome:
    """What one request gave: a status code, or a failure class that says nothing of the
    target's internals (no exception text in what clients read)."""

    status_code: int | None
    failure: str = ""
    # The first bytes of the answer's body, when the caller asked for them.
    body: bytes = b""


def allowed_networks() -> list[IPNetwork]:
    raw = getattr(settings, "CHAPPE_WEBHOOK_ALLOW_NETWORKS", "") or ""
    return [ipaddress.ip_network(item.strip(), strict=False)
            for item in str(raw).split(",") if item.strip()]


def _unsafe(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (address.is_loopback or address.is_private or address.is_link_local
            or address.is_multicast or address.is_reserved or address.is_unspecified
            or not address.is_global)


def address_allowed(address: IPAddress, allow: Iterable[IPNetwork] = ()) -> bool:
    return not _unsafe(address) or any(address in network for network in allow)


def _refusal(host: str) -> UnsafeTarget:
    return UnsafeTarget(_(
        "%(host)s is a loopback, private, link-local or reserved address, which the "
        "platform does not call (the operator can allow networks with "
        "CHAPPE_WEBHOOK_ALLOW_NETWORKS).") % {"host": host})


def _resolve(host: str, port: int) -> list[IPAddress]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0])
                              for info in infos))


def url_check(url: str) -> None:
    """Refuse, when it is saved, a URL whose host is or resolves to an address the
    platform must not call (a name that does not resolve yet is checked at delivery)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".").lower()
    allow = allowed_networks()
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        if not address_allowed(literal, allow):
            raise _refusal(host)
        return
    if (host in _INTERNAL_NAMES or host.endswith(_INTERNAL_SUFFIXES)) and not allow:
        raise _refusal(host)
    try:
        addresses = _resolve(host, parts.port or 443)
    except (OSError, UnicodeError):
        return
    if any(not address_allowed(a, allow) for a in addresses):
        raise _refusal(host)


def post(url: str, *, content: bytes, headers: dict[str, str], timeout: float) -> Outcome:
    """POST to `url` through the checked address; never raises for a network failure."""
    return send("POST", url, content=content, headers=headers, timeout=timeout)


def get(url: str, *, headers: dict[str, str], timeout: float,
        max_bytes: int = 64 * 1024) -> Outcome:
    """GET `url` (its query included) through the checked address, the body read up to
    `max_bytes` (more: failure "too_large"); never raises for a network failure."""
    outcome = send("GET", url, headers=headers, timeout=timeout, read_body=max_bytes + 1)
    if len(outcome.body) > max_bytes:
        return Outcome(outcome.status_code, "too_large")
    return outcome


def send(method: str, url: str, *, content: bytes = b"", headers: dict[str, str],
         timeout: float, read_body: int = 0) -> Outcome:
    """`method` to `url` through the checked address, keeping at most `read_body` bytes
    of the answer; never raises for a network failure."""
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    allow = allowed_networks()
    try:
        addresses = _resolve(host, port)
    except (OSError, UnicodeError):
        return Outcome(None, "dns_failure")
    safe = [a for a in addresses if address_allowed(a, allow)]
    if not safe or len(safe) != len(addresses):
        return Outcome(None, "refused_address")
    address = safe[0]
    netloc = f"[{address}]" if address.version == 6 else str(address)
    target = urlunsplit((parts.scheme, f"{netloc}:{port}", parts.path or "/", parts.query, ""))
    host_header = host if parts.port is None else f"{host}:{parts.port}"
    body = b""
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            request = client.build_request(method, target, content=content or None,
                                           headers={**headers, "Host": host_header},
                                           extensions={"sni_hostname": host})
            response = client.send(request, stream=True)
            try:
                if read_body:
                    for chunk in response.iter_bytes():
                        body += chunk
                        if len(body) >= read_body:
                            body = body[:read_body]
                            break
            finally:
                response.close()
    except httpx.TimeoutException:
        return Outcome(None, "timeout")
    except httpx.ConnectError:
        return Outcome(None, "connection_failed")
    except httpx.HTTPError:
        return Outcome(None, "protocol_error")
    return Outcome(response.status_code, body=body)
