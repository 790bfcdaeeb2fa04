//! The bridge's framing protocol, version 4 (docs/bridge.md is the specification).
//!
//! Every frame: magic `PBRG`, one kind byte, payload length (u32 little-endian), payload.
//! All integers are little-endian. The batch and result payloads use CPython's `marshal` format
//! (see `BatchParser` below): the parent builds and reads it in C (`marshal.dumps` / `marshal.loads`)
//! instead of one Python operation per field.

use std::io::{self, Read, Write};

pub const PROTOCOL_VERSION: u32 = 4;
pub const MAGIC: &[u8; 4] = b"PBRG";
pub const HEADER_LEN: usize = 9;
/// Refuse absurd lengths instead of trying to allocate them (a malformed frame).
pub const MAX_PAYLOAD: usize = 1 << 30;

pub const HELLO: u8 = b'H';
pub const CONTEXT: u8 = b'C';
pub const READY: u8 = b'K';
pub const BATCH: u8 = b'B';
pub const RESULT: u8 = b'R';
pub const ERROR: u8 = b'E';
pub const QUIT: u8 = b'Q';
/// The batch payload is in shared memory (frame payload: u64 length, at offset 0).
pub const BATCH_SHM: u8 = b'b';
/// The result payload is in shared memory (frame payload: u64 offset, u64 length).
pub const RESULT_SHM: u8 = b'r';

/// Read one frame into `buf`; Ok(None) on a clean end of input before any byte of a frame.
pub fn read_frame(r: &mut impl Read, buf: &mut Vec<u8>) -> io::Result<Option<u8>> {
    let mut head = [0u8; HEADER_LEN];
    let mut got = 0;
    while got < HEADER_LEN {
        let n = r.read(&mut head[got..])?;
        if n == 0 {
            if got == 0 {
                return Ok(None);
            }
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "truncated frame header"));
        }
        got += n;
    }
    if &head[..4] != MAGIC {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "bad frame magic"));
    }
    let len = u32::from_le_bytes(head[5..9].try_into().unwrap()) as usize;
    if len > MAX_PAYLOAD {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "frame too long"));
    }
    // read straight into the buffer's spare capacity (no zero-fill of megabytes first)
    buf.clear();
    buf.reserve(len);
    let got = r.take(len as u64).read_to_end(buf)?;
    if got != len {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "truncated frame payload"));
    }
    Ok(Some(head[4]))
}

pub fn write_frame(w: &mut impl Write, kind: u8, payload: &[u8]) -> io::Result<()> {
    let mut head = [0u8; HEADER_LEN];
    head[..4].copy_from_slice(MAGIC);
    head[4] = kind;
    head[5..9].copy_from_slice(&(payload.len() as u32).to_le_bytes());
    if payload.len() <= 256 {
        // one write for a small frame: two would wake the parent twice
        let mut small = [0u8; HEADER_LEN + 256];
        small[..HEADER_LEN].copy_from_slice(&head);
        small[HEADER_LEN..HEADER_LEN + payload.len()].copy_from_slice(payload);
        w.write_all(&small[..HEADER_LEN + payload.len()])?;
    } else {
        w.write_all(&head)?;
        w.write_all(payload)?;
    }
    w.flush()
}

/// One input record, borrowed from the batch frame (no copy of keys or values).
pub struct RecordRef<'a> {
    pub offset: i64,
    pub timestamp_ms: i64,
    pub key: Option<&'a [u8]>,
    pub headers: Headers<'a>,
    pub value: Option<&'a [u8]>,
}

/// A record's headers: (name, value) spans in the batch's columns, kept for the whole batch in
/// one table of the parser (a `Vec` per record cost an allocation and a free each, ~10% of the
/// parse, which is outside the child's timer but inside the bridge's cost).
#[derive(Clone, Copy, Default)]
pub struct Headers<'a> {
    spans: &'a [[u32; 4]],
    cols: &'a [u8],
}

impl<'a> Headers<'a> {
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + 'a {
        let cols = self.cols;
        let at = move |a: u32, n: u32| &cols[a as usize..(a + n) as usize];
        self.spans.iter().map(move |&[na, nn, va, vn]| (at(na, nn), at(va, vn)))
    }
}

