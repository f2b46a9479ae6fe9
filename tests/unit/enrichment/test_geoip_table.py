"""CountryTable: the compact country lookup answers exactly like geoip2fast's own."""

from __future__ import annotations

import gzip
import ipaddress
import os
import pickle
import random
from bisect import bisect_right
from collections.abc import Callable, Iterator
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.enrichment.geoip import (
    DEFAULT_DATABASE,
    GeoIpEnricher,
    _geoip2fast_object_lookup,
    database_path,
    geoip2fast_lookup,
)
from app.core.enrichment.geoip_table import CountryTable

Answer = tuple[str, None] | None
V4_SIZE = 1 << 32


def load_main_db(database: str) -> list[Any]:
    with gzip.open(database_path(database), "rb") as file:
        loaded = pickle.load(file)
    assert loaded[1]["country"] and not loaded[1]["city"] and not loaded[1]["asn"]
    return list(loaded[3])


def geoip2fast_answers(database: str, ips: list[str]) -> dict[str, Answer]:
    """``GeoIP2Fast(...).lookup`` through the old wrapper (still the city/ASN path),
    answered eagerly: geoip2fast keeps its data in module globals, so a later
    GeoIP2Fast() for another file would change this one's answers."""
    old = _geoip2fast_object_lookup(database_path(database))
    return {ip: old(ip) for ip in ips}


def networks(main_db: list[Any]) -> Iterator[tuple[int, int]]:
    """(first, last) of every network, in order."""
    for chunk_firsts, chunk_lens in zip(main_db[2], main_db[4], strict=True):
        for first, netlen in zip(chunk_firsts, chunk_lens, strict=True):
            bits = 32 if first < V4_SIZE else 128
            yield first, first + (1 << (bits - netlen)) - 1


def text(value: int, v6: bool) -> str:
    if not v6 and value < V4_SIZE:
        return str(ipaddress.IPv4Address(value))
    return str(ipaddress.IPv6Address(value))


FIXED = [
    "0.0.0.0", "0.0.0.1", "255.255.255.255", "255.255.255.254", "8.8.8.8", "1.1.1.1",
    "83.149.9.216", "10.0.0.1", "127.0.0.1", "192.168.1.1", "100.64.0.1", "224.0.0.1",
    "::", "::1", "::2", "::ffff:8.8.8.8", "::8.8.8.8", "::ffff:ffff", "::1:0:0", "::1:0:1",
    "2001:4860:4860::8888", "2a03:2880:f003:c07:face:b00c::2", "2001:db8::1", "fe80::1",
    "fd00::1", "ff02::1", "2002::1", "64:ff9b::808:808", "2000::", "3fff:ffff::",
    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "2001:4860:4860::8888%eth0", "fe80::1%1",
    "not-an-ip", "", "999.1.1.1", "1.2.3.4.5", "2001:::1", "example.com",
]


