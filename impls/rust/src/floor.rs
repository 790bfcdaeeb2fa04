//! The floor: decode both JSON layers (the outer value and its `data` string) and re-encode
//! them, with no pipeline semantics. The least any implementation must do per record, so the
//! full pipeline's throughput can be reported as a fraction of it.

use std::time::Instant;

use crate::json::{self, Value};
use crate::protocol::{BatchResult, RecordRef};
use crate::{Mode, STAGES, STREAMS};

pub struct Floor;

impl Floor {
    pub fn new() -> Self {
        Floor
    }
}

const STAGE_DECODE: usize = 0;
const STAGE_EMIT: usize = 11;

impl Mode for Floor {
    fn process(&mut self, records: &[RecordRef<'_>], instrument: bool) -> BatchResult {
        let mut stage_ns = vec![0u64; STAGES.len()];
        let t0 = instrument.then(Instant::now);
        // decode: outer object, then the `data` string inside it
        let decoded: Vec<Option<(json::Map, Value)>> = records
            .iter()
            .map(|r| {
                let v = r.value?;
                std::str::from_utf8(v).ok()?;
                let Value::Object(outer) = json::parse(v).ok()? else { return None };
                let data = outer.get(b"data".as_slice())?.as_str()?;
                let inner = json::parse(data).ok()?;
                Some((*outer, inner))
            })
            .collect();
        let t1 = instrument.then(Instant::now);
        // emit: the outer object again, `data` re-encoded from the parsed inner value
        let mut events = Vec::with_capacity(records.len());
        let mut failed = 0u64;
        for d in &decoded {
            let Some((outer, inner)) = d else {
                failed += 1;
                continue;
            };
            let mut out = Vec::with_capacity(4096);
            out.push(b'{');
            for (k, (key, v)) in outer.iter().enumerate() {
                if k > 0 {
                    out.push(b',');
                }
                json::write_str(&mut out, key);
                out.push(b':');
                if key.as_slice() == b"data" {
                    // the same one-pass JSON-in-a-string writer the full pipeline uses
                    json::write_value_as_str(&mut out, inner);
                } else {
                    json::write_value(&mut out, v);
                }
            }
            out.push(b'}');
            events.push(out);
        }
        if let (Some(t0), Some(t1)) = (t0, t1) {
            stage_ns[STAGE_DECODE] = (t1 - t0).as_nanos() as u64;
            stage_ns[STAGE_EMIT] = t1.elapsed().as_nanos() as u64;
        }
        let mut streams: Vec<Vec<Vec<u8>>> = vec![Vec::new(); STREAMS.len()];
        let n_events = events.len() as u64;
        streams[0] = events;
        let mut outcomes = vec![("event".to_string(), n_events)];
        if failed > 0 {
            outcomes.push(("drop:undecodable".to_string(), failed));
        }
        BatchResult { streams, outcomes, stage_ns }
    }
}
