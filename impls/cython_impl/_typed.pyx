# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The hot stages rewritten with static types (profiled on the cython-compiled reference:
JSON encoding in create_event/emit, property_defs, timestamp formatting, decode's byte scans).

Same rules as impls/reference (docs/pipeline.md); tests/test_impl_cython.py checks them against
the reference functions directly, and `partbench verify --impl cython` end to end.
"""

from libc.stdlib cimport malloc, realloc, free
from libc.string cimport memcpy
from libc.stdio cimport snprintf
from libc.math cimport isfinite
from cpython.unicode cimport PyUnicode_KIND, PyUnicode_DATA, PyUnicode_READ, PyUnicode_GET_LENGTH
from cpython.bytes cimport PyBytes_FromStringAndSize

from impls.cython_impl._ref.properties import detect_type

# ---------------------------------------------------------------------------------------------
# JSON encoding: compact, ASCII-only, the same text as jsonrules.dumps (json with ensure_ascii).

cdef const char* HEX = "0123456789abcdef"


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

    cdef int put_ascii(self, str text) except -1:
        cdef bytes raw = text.encode("ascii")
        cdef Py_ssize_t n = len(raw)
        self.reserve(n)
        memcpy(self.data + self.size, <const char*> raw, n)
        self.size += n
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


cdef int _write_str(_Buffer out, str text) except -1:
    cdef Py_ssize_t i, n = PyUnicode_GET_LENGTH(text)
    cdef int kind = PyUnicode_KIND(text)
    cdef void* data = PyUnicode_DATA(text)
    cdef unsigned int c, v  # a code point as a C integer (Py_UCS4 arithmetic would make str objects)
    out.reserve(n + 2)
    out.put(34)
    for i in range(n):
        c = <unsigned int> PyUnicode_READ(kind, data, i)
        if 32 <= c < 127:
            if c == 34 or c == 92:
                out.put(92)
            out.put(<char> c)
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
    out.put(34)
    return 0


cdef int _write(_Buffer out, object value, int depth) except -1:
    cdef type kind = type(value)
    cdef bint first
    if depth > 1000:
        raise ValueError("nesting too deep to encode")
    if kind is str:
        _write_str(out, <str> value)
    elif value is None:
        out.put_ascii("null")
    elif value is True:
        out.put_ascii("true")
    elif value is False:
        out.put_ascii("false")
    elif kind is int:
        out.put_ascii(int.__repr__(value))
    elif kind is float:
        if not isfinite(<double> value):
            raise ValueError("out-of-range float is not JSON")
        out.put_ascii(float.__repr__(value))
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
    return dumps_bytes(value).decode("ascii")


# ---------------------------------------------------------------------------------------------
# Timestamps: `YYYY-MM-DD HH:MM:SS.mmm` with C integer arithmetic (floor division by hand).

cdef inline long long _floordiv(long long a, long long b):
    cdef long long q = a / b
    if (a % b != 0) and ((a < 0) != (b < 0)):
        q -= 1
    return q


cpdef str format_ms(long long ms):
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
    cdef char buf[64]
    cdef int n = snprintf(buf, sizeof(buf), "%04lld-%02lld-%02lld %02lld:%02lld:%02lld.%03lld",
                          year, month, day, secs / 3600, (secs / 60) % 60, secs % 60, rem % 1000)
    return buf[:n].decode("ascii")


cpdef str format_seconds(long long ms):
    return format_ms(ms)[:19]


# ---------------------------------------------------------------------------------------------
# decode: one pass over the record bytes for the two gates the reference computes separately.

cpdef bint may_need_number_checks(const unsigned char[:] raw):
    """True when `raw` holds a run of 19+ digits or an `e`/`E` followed by 3+ digits (optionally
    `+`): a superset of jsonrules.needs_number_checks, so False means no number literal can leave
    the int64/uint64 or the double range."""
    cdef Py_ssize_t i, n = raw.shape[0], run = 0
    cdef unsigned char c
    for i in range(n):
        c = raw[i]
        if 48 <= c <= 57:
            run += 1
            if run >= 19:
                return True
        else:
            run = 0
            if (c == 101 or c == 69) and i + 3 < n:
                if raw[i + 1] == 43 and i + 4 < n:
                    if 48 <= raw[i + 2] <= 57 and 48 <= raw[i + 3] <= 57 and 48 <= raw[i + 4] <= 57:
                        return True
                elif 48 <= raw[i + 1] <= 57 and 48 <= raw[i + 2] <= 57 and 48 <= raw[i + 3] <= 57:
                    return True
    return False


# ---------------------------------------------------------------------------------------------
# property_defs: candidates deduplicated per (team, kind, group type) on the name alone, so the
# common case (a name already seen in this batch) costs one str-keyed dict lookup.

cdef enum:
    MAX_NAME_BYTES = 200
    MAX_ROWS_PER_EVENT = 10000
cdef frozenset SKIPPED_EVENT_KEYS = frozenset({"$set", "$set_once", "$unset", "$groups",
                                               "$group_0", "$group_1", "$group_2", "$group_3", "$group_4"})
cdef dict KIND_ORDER = {"event": 1, "person": 2, "group": 3}


cdef inline bint _name_ok(str name):
    return len(name) <= MAX_NAME_BYTES // 4 or len(name.encode("utf-8", "surrogatepass")) <= MAX_NAME_BYTES


cdef inline bint _skipped_event_key(str key):
    if len(key) == 0 or key[0] != "$":
        return False
    return key in SKIPPED_EVENT_KEYS or key.startswith("$feature/") or key.startswith("$feature_enrollment/")


cdef list _candidates(object ev):
    cdef dict props = ev.properties
    cdef list out = []
    cdef str key
    if ev.name == "$groupidentify":
        group_set = props.get("$group_set")
        group_type = props.get("$group_type")
        index = (ev.team.get("group_types") or {}).get(group_type) if type(group_type) is str else None
        if type(group_set) is dict and type(index) is int and 0 <= index < 5:
            for key, value in (<dict> group_set).items():
                out.append(("group", index, key, value))
        return out
    for key, value in props.items():
        if not _skipped_event_key(key):
            out.append(("event", None, key, value))
    for source in ("$set", "$set_once"):
        updates = props.get(source)
        if type(updates) is dict:
            for key, value in (<dict> updates).items():
                out.append(("person", None, key, value))
    return out


def property_definitions(list events):
    """The batch's definition rows, sorted like properties.sorted_definitions."""
    cdef dict seen = {}      # (team_id, kind, index) -> {name: row}
    cdef dict names
    cdef list candidates
    cdef str name
    cdef long long now_ms
    for ev in events:
        if ev.outcome != "event":
            continue
        candidates = _candidates(ev)
        if len(candidates) > MAX_ROWS_PER_EVENT:
            continue
        team = ev.team
        team_id = team["id"]
        project_id = team.get("project_id", team_id)
        now_ms = ev.now_ms
        last_group = None
        names = None
        for kind, index, name, value in candidates:
            group = (team_id, kind, index)
            if group != last_group:
                names = seen.get(group)
                if names is None:
                    names = seen[group] = {}
                last_group = group
            if name in names or not _name_ok(name):
                continue
            names[name] = {"team_id": team_id, "project_id": project_id, "name": name, "type": kind,
                           "group_type_index": index, "property_type": detect_type(name, value, now_ms)}
    cdef list rows = []
    for group in sorted(seen, key=_group_order):
        names = seen[group]
        for name in sorted(names):
            rows.append(names[name])
    return rows