def sample(main_db: list[Any], seed: int, n_v4: int, n_v6: int) -> list[str]:
    """Random addresses plus the edges of networks, gaps and split IPv6 starts."""
    rnd = random.Random(seed)
    spans = list(networks(main_db))
    v4 = [span for span in spans if span[0] < V4_SIZE]
    v6 = [span for span in spans if span[0] >= V4_SIZE]
    ips = list(FIXED)
    ips += [text(rnd.getrandbits(32), False) for _ in range(n_v4 // 2)]
    for first, last in rnd.choices(v4, k=n_v4 - n_v4 // 2):  # inside a network
        ips.append(text(rnd.randint(first, last), False))
    if v6:
        quarter = n_v6 // 4
        ips += [text(1 << 125 | rnd.getrandbits(125), True) for _ in range(quarter)]  # 2000::/3
        ips += [text(rnd.getrandbits(128), True) for _ in range(quarter)]
        for first, last in rnd.choices(v6, k=n_v6 - 2 * quarter):
            ips.append(text(rnd.randint(first, last), True))
    for family in (v4, v6):
        for first, last in family[::5_000] + family[-3:]:  # first and last of networks
            ips += [text(value, family is v6) for value in (first - 1, first, last, last + 1)
                    if 0 <= value < 1 << 128]
        gaps = [(last + 1, following[0] - 1) for (_, last), following
                in pairwise(family) if last + 1 < following[0]]
        for after, before in gaps[:300] + gaps[-50:]:  # just past an end, not a start
            ips += [text(after, family is v6), text(before, family is v6)]
    low_bits = [(first, last) for first, last in v6 if first & ((1 << 64) - 1)]
    for first, last in low_bits:  # IPv6 starts with their low 64 bits set
        ips += [text(value, True) for value in (first - 1, first, first + 1, last, last + 1)]
    return list(dict.fromkeys(ips))


@pytest.fixture(scope="module")
def ipv6_database() -> tuple[CountryTable, dict[str, Answer], list[Any]]:
    main_db = load_main_db(DEFAULT_DATABASE)
    ips = sample(main_db, seed=20240618, n_v4=20_000, n_v6=6_000)
    return CountryTable.from_database(main_db), geoip2fast_answers(DEFAULT_DATABASE, ips), \
        main_db


def test_same_answers_as_geoip2fast_ipv4_ipv6_database(
        ipv6_database: tuple[CountryTable, dict[str, Answer], list[Any]]) -> None:
    table, expected, main_db = ipv6_database
    assert len(table) == 494_069 + 294_666 == sum(len(chunk) for chunk in main_db[2])
    assert len(expected) > 30_000
    assert sum(1 for answer in expected.values() if answer is not None) > 10_000
    differ = {ip: (table.lookup(ip), answer) for ip, answer in expected.items()
              if table.lookup(ip) != answer}
    assert not differ, list(differ.items())[:20]


def test_known_answers(ipv6_database: tuple[CountryTable, dict[str, Answer], list[Any]]) -> None:
    table, expected, _ = ipv6_database
    assert table.lookup("8.8.8.8") == expected["8.8.8.8"] == ("US", None)
    assert table.lookup("83.149.9.216") == ("RU", None)
    assert table.lookup("2001:4860:4860::8888") == ("US", None)
    for ip in ("0.0.0.0", "255.255.255.255", "::1", "10.0.0.1", "fe80::1", "not-an-ip"):
        assert table.lookup(ip) is None


def test_low_bits_and_gaps_are_really_sampled(
        ipv6_database: tuple[CountryTable, dict[str, Answer], list[Any]]) -> None:
    _, expected, main_db = ipv6_database
    spans = list(networks(main_db))
    low_bits = [first for first, _ in spans if first >= V4_SIZE and first & ((1 << 64) - 1)]
    assert len(low_bits) == 699
    # one of them gives a country, and the address before it another answer
    answers = [(expected[text(first - 1, True)], expected[text(first, True)])
               for first in low_bits]
    assert any(before != at for before, at in answers)
    assert any(at is not None for _, at in answers)


def test_non_canonical_ipv4_forms_get_nothing(
        ipv6_database: tuple[CountryTable, dict[str, Answer], list[Any]]) -> None:
    # geoip2fast's inet_aton reads these as addresses; public_address never passes them
    table = ipv6_database[0]
    for ip in ("8.8.8", "134744072", "010.8.8.8", "8.8.8.8 x", " 8.8.8.8"):
        assert table.lookup(ip) is None


def test_same_answers_as_geoip2fast_ipv4_only_database() -> None:
    main_db = load_main_db("geoip2fast.dat.gz")
    ips = sample(main_db, seed=7, n_v4=5_000, n_v6=0)
    ips += [text(random.Random(8).getrandbits(128), True) for _ in range(500)]
    expected = geoip2fast_answers("geoip2fast.dat.gz", ips)
    table = CountryTable.from_database(main_db)
    assert {ip: table.lookup(ip) for ip in ips} == expected


def test_enricher_uses_the_compact_table_for_country_databases() -> None:
    lookup = geoip2fast_lookup()
    assert isinstance(getattr(lookup, "__self__", None), CountryTable)
    assert GeoIpEnricher(lookup=lookup).resolve("8.8.8.8") is not None


def test_asn_database_still_goes_through_geoip2fast() -> None:
    before = {k: os.environ.get(k) for k in ("PYTHONWARNINGS", "PYTHONIOENCODING")}
    lookup = geoip2fast_lookup("geoip2fast-asn.dat.gz")  # country + ASN: not a table
    assert not isinstance(getattr(lookup, "__self__", None), CountryTable)
    assert lookup("8.8.8.8") == ("US", None)
    assert {k: os.environ.get(k) for k in before} == before


def test_database_path() -> None:
    assert database_path(DEFAULT_DATABASE).endswith(f"geoip2fast{os.sep}{DEFAULT_DATABASE}")
    assert database_path("").endswith(f"geoip2fast{os.sep}geoip2fast.dat.gz")  # its default
    with pytest.raises(FileNotFoundError, match=r"'nope\.dat\.gz': no such file or in "):
        database_path("nope.dat.gz")
    with pytest.raises(FileNotFoundError, match=r"'/no/such/x\.dat\.gz': no such file$"):
        database_path("/no/such/x.dat.gz")


def test_a_file_that_is_not_a_database(tmp_path: Any) -> None:
    path = tmp_path / "bad.dat.gz"
    path.write_bytes(gzip.compress(b"not a pickle"))
    with pytest.raises(ValueError, match="is not a geoip2fast database"):
        geoip2fast_lookup(str(path))


# ----------------------------------------------------------------- small tables

NAMES = [f"{i:02d}:Reserved {i}" for i in range(1, 16)] + [
    "99:<not found in database>", "AA:Alpha", "--:Dashes", "BB:Two:colons", "CC:Gamma", ":Empty"]


def reference(firsts: list[int], ids: list[int], lens: list[int], value: int) -> Answer:
    """geoip2fast's algorithm on the flat lists (minus its wrap-around below the first
    network, where it answers with the last network's country)."""
    k = bisect_right(firsts, value) - 1
    if k < 0:
        return None
    bits = 32 if value <= 1 << 32 else 128
    size = 1 << (bits - lens[k]) if lens[k] <= bits else 0
    if value > firsts[k] + size - 1 or ids[k] < 16:
        return None
    name = NAMES[ids[k]]
    if name.count(":") != 1:
        return None
    code = name.split(":")[0]
    return (code, None) if code and code != "--" else None


def chunked(values: list[int], size: int) -> list[list[int]]:
    return [values[i:i + size] for i in range(0, len(values), size)]


def small_db(firsts: list[int], ids: list[int], lens: list[int], size: int = 3) -> list[Any]:
    return [[chunk[0] for chunk in chunked(firsts, size)], NAMES,
            chunked(firsts, size), chunked(ids, size), chunked(lens, size)]


HI = [0, 0x2000 << 48, (0x2000 << 48) + 1, 0x2A03_2880_F003_0C07]  # runs of equal halves
v4_start = st.integers(0, (1 << 32) - 1)
v6_start = st.one_of(
    st.builds(lambda hi, lo: hi << 64 | lo, st.sampled_from(HI), st.integers(0, (1 << 64) - 1)),
    st.integers(1 << 32, (1 << 128) - 1))


@settings(max_examples=300, deadline=None)
@given(data=st.data(), starts=st.sets(st.one_of(v4_start, v6_start), min_size=1, max_size=40))
def test_small_tables_match_the_reference(data: st.DataObject, starts: set[int]) -> None:
    firsts = sorted(starts)
    lens = [data.draw(st.integers(0, 32) if first < 1 << 32 else st.integers(0, 128))
            for first in firsts]
    ids = data.draw(st.lists(st.integers(0, len(NAMES) - 1), min_size=len(firsts),
                             max_size=len(firsts)))
    table = CountryTable.from_database(
        small_db(firsts, ids, lens, data.draw(st.integers(1, 5))))
    near = [first + delta for first in firsts for delta in (-1, 0, 1)]
    ends = [first + (1 << ((32 if first < 1 << 32 else 128) - n)) + delta
            for first, n in zip(firsts, lens, strict=True) for delta in (-1, 0)]
    queries = [v for v in near + ends + [0, (1 << 32) - 1, 1 << 32, (1 << 32) + 1,
                                         (1 << 128) - 1] if 0 <= v < 1 << 128]
    queries += data.draw(st.lists(st.one_of(v4_start, v6_start), max_size=20))
    for value in queries:
        assert table.lookup_int(value) == reference(firsts, ids, lens, value), hex(value)
        as_text = text(value, v6=False)
        assert table.lookup(as_text) == reference(firsts, ids, lens, value), as_text


def test_a_run_of_equal_high_halves_falls_back_to_the_previous_network() -> None:
    hi = 0x2A03_2880_F003_0C07 << 64
    firsts = [0, 1 << 31, hi - (1 << 64), hi | 0x10, hi | 0x20, hi | (1 << 63)]
    ids = [16, 19, 16, 19, 16, 19]  # AA, CC alternating
    lens = [1, 1, 60, 124, 124, 65]
    table = CountryTable.from_database(small_db(firsts, ids, lens))
    assert table.lookup_int(hi | 0x0F) == ("AA", None)  # before the run: previous network
    assert table.lookup_int(hi | 0x10) == ("CC", None)
    assert table.lookup_int(hi | 0x1F) == ("CC", None)
    assert table.lookup_int(hi | 0x20) == ("AA", None)
    assert table.lookup_int(hi | 0x30) is None  # past the /124, before the next start
    assert table.lookup_int(hi | (1 << 63) | 5) == ("CC", None)
    assert table.lookup_int(hi - 1) == ("AA", None)
    # below every IPv6 start, geoip2fast takes the last IPv4 network, sized as IPv6
    assert table.lookup_int((1 << 32) + 5) == ("CC", None)
    assert table.lookup_int(1 << 32) is None  # ... except 2**32 itself, sized as IPv4


def test_names_that_geoip2fast_could_not_split_give_nothing() -> None:
    table = CountryTable.from_database(small_db([0, 10, 20, 30, 40], [16, 17, 18, 19, 20],
                                                [32, 32, 32, 32, 32]))
    assert [table.lookup_int(v) for v in (0, 10, 20, 30, 40)] == [
        ("AA", None), None, None, ("CC", None), None]  # "--", "BB:Two:colons", ":Empty"


def good() -> list[Any]:
    return small_db([0, 1 << 24, 1 << 40], [0, 19, 16], [8, 8, 48])


def with_item(index: int, value: object) -> list[Any]:
    db = good()
    db[index] = value
    return db


@pytest.mark.parametrize(("main_db", "message"), [
    (None, r"expected \(index, names, first_ips, country_ids, netlengths\), got NoneType"),
    ({"a": 1}, "got dict"),
    (good()[:4], "got a list of 4"),
    ([*good(), [], []], r"got a list of 7 \(a city or ASN database\?\)"),
    (with_item(1, "AA:Alpha"), "names must be a list of strings"),
    (with_item(1, [1, 2]), "names must be a list of strings"),
    (with_item(2, [0, 1 << 24]), "first_ips must be a list of lists"),
    (with_item(3, [[0, 19], [16]]), "not aligned chunk by chunk"),
    (with_item(4, [[8, 8], [48]]), "not aligned chunk by chunk"),
    (with_item(2, [[0, 1 << 24, 1 << 24]]), "not strictly increasing"),
    (small_db([5, 3], [16, 16], [8, 8], size=1), "not strictly increasing"),
    (small_db([-1, 3], [16, 16], [8, 8]), "not a valid address"),
    (small_db([0, 1 << 128], [16, 16], [8, 8]), "not a valid address"),
    (small_db([0, 1.5], [16, 16], [8, 8]), "not a valid"),  # type: ignore[list-item]
    (small_db([0, 3], [16, 70_000], [8, 8]), "not a valid"),
    (small_db([0, 3], [16, len(NAMES)], [8, 8]), rf"country id is outside 0 .. {len(NAMES) - 1}"),
    (small_db([0, 3], [16, 16], [8, 33]), r"IPv4 netlength is outside 0 .. 32"),
    (small_db([0, 1 << 64], [16, 16], [8, 129]), r"IPv6 netlength is outside 0 .. 128"),
    (small_db([0, 3], [16, 16], [8, -1]), "not a valid"),
    (small_db([], [], []), "no networks"),
])
def test_malformed_databases_are_refused(main_db: object, message: str) -> None:
    with pytest.raises(ValueError, match=f"geoip country database: .*{message}"):
        CountryTable.from_database(main_db)


def test_good_small_table() -> None:
    table = CountryTable.from_database(good())
    lookup: Callable[[str], Answer] = table.lookup
    assert lookup("0.1.2.3") is None  # private name index
    assert lookup("1.2.3.4") == ("CC", None)
    assert lookup("2.0.0.0") is None  # past the /8
    assert lookup("::100:0:0") == ("AA", None)  # 2**40, an IPv6 start
    assert lookup("::1:0:0") is None  # below it: 1.0.0.0/8 sized as IPv4 (2**32 <= 2**32)
    assert lookup("::1:0:1") == ("CC", None)  # ... and sized as IPv6 (geoip2fast's quirk)
    assert table.nbytes == 2 * (4 + 2 + 1) + (8 + 8 + 2 + 1)


def test_an_ipv4_network_spanning_many_blocks_of_the_index() -> None:
    """A /16 with no network starting in it belongs to the network before it."""
    firsts = [0, 1 << 31, (1 << 31) + (7 << 16) + 9]
    table = CountryTable.from_database(small_db(firsts, [16, 19, 16], [1, 1, 32]))
    assert table.lookup_int(5 << 16) == ("AA", None)
    assert table.lookup_int((1 << 31) - 1) == ("AA", None)
    assert table.lookup_int(1 << 31) == ("CC", None)
    assert table.lookup_int((1 << 31) + (7 << 16) + 8) == ("CC", None)
    assert table.lookup_int((1 << 31) + (7 << 16) + 9) == ("AA", None)  # the /32
    assert table.lookup_int((1 << 31) + (7 << 16) + 10) is None  # past the /32
    assert table.lookup_int((1 << 32) - 1) is None
