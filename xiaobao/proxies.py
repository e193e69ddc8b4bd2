"""Requests that came through a trusted reverse proxy: the one place that decides what
`request.secure` and `request.remote` mean for every cookie and every limit.

X-Forwarded-Proto and X-Forwarded-For are claims anyone can write. They are honoured only when
the TCP peer is one of XIAOBAO_TRUSTED_PROXIES (addresses or CIDR networks, comma-separated;
none by default): the scheme is then the nearest proxy's (the last value), and the client is
the right-most X-Forwarded-For address that is not itself a trusted proxy (what a client wrote
to the left of it is ignored). Every other request keeps its own scheme and peer address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def parse_networks(raw: str) -> tuple[Network, ...]:
    """`10.0.0.1, 10.1.0.0/16, ::1` → networks; ValueError naming a bad entry."""
    networks = []
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(f"not an address or network: {part!r}") from None
    return tuple(networks)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip().strip('"')
    if text.startswith("["):  # [v6]:port
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class TrustedProxies:
    def __init__(self, networks: Iterable[Network] = ()) -> None:
        self.networks = tuple(networks)

    def trusts(self, peer: str | None) -> bool:
        address = _address(peer or "")
        return address is not None and any(address in n for n in self.networks)

    def client(self, peer: str, forwarded_for: str) -> str:
        """The right-most address not a trusted proxy; the peer when there is none usable."""
        for hop in reversed(forwarded_for.split(",")):
            address = _address(hop)
            if address is None:
                break  # junk: nothing to its left can be believed either
            if not any(address in n for n in self.networks):
                return str(address)
        return peer

    def seen(self, request: web.Request) -> web.Request:
        """The request as the client made it, when its peer is a trusted proxy."""
        peer = request.remote or ""
        if not self.networks or not self.trusts(peer):
            return request
        changes: dict[str, str] = {}
        proto = request.headers.get("X-Forwarded-Proto", "").split(",")[-1].strip().lower()
        if proto in ("http", "https"):
            changes["scheme"] = proto
        forwarded_for = request.headers.get("X-Forwarded-For", "")
        if forwarded_for:
            changes["remote"] = self.client(peer, forwarded_for)
        return request.clone(**changes) if changes else request  # type: ignore[arg-type]

    def middleware(self) -> web.Middleware:
        @web.middleware
        async def forwarded(request: web.Request, handler: Handler) -> web.StreamResponse:
            return await handler(self.seen(request))

        return forwarded
