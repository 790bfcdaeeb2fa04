# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""A batch payload written straight into the shared memory, in C (docs/bridge.md, "Cost per batch").

The bytes follow the layout of `frames.batch_parts` (u32 m; m bytes of marshal version 4 holding
the columns; n × i32 value lengths; the values), so the child reads one format. Why: batch_parts
builds the columns with `marshal.dumps`, joins the values, then the session copies it all into
the mapping: ~0.6 ms of a 500-record general batch. Here it is one walk over the records and one
copy of each value, ~0.2 ms.

The marshal written is a subset of what `marshal.dumps` writes: tuples as `)` with a u8 count (or `(`, u32),
ints as `i` or `l`, bytes `s`, None `N`, header names `u` (UTF-8); the first occurrence of a
header name is flagged (0x80) and later ones are back-references `r`, as marshal does for the
shared name objects. A batch this does not cover (a record that is not a 5-tuple of the plain
types, an int outside 64 bits, a name with a lone surrogate) raises Unsupported, and the caller
uses batch_parts: both give the child the same records.
"""

from cpython.ref cimport PyObject
from cpython.sequence cimport PySequence_Fast, PySequence_Fast_GET_SIZE, PySequence_Fast_ITEMS
from cpython.tuple cimport PyTuple_GET_SIZE
from cpython.unicode cimport PyUnicode_AsUTF8AndSize
from libc.stdint cimport int64_t, uint32_t
from libc.string cimport memcpy


# The same macros on borrowed pointers: a Cython `object` variable takes a reference, and the
# increment and decrement write to every header pair and value object, ~1,700 a batch, mostly
# in cache lines the writer would otherwise only read.
cdef extern from "Python.h":
    bint p_is_tuple "PyTuple_CheckExact"(PyObject* o) noexcept
    Py_ssize_t p_tuple_size "PyTuple_GET_SIZE"(PyObject* o) noexcept
    PyObject* p_item "PyTuple_GET_ITEM"(PyObject* o, Py_ssize_t i) noexcept
    bint p_is_str "PyUnicode_CheckExact"(PyObject* o) noexcept
    bint p_is_bytes "PyBytes_CheckExact"(PyObject* o) noexcept
    char* p_bytes "PyBytes_AS_STRING"(PyObject* o) noexcept
    Py_ssize_t p_bytes_size "PyBytes_GET_SIZE"(PyObject* o) noexcept
    bint p_is_int "PyLong_CheckExact"(PyObject* o) noexcept
    long long p_as_ll "PyLong_AsLongLongAndOverflow"(PyObject* o, int* overflow) noexcept
    PyObject* Py_None


class Unsupported(ValueError):
    """The batch holds something only the marshal path encodes; use frames.batch_parts."""


# marshal type codes (Python/marshal.c)
cdef enum:
    T_NONE = 0x4e     # N
    T_INT = 0x69      # i
    T_LONG = 0x6c     # l
    T_BYTES = 0x73    # s
    T_UNICODE = 0x75  # u
    T_TUPLE = 0x28    # (
    T_SMALL_TUPLE = 0x29  # )  (u8 count)
    T_REF = 0x72      # r
    FLAG_REF = 0x80
    SEEN = 32  # header-name objects remembered by address


# Bytes past the capacity are counted, not written: the caller learns the size it needs.
cdef struct Out:
    unsigned char* p
    Py_ssize_t cap
    Py_ssize_t n


cdef inline void put(Out* o, const void* src, Py_ssize_t k) noexcept:
    if o.n + k <= o.cap:
        memcpy(o.p + o.n, src, k)
    o.n += k


cdef inline void put_u32_at(Out* o, Py_ssize_t at, uint32_t v) noexcept:
    cdef unsigned char b[4]
    b[0] = v & 0xff
    b[1] = (v >> 8) & 0xff
    b[2] = (v >> 16) & 0xff
    b[3] = (v >> 24) & 0xff
    if at + 4 <= o.cap:
        memcpy(o.p + at, b, 4)


cdef inline void typed(Out* o, unsigned char code, uint32_t v) noexcept:
    cdef unsigned char b[5]
    b[0] = code
    b[1] = v & 0xff
    b[2] = (v >> 8) & 0xff
    b[3] = (v >> 16) & 0xff
    b[4] = (v >> 24) & 0xff
    put(o, b, 5)


cdef inline void put_tuple(Out* o, Py_ssize_t n) noexcept:
    cdef unsigned char b[2]
    if n < 256:  # as marshal writes it: the child reads 2 bytes instead of 5 per header pair
        b[0] = T_SMALL_TUPLE
        b[1] = <unsigned char>n
        put(o, b, 2)
    else:
        typed(o, T_TUPLE, <uint32_t>n)


cdef inline void put_bytes(Out* o, PyObject* data) noexcept:
    cdef Py_ssize_t k = p_bytes_size(data)
    typed(o, T_BYTES, <uint32_t>k)
    put(o, p_bytes(data), k)


cdef int put_int(Out* o, PyObject* v) except -1:
    """`i` for an i32, else `l`: a signed count of 15-bit digits, least significant first."""
    cdef int overflow = 0
    cdef long long x
    cdef unsigned long long mag
    cdef int digits = 0, k
    cdef unsigned long long digit
    cdef unsigned char d[2]
    if not p_is_int(v):
        raise Unsupported("an offset or timestamp that is not an int")
    x = p_as_ll(v, &overflow)
    if overflow:
        raise Unsupported("an int outside 64 bits")
    if -2147483648 <= x <= 2147483647:
        typed(o, T_INT, <uint32_t>(<int>x))
        return 0
    mag = <unsigned long long>(-x) if x < 0 else <unsigned long long>x
    while digits < 5 and (mag >> (15 * digits)) != 0:  # 5 digits hold 64 bits (a shift of 64+ is undefined)
        digits += 1
    typed(o, T_LONG, <uint32_t>(-digits if x < 0 else digits))
    for k in range(digits):
        digit = (mag >> (15 * k)) & 0x7fff
        d[0] = digit & 0xff
        d[1] = digit >> 8
        put(o, d, 2)
    return 0


def write_batch(batch, buffer) -> int:
    """Write the payload of `batch` into `buffer` (writable, e.g. an mmap) from offset 0.

    Returns the payload's length; when that is more than len(buffer) nothing usable was
    written and the caller grows the buffer and calls again.
    """
    cdef unsigned char[::1] view = buffer
    cdef Out o
    o.p = &view[0] if view.shape[0] > 0 else NULL
    o.cap = view.shape[0]
    o.n = 4  # u32 m, patched below
    seq = PySequence_Fast(batch, b"a batch must be a sequence of records")
    cdef Py_ssize_t n = PySequence_Fast_GET_SIZE(seq)
    cdef PyObject** records = PySequence_Fast_ITEMS(seq)
    cdef Py_ssize_t r, h, nh, k
    cdef object rec, name
    cdef PyObject* key_p
    cdef PyObject* headers_p
    cdef PyObject* pair_p
    cdef PyObject* name_p
    cdef PyObject* value_p
    cdef dict refs = {}
    cdef const char* utf8
    cdef Py_ssize_t utf8_len
    cdef int64_t length
    cdef unsigned char b4[4]
    cdef unsigned char none_code = T_NONE
    cdef Py_ssize_t column
    cdef PyObject* seen[SEEN]
    cdef uint32_t seen_ref[SEEN]
    cdef int n_seen = 0
    cdef bint is_ref

    for r in range(n):
        rec = <object>records[r]
        if not isinstance(rec, tuple) or PyTuple_GET_SIZE(rec) != 5:
            raise Unsupported(f"record {r} is not a 5-tuple")
    put_tuple(&o, 4)
    for column in range(2):  # offsets, timestamps
        typed(&o, T_TUPLE, <uint32_t>n)
        for r in range(n):
            put_int(&o, p_item(records[r], column))
    typed(&o, T_TUPLE, <uint32_t>n)
    for r in range(n):
        key_p = p_item(records[r], 2)
        if key_p == Py_None:
            put(&o, &none_code, 1)
        elif p_is_bytes(key_p):
            put_bytes(&o, key_p)
        else:
            raise Unsupported(f"record {r}: a key that is not bytes or None")
    typed(&o, T_TUPLE, <uint32_t>n)
    for r in range(n):
        headers_p = p_item(records[r], 3)
        if not p_is_tuple(headers_p):
            raise Unsupported(f"record {r}: headers that are not a tuple")
        nh = p_tuple_size(headers_p)
        put_tuple(&o, nh)
        for h in range(nh):
            pair_p = p_item(headers_p, h)
            if not p_is_tuple(pair_p) or p_tuple_size(pair_p) != 2:
                raise Unsupported(f"record {r}: a header that is not a pair")
            name_p = p_item(pair_p, 0)
            value_p = p_item(pair_p, 1)
            if not p_is_str(name_p) or not p_is_bytes(value_p):
                raise Unsupported(f"record {r}: a header that is not (str, bytes)")
            put_tuple(&o, 2)
            # the names are mostly the same few objects: compare pointers before hashing
            k = 0
            while k < n_seen and seen[k] != name_p:
                k += 1
            if k < n_seen:
                typed(&o, T_REF, seen_ref[k])
                is_ref = True
            else:
                name = <object>name_p
                ref = refs.get(name)
                is_ref = ref is not None
                if is_ref:
                    typed(&o, T_REF, <uint32_t>(<Py_ssize_t>ref))
                    if n_seen < SEEN:
                        seen[n_seen] = name_p  # alive: the batch holds it
                        seen_ref[n_seen] = <uint32_t>(<Py_ssize_t>ref)
                        n_seen += 1
            if not is_ref:
                try:
                    utf8 = PyUnicode_AsUTF8AndSize(name, &utf8_len)
                except UnicodeEncodeError:
                    raise Unsupported(f"record {r}: a header name with a lone surrogate") from None
                refs[name] = len(refs)
                typed(&o, T_UNICODE | FLAG_REF, <uint32_t>utf8_len)
                put(&o, utf8, utf8_len)
            put_bytes(&o, value_p)
    put_u32_at(&o, 0, <uint32_t>(o.n - 4))
    for r in range(n):
        value_p = p_item(records[r], 4)
        if value_p == Py_None:
            length = -1
        elif p_is_bytes(value_p):
            length = p_bytes_size(value_p)
        else:
            raise Unsupported(f"record {r}: a value that is not bytes or None")
        if length > 2147483647:
            raise Unsupported(f"record {r}: a value over 2 GiB")
        k = <Py_ssize_t>(<uint32_t>(<int>length))
        b4[0] = k & 0xff
        b4[1] = (k >> 8) & 0xff
        b4[2] = (k >> 16) & 0xff
        b4[3] = (k >> 24) & 0xff
        put(&o, b4, 4)
    for r in range(n):
        value_p = p_item(records[r], 4)
        if value_p != Py_None:
            put(&o, p_bytes(value_p), p_bytes_size(value_p))
    return o.n


def ends_problem(const unsigned int[::1] ends, Py_ssize_t size):
    """Why `ends` does not cut `size` bytes into consecutive records covering them all, or None
    (a result stream's check, one C loop; packed_rows.PackedRows.from_wire)."""
    cdef Py_ssize_t i, n = ends.shape[0]
    cdef unsigned int start = 0
    for i in range(n):
        if ends[i] < start:
            return f"record {i} ends at {ends[i]}, before it starts ({start})"
        start = ends[i]
    if start != size:
        return f"the records' ends stop at {start}, the data is {size} bytes"
    return None