impl std::fmt::Debug for Headers<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// One decoded marshal value; bytes and strings are (start, length) in the marshal data, tuples
/// and lists a range of `BatchParser::arena` (their items, contiguous), so a back-reference is a
/// copy and the arena can be kept from batch to batch (no lifetime, no re-allocation).
#[derive(Clone, Copy)]
enum V {
    None,
    Int(i64),
    Bytes(u32, u32),
    Str(u32, u32),
    Seq(u32, u32),
}

/// Decodes the batch payload. Its marshal part uses the part of CPython's marshal format
/// (version 4, Python/marshal.c) that `marshal.dumps(columns, 4)` produces for the columns: `N`
/// None; `i` int (i32); `l` long (i32 signed digit count, then 15-bit digits as u16, least
/// significant first); `s` bytes (u32 length); strings `u` `t` `a` `A` (u32 length) and `z` `Z`
/// (u8 length), UTF-8; tuples and lists `(` `[` (u32 count) and `)` (u8 count); back-references:
/// a type byte with bit 0x80 set adds the object to a table (numbered in the order the flags
/// appear, a tuple before its items), and `r` u32 index stands for that object again (repeated
/// header names and values are mostly references).
#[derive(Default)]
pub struct BatchParser {
    arena: Vec<V>,
    refs: Vec<Option<V>>,
    /// every header of the batch: (name start, length, value start, length) in the columns
    header_spans: Vec<[u32; 4]>,
    /// each record's headers: its range of `header_spans`
    header_ranges: Vec<(u32, u32)>,
}

