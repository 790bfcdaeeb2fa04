//! The bridge's framing protocol, version 1 (docs/bridge.md is the specification).
//!
//! Every frame: magic `PBRG`, one kind byte, payload length (u32 little-endian), payload.
//! All integers are little-endian.

use std::io::{self, Read, Write};

pub const PROTOCOL_VERSION: u32 = 1;
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
    buf.clear();
    buf.resize(len, 0);
    r.read_exact(buf)?;
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
    fn i32(&mut self) -> Result<i32, String> {
        Ok(i32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
    fn i64(&mut self) -> Result<i64, String> {
        Ok(i64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }
    fn opt_bytes(&mut self) -> Result<Option<&'a [u8]>, String> {
        let n = self.i32()?;
        if n < 0 {
            Ok(None)
        } else {
            Ok(Some(self.take(n as usize)?))
        }
    }
}

/// Batch payload: u32 count, then per record: i64 offset, i64 timestamp_ms, key (i32 length,
/// -1 = null, bytes), u32 header count × (u32 name length, name, u32 value length, value),
/// value (i32 length, -1 = null, bytes).
pub fn parse_batch(payload: &[u8]) -> Result<Vec<RecordRef<'_>>, String> {
    let mut c = Cursor { b: payload, i: 0 };
    let n = c.u32()? as usize;
    let mut out = Vec::with_capacity(n.min(1 << 20));
    for _ in 0..n {
        let offset = c.i64()?;
        let timestamp_ms = c.i64()?;
        let key = c.opt_bytes()?;
        let nh = c.u32()? as usize;
        let mut headers = Vec::with_capacity(nh.min(64));
        for _ in 0..nh {
            let kl = c.u32()? as usize;
            let k = c.take(kl)?;
            let vl = c.u32()? as usize;
            let v = c.take(vl)?;
            headers.push((k, v));
        }
        let value = c.opt_bytes()?;
        out.push(RecordRef { offset, timestamp_ms, key, headers, value });
    }
    if c.i != payload.len() {
        return Err(format!("batch frame has {} trailing bytes", payload.len() - c.i));
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

/// Result payload: u64 processing ns; u32 stream count × (name, u32 record count × (u32 length,
/// bytes)); u32 outcome count × (name, u64 count); u32 stage count × (name, u64 ns).
/// Names are u32 length + UTF-8.
pub fn encode_result(out: &mut Vec<u8>, r: &BatchResult, processing_ns: u64, stream_names: &[&str], stage_names: &[&str]) {
    out.clear();
    out.extend_from_slice(&processing_ns.to_le_bytes());
    out.extend_from_slice(&(stream_names.len() as u32).to_le_bytes());
    for (name, recs) in stream_names.iter().zip(&r.streams) {
        put_name(out, name);
        out.extend_from_slice(&(recs.len() as u32).to_le_bytes());
        for rec in recs {
            out.extend_from_slice(&(rec.len() as u32).to_le_bytes());
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
