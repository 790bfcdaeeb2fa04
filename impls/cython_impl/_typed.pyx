# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The hot stages rewritten with static types (profiled on the cython-compiled reference:
JSON encoding in create_event/emit, property_defs, normalize and its timestamp parsing, the
personless branch of persons, the event row, decode's glue and byte scans).

Same rules as impls/reference (docs/pipeline.md); tests/test_impl_cython.py checks them against
the reference functions directly, and `partbench verify --impl cython` end to end. Nothing here
imports a JSON library: the parser (stdlib json for `cython`, orjson for `combined`) and the
encoder of the JSON-text fields are passed in by the pipelines.
"""

from libc.stdlib cimport malloc, realloc, free
from libc.string cimport memcpy
from libc.math cimport isfinite
from cpython.unicode cimport PyUnicode_KIND, PyUnicode_DATA, PyUnicode_READ, PyUnicode_GET_LENGTH
from cpython.bytes cimport PyBytes_FromStringAndSize, PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.long cimport PyLong_AsLongLongAndOverflow
from cpython.mem cimport PyMem_Free
from cpython.dict cimport PyDict_GetItem

cdef extern from "Python.h":
    char* PyOS_double_to_string(double val, char format_code, int precision, int flags, int* ptype) except NULL
    int Py_DTSF_ADD_DOT_0
    int PyUnicode_IS_ASCII(object o)
    object PyUnicode_DecodeASCII(const char* s, Py_ssize_t size, const char* errors)

import hashlib

from impls.cython_impl._ref import timestamps as _ref_timestamps
from impls.cython_impl._ref.properties import DATE_KEYWORDS as _DATE_KEYWORDS
from impls.cython_impl._ref.timestamps import parse_rfc2822 as _ref_parse_rfc2822

# ---------------------------------------------------------------------------------------------
# JSON encoding: compact, ASCII-only, the same text as jsonrules.dumps (json with ensure_ascii).

cdef const char* HEX = "0123456789abcdef"
# 1 for the Latin-1 code units that must be escaped (control characters, `"`, `\`, DEL and up)
cdef unsigned char ESCAPE[256]
for _c in range(256):
    ESCAPE[_c] = 0 if (32 <= _c < 127 and _c != 34 and _c != 92) else 1


cdef class _Buffer:
    cdef char* data
    cdef Py_ssize_t size, capacity

    def __cinit__(self):
        self.capacity = 4096
        self.size = 0
        self.data = <char*> malloc(self.capacity)
        if self.data == NULL:
            raise MemoryError()

    def __dealloc__(self):
        free(self.data)

    cdef inline int reserve(self, Py_ssize_t extra) except -1:
        cdef char* grown
        if self.size + extra > self.capacity:
            while self.size + extra > self.capacity:
                self.capacity *= 2
            grown = <char*> realloc(self.data, self.capacity)
            if grown == NULL:
                raise MemoryError()
            self.data = grown
        return 0

    cdef inline int put(self, char c) except -1:
        if self.size >= self.capacity:
            self.reserve(1)
        self.data[self.size] = c
        self.size += 1
        return 0

    cdef inline int put_raw(self, const char* text, Py_ssize_t n) except -1:
        self.reserve(n)
        memcpy(self.data + self.size, text, n)
        self.size += n
        return 0

    cdef int put_ascii(self, str text) except -1:
        cdef bytes raw = text.encode("ascii")
        self.put_raw(<const char*> raw, len(raw))
        return 0

    cdef inline int put_u(self, unsigned int unit) except -1:
        self.reserve(6)
        self.data[self.size] = 92  # backslash
        self.data[self.size + 1] = 117  # u
        self.data[self.size + 2] = HEX[(unit >> 12) & 15]
        self.data[self.size + 3] = HEX[(unit >> 8) & 15]
        self.data[self.size + 4] = HEX[(unit >> 4) & 15]
        self.data[self.size + 5] = HEX[unit & 15]
        self.size += 6
        return 0


cdef inline int _put_escape(_Buffer out, unsigned int c) except -1:
    """One character that ESCAPE (or the wide-string loop) says must be escaped."""
    cdef unsigned int v
    if c == 34 or c == 92:
        out.reserve(2)
        out.data[out.size] = 92
        out.data[out.size + 1] = <char> c
        out.size += 2
    elif c == 10:
        out.put(92); out.put(110)
    elif c == 13:
        out.put(92); out.put(114)
    elif c == 9:
        out.put(92); out.put(116)
    elif c == 8:
        out.put(92); out.put(98)
    elif c == 12:
        out.put(92); out.put(102)
    elif c > 0xFFFF:
        v = c - 0x10000
        out.put_u(0xD800 | (v >> 10))
        out.put_u(0xDC00 | (v & 0x3FF))
    else:
        out.put_u(c)
    return 0


cdef int _write_str(_Buffer out, str text) except -1:
    cdef Py_ssize_t i, start, n = PyUnicode_GET_LENGTH(text)
    cdef int kind = PyUnicode_KIND(text)
    cdef void* data = PyUnicode_DATA(text)
    cdef const unsigned char* narrow
    cdef unsigned int c  # a code point as a C integer (Py_UCS4 arithmetic would make str objects)
    out.reserve(n + 2)
    out.data[out.size] = 34
    out.size += 1
    if kind == 1:  # Latin-1 storage: copy the runs that need no escape
        narrow = <const unsigned char*> data
        start = 0
        for i in range(n):
            c = narrow[i]
            if ESCAPE[c]:
                if i > start:
                    out.put_raw(<const char*> narrow + start, i - start)
                _put_escape(out, c)
                start = i + 1
        if n > start:
            out.put_raw(<const char*> narrow + start, n - start)
    else:
        for i in range(n):
            c = <unsigned int> PyUnicode_READ(kind, data, i)
            if 32 <= c < 127 and c != 34 and c != 92:
                out.put(<char> c)
            else:
                _put_escape(out, c)
    out.put(34)
    return 0


cdef int _write_int(_Buffer out, object value) except -1:
    cdef int overflow = 0
    cdef long long v = PyLong_AsLongLongAndOverflow(value, &overflow)
    cdef unsigned long long u
    cdef char buf[24]
    cdef int pos = 24
    if overflow:
        return out.put_ascii(int.__repr__(value))
    u = <unsigned long long> (-v) if v < 0 else <unsigned long long> v
    while True:
        pos -= 1
        buf[pos] = <char> (48 + u % 10)
        u //= 10
        if u == 0:
            break
    if v < 0:
        pos -= 1
        buf[pos] = 45
    out.put_raw(buf + pos, 24 - pos)
    return 0


cdef int _write_float(_Buffer out, double value) except -1:
    cdef char* text
    cdef Py_ssize_t n = 0
    if not isfinite(value):
        raise ValueError("out-of-range float is not JSON")
    text = PyOS_double_to_string(value, b'r', 0, Py_DTSF_ADD_DOT_0, NULL)  # float.__repr__
    try:
        while text[n] != 0:
            n += 1
        out.put_raw(text, n)
    finally:
        PyMem_Free(text)
    return 0


cdef int _write(_Buffer out, object value, int depth) except -1:
    cdef type kind = type(value)
    cdef bint first
    if depth > 1000:
        raise ValueError("nesting too deep to encode")
    if kind is str:
        _write_str(out, <str> value)
    elif value is None:
        out.put_raw("null", 4)
    elif value is True:
        out.put_raw("true", 4)
    elif value is False:
        out.put_raw("false", 5)
    elif kind is int:
        _write_int(out, value)
    elif kind is float:
        _write_float(out, <double> value)
    elif kind is dict:
        out.put(123)
        first = True
        for key, item in (<dict> value).items():
            if type(key) is not str:
                raise TypeError("non-string key")  # the caller falls back to the reference encoder
            if not first:
                out.put(44)
            first = False
            _write_str(out, <str> key)
            out.put(58)
            _write(out, item, depth + 1)
        out.put(125)
    elif kind is list:
        out.put(91)
        first = True
        for item in <list> value:
            if not first:
                out.put(44)
            first = False
            _write(out, item, depth + 1)
        out.put(93)
    else:
        raise TypeError(f"cannot encode {kind.__name__}")
    return 0


cpdef bytes dumps_bytes(object value):
    """Compact ASCII JSON bytes, identical to jsonrules.dumps_bytes for JSON-shaped values."""
    cdef _Buffer out = _Buffer()
    _write(out, value, 0)
    return PyBytes_FromStringAndSize(out.data, out.size)


cpdef str dumps_text(object value):
    cdef _Buffer out = _Buffer()
    _write(out, value, 0)
    return PyUnicode_DecodeASCII(out.data, out.size, NULL)


# ---------------------------------------------------------------------------------------------
# Timestamps: formatting and parsing with C integer arithmetic (floor division by hand).

cdef inline long long _floordiv(long long a, long long b):
    cdef long long q = a / b
    if (a % b != 0) and ((a < 0) != (b < 0)):
        q -= 1
    return q


cdef inline void _two(char* p, long long v):
    p[0] = <char> (48 + v / 10)
    p[1] = <char> (48 + v % 10)


cdef str _format(long long ms, int length):
    cdef long long days = _floordiv(ms, 86400000)
    cdef long long rem = ms - days * 86400000
    cdef long long z = days + 719468
    cdef long long era = _floordiv(z, 146097)
    cdef long long doe = z - era * 146097
    cdef long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
    cdef long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    cdef long long mp = (5 * doy + 2) / 153
    cdef long long day = doy - (153 * mp + 2) / 5 + 1
    cdef long long month = mp + 3 if mp < 10 else mp - 9
    cdef long long year = yoe + era * 400 + (1 if month <= 2 else 0)
    cdef long long secs = rem / 1000
    cdef long long millis = rem % 1000
    cdef char buf[24]
    if year < 0 or year > 9999:  # outside the pipeline's range: the reference's formatting
        return _ref_timestamps.format_ms(ms) if length == 23 else _ref_timestamps.format_seconds(ms)
    buf[0] = <char> (48 + year / 1000)
    buf[1] = <char> (48 + (year / 100) % 10)
    _two(buf + 2, year % 100)
    buf[4] = 45
    _two(buf + 5, month)
    buf[7] = 45
    _two(buf + 8, day)
    buf[10] = 32
    _two(buf + 11, secs / 3600)
    buf[13] = 58
    _two(buf + 14, (secs / 60) % 60)
    buf[16] = 58
    _two(buf + 17, secs % 60)
    buf[19] = 46
    buf[20] = <char> (48 + millis / 100)
    _two(buf + 21, millis % 100)
    return PyUnicode_DecodeASCII(buf, length, NULL)


cpdef str format_ms(long long ms):
    return _format(ms, 23)


cpdef str format_seconds(long long ms):
    return _format(ms, 19)


cdef inline long long _days_from_civil(long long year, long long month, long long day):
    cdef long long y = year - 1 if month <= 2 else year
    cdef long long era = _floordiv(y, 400)
    cdef long long yoe = y - era * 400
    cdef long long mp = month - 3 if month > 2 else month + 9
    cdef long long doy = (153 * mp + 2) / 5 + day - 1
    cdef long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146097 + doe - 719468


cdef inline int _days_in_month(long long year, long long month):
    if month == 2:
        return 29 if (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)) else 28
    return 30 if (month == 4 or month == 6 or month == 9 or month == 11) else 31


cdef inline int _digits(int kind, void* data, Py_ssize_t at, int count, long long* out):
    """`count` ASCII digits at `at` as a number in *out; 0 when one is not a digit."""
    cdef long long v = 0
    cdef unsigned int c
    cdef int i
    for i in range(count):
        c = <unsigned int> PyUnicode_READ(kind, data, at + i)
        if c < 48 or c > 57:
            return 0
        v = v * 10 + (c - 48)
    out[0] = v
    return 1


# _parse_iso results besides a millisecond value
cdef enum:
    NO_MATCH = 0    # F1's pattern does not match the whole string
    MATCHED = 1     # it matches; *ms holds the time
    INVALID = 2     # it matches, but the date, time or zone is out of range (the string does not parse)


cdef int _parse_iso(str text, bint zone_required, long long* ms):
    """F1 (docs/pipeline.md, "Timestamps") matched by hand, exactly like timestamps.parse_iso."""
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(text), i
    cdef int kind = PyUnicode_KIND(text)
    cdef void* data = PyUnicode_DATA(text)
    cdef long long year, month, day, hour = 0, minute = 0, second = 0, millis = 0, zh = 0, zm = 0
    cdef long long zone_minutes = 0
    cdef unsigned int c
    cdef bint has_zone = False
    cdef int frac_digits
    if n < 10 or not _digits(kind, data, 0, 4, &year) or PyUnicode_READ(kind, data, 4) != 45 \
            or not _digits(kind, data, 5, 2, &month) or PyUnicode_READ(kind, data, 7) != 45 \
            or not _digits(kind, data, 8, 2, &day):
        return NO_MATCH
    i = 10
    if i < n:
        c = <unsigned int> PyUnicode_READ(kind, data, i)
        if not (c == 84 or c == 116 or c == 32):  # T t space
            return NO_MATCH
        if i + 6 > n or not _digits(kind, data, i + 1, 2, &hour) or PyUnicode_READ(kind, data, i + 3) != 58 \
                or not _digits(kind, data, i + 4, 2, &minute):
            return NO_MATCH
        i += 6
        if i < n and PyUnicode_READ(kind, data, i) == 58:  # :SS
            if i + 3 > n or not _digits(kind, data, i + 1, 2, &second):
                return NO_MATCH
            i += 3
            if i < n and PyUnicode_READ(kind, data, i) == 46:  # .fraction (one digit at least)
                i += 1
                frac_digits = 0
                while i < n:
                    c = <unsigned int> PyUnicode_READ(kind, data, i)
                    if c < 48 or c > 57:
                        break
                    if frac_digits < 3:
                        millis = millis * 10 + (c - 48)
                    frac_digits += 1
                    i += 1
                if frac_digits == 0:
                    return NO_MATCH
                while frac_digits < 3:
                    millis *= 10
                    frac_digits += 1
        if i < n:  # the zone
            c = <unsigned int> PyUnicode_READ(kind, data, i)
            has_zone = True
            if c == 90 or c == 122:  # Z z
                if i + 1 != n:
                    return NO_MATCH
            elif c == 43 or c == 45:  # + -
                if not (i + 3 == n or i + 5 == n or i + 6 == n):
                    return NO_MATCH
                if not _digits(kind, data, i + 1, 2, &zh):
                    return NO_MATCH
                if i + 5 == n:
                    if not _digits(kind, data, i + 3, 2, &zm):
                        return NO_MATCH
                elif i + 6 == n:
                    if PyUnicode_READ(kind, data, i + 3) != 58 or not _digits(kind, data, i + 4, 2, &zm):
                        return NO_MATCH
                if zh > 23 or zm > 59:
                    return INVALID
                zone_minutes = zh * 60 + zm
                if c == 45:
                    zone_minutes = -zone_minutes
            else:
                return NO_MATCH
    if zone_required and not has_zone:
        return INVALID  # parse_iso(zone_required=True) answers None
    if not (1 <= month <= 12 and 1 <= day <= _days_in_month(year, month)):
        return INVALID
    if hour > 23 or minute > 59 or second > 59:
        return INVALID
    ms[0] = (_days_from_civil(year, month, day) * 86400000 + hour * 3600000 + minute * 60000
             + second * 1000 + millis - zone_minutes * 60000)
    return MATCHED


cpdef object parse_timestamp(str text):
    """timestamps.parse_timestamp: F1 here in C, anything F1 does not match by the reference."""
    cdef long long ms
    cdef int found = _parse_iso(text, False, &ms)
    if found == MATCHED:
        return ms
    if found == INVALID:
        return None  # no other format can match a string F1 matched
    return _ref_timestamps.parse_timestamp(text)


cpdef object parse_iso(str text, bint zone_required=False):
    """timestamps.parse_iso."""
    cdef long long ms
    cdef int found = _parse_iso(text, zone_required, &ms)
    return ms if found == MATCHED else None


cdef object _parse_value(object value):
    """timestamps.parse_timestamp_value."""
    cdef int overflow = 0
    cdef long long v
    if type(value) is str:
        return parse_timestamp(<str> value)
    if type(value) is int:
        v = PyLong_AsLongLongAndOverflow(value, &overflow)
        if overflow or v < 0 or v >= 1000000000000000:  # negative, or more than 15 digits (F4)
            return None
        return v * 1000 if v < 100000000000 else v
    return None


cdef long long FUTURE_LIMIT_MS = 82800000  # timestamps.FUTURE_LIMIT_MS
cdef long long MIN_MS = _ref_timestamps.MIN_MS
cdef long long MAX_MS = _ref_timestamps.MAX_MS
cdef long long SAFE_MS = 1LL << 60  # |now|, |offset| below this: no C overflow anywhere below
from impls.cython_impl._ref.validate import apply_timestamp as _ref_apply_timestamp


cdef void _apply_timestamp(object ev) except *:
    """validate.apply_timestamp with timestamps.event_timestamp inlined (same order, same warnings).
    Times far outside the pipeline's range (where C arithmetic could overflow) go to the reference."""
    cdef dict event = ev.event
    cdef dict props = ev.properties
    cdef long long now_ms, ts, sent_ms = 0, offset
    cdef bint has_sent = False
    cdef int overflow = 0
    cdef list kinds = None
    if ev.timestamp_ms is not None:
        return
    now_value = ev.now_ms
    now_ms = PyLong_AsLongLongAndOverflow(now_value, &overflow)
    if overflow or now_ms > SAFE_MS or now_ms < -SAFE_MS:
        _ref_apply_timestamp(ev)
        return
    if props.get("$ignore_sent_at") is not True:
        sent_at = event.get("sent_at")
        if type(sent_at) is str:
            parsed = parse_timestamp(<str> sent_at)
            if parsed is not None:
                sent_ms = parsed
                has_sent = True
    ts = now_ms
    raw = event.get("timestamp")
    if raw is not None:
        parsed = _parse_value(raw)
        if parsed is None:
            kinds = ["ignored_invalid_timestamp"]
        elif has_sent:
            ts = <long long> parsed + (now_ms - sent_ms)  # parsed values are below 10^15 ms
        else:
            ts = parsed
    offset_value = event.get("offset")
    if type(offset_value) is int:
        offset = PyLong_AsLongLongAndOverflow(offset_value, &overflow)
        if overflow or offset > SAFE_MS or offset < -SAFE_MS:
            _ref_apply_timestamp(ev)
            return
        ts = now_ms - offset
    if ts - now_ms > FUTURE_LIMIT_MS:
        ts = now_ms
        if kinds is None:
            kinds = []
        kinds.append("event_timestamp_in_future")
    if ts < MIN_MS or ts > MAX_MS:
        ts = 0
        if kinds is None:
            kinds = []
        kinds.append("timestamp_out_of_range")
    ev.timestamp_ms = ts
    if kinds is not None:
        for kind in kinds:
            ev.warnings.append({"type": kind, "details": {"eventUuid": ev.uuid, "timestamp": event.get("timestamp")}})