const MAX_DEPTH: usize = 16;

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.b.len() - self.i < n {
            return Err(format!("batch frame truncated at byte {}", self.i));
        }
        let s = &self.b[self.i..self.i + n];
        self.i += n;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
    fn i32(&mut self) -> Result<i32, String> {
        Ok(i32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
    /// (start, length) of the next n bytes
    fn span(&mut self, n: usize) -> Result<(u32, u32), String> {
        let at = self.i;
        self.take(n)?;
        Ok((at as u32, n as u32))
    }
}

impl BatchParser {
    /// Decode one value into `arena[out]` (stored in place: returning the small enum through
    /// memory stalled on store forwarding, a third of the parse).
    fn value(&mut self, c: &mut Cursor<'_>, depth: usize, out: usize) -> Result<(), String> {
        let at = c.i;
        let code = c.u8()?;
        if depth > MAX_DEPTH {
            return Err(format!("batch frame: marshal data nested too deep at byte {at}"));
        }
        let slot = (code & 0x80 != 0).then(|| {
            self.refs.push(None);
            self.refs.len() - 1
        });
        let v = match code & 0x7f {
            b'N' => V::None,
            b'i' => V::Int(c.i32()? as i64),
            b'l' => {
                let n = c.i32()?;
                let digits = c.take(2 * n.unsigned_abs() as usize)?;
                let mut v: i128 = 0;
                for (k, d) in digits.chunks_exact(2).enumerate() {
                    let d = u16::from_le_bytes([d[0], d[1]]);
                    if d >= 1 << 15 || k >= 5 {
                        return Err(format!("batch frame: integer out of range at byte {at}"));
                    }
                    v |= (d as i128) << (15 * k);
                }
                let v = if n < 0 { -v } else { v };
                V::Int(i64::try_from(v).map_err(|_| format!("batch frame: integer out of range at byte {at}"))?)
            }
            b's' => {
                let n = c.u32()? as usize;
                let (a, n) = c.span(n)?;
                V::Bytes(a, n)
            }
            t @ (b'u' | b't' | b'a' | b'A' | b'z' | b'Z') => {
                let n = if matches!(t, b'z' | b'Z') { c.u8()? as usize } else { c.u32()? as usize };
                let (a, n) = c.span(n)?;
                V::Str(a, n)
            }
            t @ (b'(' | b'[' | b')') => {
                let n = if t == b')' { c.u8()? as usize } else { c.u32()? as usize };
                if n > c.b.len() - c.i {
                    return Err(format!("batch frame: {n} items cannot fit at byte {at}"));
                }
                // the items' slots first (contiguous), nested sequences' items after them
                let start = self.arena.len();
                self.arena.resize(start + n, V::None);
                for k in 0..n {
                    self.value(c, depth + 1, start + k)?;
                }
                V::Seq(start as u32, n as u32)
            }
            b'r' if slot.is_none() => {
                let k = c.u32()? as usize;
                match self.refs.get(k) {
                    Some(Some(v)) => *v,
                    _ => return Err(format!("batch frame: bad marshal back-reference {k} at byte {at}")),
                }
            }
            t => return Err(format!("batch frame: unexpected marshal type {:?} at byte {at}", t as char)),
        };
        if let Some(s) = slot {
            self.refs[s] = Some(v);
        }
        self.arena[out] = v;
        Ok(())
    }

    fn seq(&self, v: V, what: &str) -> Result<&[V], String> {
        match v {
            V::Seq(start, n) => Ok(&self.arena[start as usize..(start + n) as usize]),
            _ => Err(format!("batch frame: {what} is not a tuple")),
        }
    }

    /// Batch payload: u32 m; m bytes of marshal (version 4) holding a 4-tuple of n-tuples
    /// (offsets, timestamps, keys: bytes or None, headers: tuples of (name str, value bytes)
    /// pairs); n × i32 value lengths (-1 = None); the values concatenated.
    pub fn parse<'a>(&'a mut self, payload: &'a [u8]) -> Result<Vec<RecordRef<'a>>, String> {
        let mut outer = Cursor { b: payload, i: 0 };
        let m = outer.u32()? as usize;
        let cols = outer.take(m)?;
        self.header_spans.clear();
        self.header_ranges.clear();
        let mut out = match usual_columns(cols, &mut self.header_spans, &mut self.header_ranges) {
            Some(out) => out,
            None => {
                self.header_spans.clear();
                self.header_ranges.clear();
                self.general_columns(cols)?
            }
        };
        let lengths = outer.take(out.len().checked_mul(4).ok_or("count overflow")?)?;
        for (k, r) in out.iter_mut().enumerate() {
            r.value = match i32::from_le_bytes(lengths[4 * k..4 * k + 4].try_into().unwrap()) {
                -1 => None,
                l if l >= 0 => Some(outer.take(l as usize)?),
                l => return Err(format!("bad value length {l} in batch frame")),
            };
        }
        if outer.i != payload.len() {
            return Err(format!("batch frame has {} trailing bytes", payload.len() - outer.i));
        }
        // the table is complete: the records borrow their ranges of it
        let spans: &'a [[u32; 4]] = &self.header_spans;
        for (r, &(a, b)) in out.iter_mut().zip(&self.header_ranges) {
            r.headers = Headers { spans: &spans[a as usize..b as usize], cols };
        }
        Ok(out)
    }

    /// Any marshal spelling of the columns (`marshal.dumps`' too), a value at a time into the
    /// arena; the records without their values, their headers in `header_spans`.
    fn general_columns<'a>(&mut self, cols: &'a [u8]) -> Result<Vec<RecordRef<'a>>, String> {
        self.arena.clear();
        self.refs.clear();
        let m = cols.len();
        let mut c = Cursor { b: cols, i: 0 };
        self.arena.push(V::None);
        self.value(&mut c, 0, 0)?;
        if c.i != m {
            return Err(format!("batch frame: {} bytes after the marshal columns", m - c.i));
        }
        let &[offsets, timestamps, keys, headers] = self.seq(self.arena[0], "the columns")? else {
            return Err("batch frame: the columns are not a 4-tuple".into());
        };
        let (offsets, timestamps) = (self.seq(offsets, "offsets")?, self.seq(timestamps, "timestamps")?);
        let (keys, headers) = (self.seq(keys, "keys")?, self.seq(headers, "headers")?);
        let n = offsets.len();
        if timestamps.len() != n || keys.len() != n || headers.len() != n {
            return Err("batch frame: columns of different lengths".into());
        }
        let at = |a: u32, n: u32| &cols[a as usize..(a + n) as usize];
        let int = |v: V, what: &str| match v {
            V::Int(i) => Ok(i),
            _ => Err(format!("batch frame: {what} is not an int")),
        };
        let mut out = Vec::with_capacity(n);
        let (mut spans, mut ranges) = (Vec::new(), Vec::new()); // moved into self below
        for k in 0..n {
            let pairs = self.seq(headers[k], "a record's headers")?;
            let start = spans.len() as u32;
            for &pair in pairs {
                match self.seq(pair, "a header")? {
                    &[V::Str(a, an), V::Bytes(b, bn)] => spans.push([a, an, b, bn]),
                    _ => return Err("batch frame: a header is not a (str, bytes) pair".into()),
                }
            }
            ranges.push((start, spans.len() as u32));
            let key = match keys[k] {
                V::None => None,
                V::Bytes(a, an) => Some(at(a, an)),
                _ => return Err("batch frame: a key is not bytes or None".into()),
            };
            out.push(RecordRef {
                offset: int(offsets[k], "an offset")?,
                timestamp_ms: int(timestamps[k], "a timestamp")?,
                key,
                headers: Headers::default(),
                value: None,
            });
        }
        (self.header_spans, self.header_ranges) = (spans, ranges);
        Ok(out)
    }
}