def _group_order(tuple group):
    return (group[0], KIND_ORDER[group[1]], -1 if group[2] is None else group[2])


# ---------------------------------------------------------------------------------------------
# decode: the reference's decode_record with typed gates and depth scan; the JSON parser stays
# the stdlib one (jsonrules.loads), so this stage measures what typing the glue buys.

from impls.cython_impl._ref import jsonrules as _jsonrules
from impls.cython_impl._ref.decode import MAX_EVENT_NAME, TOKEN_KEYS, UUID_RE, dlq as _dlq
from impls.cython_impl._ref.timestamps import MAX_MS as _MAX_MS, MIN_MS as _MIN_MS, parse_timestamp as _parse_ts

_json_text = _jsonrules.json_text
_strict = _jsonrules._strict_decoder
_plain = _jsonrules._plain_decoder
_JSONRuleError = _jsonrules.JSONRuleError


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


cdef object _loads(str text, bint number_checks):
    if too_deep(text):
        raise _JSONRuleError("json_too_deep", "nesting too deep")
    try:
        return (_strict if number_checks else _plain).decode(text)
    except (ValueError, RecursionError) as exc:
        raise _JSONRuleError("invalid_json", str(exc)[:200]) from None


def decode_record(ev, str topic, int partition):
    """impls/reference/decode.py's decode_record, same checks in the same order."""
    rec = ev.record
    ev.headers = {name: value.decode("utf-8", "replace") for name, value in rec.headers}
    value = rec.value
    if not value:
        return _dlq(ev, "empty_value", "decode", topic, partition)
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        return _dlq(ev, "invalid_utf8", "decode", topic, partition)
    # superset of jsonrules.needs_number_checks: the strict parser only when a number may need it
    cdef bint number_checks = may_need_number_checks(value)
    try:
        outer = _loads(text, number_checks)
    except _JSONRuleError as exc:
        return _dlq(ev, exc.reason, "decode", topic, partition)
    if type(outer) is not dict:
        return _dlq(ev, "invalid_json", "decode", topic, partition)
    data_text = (<dict> outer).get("data")
    if type(data_text) is not str:
        return _dlq(ev, "invalid_data", "decode", topic, partition)
    try:
        data = _loads(data_text, number_checks)
    except _JSONRuleError as exc:
        return _dlq(ev, "json_too_deep" if exc.reason == "json_too_deep" else "invalid_data", "decode",
                    topic, partition)
    if type(data) is not dict:
        return _dlq(ev, "invalid_data", "decode", topic, partition)
    cdef dict event = {**data, **outer}
    del event["data"]
    uuid = event.get("uuid")
    if uuid is None or uuid == "":
        return _dlq(ev, "empty_uuid", "decode", topic, partition)
    if type(uuid) is not str or UUID_RE.fullmatch(uuid) is None:
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
    name = (name if type(name) is str else _json_text(name))[:MAX_EVENT_NAME]
    distinct_id = event.get("distinct_id")
    if distinct_id is None:
        distinct_id = event.get("$distinct_id")
    if distinct_id is None or distinct_id == "":
        ev.outcome = "drop:missing_distinct_id"
        return
    token = None
    for key in TOKEN_KEYS:
        field = event.pop(key, None)
        if token is None and type(field) is str and field != "":
            token = field
    cdef long long now_ms = rec.timestamp_ms
    now = event.get("now")
    if type(now) is str:
        parsed = _parse_ts(now)
        if parsed is not None and _MIN_MS <= parsed <= _MAX_MS:
            now_ms = parsed
    ev.event = event
    ev.uuid = (<str> uuid).lower()
    ev.name = name
    ev.distinct_id = distinct_id if type(distinct_id) is str else _json_text(distinct_id)
    ev.token = token
    ev.properties = properties
    ev.now_ms = now_ms
