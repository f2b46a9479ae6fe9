"""``geoip``: country (and city, when the database has cities) of the client address.

The address is ``http.client_ip``, else ``attrs["source_ip"]``; with
``trust_forwarded_for`` the first ``X-Forwarded-For`` hop (``attrs["forwarded_for"]``)
is used when the client address is not public (a load balancer). Private, loopback,
link-local, reserved and invalid addresses get no geo.

The data is ``geoip2fast``'s, whose databases ship in its wheel (no download), loaded
when the enricher is built, never at import of this module. A country-only database
(the bundled ones) is unpickled here, without importing geoip2fast, into a compact
:class:`~app.core.enrichment.geoip_table.CountryTable` (bundled IPv4+IPv6 file: ~0.2 s,
~9 MiB of arrays: ~10 MB RSS once the C heap is trimmed, ~25-30 MB before; geoip2fast's
own lists took ~55 MB). City and ASN databases go through ``GeoIP2Fast`` itself. The
bundled databases have no cities, so ``geo.city`` stays empty unless a geoip2fast city
``database`` file is configured (a path, or a file name found next to the library).
"""

from __future__ import annotations

import gzip
import importlib.util
import ipaddress
import os
import pickle
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any, TypeGuard

from app.core.enrichment.base import remember
from app.core.enrichment.geoip_table import CountryTable
from app.core.enrichment.ipv4 import ipv4_value, is_global_ipv4
from app.core.enrichment.options import Options
from app.core.events import GeoInfo, LogEvent

DEFAULT_CACHE_SIZE = 10_000
DEFAULT_DATABASE = "geoip2fast-ipv6.dat.gz"  # IPv4 + IPv6 countries, in the wheel

GeoTuple = tuple[str, str | None]  # country (ISO alpha-2), city
_MISSING: Any = object()  # not in GeoIpEnricher._seen
Lookup = Callable[[str], GeoTuple | None]  # a public address → geo, None when unknown


def geoip2fast_lookup(database: str = DEFAULT_DATABASE) -> Lookup:
    """Load a geoip2fast database once and return its lookup.

    A country-only database (the bundled ones) becomes a compact
    :class:`~app.core.enrichment.geoip_table.CountryTable`; a city or ASN database is
    served by ``GeoIP2Fast`` itself.
    """
    path = database_path(database)
    loaded = _unpickle(path)
    if _is_country_only(loaded):
        return CountryTable.from_database(loaded[3]).lookup
    del loaded  # before GeoIP2Fast loads its own copy
    return _geoip2fast_object_lookup(path)


def database_path(database: str) -> str:
    """geoip2fast's rule: an existing file, else a bare file name next to the library
    (``""``: its default, the IPv4 country database).

    The library is found without importing it (see ``_geoip2fast_object_lookup``).
    """
    database = database or "geoip2fast.dat.gz"
    if os.path.isfile(database):
        return database
    folders: list[str] = []
    if "/" not in database:
        spec = importlib.util.find_spec("geoip2fast")
        folders = list(spec.submodule_search_locations or []) if spec is not None else []
        for folder in folders:
            path = os.path.join(folder, database)
            if os.path.isfile(path):
                return path
    where = f" or in {', '.join(folders)}" if folders else ""
    raise FileNotFoundError(f"geoip database {database!r}: no such file{where}")


def _unpickle(path: str) -> object:
    # A pickle, as geoip2fast itself loads it: the database file is trusted configuration.
    with (gzip.open(path, "rb") if path.lower().endswith(".gz") else open(path, "rb")) as file:
        try:
            return pickle.load(file)  # noqa: S301
        except Exception as exc:  # unpickling garbage raises about anything
            raise ValueError(f"geoip database {path!r} is not a geoip2fast database "
                             f"({type(exc).__name__}: {exc})") from exc


def _is_country_only(loaded: object) -> TypeGuard[list[Any] | tuple[Any, ...]]:
    """``[version, source_info, total, main_db]`` of a country-only 120/121 database."""
    if not isinstance(loaded, (list, tuple)) or len(loaded) != 4:
        return False
    version, info = loaded[0], loaded[1]
    return (version in (120, 121) and isinstance(info, dict)
            and info.get("country") is True and info.get("city") is False
            and info.get("asn") is False)