/// The columns as `_wire.write_batch` spells them — sequences `)`/`(`, ints `i`/`l`, keys `s` or
/// `N`, headers as `)` pairs of a name `u` (flagged 0x80 where first seen, `r` after) and an `s`
/// value, nothing else flagged — read straight into the records; None for anything else (a
/// batch marshal.dumps spelled otherwise, or malformed: `BatchParser` then decodes it in
/// general and reports what is wrong). Why: the general decoder, a value at a time into an
/// arena, took ~0.15 ms of a 500-record batch, outside the child's timer but inside the
/// bridge's cost.
fn usual_columns<'a>(cols: &'a [u8], spans: &mut Vec<[u32; 4]>, ranges: &mut Vec<(u32, u32)>) -> Option<Vec<RecordRef<'a>>> {
    fn seq_len(c: &mut Cursor<'_>) -> Option<usize> {
        match c.u8().ok()? {
            b')' => Some(c.u8().ok()? as usize),
            b'(' => Some(c.u32().ok()? as usize),
            _ => None,
        }
    }
    fn int(c: &mut Cursor<'_>) -> Option<i64> {
        match c.u8().ok()? {
            b'i' => Some(c.i32().ok()? as i64),
            b'l' => {
                let n = c.i32().ok()?;
                let digits = c.take(2 * n.unsigned_abs() as usize).ok()?;
                if digits.len() > 10 {
                    return None;
                }
                let mut v: i128 = 0;
                for (k, d) in digits.chunks_exact(2).enumerate() {
                    let d = u16::from_le_bytes([d[0], d[1]]);
                    if d >= 1 << 15 {
                        return None;
                    }
                    v |= (d as i128) << (15 * k);
                }
                i64::try_from(if n < 0 { -v } else { v }).ok()
            }
            _ => None,
        }
    }
    let mut c = Cursor { b: cols, i: 0 };
    if seq_len(&mut c)? != 4 {
        return None;
    }
    let n = seq_len(&mut c)?;
    if n > cols.len() {
        return None;
    }
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(RecordRef { offset: int(&mut c)?, timestamp_ms: 0, key: None, headers: Headers::default(), value: None });
    }
    if seq_len(&mut c)? != n {
        return None;
    }
    for r in out.iter_mut() {
        r.timestamp_ms = int(&mut c)?;
    }
    if seq_len(&mut c)? != n {
        return None;
    }
    for r in out.iter_mut() {
        r.key = match c.u8().ok()? {
            b'N' => None,
            b's' => {
                let len = c.u32().ok()? as usize;
                Some(c.take(len).ok()?)
            }
            _ => return None,
        };
    }
    if seq_len(&mut c)? != n {
        return None;
    }
    // Each header is `)` 2, the name (`u`, or 0xF5 = `u` flagged, u32 length, UTF-8; or `r` u32
    // back-reference), `s` u32 length, the value: read with one bounds check per piece.
    let b = cols;
    let mut i = c.i;
    let mut names: Vec<(u32, u32)> = Vec::new(); // by back-reference number
    spans.reserve(8 * n);
    ranges.reserve(n);
    for _ in 0..n {
        let k = match *b.get(i)? {
            b')' => {
                i += 2;
                *b.get(i - 1)? as usize
            }
            b'(' => {
                i += 5;
                u32::from_le_bytes(b.get(i - 4..i)?.try_into().unwrap()) as usize
            }
            _ => return None,
        };
        let start = spans.len() as u32;
        for _ in 0..k {
            let head: &[u8; 7] = b.get(i..i + 7)?.try_into().unwrap();
            if head[0] != b')' || head[1] != 2 {
                return None;
            }
            let x = u32::from_le_bytes([head[3], head[4], head[5], head[6]]);
            i += 7;
            let name = match head[2] {
                code @ (b'u' | 0xF5) => {
                    let span = (i as u32, x);
                    i = i.checked_add(x as usize).filter(|&e| e <= b.len())?;
                    if code == 0xF5 {
                        names.push(span);
                    }
                    span
                }
                b'r' => *names.get(x as usize)?,
                _ => return None,
            };
            let vh: &[u8; 5] = b.get(i..i + 5)?.try_into().unwrap();
            if vh[0] != b's' {
                return None;
            }
            let vn = u32::from_le_bytes([vh[1], vh[2], vh[3], vh[4]]);
            let va = (i + 5) as u32;
            i = (i + 5).checked_add(vn as usize).filter(|&e| e <= b.len())?;
            spans.push([name.0, name.1, va, vn]);
        }
        ranges.push((start, spans.len() as u32));
    }
    c.i = i;
    (c.i == cols.len()).then_some(out)
}

