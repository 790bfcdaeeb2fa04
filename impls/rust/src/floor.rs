//! The floor: decode both JSON layers (the outer value and its `data` string) and re-encode
//! them, with no pipeline semantics. The least any implementation must do per record, so the
//! full pipeline's throughput can be reported as a fraction of it.

use std::time::Instant;

use crate::json::{self, Value};
use crate::protocol::{out_streams, BatchResult, OutStream, RecordRef};
use crate::{Mode, STAGES, STREAMS};

pub struct Floor {
    /// bytes of the previous batch's events (the next one's buffer size)
    out_bytes: usize,
}

impl Floor {
    pub fn new() -> Self {
        crate::alloc::keep_freed_memory();
        Floor { out_bytes: 0 }
    }
}

const STAGE_DECODE: usize = 0;
const STAGE_EMIT: usize = 11;

/// One record: outer object, then its `data` string, parsed; None when either is not JSON.
fn decode(r: &RecordRef<'_>) -> Option<(json::Map, Value)> {
    let v = r.value?;
    crate::scan::is_utf8(v).then_some(())?;
    let Value::Object(outer) = json::parse(v).ok()? else { return None };
    let data = outer.get(b"data".as_slice())?.as_str()?;
    let inner = json::parse(data).ok()?;
    Some((*outer, inner))
}

/// The outer object again, `data` re-encoded from the parsed inner value.
fn encode(out: &mut Vec<u8>, outer: &json::Map, inner: &Value) {
    out.push(b'{');
    for (k, (key, v)) in outer.iter().enumerate() {
        if k > 0 {
            out.push(b',');
        }
        json::write_str(out, key);
        out.push(b':');
        if key.as_slice() == b"data" {
            // the same one-pass JSON-in-a-string writer the full pipeline uses
            json::write_value_as_str(out, inner);
        } else {
            json::write_value(out, v);
        }
    }
    out.push(b'}');
}

impl Mode for Floor {
    /// Record by record, like the full pipeline (each record's tree is encoded while in cache).
    fn process(&mut self, records: &[RecordRef<'_>], instrument: bool, events: OutStream) -> BatchResult {
        let mut stage_ticks = vec![0u64; STAGES.len()];
        let started = instrument.then(Instant::now);
        let mut streams = out_streams(STREAMS.len(), &[]);
        streams[0] = events;
        streams[0].reserve(self.out_bytes + self.out_bytes / 8);
        let events = &mut streams[0];
        let mut failed = 0u64;
        // the clock is read only in the instrumented pass
        let tick = |on: bool| if on { crate::pipeline::ticks() } else { 0 };
        for r in records {
            let t0 = tick(instrument);
            let decoded = decode(r);
            let t1 = tick(instrument);
            match decoded {
                Some((outer, inner)) => events.record(|out| encode(out, &outer, &inner)),
                None => failed += 1,
            }
            stage_ticks[STAGE_DECODE] += t1 - t0;
            stage_ticks[STAGE_EMIT] += tick(instrument) - t1;
        }
        let stage_ns = match started {
            Some(s) => crate::pipeline::ticks_to_ns(&stage_ticks, s.elapsed().as_nanos() as u64),
            None => stage_ticks,
        };
        let n_events = events.len() as u64;
        self.out_bytes = events.bytes();
        let mut outcomes = vec![("event".to_string(), n_events)];
        if failed > 0 {
            outcomes.push(("drop:undecodable".to_string(), failed));
        }
        BatchResult { streams, outcomes, stage_ns }
    }
}