def apply_timestamp(ev):
    _apply_timestamp(ev)


# ---------------------------------------------------------------------------------------------
# normalize: normalize.normalize_event with the key scan and the timestamp in C.

from impls.cython_impl._ref.normalize import (EVENT_TO_PERSON_PROPERTIES as _E2P,
                                              NO_INITIAL_PROPERTIES_EVENTS as _NO_INITIAL,
                                              PERSON_EVENTS_NEEDING_PROCESSING as _NEEDS_PERSONS)

cdef frozenset EVENT_TO_PERSON = frozenset(_E2P)
cdef frozenset NO_INITIAL = frozenset(_NO_INITIAL)
cdef frozenset NEEDS_PERSONS = frozenset(_NEEDS_PERSONS)


cdef void _add_initial_properties(dict props) except *:
    cdef list found = None
    cdef dict to_set, to_set_once
    cdef str key, initial
    for key in props:
        if key in EVENT_TO_PERSON:
            if found is None:
                found = []
            found.append((key, props[key]))
    if found is None:
        return
    current = props.get("$set")
    to_set = dict(<dict> current) if type(current) is dict else {}
    current = props.get("$set_once")
    to_set_once = dict(<dict> current) if type(current) is dict else {}
    for key, value in found:
        if key == "$os_name":
            continue  # only a fallback alias of $os, below
        if to_set.get(key) is None:
            to_set[key] = value
        initial = "$initial_" + (key[1:] if key.startswith("$") else key)
        if to_set_once.get(initial) is None:
            to_set_once[initial] = value
    os_name = props.get("$os_name")
    if type(os_name) is str and os_name:
        if props.get("$os") is None:
            props["$os"] = os_name
        if to_set.get("$os") is None:
            to_set["$os"] = os_name
        if to_set_once.get("$initial_os") is None:
            to_set_once["$initial_os"] = os_name
    props["$set"] = to_set
    props["$set_once"] = to_set_once