/// One output stream's records, kept back to back (their bytes only) with where each ends, so
/// that the result frame copies a stream's records with one `memcpy` and the parent receives
/// them as one `bytes` plus the ends (docs/bridge.md, protocol 4), and emitting a record
/// allocates nothing of its own. (A `Vec` per record cost ~0.25 ms of encoding per 500-record
/// batch outside the child's timer, plus an allocation and a free per record in it.)
#[derive(Default)]
pub struct OutStream {
    buf: Vec<u8>,
    ends: Vec<u32>,
}

/// A stream's size: (bytes, records). The previous batch's sizes the next batch's buffers, so
/// that neither grows by doubling while the batch is timed.
pub type StreamSize = (usize, usize);

impl OutStream {
    pub fn with_capacity((bytes, records): StreamSize) -> OutStream {
        OutStream { buf: Vec::with_capacity(bytes), ends: Vec::with_capacity(records) }
    }

    /// A stream written into `buf` (empty; its capacity is the room before it must move).
    pub fn in_buffer(buf: Vec<u8>) -> OutStream {
        debug_assert!(buf.is_empty());
        OutStream { buf, ends: Vec::new() }
    }

    /// Room for `bytes` and `records` more without growing (nothing when the buffer already has
    /// it: a stream lent the shared memory keeps it).
    pub fn reserve(&mut self, (bytes, records): StreamSize) {
        self.buf.reserve(bytes);
        self.ends.reserve(records);
    }

    /// (bytes, records) held, for sizing the next batch's buffers.
    pub fn size(&self) -> StreamSize {
        (self.buf.len(), self.ends.len())
    }

    /// Where the records are (to tell whether a stream lent the shared memory stayed there).
    pub fn as_ptr(&self) -> *const u8 {
        self.buf.as_ptr()
    }

    /// Append one record: `write` appends its bytes to the buffer it is given.
    #[inline]
    pub fn record(&mut self, write: impl FnOnce(&mut Vec<u8>)) {
        write(&mut self.buf);
        self.ends.push(u32::try_from(self.buf.len()).expect("output stream over 4 GiB"));
    }

