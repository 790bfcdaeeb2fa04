//! partbench-rust: the Rust prototype of the ingestion pipeline, run as a long-lived child of
//! the Python harness and driven over stdin/stdout with the framing protocol of docs/bridge.md.
//!
//! Usage: `partbench-rust` (then speak the protocol on stdin/stdout).
//! Test-only fault injection (used by the bridge's failure tests, never by the harness):
//! `--fault crash|hang|garbage|bad-version|hang-hello [--fault-after N]`; `--echo` (records come
//! back as they were parsed, for the bridge's exactness test); `--events-room N` / `--result-gap N`
//! (fixed sizes for a result written in place, so that tests reach its copying paths).

mod alloc;
mod context;
mod defs;
mod elements;
mod floor;
mod groups;
mod json;
mod omap;
mod persons;
mod pipeline;
mod protocol;
mod scan;
mod shm;
mod timestamps;

use std::fs::File;
use std::io::{self, BufReader, Write};
use std::os::unix::io::FromRawFd;
use std::time::{Duration, Instant};

use protocol::*;

#[global_allocator]
static GLOBAL: alloc::Pool = alloc::Pool::new();

pub const STREAMS: [&str; 10] = [
    "events",
    "ai_events",
    "persons",
    "distinct_ids",
    "groups",
    "property_definitions",
    "heatmaps",
    "ingestion_warnings",
    "overflow",
    "dlq",
];

pub const STAGES: [&str; 13] = [
    "decode",
    "resolve_team",
    "sanitize",
    "validate",
    "overflow",
    "normalize",
    "persons",
    "groups",
    "heatmaps",
    "create_event",
    "property_defs",
    "emit",
    "flush",
];

/// A pipeline mode: processes one batch, returning streams in STREAMS order. `events` is the
/// empty stream to write the first one (events) into: in the shared memory when it can be.
pub trait Mode {
    fn process(&mut self, records: &[RecordRef<'_>], instrument: bool, events: OutStream) -> BatchResult;
}

#[derive(Clone, Copy, PartialEq)]
enum Fault {
    None,
    Crash,
    Hang,
    Garbage,
    BadVersion,
    HangHello,
    Panic,
}

struct Args {
    fault: Fault,
    fault_after: u64,
    echo: bool,
    /// test-only: fixed room for the events stream / gap before it (InPlace), else planned
    events_room: Option<usize>,
    result_gap: Option<usize>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args { fault: Fault::None, fault_after: 0, echo: false, events_room: None, result_gap: None };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--fault" => {
                args.fault = match it.next().as_deref() {
                    Some("crash") => Fault::Crash,
                    Some("hang") => Fault::Hang,
                    Some("garbage") => Fault::Garbage,
                    Some("bad-version") => Fault::BadVersion,
                    Some("hang-hello") => Fault::HangHello,
                    Some("panic") => Fault::Panic,
                    other => return Err(format!("unknown --fault {other:?}")),
                }
            }
            "--fault-after" => {
                args.fault_after = it
                    .next()
                    .and_then(|s| s.parse().ok())
                    .ok_or("--fault-after needs a number")?
            }
            "--echo" => args.echo = true,
            "--events-room" => {
                let n: usize = it.next().and_then(|s| s.parse().ok()).ok_or("--events-room needs a number")?;
                args.events_room = Some(n.max(128 << 10)); // over the pool's largest block
            }
            "--result-gap" => {
                args.result_gap = Some(it.next().and_then(|s| s.parse().ok()).ok_or("--result-gap needs a number")?)
            }
            "--version" => {
                println!("partbench-rust {} (bridge protocol {PROTOCOL_VERSION})", env!("CARGO_PKG_VERSION"));
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(args)
}

/// Batches answered so far: the panic hook names the batch it failed in.
static BATCHES_DONE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The release build aborts on panic (Cargo.toml): before it does, the parent gets an error frame
/// saying where, as `fail` would send (fd 1 is written directly: frames are never left half
/// written between batches).
fn report_panics() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let msg = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".into());
        let at = info.location().map(|l| format!(" ({}:{})", l.file(), l.line())).unwrap_or_default();
        let text = format!("panic in batch {}: {msg}{at}", BATCHES_DONE.load(std::sync::atomic::Ordering::Relaxed));
        // SAFETY: fd 1 stays open (ManuallyDrop: this File never closes it)
        let mut out = std::mem::ManuallyDrop::new(unsafe { File::from_raw_fd(1) });
        let _ = write_frame(&mut *out, ERROR, text.as_bytes());
        eprintln!("partbench-rust: {text}");
    }));
}