def normalize_batch(list events):
    """ReferencePipeline.stage_normalize."""
    cdef dict props
    cdef bint enabled
    for ev in events:
        if ev.outcome is not None:
            continue
        props = ev.properties
        team = ev.team
        if ev.skip_person or team.get("person_processing_opt_out"):
            enabled = False
        elif (<dict> ev.headers).get("force_disable_person_processing") == "true":
            enabled = False
        else:
            enabled = props.get("$process_person_profile") is not False
        ev.person_processing = enabled
        name = ev.name
        if not enabled and name in NEEDS_PERSONS:
            ev.outcome = "drop:person_processing_disabled"
            continue
        if enabled and name != "$groupidentify":
            if name not in NO_INITIAL:
                _add_initial_properties(props)
        else:
            props.pop("$set", None)
            props.pop("$set_once", None)
            props.pop("$unset", None)
        _apply_timestamp(ev)


# ---------------------------------------------------------------------------------------------
# persons: the personless branch (most events of the general lane) in C, with the UUIDv5 of
# "{team_id}:{distinct_id}" formatted by hand; everything else is the compiled reference.

from impls.cython_impl._ref.persons import (FORCE_UPGRADE_AFTER_MS as _FORCE_UPGRADE_AFTER_MS,
                                            PERSON_NAMESPACE as _PERSON_NAMESPACE,
                                            PERSONLESS_CREATED_AT_MS as _PERSONLESS_CREATED_AT_MS,
                                            PersonTouches as _PersonTouches, process_person as _process_person)