    pub fn push(&mut self, rec: &[u8]) {
        self.record(|out| out.extend_from_slice(rec));
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Bytes held (the records'), for sizing the next batch's buffer.
    pub fn bytes(&self) -> usize {
        self.buf.len()
    }

    /// The records, in order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts.zip(&self.ends).map(|(a, &b)| &self.buf[a as usize..b as usize])
    }

    /// The last record appended.
    pub fn last(&self) -> Option<&[u8]> {
        let end = *self.ends.last()? as usize;
        let start = self.ends.len().checked_sub(2).map_or(0, |i| self.ends[i] as usize);
        Some(&self.buf[start..end])
    }
}

/// One empty stream per output stream, each with room for 1/8 more than `sizes[i]` (the previous
/// batch's); nothing when `sizes` is shorter.
pub fn out_streams(n: usize, sizes: &[StreamSize]) -> Vec<OutStream> {
    (0..n).map(|i| OutStream::with_capacity(sizes.get(i).copied().map_or((0, 0), with_margin))).collect()
}

/// A previous batch's size with 1/8 more room.
pub fn with_margin((bytes, records): StreamSize) -> StreamSize {
    (bytes + bytes / 8, records + records / 8)
}

/// What one batch produced, in the order of impls.base.STREAMS / STAGES.
pub struct BatchResult {
    pub streams: Vec<OutStream>,
    pub outcomes: Vec<(String, u64)>,
    pub stage_ns: Vec<u64>,
}

/// Where an encoder's bytes go: counted first (to size the shared memory), then written.
pub trait Out {
    fn put(&mut self, data: &[u8]);
}

/// Counts bytes only.
pub struct Count(pub usize);

impl Out for Count {
    fn put(&mut self, data: &[u8]) {
        self.0 += data.len();
    }
}

impl Out for Vec<u8> {
    fn put(&mut self, data: &[u8]) {
        self.extend_from_slice(data);
    }
}

/// Fills a slice exactly `Count` bytes long (the result, straight into the shared memory).
pub struct Fill<'a> {
    pub buf: &'a mut [u8],
    pub pos: usize,
}

impl Out for Fill<'_> {
    fn put(&mut self, data: &[u8]) {
        self.buf[self.pos..self.pos + data.len()].copy_from_slice(data);
        self.pos += data.len();
    }
}

/// Writers for marshal's plain types (no back-references; what `marshal.loads` reads back).
fn typed(o: &mut impl Out, code: u8, n: usize) {
    let mut b = [code, 0, 0, 0, 0];
    b[1..].copy_from_slice(&(n as u32).to_le_bytes());
    o.put(&b);
}

fn m_tuple(o: &mut impl Out, n: usize) {
    typed(o, b'(', n);
}

fn m_bytes(o: &mut impl Out, data: &[u8]) {
    typed(o, b's', data.len());
    o.put(data);
}

fn m_str(o: &mut impl Out, s: &[u8]) {
    typed(o, b'u', s.len());
    o.put(s);
}

fn m_opt_bytes(o: &mut impl Out, data: Option<&[u8]>) {
    match data {
        Some(d) => m_bytes(o, d),
        None => o.put(b"N"),
    }
}

/// An int: `i` when it fits in an i32, else `l` with 15-bit digits.
fn m_int(o: &mut impl Out, negative: bool, magnitude: u64) {
    if magnitude <= i32::MAX as u64 {
        let v = if negative { -(magnitude as i64) } else { magnitude as i64 } as i32;
        o.put(b"i");
        o.put(&v.to_le_bytes());
        return;
    }
    let digits = (64 - magnitude.leading_zeros() as usize).div_ceil(15);
    let n = if negative { -(digits as i32) } else { digits as i32 };
    o.put(b"l");
    o.put(&n.to_le_bytes());
    for k in 0..digits {
        o.put(&(((magnitude >> (15 * k)) & 0x7fff) as u16).to_le_bytes());
    }
}

/// A stream's record ends as marshal `bytes`: n × u32 little-endian.
fn m_ends(o: &mut impl Out, ends: &[u32]) {
    typed(o, b's', ends.len() * 4);
    if cfg!(target_endian = "little") {
        // SAFETY: u32 has no padding and any byte pattern is a valid u8.
        o.put(unsafe { std::slice::from_raw_parts(ends.as_ptr().cast::<u8>(), ends.len() * 4) });
    } else {
        ends.iter().for_each(|e| o.put(&e.to_le_bytes()));
    }
}

/// Result payload: one marshal object, (processing_ns, ((stream name, records' bytes, their
/// ends), …), ((outcome name, count), …), ((stage name, ns), …)); stages only when instrumented.
pub fn encode_result(o: &mut impl Out, r: &BatchResult, processing_ns: u64, stream_names: &[&str], stage_names: &[&str]) {
    result_prefix(o, r, processing_ns, stream_names);
    if let Some(first) = r.streams.first().filter(|_| !stream_names.is_empty()) {
        o.put(&first.buf);
    }
    result_suffix(o, r, stream_names, stage_names);
}

