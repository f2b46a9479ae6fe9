"""A compact, read-only country table built from a geoip2fast country database.

``geoip2fast`` keeps its ~790,000 networks as Python ints in nested lists (~46 MiB of
traced memory for the bundled IPv4+IPv6 file). :class:`CountryTable` holds the same
networks in typed arrays (~10 MB) and answers like the enricher's old wrapper around
``GeoIP2Fast.lookup``: ``(country code, None)``, or None for a private/reserved network,
an address in no network, or a malformed name.

Pure: it gets the unpickled ``main_db`` of a country-only database (format 120/121,
see ``GeoIP2Fast.__load_data``) and never reads a file.

Layout of ``main_db``: ``(index, names, first_ips, name_ids, netlens)``; ``names`` are
``"CC:Country name"`` strings (a name index < 16 is a private or reserved network);
the last three are lists of chunks aligned element by element; the flattened first
addresses are strictly increasing, IPv4 ones (32-bit ints) before IPv6 ones (128-bit
ints). Network ``i`` spans ``first_i .. first_i + 2**(bits - netlen_i) - 1``.
"""

from __future__ import annotations

import ipaddress
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from itertools import chain, islice
from operator import lt

from app.core.enrichment.ipv4 import ipv4_value

CountryResult = tuple[str, None]

PRIVATE_NAMES = 16  # name indexes below this are private/reserved networks
_V4_END = 1 << 32  # first IPv6-only value; IPv4 starts are below it
# geoip2fast sizes a match as IPv4 when the address is <= 2**32 (its MAX_IPv4), so
# the one IPv6 address ::1:0:0 is sized like IPv4; kept for identical answers.
_MAX_IPV4 = 1 << 32
_LOW64 = (1 << 64) - 1
_V4_BLOCK_BITS = 16  # the IPv4 index has an entry per /16
_V4_BLOCKS = 1 << (32 - _V4_BLOCK_BITS)


def _code(name: object) -> CountryResult | None:
    """``"CC:Name"`` → ``("CC", None)``; None when geoip2fast would give no country."""
    if not isinstance(name, str) or name.count(":") != 1:  # geoip2fast: lookup error
        return None
    code = name.split(":", 1)[0]
    return (code, None) if code and code != "--" else None


def _chunks(value: object, what: str) -> list[list[int]]:
    if not isinstance(value, (list, tuple)) or not all(
            isinstance(chunk, (list, tuple)) for chunk in value):
        raise ValueError(f"geoip country database: {what} must be a list of lists")
    return list(value)