/// An error frame for the parent, then exit status 2 (a panic goes through report_panics).
fn fail(out: &mut impl Write, msg: &str) -> ! {
    let _ = write_frame(out, ERROR, msg.as_bytes());
    eprintln!("partbench-rust: {msg}");
    std::process::exit(2);
}

fn hello_reply(mode: &str, instrument: bool, version: u32, shm: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut w = json::ObjWriter::new(&mut out);
    w.int("protocol", version as i64)
        .str("mode", mode.as_bytes())
        .bool("instrument", instrument)
        .bool("shm", shm)
        .str("impl", concat!("partbench-rust ", env!("CARGO_PKG_VERSION")).as_bytes());
    w.finish();
    out
}

/// Poll stdin for up to `spin` before the blocking read that follows.
///
/// Why: a process blocked in read is woken by the parent's write, and on a VM whose idle vCPU
/// has halted that wake-up took ~40–60 µs a batch (a pipe ping-pong, `docs/bridge.md`); the
/// parent's next batch comes ~1 ms after a result, so a short poll catches it awake. It costs
/// this process's own CPU while the parent works, never the parent's.
fn await_input(spin: Duration) {
    if spin.is_zero() {
        return;
    }
    let start = Instant::now();
    let mut fd = libc::pollfd { fd: 0, events: libc::POLLIN, revents: 0 };
    // SAFETY: one valid pollfd, timeout 0 (never blocks)
    while unsafe { libc::poll(&mut fd, 1, 0) } == 0 && start.elapsed() < spin {
        std::hint::spin_loop();
    }
}