_sha1 = hashlib.sha1
cdef bytes NAMESPACE = _PERSON_NAMESPACE.bytes


cpdef str person_uuid(object team_id, str distinct_id):
    """persons.person_uuid: UUIDv5 (SHA-1, version and variant bits set), lowercase, hyphenated."""
    cdef bytes name = f"{team_id}:{distinct_id}".encode("utf-8", "surrogatepass")
    cdef bytes digest = _sha1(NAMESPACE + name).digest()
    cdef const unsigned char* d = <const unsigned char*> PyBytes_AS_STRING(digest)
    cdef char buf[36]
    cdef int i, pos = 0
    cdef unsigned char b
    for i in range(16):
        b = d[i]
        if i == 6:
            b = (b & 0x0F) | 0x50
        elif i == 8:
            b = (b & 0x3F) | 0x80
        if i == 4 or i == 6 or i == 8 or i == 10:
            buf[pos] = 45
            pos += 1
        buf[pos] = HEX[b >> 4]
        buf[pos + 1] = HEX[b & 15]
        pos += 2
    return PyUnicode_DecodeASCII(buf, 36, NULL)


def persons_batch(list events, store):
    """ReferencePipeline.stage_persons: returns the PersonTouches of the batch."""
    touches = _PersonTouches()
    for ev in events:
        if ev.outcome is not None or ev.name == "$$heatmap":
            continue
        if ev.person_processing:
            _process_person(ev, store, touches)
            continue
        team_id = ev.team["id"]
        person = store.get(team_id, ev.distinct_id)
        if person is not None and (ev.timestamp_ms or 0) - person.created_at_ms > _FORCE_UPGRADE_AFTER_MS:
            ev.person_id = person.id
            ev.person_properties = person.properties
            ev.person_created_at_ms = person.created_at_ms
            ev.person_mode = "force_upgrade"
            continue
        ev.person_id = person_uuid(team_id, ev.distinct_id)
        ev.person_properties = None
        ev.person_created_at_ms = _PERSONLESS_CREATED_AT_MS
        ev.person_mode = "propertyless"
    return touches