/// The result up to the first stream's records: the first stream (events) goes last in the
/// streams tuple, so that its records, the bulk of a result, can sit at the end of the prefix
/// where they were written (main.rs, "in place"). The parent looks streams up by name.
pub fn result_prefix(o: &mut impl Out, r: &BatchResult, processing_ns: u64, stream_names: &[&str]) {
    m_tuple(o, 4);
    m_int(o, false, processing_ns);
    let n = stream_names.len().min(r.streams.len());
    m_tuple(o, n);
    for (name, recs) in stream_names.iter().zip(&r.streams).take(n).skip(1) {
        m_tuple(o, 3);
        m_str(o, name.as_bytes());
        m_bytes(o, &recs.buf);
        m_ends(o, &recs.ends);
    }
    if n > 0 {
        m_tuple(o, 3);
        m_str(o, stream_names[0].as_bytes());
        typed(o, b's', r.streams[0].buf.len());
    }
}

/// The result after the first stream's records: their ends, the outcomes and stage times.
pub fn result_suffix(o: &mut impl Out, r: &BatchResult, stream_names: &[&str], stage_names: &[&str]) {
    if let Some(first) = r.streams.first().filter(|_| !stream_names.is_empty()) {
        m_ends(o, &first.ends);
    }
    m_tuple(o, r.outcomes.len());
    for (name, count) in &r.outcomes {
        m_tuple(o, 2);
        m_str(o, name.as_bytes());
        m_int(o, false, *count);
    }
    m_tuple(o, stage_names.len().min(r.stage_ns.len()));
    for (name, ns) in stage_names.iter().zip(&r.stage_ns) {
        m_tuple(o, 2);
        m_str(o, name.as_bytes());
        m_int(o, false, *ns);
    }
}

/// Test-only mode (`partbench-rust --echo`): every record comes back as one `events` record, the
/// marshal encoding of the record as parsed, so the parent can check that each field arrived
/// unchanged (tests/test_bridge_exact.py).
pub struct Echo;

