"""ipv4: the same answers as ``ipaddress`` for IPv4 text, without its objects."""

from __future__ import annotations

import ipaddress
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.enrichment.geoip import public_address
from app.core.enrichment.ipv4 import NOT_GLOBAL_NETWORKS, ipv4_value, is_global_ipv4


def stdlib_value(text: str) -> int | None:
    try:
        return int(ipaddress.IPv4Address(text))
    except ValueError:
        return None


def stdlib_global(value: int) -> bool:
    address = ipaddress.IPv4Address(value)
    return address.is_global and not address.is_multicast


@pytest.mark.parametrize("text", [
    "0.0.0.0", "255.255.255.255", "8.8.8.8", "83.149.9.216", "1.2.3.4",
    "256.1.1.1", "1.2.3.256", "01.2.3.4", "1.2.3.04", "00.1.1.1", "1.2.3", "1.2.3.4.5",
    " 1.2.3.4", "1.2.3.4 ", "1.2.3.4\n", "", ".", "...", "1..2.3", "+1.2.3.4", "-1.2.3.4",
    "1.2.3.-0", "\u0661.2.3.4", "1.2.3.\u00b2", "0x1.2.3.4", "1.2.3.4/32", "::1",
    "::ffff:1.2.3.4", "1_0.2.3.4", "1000.2.3.4",
])
def test_value_as_ipaddress_reads_it(text: str) -> None:
    assert ipv4_value(text) == stdlib_value(text)


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet="0123456789.+-_ x\u0661\u00b2", max_size=17))
def test_value_of_any_text(text: str) -> None:
    assert ipv4_value(text) == stdlib_value(text)


@settings(max_examples=500, deadline=None)
@given(st.integers(0, (1 << 32) - 1))
def test_value_of_every_address_text(value: int) -> None:
    assert ipv4_value(str(ipaddress.IPv4Address(value))) == value


def edges() -> list[int]:
    """Both ends of every network, and the addresses just outside them."""
    out: list[int] = []
    for network in NOT_GLOBAL_NETWORKS:
        net = ipaddress.IPv4Network(network)
        first, last = int(net.network_address), int(net.broadcast_address)
        out += [v for v in (first - 1, first, first + 1, last - 1, last, last + 1)
                if 0 <= v < 1 << 32]
    return out


def test_global_on_every_edge() -> None:
    for value in edges():
        assert is_global_ipv4(value) == stdlib_global(value), ipaddress.IPv4Address(value)


def test_global_on_random_addresses() -> None:
    rng = random.Random(7)
    for value in [rng.getrandbits(32) for _ in range(20_000)]:
        assert is_global_ipv4(value) == stdlib_global(value), ipaddress.IPv4Address(value)


@pytest.mark.parametrize("text", ["8.8.8.8", "10.1.1.1", "100.64.0.1", "224.0.0.1",
                                  "192.0.0.171", "192.0.0.172", "01.2.3.4", " 9.9.9.9 "])
def test_public_address_as_before(text: str) -> None:
    """``public_address``'s IPv4 shortcut answers what its ipaddress path answers."""
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        expected = None
    else:
        expected = str(address) if address.is_global and not address.is_multicast else None
    assert public_address(text) == expected
