//! The bridge's framing protocol, version 2 (docs/bridge.md is the specification).
//!
//! Every frame: magic `PBRG`, one kind byte, payload length (u32 little-endian), payload.
//! All integers are little-endian.

use std::io::{self, Read, Write};

pub const PROTOCOL_VERSION: u32 = 2;
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
/// Protocol 2: the batch payload is in shared memory (frame payload: u64 length, at offset 0).
pub const BATCH_SHM: u8 = b'b';
/// Protocol 2: the result payload is in shared memory (frame payload: u64 offset, u64 length).
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
    w.write_all(&head)?;
    w.write_all(payload)?;
    w.flush()
}

/// One input record, borrowed from the batch frame (no copy of keys or values).
pub struct RecordRef<'a> {
    pub offset: i64,
    pub timestamp_ms: i64,
    pub key: Option<&'a [u8]>,
    pub headers: Vec<(&'a [u8], &'a [u8])>,
    pub value: Option<&'a [u8]>,
}

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
    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
    /// `n` little-endian 8-byte (or 4-byte) integers
    fn array8(&mut self, n: usize) -> Result<Vec<i64>, String> {
        let raw = self.take(n.checked_mul(8).ok_or("count overflow")?)?;
        Ok(raw.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap())).collect())
    }
    fn array4(&mut self, n: usize) -> Result<Vec<i32>, String> {
        let raw = self.take(n.checked_mul(4).ok_or("count overflow")?)?;
        Ok(raw.chunks_exact(4).map(|c| i32::from_le_bytes(c.try_into().unwrap())).collect())
    }
    /// A lengths array (-1 = null when `nullable`) followed by the concatenated bytes.
    fn column(&mut self, n: usize, nullable: bool) -> Result<Vec<Option<&'a [u8]>>, String> {
        let lengths = self.array4(n)?;
        let mut total: usize = 0;
        for &l in &lengths {
            if l < 0 && !(nullable && l == -1) {
                return Err(format!("bad length {l} in batch frame"));
            }
            total += l.max(0) as usize;
        }
        let mut data = self.take(total)?;
        Ok(lengths
            .iter()
            .map(|&l| {
                if l < 0 {
                    None
                } else {
                    let (head, rest) = data.split_at(l as usize);
                    data = rest;
                    Some(head)
                }
            })
            .collect())
    }
}

/// Batch payload (columnar): u32 n; n × i64 offsets; n × i64 timestamps; keys (n × i32 lengths,
/// -1 = null, then the bytes concatenated); values (likewise); n × u32 header counts; then for the
/// H headers in record order: H × u32 name lengths, names, H × u32 value lengths, values.
pub fn parse_batch(payload: &[u8]) -> Result<Vec<RecordRef<'_>>, String> {
    let mut c = Cursor { b: payload, i: 0 };
    let n = c.u32()? as usize;
    let offsets = c.array8(n)?;
    let timestamps = c.array8(n)?;
    let keys = c.column(n, true)?;
    let values = c.column(n, true)?;
    let counts = c.array4(n)?;
    let total_headers: usize = counts.iter().map(|&h| h as u32 as usize).sum();
    let names = c.column(total_headers, false)?;
    let header_values = c.column(total_headers, false)?;
    if c.i != payload.len() {
        return Err(format!("batch frame has {} trailing bytes", payload.len() - c.i));
    }
    let mut h = 0;
    let mut out = Vec::with_capacity(n);
    for k in 0..n {
        let count = counts[k] as u32 as usize;
        let headers = (h..h + count).map(|j| (names[j].unwrap(), header_values[j].unwrap())).collect();
        h += count;
        out.push(RecordRef { offset: offsets[k], timestamp_ms: timestamps[k], key: keys[k], headers, value: values[k] });
    }
    Ok(out)
}

/// What one batch produced, in the order of impls.base.STREAMS / STAGES.
pub struct BatchResult {
    pub streams: Vec<Vec<Vec<u8>>>,
    pub outcomes: Vec<(String, u64)>,
    pub stage_ns: Vec<u64>,
}

fn put_name(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// Result payload: u64 processing ns; u32 stream count × (name, u32 record count, count × u32
/// lengths, the records' bytes concatenated); u32 outcome count × (name, u64 count); u32 stage
/// count × (name, u64 ns). Names are u32 length + UTF-8.
pub fn encode_result(out: &mut Vec<u8>, r: &BatchResult, processing_ns: u64, stream_names: &[&str], stage_names: &[&str]) {
    out.clear();
    out.extend_from_slice(&processing_ns.to_le_bytes());
    out.extend_from_slice(&(stream_names.len() as u32).to_le_bytes());
    for (name, recs) in stream_names.iter().zip(&r.streams) {
        put_name(out, name);
        out.extend_from_slice(&(recs.len() as u32).to_le_bytes());
        for rec in recs {
            out.extend_from_slice(&(rec.len() as u32).to_le_bytes());
        }
        for rec in recs {
            out.extend_from_slice(rec);
        }
    }
    out.extend_from_slice(&(r.outcomes.len() as u32).to_le_bytes());
    for (name, count) in &r.outcomes {
        put_name(out, name);
        out.extend_from_slice(&count.to_le_bytes());
    }
    out.extend_from_slice(&(stage_names.len().min(r.stage_ns.len()) as u32).to_le_bytes());
    for (name, ns) in stage_names.iter().zip(&r.stage_ns) {
        put_name(out, name);
        out.extend_from_slice(&ns.to_le_bytes());
    }
}