# ---------------------------------------------------------------------------------------------
# create_event: the event row (rows.event_row) with C timestamp formatting; the JSON-text encoder
# of `properties`/`person_properties` is the pipeline's (`dumps_text`).

def create_event_batch(list events, dumps_text, elements_chain):
    """ReferencePipeline.stage_create_event (same row, same key order)."""
    cdef dict props, team
    cdef str now
    for ev in events:
        if ev.outcome is not None:
            continue
        props = ev.properties
        if "$elements_chain" in props or "$elements" in props:
            chain = elements_chain(props)
        else:
            chain = ""  # what elements_chain answers when it removes nothing
        team = ev.team
        if team.get("anonymize_ips"):
            props.pop("$ip", None)
        now = _format(ev.now_ms, 23)
        team_id = team["id"]
        person_properties = ev.person_properties
        ev.row = {
            "uuid": ev.uuid,
            "event": ev.name,
            "properties": dumps_text(props),
            "timestamp": _format(ev.timestamp_ms or 0, 23),
            "team_id": team_id,
            "project_id": team.get("project_id", team_id),
            "distinct_id": ev.distinct_id,
            "elements_chain": chain,
            "created_at": now,
            "captured_at": now,
            "person_id": ev.person_id,
            "person_properties": dumps_text(person_properties) if person_properties else "{}",
            "person_created_at": _format(ev.person_created_at_ms, 19),
            "person_mode": ev.person_mode,
        }
        ev.outcome = "event"


# ---------------------------------------------------------------------------------------------
# property_defs: candidates deduplicated per (team, kind, group type) on the name alone, so the
# common case (a name already seen in this batch) costs one str-keyed dict lookup, without
# building the candidate list.

cdef enum:
    MAX_NAME_BYTES = 200
    MAX_ROWS_PER_EVENT = 10000
cdef frozenset SKIPPED_EVENT_KEYS = frozenset({"$set", "$set_once", "$unset", "$groups",
                                               "$group_0", "$group_1", "$group_2", "$group_3", "$group_4"})
cdef dict KIND_ORDER = {"event": 1, "person": 2, "group": 3}


cdef inline bint _name_ok(str name):
    return len(name) <= MAX_NAME_BYTES // 4 or len(name.encode("utf-8", "surrogatepass")) <= MAX_NAME_BYTES


cdef inline bint _skipped_event_key(str key):
    if PyUnicode_GET_LENGTH(key) == 0 or PyUnicode_READ(PyUnicode_KIND(key), PyUnicode_DATA(key), 0) != 36:
        return False
    return key in SKIPPED_EVENT_KEYS or key.startswith("$feature/") or key.startswith("$feature_enrollment/")


cdef dict _names(dict seen, tuple group):
    cdef dict names = seen.get(group)
    if names is None:
        names = seen[group] = {}
    return names


cdef Py_ssize_t _count_candidates(dict props):
    """len(properties.event_definitions(ev)) for a non-$groupidentify event."""
    cdef Py_ssize_t count = 0
    for key in props:
        if not _skipped_event_key(key):
            count += 1
    for source in ("$set", "$set_once"):
        updates = props.get(source)
        if type(updates) is dict:
            count += len(<dict> updates)
    return count


cdef tuple DATE_KEYWORDS = tuple(_DATE_KEYWORDS)
cdef tuple STRING_PREFIXES = ("utm_", "$initial_utm_", "$feature/", "$survey_response")
cdef tuple BOOLEAN_WORDS = ("true", "false", "TRUE", "FALSE")


cdef inline bint _in(unsigned int c, unsigned int low, unsigned int high):
    return low <= c <= high


