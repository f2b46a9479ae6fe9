"""IPv4 addresses in dotted-decimal text, without building ``ipaddress`` objects.

The GeoIP enricher looks up every client address it has not seen before. Through
:mod:`ipaddress` that costs ~15 us (``ip_address``, then ``is_global``, which goes
through an ``lru_cache`` and a scan of the special-purpose networks, then ``str``, then
``IPv4Address`` again for the table); real access logs of a public site have many
first-seen addresses. :func:`ipv4_value` and :func:`is_global_ipv4` give the same
answers for IPv4 text (``tests/unit/enrichment/test_ipv4.py`` checks them against
:mod:`ipaddress` on every network's edges and on random addresses) in ~1 us.
"""

from __future__ import annotations

from bisect import bisect_right

#: Networks an address in which is not globally reachable, or is multicast: what
#: ``ipaddress.IPv4Address`` (Python 3.11) answers ``is_global`` False or
#: ``is_multicast`` True for. From the IANA IPv4 special-purpose address registry, as
#: :mod:`ipaddress` lists it, plus shared address space (100.64.0.0/10) and multicast.
NOT_GLOBAL_NETWORKS = (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.0.0.0/29", "192.0.0.170/31", "192.0.2.0/24", "192.168.0.0/16",
    "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
    "255.255.255.255/32",
)


def _ranges(networks: tuple[str, ...]) -> tuple[list[int], list[int]]:
    """Sorted, merged ``(firsts, lasts)`` of ``networks`` (``a.b.c.d/len``)."""
    spans: list[tuple[int, int]] = []
    for network in networks:
        address, length = network.split("/")
        value = ipv4_value(address)
        if value is None:
            raise ValueError(f"not an IPv4 network: {network!r}")
        size = 1 << (32 - int(length))
        spans.append((value, value + size - 1))
    spans.sort()
    firsts: list[int] = []
    lasts: list[int] = []
    for first, last in spans:
        if lasts and first <= lasts[-1] + 1:
            lasts[-1] = max(lasts[-1], last)
        else:
            firsts.append(first)
            lasts.append(last)
    return firsts, lasts


#: the text of every octet ipaddress accepts ("0" to "255", ASCII digits, no leading
#: zero) -> its value: one lookup both checks and converts a part
_OCTETS = {str(octet): octet for octet in range(256)}


def ipv4_value(text: str) -> int | None:
    """``text`` as an int if it is an IPv4 address ``ipaddress`` accepts, else None.

    That is four decimal octets of ASCII digits, each at most 255 and without a leading
    zero; no surrounding space. Such text is its own canonical form
    (``str(ipaddress.IPv4Address(text)) == text``).
    """
    parts = text.split(".")
    if len(parts) != 4:
        return None
    octet = _OCTETS.get
    a, b, c, d = octet(parts[0]), octet(parts[1]), octet(parts[2]), octet(parts[3])
    if a is None or b is None or c is None or d is None:
        return None
    return a << 24 | b << 16 | c << 8 | d


_FIRSTS, _LASTS = _ranges(NOT_GLOBAL_NETWORKS)


def is_global_ipv4(value: int) -> bool:
    """Whether the IPv4 address ``value`` (0 <= value < 2**32) is globally reachable and
    not multicast: ``ip.is_global and not ip.is_multicast`` in :mod:`ipaddress`."""
    k = bisect_right(_FIRSTS, value) - 1
    return k < 0 or value > _LASTS[k]