impl crate::Mode for Echo {
    fn process(&mut self, records: &[RecordRef<'_>], _instrument: bool, mut events: OutStream) -> BatchResult {
        for r in records {
            events.record(|o| {
                m_tuple(o, 5);
                m_int(o, r.offset < 0, r.offset.unsigned_abs());
                m_int(o, r.timestamp_ms < 0, r.timestamp_ms.unsigned_abs());
                m_opt_bytes(o, r.key);
                m_tuple(o, r.headers.len());
                for (name, value) in r.headers.iter() {
                    m_tuple(o, 2);
                    m_str(o, name);
                    m_bytes(o, value);
                }
                m_opt_bytes(o, r.value);
            });
        }
        let mut streams = out_streams(crate::STREAMS.len(), &[]);
        streams[0] = events;
        BatchResult { streams, outcomes: vec![("event".into(), records.len() as u64)], stage_ns: Vec::new() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A batch payload of two records whose columns are spelled by `names` (the writer's `u`
    /// flagged then `r`, or marshal.dumps' short ASCII `Z`, which only the general decoder reads).
    fn payload(flagged_names: bool) -> Vec<u8> {
        let mut m = vec![b')', 4];
        m.extend([b')', 2, b'i']);
        m.extend(7i32.to_le_bytes());
        m.extend([b'l']);
        m.extend(3i32.to_le_bytes());
        m.extend([1, 0, 2, 0, 3, 0]); // 1 + 2·2^15 + 3·2^30
        m.extend([b')', 2, b'i']);
        m.extend((-5i32).to_le_bytes());
        m.push(b'i');
        m.extend(9i32.to_le_bytes());
        m.extend([b')', 2, b'N', b's']);
        m.extend(2u32.to_le_bytes());
        m.extend(b"k1");
        m.extend([b')', 2, b')', 1, b')', 2]);
        if flagged_names {
            m.push(0xF5);
            m.extend(1u32.to_le_bytes());
        } else {
            m.extend([b'Z', 1]);
        }
        m.push(b'h');
        m.push(b's');
        m.extend(1u32.to_le_bytes());
        m.push(b'v');
        m.extend([b')', 1, b')', 2]);
        if flagged_names {
            m.push(b'r');
            m.extend(0u32.to_le_bytes());
        } else {
            m.extend([b'Z', 1, b'h']);
        }
        m.push(b's');
        m.extend(1u32.to_le_bytes());
        m.push(b'w');
        let mut p = (m.len() as u32).to_le_bytes().to_vec();
        p.extend(m);
        p.extend((-1i32).to_le_bytes());
        p.extend(3i32.to_le_bytes());
        p.extend(b"abc");
        p
    }

    #[test]
    fn usual_and_general_column_readers_agree() {
        let flagged = payload(true);
        let plain = payload(false);
        assert!(usual_columns(&flagged[4..flagged.len() - 11], &mut Vec::new(), &mut Vec::new()).is_some(), "the writer's spelling takes the fast path");
        assert!(usual_columns(&plain[4..plain.len() - 11], &mut Vec::new(), &mut Vec::new()).is_none(), "`Z` names go the general way");
        let show = |r: &RecordRef<'_>| format!("{} {} {:?} {:?} {:?}", r.offset, r.timestamp_ms, r.key, r.headers, r.value);
        let mut parser = BatchParser::default();
        let a: Vec<String> = parser.parse(&flagged).unwrap().iter().map(show).collect();
        let b: Vec<String> = parser.parse(&plain).unwrap().iter().map(show).collect();
        assert_eq!(a, b);
        assert_eq!(a[1], format!("{} 9 Some([107, 49]) [([104], [119])] Some([97, 98, 99])", 1i64 + (2i64 << 15) + (3i64 << 30)));
        // malformed: the general decoder reports it
        let mut bad = flagged.clone();
        bad.truncate(bad.len() - 1);
        match parser.parse(&bad) {
            Err(e) => assert!(e.contains("truncated"), "{e}"),
            Ok(_) => panic!("a truncated batch parsed"),
        }
    }

    #[test]
    fn out_stream_keeps_records_back_to_back_with_their_ends() {
        let mut s = OutStream::with_capacity((4, 1));
        assert_eq!(s.last(), None);
        s.push(b"");
        s.record(|out| out.extend_from_slice(&[7u8; 300]));
        s.push(b"{\"a\":1}");
        assert_eq!(s.len(), 3);
        let recs: Vec<&[u8]> = s.iter().collect();
        assert_eq!(recs, vec![&b""[..], &[7u8; 300][..], &b"{\"a\":1}"[..]]);
        assert_eq!(s.last(), Some(&b"{\"a\":1}"[..]));
        assert_eq!(s.bytes(), 307);
        // the whole result is what marshal writes for
        // (5, (("events", b"\x07" * 300 + b'{"a":1}', <ends 0, 300, 307 as u32>),), (("event", 3),), ())
        let r = BatchResult { streams: vec![s], outcomes: vec![("event".into(), 3)], stage_ns: Vec::new() };
        let mut o = Vec::new();
        encode_result(&mut o, &r, 5, &["events"], &[]);
        let mut want = b"(\x04\x00\x00\x00i\x05\x00\x00\x00(\x01\x00\x00\x00(\x03\x00\x00\x00".to_vec();
        want.extend_from_slice(b"u\x06\x00\x00\x00eventss\x33\x01\x00\x00");
        want.extend_from_slice(&[7u8; 300]);
        want.extend_from_slice(b"{\"a\":1}s\x0c\x00\x00\x00\x00\x00\x00\x00\x2c\x01\x00\x00\x33\x01\x00\x00");
        want.extend_from_slice(b"(\x01\x00\x00\x00(\x02\x00\x00\x00u\x05\x00\x00\x00eventi\x03\x00\x00\x00");
        want.extend_from_slice(b"(\x00\x00\x00\x00");
        assert_eq!(o, want);
        // laid out in pieces (main.rs, in place) it is the same bytes
        let mut pieces = Vec::new();
        result_prefix(&mut pieces, &r, 5, &["events"]);
        pieces.extend_from_slice(&r.streams[0].buf);
        result_suffix(&mut pieces, &r, &["events"], &[]);
        assert_eq!(pieces, want);
    }
}