/// Heap faulted in at session start: a general batch of 500 events peaks at ~6 MB.
const PREFAULT_BYTES: usize = 16 << 20;

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("partbench-rust: {e}");
            std::process::exit(2);
        }
    };
    report_panics();
    // a process-wide allocator setting, before any large allocation (every mode benefits)
    alloc::keep_freed_memory();
    let mut input = BufReader::with_capacity(1 << 20, io::stdin().lock());
    // Raw fd 1, not Rust's line-buffered stdout: frames are large binary writes.
    let mut output = unsafe { File::from_raw_fd(1) };
    let mut buf: Vec<u8> = Vec::new();

    // 1. HELLO: {"protocol": N, "mode": "full"|"floor", "instrument": bool}
    if args.fault == Fault::HangHello {
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }
    let kind = match read_frame(&mut input, &mut buf) {
        Ok(Some(k)) => k,
        Ok(None) => std::process::exit(0),
        Err(e) => fail(&mut output, &format!("reading hello: {e}")),
    };
    if kind != HELLO {
        fail(&mut output, &format!("expected a hello frame, got kind {:?}", kind as char));
    }
    let hello = match json::parse(&buf) {
        Ok(json::Value::Object(m)) => m,
        _ => fail(&mut output, "hello payload is not a JSON object"),
    };
    let parent_version = match hello.get(b"protocol".as_slice()) {
        Some(json::Value::Int(v)) => *v,
        _ => fail(&mut output, "hello has no integer protocol"),
    };
    if parent_version != PROTOCOL_VERSION as i64 {
        fail(&mut output, &format!("protocol version mismatch: parent speaks {parent_version}, child speaks {PROTOCOL_VERSION}"));
    }
    let mode_name = match hello.get(b"mode".as_slice()).and_then(|v| v.as_str()) {
        Some(b"full") => "full",
        Some(b"floor") => "floor",
        _ => fail(&mut output, "hello mode must be \"full\" or \"floor\""),
    };
    let instrument = matches!(hello.get(b"instrument".as_slice()), Some(json::Value::Bool(true)));
    // How long to poll for the next frame before blocking in read (see `await_input`).
    let spin = match hello.get(b"spin_us".as_slice()) {
        Some(json::Value::Int(us)) if *us > 0 => Duration::from_micros((*us).min(100_000) as u64),
        _ => Duration::ZERO,
    };
    // Shared memory for the bulk payloads when the parent offers it; refused (inline frames
    // instead) if the file cannot be opened and mapped.
    let mut shm = match hello.get(b"shm".as_slice()).and_then(|v| v.as_str()) {
        Some(path) => match std::str::from_utf8(path).ok().map(shm::Shm::open) {
            Some(Ok(m)) => Some(m),
            Some(Err(e)) => {
                eprintln!("partbench-rust: shared memory refused, using inline frames: {e}");
                None
            }
            None => None,
        },
        None => None,
    };
    let version = if args.fault == Fault::BadVersion { PROTOCOL_VERSION + 1 } else { PROTOCOL_VERSION };
    if write_frame(&mut output, HELLO, &hello_reply(mode_name, instrument, version, shm.is_some())).is_err() {
        std::process::exit(1);
    }

    // 2. CONTEXT: the PartitionContext as JSON.
    match read_frame(&mut input, &mut buf) {
        Ok(Some(CONTEXT)) => {}
        Ok(Some(k)) => fail(&mut output, &format!("expected a context frame, got kind {:?}", k as char)),
        Ok(None) => std::process::exit(0),
        Err(e) => fail(&mut output, &format!("reading context: {e}")),
    }
    // The session's heap faulted in before the batches (keep_freed_memory, set above, makes glibc
    // keep it), and before the context is built, so that the person and group tables, which the
    // first batch reads, are the last thing written here rather than 16 MB of page touches.
    alloc::prefault_heap(PREFAULT_BYTES);
    let mut mode: Box<dyn Mode> = match mode_name {
        _ if args.echo => Box::new(protocol::Echo),
        "floor" => Box::new(floor::Floor::new()),
        _ => match pipeline::Pipeline::from_context_json(&buf) {
            Ok(p) => Box::new(p),
            Err(e) => fail(&mut output, &format!("bad context: {e}")),
        },
    };
    if write_frame(&mut output, READY, b"").is_err() {
        std::process::exit(1);
    }

    // 3. BATCH → RESULT, until QUIT or end of input.
    let mut response: Vec<u8> = Vec::new();
    let mut parser = BatchParser::default();
    let mut batches: u64 = 0;
    let mut sizes = Sizes::default();
    loop {
        if input.buffer().is_empty() {
            await_input(spin);
        }
        let kind = match read_frame(&mut input, &mut buf) {
            Ok(Some(k)) => k,
            Ok(None) => break,
            Err(e) => fail(&mut output, &format!("reading batch: {e}")),
        };
        match kind {
            QUIT => break,
            BATCH => {}
            BATCH_SHM if shm.is_some() => {}
            k => fail(&mut output, &format!("unexpected frame kind {:?}", k as char)),
        }
        if batches >= args.fault_after {
            match args.fault {
                Fault::Crash => std::process::abort(),
                Fault::Hang => loop {
                    std::thread::sleep(std::time::Duration::from_secs(3600));
                },
                Fault::Panic => panic!("injected (--fault panic)"),
                Fault::Garbage => {
                    let _ = output.write_all(b"PBRX\x00\x00\x00\x00\x00garbage");
                    let _ = output.flush();
                    std::thread::sleep(std::time::Duration::from_secs(3600));
                }
                _ => {}
            }
        }
        let in_shm = kind == BATCH_SHM;
        let n_in = if in_shm {
            match <[u8; 8]>::try_from(buf.as_slice()) {
                Ok(b) => u64::from_le_bytes(b) as usize,
                Err(_) => fail(&mut output, "shared-memory batch frame must carry a u64 length"),
            }
        } else {
            0
        };
        // The events stream is written straight into the shared memory, after the batch and a
        // gap for the rest of the result (`InPlace`), when the parent offered it.
        let place = in_shm.then(|| InPlace::plan(n_in, &sizes, args.events_room, args.result_gap));
        let events = match (&place, shm.as_mut()) {
            (Some(p), Some(sh)) => match sh.reserve(p.events_at + p.events_room) {
                Ok(()) => OutStream::in_buffer(alloc::vec_in_region(sh.ptr_at(p.events_at), p.events_room)),
                Err(e) => fail(&mut output, &e),
            },
            _ => OutStream::default(),
        };
        let payload: &[u8] = if in_shm {
            match shm.as_mut().unwrap().input(n_in) {
                Ok(p) => p,
                Err(e) => fail(&mut output, &e),
            }
        } else {
            &buf
        };
        let records = match parser.parse(payload) {
            Ok(r) => r,
            Err(e) => fail(&mut output, &e),
        };
        // The child's own processing time: records in memory → outputs serialized, no frame I/O.
        let t0 = Instant::now();
        let result = mode.process(&records, instrument, events); // a panic: report_panics
        let ns = t0.elapsed().as_nanos() as u64;
        // The records borrow the shared memory, which writing the result may re-map.
        drop(records);
        let stage_names: &[&str] = if instrument { &STAGES } else { &[] };
        let mut prefix = Count(0);
        result_prefix(&mut prefix, &result, ns, &STREAMS);
        sizes = Sizes { events: result.streams.first().map_or(0, OutStream::bytes), prefix: prefix.0 };
        let sent = match (place, shm.as_mut()) {
            (Some(p), Some(sh)) => {
                let (at, len) = match p.finish(sh, &result, ns, stage_names, prefix.0) {
                    Ok(range) => range,
                    Err(e) => fail(&mut output, &e),
                };
                let mut ctl = [0u8; 16];
                ctl[..8].copy_from_slice(&(at as u64).to_le_bytes());
                ctl[8..].copy_from_slice(&(len as u64).to_le_bytes());
                write_frame(&mut output, RESULT_SHM, &ctl)
            }
            _ => {
                response.clear();
                encode_result(&mut response, &result, ns, &STREAMS, stage_names);
                write_frame(&mut output, RESULT, &response)
            }
        };
        if sent.is_err() {
            std::process::exit(1);
        }
        // Freed after answering: this overlaps with the parent reading the result.
        drop(result);
        alloc::release_region(); // the lent block is freed (a no-op); nothing points there now
        batches += 1;
        BATCHES_DONE.store(batches, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The previous result's sizes: the next batch's room for its events and for the rest.
#[derive(Default)]
struct Sizes {
    events: usize,
    prefix: usize,
}

/// Where one batch's result goes in the shared memory when its events stream is written in
/// place: the batch at 0, then a gap that the result's prefix fills from its end (everything
/// before the events' records: the other streams), then the records, then the outcomes and
/// stage times. The result is one marshal object, as with a copy (docs/bridge.md).
struct InPlace {
    events_at: usize,
    events_room: usize,
    gap: usize,
}

impl InPlace {
    fn plan(batch_len: usize, last: &Sizes, events_room: Option<usize>, gap: Option<usize>) -> InPlace {
        // room for more than the last batch's (the pipeline reserves 1/8 more than that); for
        // the first, twice the batch's bytes (general events: ~1.3×): a stream that outgrows its
        // room moves to the heap and is copied back (first general batch −0.07 ms, median of 40)
        let guess = if last.events == 0 { 2 * batch_len } else { last.events + last.events / 4 };
        let events_room = events_room.unwrap_or((guess + (256 << 10)).max(1 << 20));
        let gap = gap.unwrap_or(((last.prefix + last.prefix / 2 + (16 << 10) + 63) & !63).max(64 << 10));
        InPlace { events_at: ((batch_len + 63) & !63) + gap, events_room, gap }
    }

    /// Write the result; its (offset, length). In place: the prefix ends where the records
    /// start, the outcomes follow them. Otherwise the whole result goes after the reserved
    /// room: when the prefix is larger than the gap (the records are then copied from where
    /// they are, by offset: growing the file may re-map it under the stream's pointer), or when
    /// the stream outgrew its room and moved to the heap.
    fn finish(
        &self,
        sh: &mut shm::Shm,
        r: &BatchResult,
        ns: u64,
        stage_names: &[&str],
        prefix_len: usize,
    ) -> Result<(usize, usize), String> {
        let events = &r.streams[0];
        // compared before anything can re-map the region
        let in_region = events.as_ptr() == sh.ptr_at(self.events_at) as *const u8;
        let n_events = events.bytes();
        let mut suffix = Count(0);
        result_suffix(&mut suffix, r, &STREAMS, stage_names);
        if in_region && prefix_len <= self.gap {
            let start = self.events_at - prefix_len;
            result_prefix(&mut Fill { buf: sh.output(start, prefix_len)?, pos: 0 }, r, ns, &STREAMS);
            let end = self.events_at + n_events;
            result_suffix(&mut Fill { buf: sh.output(end, suffix.0)?, pos: 0 }, r, &STREAMS, stage_names);
            return Ok((start, end + suffix.0 - start));
        }
        let at = (self.events_at + self.events_room + 63) & !63;
        if !in_region {
            return write_result(sh, at, r, ns, stage_names);
        }
        let total = prefix_len + n_events + suffix.0;
        sh.reserve(at + total)?;
        result_prefix(&mut Fill { buf: sh.output(at, prefix_len)?, pos: 0 }, r, ns, &STREAMS);
        // SAFETY: both ranges are within the mapping (reserved above) and do not overlap
        // (`at` is past the reserved room).
        unsafe {
            std::ptr::copy_nonoverlapping(sh.ptr_at(self.events_at), sh.ptr_at(at + prefix_len), n_events);
        }
        result_suffix(&mut Fill { buf: sh.output(at + prefix_len + n_events, suffix.0)?, pos: 0 }, r, &STREAMS, stage_names);
        Ok((at, total))
    }
}

/// The whole result copied into the shared memory at `at`: (offset, length).
fn write_result(sh: &mut shm::Shm, at: usize, r: &BatchResult, ns: u64, stage_names: &[&str]) -> Result<(usize, usize), String> {
    let mut size = Count(0);
    encode_result(&mut size, r, ns, &STREAMS, stage_names);
    encode_result(&mut Fill { buf: sh.output(at, size.0)?, pos: 0 }, r, ns, &STREAMS, stage_names);
    Ok((at, size.0))
}