cdef bint _date_re(str text):
    """properties.DATE_RE.fullmatch(text) is not None."""
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(text), i
    cdef int kind = PyUnicode_KIND(text)
    cdef void* data = PyUnicode_DATA(text)
    cdef unsigned int c[19]
    if n < 10 or (n > 10 and n < 19):
        return False
    for i in range(19 if n >= 19 else 10):
        c[i] = <unsigned int> PyUnicode_READ(kind, data, i)
    if not ((_in(c[0], 48, 57) and _in(c[1], 48, 57) and _in(c[2], 48, 57) and _in(c[3], 48, 57)
             and (c[4] == 47 or c[4] == 45) and _in(c[5], 48, 50) and _in(c[6], 48, 57)
             and (c[7] == 47 or c[7] == 45) and _in(c[8], 48, 51) and _in(c[9], 48, 57))
            or (_in(c[0], 48, 50) and _in(c[1], 48, 57) and (c[2] == 47 or c[2] == 45)
                and _in(c[3], 48, 51) and _in(c[4], 48, 57) and (c[5] == 47 or c[5] == 45)
                and _in(c[6], 48, 57) and _in(c[7], 48, 57) and _in(c[8], 48, 57) and _in(c[9], 48, 57))):
        return False
    if n == 10:
        return True
    return ((c[10] == 32 or c[10] == 84) and _in(c[11], 48, 50) and _in(c[12], 48, 57) and c[13] == 58
            and _in(c[14], 48, 54) and _in(c[15], 48, 57) and c[16] == 58 and _in(c[17], 48, 54)
            and _in(c[18], 48, 57))


cdef bint _may_be_rfc2822(str text):
    """False when timestamps.parse_rfc2822 cannot match: F3 is 16 to 31 characters with a `:`."""
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(text)
    return 16 <= n <= 31 and ":" in text


cpdef bint likely_date(str text):
    """properties.likely_date."""
    cdef long long ms
    if _date_re(text) or _parse_iso(text, True, &ms) == MATCHED:
        return True
    return _may_be_rfc2822(text) and _ref_parse_rfc2822(text) is not None


cpdef object detect_type(str name, object value, object now_ms):
    """properties.detect_type."""
    cdef str key = name.lower()
    cdef type kind
    if key.startswith(STRING_PREFIXES) or key == "$feature_flag_response":
        return "String"
    kind = type(value)
    for word in DATE_KEYWORDS:
        if word in key:
            if kind is str and likely_date(<str> value):
                return "DateTime"
            if (kind is int or kind is float) and value >= now_ms / 1000 - 15768000:
                return "DateTime"
            break
    if kind is str:
        if value in BOOLEAN_WORDS:
            return "Boolean"
        return "DateTime" if likely_date(<str> value) else "String"
    if kind is int or kind is float:
        return "Numeric"
    if kind is bool:
        return "Boolean"
    return None


cdef inline void _add(dict names, str name, object value, object team_id, object project_id, str kind,
                      object index, object now_ms) except *:
    if name in names or not _name_ok(name):
        return
    names[name] = {"team_id": team_id, "project_id": project_id, "name": name, "type": kind,
                   "group_type_index": index, "property_type": detect_type(name, value, now_ms)}


def property_definitions(list events):
    """The batch's definition rows, sorted like properties.sorted_definitions."""
    cdef dict seen = {}      # (team_id, kind, index) -> {name: row}
    cdef set skipped = set()  # event keys that are never definitions ($set, $feature/…)
    cdef dict names, props, team, event_names, updates
    cdef str key
    cdef Py_ssize_t size
    for ev in events:
        if ev.outcome != "event":
            continue
        props = ev.properties
        team = ev.team
        team_id = team["id"]
        project_id = team.get("project_id", team_id)
        now_ms = ev.now_ms
        if ev.name == "$groupidentify":
            group_set = props.get("$group_set")
            group_type = props.get("$group_type")
            index = (team.get("group_types") or {}).get(group_type) if type(group_type) is str else None
            if type(group_set) is dict and type(index) is int and 0 <= index < 5 \
                    and len(<dict> group_set) <= MAX_ROWS_PER_EVENT:
                names = _names(seen, (team_id, "group", index))
                for key, value in (<dict> group_set).items():
                    _add(names, key, value, team_id, project_id, "group", index, now_ms)
            continue
        size = len(props)
        for source in ("$set", "$set_once"):
            current = props.get(source)
            if type(current) is dict:
                size += len(<dict> current)
        if size > MAX_ROWS_PER_EVENT and _count_candidates(props) > MAX_ROWS_PER_EVENT:
            continue
        event_names = _names(seen, (team_id, "event", None))
        for key, value in props.items():
            if key in event_names or key in skipped:
                continue
            if _skipped_event_key(key):
                skipped.add(key)
                continue
            _add(event_names, key, value, team_id, project_id, "event", None, now_ms)
        names = None
        for source in ("$set", "$set_once"):
            current = props.get(source)
            if type(current) is dict:
                if names is None:
                    names = _names(seen, (team_id, "person", None))
                for key, value in (<dict> current).items():
                    _add(names, key, value, team_id, project_id, "person", None, now_ms)
    cdef list rows = []
    for group in sorted(seen, key=_group_order):
        names = seen[group]
        for name in sorted(names):
            rows.append(names[name])
    return rows


def _group_order(tuple group):
    return (group[0], KIND_ORDER[group[1]], -1 if group[2] is None else group[2])


# ---------------------------------------------------------------------------------------------
# decode: the number gate, the depth rule and the glue.
#
# Number gate. The reference picks its strict parser (big integers -> nearest double, infinite
# doubles refused) when jsonrules.needs_number_checks(raw) says so; that gate also fires on hex
# UUID groups such as `3e456-` (about a quarter of the general records). Only literals that are
# actually out of range make the choice matter, so a parser choice that differs from the
# reference's is harmless unless such a literal exists. `tight_number_gate` is True for every
# out-of-range literal written verbatim in the raw bytes: a run of 19+ digits, or a digit, `e`/`E`,
# an optional `+` and 3+ digits ending where a number can end (`,]}`, whitespace, `\` of an
# escaped delimiter, `"` closing the `data` string, or the end). The only other way to write a
# literal is with `\u00XX` escapes inside the `data` string. So when neither is present no
# literal is out of range and either parser gives the reference's values; when one is, the
# reference's own gate decides, exactly as in the reference.

