"""`partbench workload anonymize`: consistent, shape-keeping pseudonyms for shareable workloads.

Distinct ids, IP addresses, emails and URLs are replaced. A pseudonym is derived from a keyed hash
(HMAC-SHA256) of the original, so the same input always gets the same pseudonym under one key
(merges still connect, hot keys stay hot: the key skew is kept) and cannot be reversed without the
key. Each character keeps its class (digit, lower, upper; hex stays hex in hex-looking ids;
punctuation such as `-`, `.`, `@`, `/` is kept), so lengths and formats (UUIDs, emails, dotted IPs)
are kept too. Token, event names and other properties are left as they are.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from typing import Any

import orjson

from bench.workloads.model import Workload
from bench.workloads.summary import parse_json
from impls.base import Record

DIGITS = "0123456789"
LOWER = "abcdefghijklmnopqrstuvwxyz"
UPPER = LOWER.upper()
HEX_LOWER = "0123456789abcdef"
HEX_UPPER = "0123456789ABCDEF"
_HEXLIKE = re.compile(r"^[0-9a-fA-F-]+$")
# Distinct ids live under these property names (and at the top of the event).
ID_PROPERTIES = ("distinct_id", "$distinct_id", "$anon_distinct_id", "alias", "$device_id", "$user_id")
IP_PROPERTIES = ("$ip",)
KEPT_URL_WORDS = {"http", "https", "www"}
_PII = re.compile(
    r"(?P<url>https?://[^\s\"'<>\\]+)"
    r"|(?P<email>[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)"
    r"|(?P<ip>(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.]))"
)
_PII_BYTES = re.compile(_PII.pattern.encode())
_WORD = re.compile(r"[A-Za-z0-9]+")


class Anonymizer:
    def __init__(self, key: bytes) -> None:
        self._key = key
        self._cache: dict[tuple[str, str], str] = {}

    def _stream(self, kind: str, text: str) -> Iterator[int]:
        counter = 0
        while True:
            digest = hmac.new(self._key, f"{kind}\x00{counter}\x00{text}".encode("utf-8", "surrogatepass"),
                              hashlib.sha256).digest()
            yield from digest
            counter += 1

    def pseudo(self, kind: str, text: str) -> str:
        """Same length, same character classes, consistent for (kind, text)."""
        cached = self._cache.get((kind, text))
        if cached is not None:
            return cached
        # Hex stays hex only in hex-looking ids (digits and a-f letters); plain numbers stay digits.
        hexlike = bool(_HEXLIKE.match(text)) and any(c.isdigit() for c in text) and any(c.isalpha() for c in text)
        stream = self._stream(kind, text)
        out = []
        for ch in text:
            if hexlike and ch in HEX_LOWER:
                out.append(HEX_LOWER[next(stream) % 16])
            elif hexlike and ch in HEX_UPPER:
                out.append(HEX_UPPER[next(stream) % 16])
            elif ch in DIGITS:
                out.append(DIGITS[next(stream) % 10])
            elif ch in LOWER:
                out.append(LOWER[next(stream) % 26])
            elif ch in UPPER:
                out.append(UPPER[next(stream) % 26])
            else:
                out.append(ch)
        result = "".join(out)
        self._cache[(kind, text)] = result
        return result

    def distinct_id(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.pseudo("id", value)
        if isinstance(value, int) and not isinstance(value, bool):
            digits = self.pseudo("id", str(abs(value)))
            if len(digits) > 1 and digits[0] == "0":
                digits = "1" + digits[1:]
            return int(digits) * (-1 if value < 0 else 1)
        return value

    def ip(self, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        if _PII.fullmatch(value) and value.count(".") == 3:
            return self._ipv4(value)
        return self.pseudo("ip", value)

    def _ipv4(self, text: str) -> str:
        # Same digit count per octet, each octet kept within 0-255.
        octets = []
        for i, part in enumerate(text.split(".")):
            p = self.pseudo(f"ip{i}:{text}", part)
            if len(p) == 3 and int(p) > 255:
                p = str(100 + int(p) % 156)
            if len(p) > 1 and p[0] == "0":
                p = str(1 + int(p[0])) + p[1:]
            octets.append(p)
        return ".".join(octets)

    def _url(self, url: str) -> str:
        scheme, _, rest = url.partition("://")
        host, slash, path = rest.partition("/")
        labels = host.split(".")
        # Keep the top-level domain and common words so URLs still look like URLs.
        host_out = ".".join(label if (i == len(labels) - 1 and len(labels) > 1) or label in KEPT_URL_WORDS
                            else self.pseudo("url", label) for i, label in enumerate(labels))
        path_out = _WORD.sub(lambda m: self.pseudo("url", m.group()), path)
        return f"{scheme}://{host_out}{slash}{path_out}"

    def _pii_match(self, m: re.Match[str]) -> str:
        if m.group("url"):
            return self._url(m.group("url"))
        if m.group("email"):
            return self.pseudo("email", m.group("email"))
        return self._ipv4(m.group("ip"))

    def text(self, value: str) -> str:
        """Emails, URLs and IPv4 addresses inside a free-text value."""
        if "@" not in value and "." not in value:
            return value
        return _PII.sub(self._pii_match, value)

    def walk(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.walk(v) for v in value]
        return value

    def properties(self, props: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for k, v in props.items():
            if k in ID_PROPERTIES:
                out[k] = self.distinct_id(v)
            elif k in IP_PROPERTIES:
                out[k] = self.ip(v)
            else:
                out[k] = self.walk(v)
        return out

    def event(self, data: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for k, v in data.items():
            if k in ("distinct_id", "$distinct_id"):
                out[k] = self.distinct_id(v)
            elif k == "properties" and isinstance(v, dict):
                out[k] = self.properties(v)
            elif k in ("$set", "$set_once") and isinstance(v, dict):
                out[k] = self.walk(v)
            else:
                out[k] = v
        return out

    # --- records ----------------------------------------------------------------------------

    def key(self, key: bytes | None) -> bytes | None:
        if key is None or b":" not in key:
            return key
        token, _, did = key.partition(b":")
        text = did.decode("utf-8", "surrogateescape")
        return token + b":" + self.pseudo("id", text).encode("utf-8", "surrogateescape")

    def value(self, value: bytes | None) -> bytes | None:
        if not value:
            return value
        outer = parse_json(value)
        if not isinstance(outer, dict):
            return self._raw(value)
        try:
            return self._structured(outer)
        except RecursionError:  # nesting too deep to walk: treat like an unparsable value
            return self._raw(value)

    def _structured(self, outer: dict[str, Any]) -> bytes:
        out = {}
        for k, v in outer.items():
            if k == "distinct_id":
                out[k] = self.distinct_id(v)
            elif k == "ip":
                out[k] = self.ip(v)
            elif k == "data" and isinstance(v, str):
                data = parse_json(v)
                out[k] = _dumps(self.event(data)).decode("utf-8") if isinstance(data, dict) else self._raw_text(v)
            else:
                out[k] = v
        return _dumps(out)

    def _raw(self, value: bytes) -> bytes:
        """A value that does not parse: replace what can be recognised in the bytes."""
        return _PII_BYTES.sub(lambda m: self._pii_match(_as_text_match(m)).encode("utf-8", "surrogateescape"), value)

    def _raw_text(self, text: str) -> str:
        return _PII.sub(self._pii_match, text)

    def header_value(self, name: str, value: bytes) -> bytes:
        if name == "distinct_id":
            return self.pseudo("id", value.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")
        return value

    def record(self, r: Record) -> Record:
        return Record(r.offset, r.timestamp_ms, self.key(r.key),
                      tuple((n, self.header_value(n, v)) for n, v in r.headers), self.value(r.value))

    def context(self, header: dict[str, Any]) -> dict[str, Any]:
        out = dict(header)
        out["persons"] = [dict(p, distinct_ids=[self.distinct_id(d) for d in p.get("distinct_ids", [])],
                               properties=self.walk(p.get("properties", {})))
                          for p in header.get("persons", [])]
        out["groups"] = [dict(g, group_properties=self.walk(g.get("group_properties", {})))
                         for g in header.get("groups", [])]
        out["restrictions"] = [dict(r, distinct_id=self.distinct_id(r.get("distinct_id")))
                               for r in header.get("restrictions", [])]
        origin = dict(header.get("origin", {}))
        if isinstance(origin.get("hot_key"), str) and ":" in origin["hot_key"]:
            token, _, did = origin["hot_key"].partition(":")
            origin["hot_key"] = f"{token}:{self.pseudo('id', did)}"
        origin["anonymized"] = {"method": "hmac-sha256, class-preserving",
                                "key_id": hashlib.sha256(self._key).hexdigest()[:12]}
        out["origin"] = origin
        return out


class _TextMatch:
    """A bytes regex match seen as text, so one replacement function serves both."""

    def __init__(self, m: re.Match[bytes]) -> None:
        self._m = m

    def group(self, name: str | int = 0) -> str | None:
        g = self._m.group(name)
        return g.decode("utf-8", "surrogateescape") if g is not None else None


def _as_text_match(m: re.Match[bytes]) -> Any:
    return _TextMatch(m)


def _dumps(obj: Any) -> bytes:
    try:
        return orjson.dumps(obj)
    except (TypeError, orjson.JSONEncodeError):  # lone surrogates, >64-bit integers, deep nesting
        return json.dumps(obj, ensure_ascii=True, separators=(",", ":")).encode()


def anonymize(workload: Workload, key: bytes) -> Workload:
    anon = Anonymizer(key)
    return Workload(workload.name, anon.context(workload.header), [anon.record(r) for r in workload.records])