class CountryTable:
    """Country of an IP address, from typed arrays (no per-network Python objects)."""

    __slots__ = ("_results", "_v4_first", "_v4_id", "_v4_index", "_v4_len",
                 "_v6_hi", "_v6_id", "_v6_len", "_v6_lo")

    def __init__(self, names: Sequence[str]) -> None:
        """An empty table; :meth:`from_database` fills one."""
        if len(names) > 0xFFFF + 1:
            raise ValueError(f"geoip country database: {len(names)} country names "
                             "(at most 65536)")
        self._results: list[CountryResult | None] = [
            None if index < PRIVATE_NAMES else _code(name) for index, name in enumerate(names)]
        self._v4_first = array("I")  # first address of each IPv4 network, increasing
        self._v4_id = array("H")  # its index in names
        self._v4_len = array("B")  # its netlength
        #: ``_v4_index[p]``: the first network starting at or above ``p << 16``, for
        #: p in 0 .. 65536: a lookup bisects only the networks of its /16
        self._v4_index = array("I", bytes(4 * (_V4_BLOCKS + 1)))
        self._v6_hi = array("Q")  # IPv6: the first address's high 64 bits
        self._v6_lo = array("Q")  # and its low 64 bits, (hi, lo) increasing
        self._v6_id = array("H")
        self._v6_len = array("B")

    @classmethod
    def from_database(cls, main_db: object) -> CountryTable:
        """From the ``main_db`` of a country-only geoip2fast database (5-tuple).

        Raises ValueError, naming the problem, for anything not shaped like one.
        """
        if not isinstance(main_db, (tuple, list)) or len(main_db) != 5:
            shape = (f"a {type(main_db).__name__} of {len(main_db)}"
                     if isinstance(main_db, (tuple, list)) else type(main_db).__name__)
            raise ValueError(
                "geoip country database: expected (index, names, first_ips, "
                f"country_ids, netlengths), got {shape} (a city or ASN database?)")
        _index, names, first_chunks, id_chunks, len_chunks = main_db
        if not isinstance(names, (list, tuple)) or not all(
                isinstance(name, str) for name in names):
            raise ValueError("geoip country database: names must be a list of strings")
        firsts = _chunks(first_chunks, "first_ips")
        ids = _chunks(id_chunks, "country_ids")
        lens = _chunks(len_chunks, "netlengths")
        if not [len(c) for c in firsts] == [len(c) for c in ids] == [len(c) for c in lens]:
            raise ValueError("geoip country database: first_ips, country_ids and "
                             "netlengths are not aligned chunk by chunk")
        table = cls(names)
        previous: list[int] = []
        try:  # chunk by chunk: no flat copy of the ~790,000 ints
            for first_chunk, id_chunk, len_chunk in zip(firsts, ids, lens, strict=True):
                if not all(map(lt, chain(previous[-1:], first_chunk),
                               islice(first_chunk, 0 if previous else 1, None))):
                    raise ValueError("geoip country database: first addresses are not "
                                     "strictly increasing")
                table._extend(first_chunk, id_chunk, len_chunk)
                previous = first_chunk or previous
        except (TypeError, OverflowError) as exc:  # array() refuses the value
            raise ValueError(f"geoip country database: a value is not a valid "
                             f"address, country id or netlength ({exc})") from exc
        table._check(len(names))
        first = table._v4_first
        table._v4_index = array("I", [bisect_left(first, block << _V4_BLOCK_BITS)
                                      for block in range(_V4_BLOCKS + 1)])
        return table

    def _extend(self, firsts: Sequence[int], ids: Sequence[int],
                lens: Sequence[int]) -> None:
        split = bisect_left(firsts, _V4_END)  # in a chunk: IPv4 starts, then IPv6 ones
        if split:
            self._v4_first.extend(firsts[:split])
            self._v4_id.extend(ids[:split])
            self._v4_len.extend(lens[:split])
        if split < len(firsts):
            self._v6_hi.extend([first >> 64 for first in firsts[split:]])
            self._v6_lo.extend([first & _LOW64 for first in firsts[split:]])
            self._v6_id.extend(ids[split:])
            self._v6_len.extend(lens[split:])

    def _check(self, names: int) -> None:
        if not self:
            raise ValueError("geoip country database: no networks")
        for family, bits, lengths in (("IPv4", 32, self._v4_len), ("IPv6", 128, self._v6_len)):
            if lengths and max(lengths) > bits:
                raise ValueError(f"geoip country database: an {family} netlength is "
                                 f"outside 0 .. {bits}")
        if max(max(self._v4_id, default=0), max(self._v6_id, default=0)) >= names:
            raise ValueError("geoip country database: a country id is outside "
                             f"0 .. {names - 1}")

    def __len__(self) -> int:
        return len(self._v4_first) + len(self._v6_hi)

    @property
    def nbytes(self) -> int:
        """Bytes held by the arrays (not counting the small names list)."""
        return sum(a.itemsize * len(a) for a in (
            self._v4_first, self._v4_id, self._v4_len,
            self._v6_hi, self._v6_lo, self._v6_id, self._v6_len))

    def lookup(self, ip: str) -> CountryResult | None:
        """``(country code, None)`` for ``ip``; None if private, unknown or invalid.

        ``ip`` is an address in standard notation (``public_address`` gives one);
        anything :mod:`ipaddress` rejects is None, and so is an IPv6 address with a
        ``%zone`` (geoip2fast's ``inet_pton`` rejects those).
        """
        value = ipv4_value(ip)  # dotted decimal, without an ipaddress object (ipv4.py)
        if value is not None:
            return self.lookup_int(value)
        try:
            if ":" in ip:
                address = ipaddress.IPv6Address(ip)
                if address.scope_id is not None:
                    return None
                return self.lookup_int(int(address))
            return self.lookup_int(int(ipaddress.IPv4Address(ip)))
        except ValueError:
            return None

    def lookup_int(self, value: int) -> CountryResult | None:
        """Like :meth:`lookup`, for an address as an int (IPv4 < 2**32)."""
        if value < _V4_END:
            # bisecting between the /16's bounds finds what bisecting all would: the
            # starts before it are below value, the ones after it above
            block = value >> _V4_BLOCK_BITS
            index = self._v4_index
            k = bisect_right(self._v4_first, value, index[block], index[block + 1]) - 1
            if k < 0:  # below the first network (geoip2fast would wrap around)
                return None
            first, netlen, name_id = self._v4_first[k], self._v4_len[k], self._v4_id[k]
        else:
            hi = value >> 64
            k = bisect_right(self._v6_hi, hi) - 1
            if k >= 0 and self._v6_hi[k] == hi:  # the run of starts sharing these 64 bits
                start = bisect_left(self._v6_hi, hi, 0, k)
                k = bisect_right(self._v6_lo, value & _LOW64, start, k + 1) - 1
            if k >= 0:
                first = self._v6_hi[k] << 64 | self._v6_lo[k]
                netlen, name_id = self._v6_len[k], self._v6_id[k]
            elif self._v4_first:  # below every IPv6 start: the last IPv4 network
                first, netlen, name_id = (
                    self._v4_first[-1], self._v4_len[-1], self._v4_id[-1])
            else:
                return None
        bits = 32 if value <= _MAX_IPV4 else 128
        size = 1 << (bits - netlen) if netlen <= bits else 0
        if value >= first + size:
            return None
        return self._results[name_id]