cdef unsigned char NUMBER_END[256]
for _c in range(256):
    NUMBER_END[_c] = 1 if _c in b',]} \t\n\r\\"' else 0


cdef bint _tight_gate(const unsigned char* s, Py_ssize_t n):
    cdef Py_ssize_t i = 0, j, k, run = 0
    cdef unsigned char c
    while i < n:
        c = s[i]
        if 48 <= c <= 57:
            run += 1
            if run >= 19:
                return True
        else:
            if (c == 101 or c == 69) and run > 0:
                j = i + 1
                if j < n and s[j] == 43:
                    j += 1
                k = j
                while k < n and 48 <= s[k] <= 57:
                    k += 1
                if k - j >= 3 and (k == n or NUMBER_END[s[k]]):
                    return True
            run = 0
        i += 1
    return False


cpdef bint tight_number_gate(bytes raw):
    """True when raw may hold an out-of-range number literal verbatim (see above)."""
    return _tight_gate(<const unsigned char*> PyBytes_AS_STRING(raw), PyBytes_GET_SIZE(raw))


cpdef bint may_need_number_checks(bytes raw):
    """Whether the reference's gate must decide the parser: a verbatim out-of-range literal may be
    present, or `\\u00` escapes could spell one inside `data`."""
    return _tight_gate(<const unsigned char*> PyBytes_AS_STRING(raw), PyBytes_GET_SIZE(raw)) \
        or b"\\u00" in raw


cpdef bint too_deep(str text, int max_depth=64):
    """jsonrules.too_deep as one C loop: brackets outside string literals, escapes skipped."""
    cdef Py_ssize_t i = 0, n = PyUnicode_GET_LENGTH(text)
    cdef int kind = PyUnicode_KIND(text)
    cdef void* data = PyUnicode_DATA(text)
    cdef unsigned int c
    cdef int depth = 0
    cdef bint in_string = False
    if text.count("[") + text.count("{") <= max_depth:
        return False  # cannot exceed it (the reference's shortcut too)
    while i < n:
        c = <unsigned int> PyUnicode_READ(kind, data, i)
        if in_string:
            if c == 92:
                i += 1
            elif c == 34:
                in_string = False
        elif c == 34:
            in_string = True
        elif c == 91 or c == 123:
            depth += 1
            if depth > max_depth:
                return True
        elif c == 93 or c == 125:
            depth -= 1
        i += 1
    return False


cdef bint _nested_deeper(object value, int limit):
    """For a parsed document: its container nesting exceeds `limit`. For valid JSON text this is
    exactly too_deep(text, limit): outside string literals, brackets are the containers."""
    cdef type kind = type(value)
    if kind is dict:
        if limit == 0:
            return True
        for item in (<dict> value).values():
            if (type(item) is dict or type(item) is list) and _nested_deeper(item, limit - 1):
                return True
    elif kind is list:
        if limit == 0:
            return True
        for item in <list> value:
            if (type(item) is dict or type(item) is list) and _nested_deeper(item, limit - 1):
                return True
    return False


cpdef bint nested_deeper(object value, int limit=64):
    return _nested_deeper(value, limit)


cdef inline bint _is_hex(unsigned int c):
    return (48 <= c <= 57) or (65 <= c <= 70) or (97 <= c <= 102)


cpdef bint is_uuid(object value):
    """decode.UUID_RE.fullmatch(value) for a str (8-4-4-4-12 ASCII hex digits)."""
    cdef Py_ssize_t i
    cdef int kind
    cdef void* data
    cdef unsigned int c
    if type(value) is not str or PyUnicode_GET_LENGTH(value) != 36:
        return False
    kind = PyUnicode_KIND(value)
    data = PyUnicode_DATA(value)
    for i in range(36):
        c = <unsigned int> PyUnicode_READ(kind, data, i)
        if i == 8 or i == 13 or i == 18 or i == 23:
            if c != 45:
                return False
        elif not _is_hex(c):
            return False
    return True


from impls.cython_impl._ref import jsonrules as _jsonrules
from impls.cython_impl._ref.decode import MAX_EVENT_NAME, TOKEN_KEYS, dlq as _dlq

_json_text = _jsonrules.json_text
_ref_number_gate = _jsonrules.needs_number_checks
_strict = _jsonrules._strict_decoder
_plain = _jsonrules._plain_decoder
_JSONRuleError = _jsonrules.JSONRuleError
cdef tuple TOKEN_KEY_TUPLE = tuple(TOKEN_KEYS)
cdef Py_ssize_t MAX_NAME = MAX_EVENT_NAME
cdef int MAX_DEPTH = _jsonrules.MAX_DEPTH


cdef inline dict _headers(object headers):
    cdef dict out = {}
    for name, value in headers:
        out[name] = value.decode("utf-8", "replace")
    return out


cdef object _now_ms(dict event, object record_ms):
    now = event.get("now")
    if type(now) is str:
        parsed = parse_timestamp(<str> now)
        if parsed is not None and MIN_MS <= <long long> parsed <= MAX_MS:
            return parsed
    return record_ms


cdef object _loads(str text, bint number_checks):
    """jsonrules.loads: the depth rule first, then the parser (depth checked after parsing when the
    document is valid, which answers the same, see _nested_deeper)."""
    try:
        value = (_strict if number_checks else _plain).decode(text)
    except (ValueError, RecursionError) as exc:
        if too_deep(text):
            raise _JSONRuleError("json_too_deep", "nesting too deep")
        raise _JSONRuleError("invalid_json", str(exc)[:200]) from None
    if _nested_deeper(value, MAX_DEPTH):
        raise _JSONRuleError("json_too_deep", "nesting too deep")
    return value