def _geoip2fast_object_lookup(path: str) -> Lookup:
    """``GeoIP2Fast``'s own lookup (city and ASN databases), every network a Python int."""
    # geoip2fast sets PYTHONWARNINGS and PYTHONIOENCODING in os.environ when imported,
    # which every later subprocess would inherit; put them back as they were.
    saved = {key: os.environ.get(key) for key in ("PYTHONWARNINGS", "PYTHONIOENCODING")}
    try:
        from geoip2fast import GeoIP2Fast  # type: ignore[import-untyped]
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    db = GeoIP2Fast(geoip2fast_data_file=path)

    def lookup(ip: str) -> GeoTuple | None:
        found = db.lookup(ip)
        country = found.country_code
        if not country or country == "--" or found.is_private:
            return None
        city = getattr(getattr(found, "city", None), "name", None) if db.city else None
        if not isinstance(city, str) or city.startswith("<"):  # "<internal lookup error>"
            city = None
        return country, city or None

    return lookup


def public_address(text: str) -> str | None:
    """The canonical form of ``text`` if it is a globally routable IP address."""
    text = text.strip()
    value = ipv4_value(text)  # the usual case, without ipaddress objects (ipv4.py)
    if value is not None:
        return text if is_global_ipv4(value) else None
    if text.startswith("[") and "]" in text:  # [2001:db8::1]:443
        text = text[1:text.index("]")]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return str(address) if address.is_global and not address.is_multicast else None


class GeoIpEnricher:
    name = "geoip"
    # enrich()'s first returns, negated (see base.py): no client or source address
    runs_if = ("(event.http is not None and event.http.client_ip) "
               "or event.attrs.get('source_ip')")

    def __init__(self, *, cache_size: int = DEFAULT_CACHE_SIZE,
                 database: str = DEFAULT_DATABASE, trust_forwarded_for: bool = False,
                 lookup: Lookup | None = None) -> None:
        self.trust_forwarded_for = trust_forwarded_for
        raw = lookup or geoip2fast_lookup(database)

        def resolve(text: str) -> GeoTuple | None:
            address = public_address(text)
            return raw(address) if address is not None else None

        self.cache_size = cache_size
        self._resolve: Callable[[str], GeoTuple | None] = lru_cache(maxsize=cache_size)(
            resolve)
        #: address text (at most 64 characters) -> geo or None: a plain dict, emptied
        #: when full, in front of the LRU cache (a hit is one lookup)
        self._seen: dict[str, GeoTuple | None] = {}

    @classmethod
    def from_config(cls, options: Mapping[str, Any] | None) -> GeoIpEnricher:
        return cls(**cls.check_config(options))

    @classmethod
    def check_config(cls, options: Mapping[str, Any] | None) -> dict[str, Any]:
        """Validate the options without loading the database; the constructor's kwargs."""
        opts = Options(cls.name, options)
        kwargs = {"cache_size": opts.positive_int("cache_size", DEFAULT_CACHE_SIZE),
                  "database": opts.get("database", str, DEFAULT_DATABASE),
                  "trust_forwarded_for": opts.get("trust_forwarded_for", bool, False)}
        opts.done()
        return kwargs

    def resolve(self, ip: str) -> GeoInfo | None:
        found = self._resolve(ip if len(ip) <= 64 else ip[:64])
        return GeoInfo(*found) if found is not None else None

    def enrich(self, event: LogEvent) -> None:
        http = event.http
        ip = http.client_ip if http is not None else None
        # type() before isinstance(): exact strings and None are the usual values
        if not ip or (type(ip) is not str and not isinstance(ip, str)):
            ip = event.attrs.get("source_ip")
            if not ip or (type(ip) is not str and not isinstance(ip, str)):
                return
        if len(ip) > 64:
            ip = ip[:64]
        found = self._seen.get(ip, _MISSING)
        if found is _MISSING:
            found = remember(self._seen, ip, self._resolve(ip), self.cache_size)
        if found is None and self.trust_forwarded_for:
            forwarded = event.attrs.get("forwarded_for")
            if isinstance(forwarded, str) and forwarded:
                first = forwarded.split(",", 1)[0]
                found = self._resolve(first if len(first) <= 64 else first[:64])
        if found is not None:
            event.geo = GeoInfo(*found)
