//! partbench-rust: the Rust prototype of the ingestion pipeline, run as a long-lived child of
//! the Python harness and driven over stdin/stdout with the framing protocol of docs/bridge.md.
//!
//! Usage: `partbench-rust` (then speak the protocol on stdin/stdout).
//! Test-only fault injection (used by the bridge's failure tests, never by the harness):
//! `--fault crash|hang|garbage|bad-version|hang-hello [--fault-after N]`; and `--echo` (records come
//! back as they were parsed, for the bridge's exactness test).

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
use std::time::Instant;

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

/// A pipeline mode: processes one batch, returning streams in STREAMS order.
pub trait Mode {
    fn process(&mut self, records: &[RecordRef<'_>], instrument: bool) -> BatchResult;
}

#[derive(Clone, Copy, PartialEq)]
enum Fault {
    None,
    Crash,
    Hang,
    Garbage,
    BadVersion,
    HangHello,
}

struct Args {
    fault: Fault,
    fault_after: u64,
    echo: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args { fault: Fault::None, fault_after: 0, echo: false };
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
            "--version" => {
                println!("partbench-rust {} (bridge protocol {PROTOCOL_VERSION})", env!("CARGO_PKG_VERSION"));
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(args)
}

fn fail(out: &mut impl Write, msg: &str, code: i32) -> ! {
    let _ = write_frame(out, ERROR, msg.as_bytes());
    eprintln!("partbench-rust: {msg}");
    std::process::exit(code);
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

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("partbench-rust: {e}");
            std::process::exit(2);
        }
    };
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
        Err(e) => fail(&mut output, &format!("reading hello: {e}"), 2),
    };
    if kind != HELLO {
        fail(&mut output, &format!("expected a hello frame, got kind {:?}", kind as char), 2);
    }
    let hello = match json::parse(&buf) {
        Ok(json::Value::Object(m)) => m,
        _ => fail(&mut output, "hello payload is not a JSON object", 2),
    };
    let parent_version = match hello.get(b"protocol".as_slice()) {
        Some(json::Value::Int(v)) => *v,
        _ => fail(&mut output, "hello has no integer protocol", 2),
    };
    if parent_version != PROTOCOL_VERSION as i64 {
        fail(
            &mut output,
            &format!("protocol version mismatch: parent speaks {parent_version}, child speaks {PROTOCOL_VERSION}"),
            2,
        );
    }
    let mode_name = match hello.get(b"mode".as_slice()).and_then(|v| v.as_str()) {
        Some(b"full") => "full",
        Some(b"floor") => "floor",
        _ => fail(&mut output, "hello mode must be \"full\" or \"floor\"", 2),
    };
    let instrument = matches!(hello.get(b"instrument".as_slice()), Some(json::Value::Bool(true)));
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
        Ok(Some(k)) => fail(&mut output, &format!("expected a context frame, got kind {:?}", k as char), 2),
        Ok(None) => std::process::exit(0),
        Err(e) => fail(&mut output, &format!("reading context: {e}"), 2),
    }
    let mut mode: Box<dyn Mode> = match mode_name {
        _ if args.echo => Box::new(protocol::Echo),
        "floor" => Box::new(floor::Floor::new()),
        _ => match pipeline::Pipeline::from_context_json(&buf) {
            Ok(p) => Box::new(p),
            Err(e) => fail(&mut output, &format!("bad context: {e}"), 2),
        },
    };
    if write_frame(&mut output, READY, b"").is_err() {
        std::process::exit(1);
    }

    // 3. BATCH → RESULT, until QUIT or end of input.
    let mut response: Vec<u8> = Vec::new();
    let mut parser = BatchParser::default();
    let mut batches: u64 = 0;
    loop {
        let kind = match read_frame(&mut input, &mut buf) {
            Ok(Some(k)) => k,
            Ok(None) => break,
            Err(e) => fail(&mut output, &format!("reading batch: {e}"), 2),
        };
        match kind {
            QUIT => break,
            BATCH => {}
            BATCH_SHM if shm.is_some() => {}
            k => fail(&mut output, &format!("unexpected frame kind {:?}", k as char), 2),
        }
        if batches >= args.fault_after {
            match args.fault {
                Fault::Crash => std::process::abort(),
                Fault::Hang => loop {
                    std::thread::sleep(std::time::Duration::from_secs(3600));
                },
                Fault::Garbage => {
                    let _ = output.write_all(b"PBRX\x00\x00\x00\x00\x00garbage");
                    let _ = output.flush();
                    std::thread::sleep(std::time::Duration::from_secs(3600));
                }
                _ => {}
            }
        }
        let in_shm = kind == BATCH_SHM;
        let payload: &[u8] = if in_shm {
            let n = match <[u8; 8]>::try_from(buf.as_slice()) {
                Ok(b) => u64::from_le_bytes(b) as usize,
                Err(_) => fail(&mut output, "shared-memory batch frame must carry a u64 length", 2),
            };
            match shm.as_mut().unwrap().input(n) {
                Ok(p) => p,
                Err(e) => fail(&mut output, &e, 2),
            }
        } else {
            &buf
        };
        let input_len = payload.len();
        let records = match parser.parse(payload) {
            Ok(r) => r,
            Err(e) => fail(&mut output, &e, 2),
        };
        // The child's own processing time: records in memory → outputs serialized, no frame I/O.
        let t0 = Instant::now();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| mode.process(&records, instrument)));
        let ns = t0.elapsed().as_nanos() as u64;
        let result = match result {
            Ok(r) => r,
            Err(p) => {
                let msg = p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "panic".into());
                fail(&mut output, &format!("panic in batch {batches}: {msg}"), 1)
            }
        };
        // The records borrow the shared memory, which writing the result may re-map.
        drop(records);
        let stage_names: &[&str] = if instrument { &STAGES } else { &[] };
        let sent = if in_shm {
            // Straight into the shared memory after the batch (64-byte aligned; the batch is not
            // needed any more): sized first, then written, no intermediate buffer.
            let at = (input_len + 63) & !63;
            let mut size = Count(0);
            encode_result(&mut size, &result, ns, &STREAMS, stage_names);
            match shm.as_mut().unwrap().output(at, size.0) {
                Ok(buf) => encode_result(&mut Fill { buf, pos: 0 }, &result, ns, &STREAMS, stage_names),
                Err(e) => fail(&mut output, &e, 2),
            }
            let mut ctl = [0u8; 16];
            ctl[..8].copy_from_slice(&(at as u64).to_le_bytes());
            ctl[8..].copy_from_slice(&(size.0 as u64).to_le_bytes());
            write_frame(&mut output, RESULT_SHM, &ctl)
        } else {
            response.clear();
            encode_result(&mut response, &result, ns, &STREAMS, stage_names);
            write_frame(&mut output, RESULT, &response)
        };
        if sent.is_err() {
            std::process::exit(1);
        }
        // Freed after answering: this overlaps with the parent reading the result.
        drop(result);
        batches += 1;
    }
}