def decode_record(ev, str topic, int partition):
    """impls/reference/decode.py's decode_record with the stdlib parser: same checks, same order."""
    rec = ev.record
    ev.headers = _headers(rec.headers)
    value = rec.value
    if not value:
        return _dlq(ev, "empty_value", "decode", topic, partition)
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        return _dlq(ev, "invalid_utf8", "decode", topic, partition)
    cdef bint number_checks = may_need_number_checks(value) and _ref_number_gate(value)
    try:
        outer = _loads(text, number_checks)
    except _JSONRuleError as exc:
        return _dlq(ev, exc.reason, "decode", topic, partition)
    if type(outer) is not dict:
        return _dlq(ev, "invalid_json", "decode", topic, partition)
    data_text = (<dict> outer).get("data")
    if type(data_text) is not str:
        return _dlq(ev, "invalid_data", "decode", topic, partition)
    # As the reference: digits spelled as \u00XX escapes inside `data` need a check of its text.
    cdef bint data_checks = number_checks or (b"\\u00" in value and _ref_number_gate(
        (<str> data_text).encode("utf-8", "surrogatepass")))
    try:
        data = _loads(data_text, data_checks)
    except _JSONRuleError as exc:
        return _dlq(ev, "json_too_deep" if exc.reason == "json_too_deep" else "invalid_data", "decode",
                    topic, partition)
    if type(data) is not dict:
        return _dlq(ev, "invalid_data", "decode", topic, partition)
    _finish(ev, <dict> data, <dict> outer, topic, partition)


cdef object _finish(ev, dict data, dict outer, str topic, int partition):
    """decode_record after both documents parsed (the merge, UUID, properties, name, distinct id,
    token and `now`)."""
    cdef dict event = data.copy()
    event.update(outer)  # outer fields win, at the position of the first occurrence
    del event["data"]
    uuid = event.get("uuid")
    if uuid is None or uuid == "":
        return _dlq(ev, "empty_uuid", "decode", topic, partition)
    if not is_uuid(uuid):
        return _dlq(ev, "invalid_uuid", "decode", topic, partition)
    properties = event.get("properties")
    if properties is None:
        properties = {}
    elif type(properties) is not dict:
        return _dlq(ev, "invalid_properties", "decode", topic, partition)
    name = event.get("event")
    if name is None:
        ev.outcome = "drop:missing_event"
        return
    name = (<str> name if type(name) is str else _json_text(name))[:MAX_NAME]
    distinct_id = event.get("distinct_id")
    if distinct_id is None:
        distinct_id = event.get("$distinct_id")
    if distinct_id is None or distinct_id == "":
        ev.outcome = "drop:missing_distinct_id"
        return
    token = None
    for key in TOKEN_KEY_TUPLE:
        field = event.pop(key, None)
        if token is None and type(field) is str and field != "":
            token = field
    ev.event = event
    ev.uuid = (<str> uuid).lower()
    ev.name = name
    ev.distinct_id = distinct_id if type(distinct_id) is str else _json_text(distinct_id)
    ev.token = token
    ev.properties = properties
    ev.now_ms = _now_ms(event, ev.record.timestamp_ms)


def decode_batch(list events, str topic, int partition):
    for ev in events:
        decode_record(ev, topic, partition)


def decode_batch_strict(list events, loads, str topic, int partition, fallback):
    """The decode stage with `loads`, a parser that applies the strict number rules itself
    (orjson: big integers -> nearest double, infinite doubles refused; it refuses lone-surrogate
    escapes and invalid UTF-8). It gives the reference's values (the reference applies the same
    rules to every number, digits escaped inside `data` included); whenever `loads` refuses a
    document or something is unusual, `fallback(ev, topic, partition)` (the reference's
    decode_record) decides."""
    for ev in events:
        rec = ev.record
        value = rec.value
        if not value:
            fallback(ev, topic, partition)
            continue
        try:
            outer = loads(value)
            if type(outer) is not dict:
                raise ValueError
            data_text = (<dict> outer).get("data")
            if type(data_text) is not str:
                raise ValueError
            data = loads(data_text)
            if type(data) is not dict:
                raise ValueError
        except (ValueError, TypeError, RecursionError):
            fallback(ev, topic, partition)
            continue
        if _nested_deeper(outer, MAX_DEPTH) or _nested_deeper(data, MAX_DEPTH):
            fallback(ev, topic, partition)
            continue
        ev.headers = _headers(rec.headers)
        _finish(ev, <dict> data, <dict> outer, topic, partition)


# ---------------------------------------------------------------------------------------------
# emit: ReferencePipeline.stage_emit as one C loop (the encoder and warning rows are the pipeline's).

def emit_batch(batch, encode, warning_row):
    cdef dict streams = batch.streams
    cdef list events = streams["events"], ai_events = streams["ai_events"]
    cdef list heatmaps = streams["heatmaps"], warnings = streams["ingestion_warnings"]
    cdef list overflow = streams["overflow"], dlq = streams["dlq"], defs = streams["property_definitions"]
    for ev in batch.events:
        row = ev.row
        if row is not None:
            data = encode(row)
            events.append(data)
            if (<str> ev.name).startswith("$ai_"):
                ai_events.append(data)
        for heatmap in ev.heatmap_rows:
            heatmaps.append(encode(heatmap))
        for warning in ev.warnings:
            warnings.append(encode(warning_row(ev, warning)))
        if ev.overflow is not None:
            overflow.append(encode(ev.overflow))
        if ev.dlq is not None:
            dlq.append(encode(ev.dlq))
    for row in batch.property_defs:
        defs.append(encode(row))
