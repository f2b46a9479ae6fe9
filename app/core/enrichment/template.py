"""``template``: a stable id for "the same message, different values".

The message's variable parts are masked (quoted strings, UUIDs, e-mail addresses, IPv4
and IPv6 addresses, hex ids, numbers), and ``template_id`` is a 16-hex-digit BLAKE2b
hash of the result. ``Failed password for root from 1.2.3.4 port 22 ssh2`` and the same
line for 5.6.7.8 port 4711 share an id. It is a cheap deterministic mask, not a learned
template (Drain3): the id is the same in every process and after every restart.
With ``store_template: true`` the masked text is kept in ``attrs["template"]``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from hashlib import blake2b
from typing import Any

from app.core.enrichment.base import remember
from app.core.enrichment.options import Options
from app.core.events import LogEvent

DEFAULT_CACHE_SIZE = 10_000
DEFAULT_MAX_LENGTH = 1024  # only this prefix of the message shapes the template

# a single quote counts only outside a word, so "it's" is not the start of a string
_QUOTED = re.compile(r""""[^"\\]*(?:\\.[^"\\]*)*"|(?<!\w)'[^'\\]*(?:\\.[^'\\]*)*'(?!\w)""")
_UUID = re.compile(
    r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}")
_IPV6 = re.compile(
    r"(?<![\w:.])(?:"
    r"(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}"
    r"|(?:[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{1,4}){0,6})?::(?:[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{1,4}){0,6})?"
    r")(?:%\w+)?(?![\w:])"
)
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?(?![\w.])")
_HEX = re.compile(r"\b(?:0[xX][0-9a-fA-F]+|(?=[0-9a-fA-F]*[0-9])(?=[0-9a-fA-F]*[a-fA-F])"
                  r"[0-9a-fA-F]{8,})\b")
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)*")


def mask(message: str) -> str:
    """The message with its variable parts replaced by ``<str>``, ``<uuid>``, ``<email>``,
    ``<ip>``, ``<hex>`` and ``<num>``. Each pass runs only if a cheap check says it can
    match."""
    text = message
    if '"' in text or "'" in text:
        text = _QUOTED.sub("<str>", text)
    if "-" in text:
        text = _UUID.sub("<uuid>", text)
    if "@" in text:
        text = _EMAIL.sub("<email>", text)
    if "::" in text or text.count(":") >= 7:
        text = _IPV6.sub("<ip>", text)
    if "." in text:
        text = _IPV4.sub("<ip>", text)
    text = _HEX.sub("<hex>", text)
    return _NUMBER.sub("<num>", text)


def template_id(template: str) -> str:
    return blake2b(template.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


def _masked_with_id(message: str) -> tuple[str, str]:
    template = mask(message)
    return template, template_id(template)


# ``mask`` cannot tell the ASCII digits 1-9 apart: each class in its patterns holds all of
# them or none ("0" is the one digit named, in "0x"), and every ASCII digit left after
# the other passes is masked as a number. So a message's template is the template of the
# message with 2-9 written as 1, and the cache is keyed by that: "port 51505" and "port
# 42820" are one entry. Keys are UTF-8 bytes, where 0x30-0x39 only ever encode digits.
_ONE_FOR_DIGIT = bytes.maketrans(b"23456789", b"11111111")


def cache_key(message: str) -> bytes:
    """The template cache key of ``message``: its UTF-8 with the digits 2-9 as 1."""
    try:
        raw = message.encode()
    except UnicodeEncodeError:  # lone surrogates (undecodable input bytes)
        raw = message.encode("utf-8", "surrogatepass")
    return raw.translate(_ONE_FOR_DIGIT)


def _masked_with_id_of_key(key: bytes) -> tuple[str, str]:
    return _masked_with_id(key.decode("utf-8", "surrogatepass"))


class TemplateEnricher:
    name = "template"

    def __init__(self, *, store_template: bool = False, cache_size: int = DEFAULT_CACHE_SIZE,
                 max_length: int = DEFAULT_MAX_LENGTH) -> None:
        self.store_template = store_template
        self.max_length = max_length
        # messages repeat (health checks, retries): the cache is keyed by the message;
        # a new message is looked up by ``cache_key`` in a second cache, as messages
        # that differ in their numbers only (request ids, ports) share a template
        by_key = lru_cache(maxsize=cache_size)(_masked_with_id_of_key)
        #: message -> (template, id): a plain dict, emptied when full (a hit, the common
        #: case per event, is one lookup, less than an lru_cache call)
        messages: dict[str, tuple[str, str]] = {}
        self._messages = messages

        def template(message: str) -> tuple[str, str]:
            found = messages.get(message)
            if found is None:
                found = remember(messages, message, by_key(cache_key(message)), cache_size)
            return found

        self._template: Callable[[str], tuple[str, str]] = template

    @classmethod
    def from_config(cls, options: Mapping[str, Any] | None) -> TemplateEnricher:
        opts = Options(cls.name, options)
        enricher = cls(store_template=opts.get("store_template", bool, False),
                       cache_size=opts.positive_int("cache_size", DEFAULT_CACHE_SIZE),
                       max_length=opts.positive_int("max_length", DEFAULT_MAX_LENGTH))
        opts.done()
        return enricher

    def template(self, message: str) -> tuple[str, str]:
        """``(masked template, template id)`` of a message."""
        return self._template(message[:self.max_length])

    def enrich(self, event: LogEvent) -> None:
        message = event.message
        if not message or (type(message) is not str and not isinstance(message, str)):
            return
        if len(message) > self.max_length:
            message = message[:self.max_length]
        # self._template(message), its hit inlined
        found = self._messages.get(message)
        template, tid = found if found is not None else self._template(message)
        event.template_id = tid
        if self.store_template:
            event.attrs["template"] = template
