//! The floor: decode both JSON layers (the outer value and its `data` string) and re-encode
//! them, with no pipeline semantics. The least any implementation must do per record, so the
//! full pipeline's throughput can be reported as a fraction of it.
//!
//! "The least" includes the full pipeline's encoding shortcut: the `properties` members that the
//! record already spells exactly as the encoder would are copied rather than re-encoded, with the
//! same parser spans and writer as the pipeline's event rows (before the sixth step of issue 6 the
//! floor re-encoded everything from the tree, which made it ~11% slower than it needed to be and
//! the pipeline's "% of floor" that much flattering). Likewise the `properties` values that no
//! stage reads are left unbuilt here as they are there (json::Value::Raw).

use std::time::Instant;

use crate::json::{self, PropSpans, Value};
use crate::protocol::{out_streams, with_margin, BatchResult, OutStream, RecordRef, StreamSize};
use crate::{Mode, STAGES, STREAMS};

pub struct Floor {
    /// the previous batch's events stream (bytes, records): the next one's buffer size
    out_size: StreamSize,
}

impl Floor {
    pub fn new() -> Self {
        Floor { out_size: (0, 0) }
    }
}

const STAGE_DECODE: usize = 0;
const STAGE_EMIT: usize = 11;

/// A decoded record: the outer object, its `data` document, and whether the record is printable
/// ASCII (the spans the writer needs are kept beside it, in buffers reused from block to block).
struct Decoded {
    outer: json::Map,
    data: Value,
    printable: bool,
}

/// A record's outer object, then (decode_data) its `data` string, parsed with the spans the full
/// pipeline records (parse_locating_data, parse_recording: the same parses as its decode stage);
/// None when either is not JSON.
fn decode_outer(r: &RecordRef<'_>, outer_spans: &mut PropSpans) -> Option<Decoded> {
    let v = r.value?;
    let (ascii, controls, del) = crate::scan::ascii_and_controls(v);
    if !ascii && std::str::from_utf8(v).is_err() {
        return None;
    }
    outer_spans.known_no_controls = !controls;
    let Value::Object(outer) = json::parse_locating_data(v, outer_spans).ok()? else { return None };
    Some(Decoded { outer: *outer, data: Value::Null, printable: ascii && !del })
}

fn decode_data(d: Decoded, outer_spans: &PropSpans, data_spans: &mut PropSpans) -> Option<Decoded> {
    let text = d.outer.get(b"data".as_slice())?.as_str()?;
    data_spans.known_no_controls = outer_spans.data_plain;
    // the pipeline's decode leaves the same values unbuilt
    data_spans.read_keys = (d.printable && outer_spans.data_plain).then_some(crate::pipeline::is_read as fn(&[u8]) -> bool);
    let data = json::parse_recording(text, data_spans).ok()?;
    Some(Decoded { data, ..d })
}

/// The outer object again, `data` re-encoded from the parsed document: its `properties` members
/// copied from the record where they are spelled as the encoder would, as the full pipeline
/// writes an event row's `properties` (json::write_data_as_str); the rest encoded from the tree.
fn encode(out: &mut Vec<u8>, d: &Decoded, value: &[u8], outer_spans: &PropSpans, data_spans: &PropSpans) {
    let raw_lit = match outer_spans.data_lit {
        Some((a, z)) => &value[a as usize..z as usize],
        None => b"",
    };
    out.push(b'{');
    for (k, (key, v)) in d.outer.iter().enumerate() {
        if k > 0 {
            out.push(b',');
        }
        json::write_str(out, key);
        out.push(b':');
        match v {
            Value::Str(text) if key.as_slice() == b"data" => {
                json::write_data_as_str(out, &d.data, text, raw_lit, data_spans, d.printable)
            }
            _ => json::write_value(out, v),
        }
    }
    out.push(b'}');
}

impl Mode for Floor {
    /// A few records at a time, like the full pipeline (their trees are encoded while in cache;
    /// ~1% faster than one at a time), each layer parsed in a pass of its own over them, as there
    /// (the two parsers' code stays in the instruction cache: ~1.3% faster).
    fn process(&mut self, records: &[RecordRef<'_>], instrument: bool, events: OutStream) -> BatchResult {
        let mut stage_ticks = vec![0u64; STAGES.len()];
        let started = instrument.then(Instant::now);
        let mut streams = out_streams(STREAMS.len(), &[]);
        streams[0] = events;
        streams[0].reserve(with_margin(self.out_size));
        let events = &mut streams[0];
        let mut failed = 0u64;
        // the clock is read only in the instrumented pass
        let tick = |on: bool| if on { crate::pipeline::ticks() } else { 0 };
        // (8, the pipeline's, was ~0.8% slower here: alternated passes)
        const BLOCK: usize = 4;
        // reused from block to block (their buffers)
        let mut spans: Vec<(PropSpans, PropSpans)> = (0..BLOCK).map(|_| Default::default()).collect();
        let mut decoded: Vec<Option<Decoded>> = Vec::with_capacity(BLOCK);
        for chunk in records.chunks(BLOCK) {
            decoded.clear();
            let t0 = tick(instrument);
            for (r, (o, _)) in chunk.iter().zip(spans.iter_mut()) {
                decoded.push(decode_outer(r, o));
            }
            for (d, (o, ds)) in decoded.iter_mut().zip(spans.iter_mut()) {
                *d = d.take().and_then(|x| decode_data(x, o, ds));
            }
            let t1 = tick(instrument);
            for ((r, d), (o, ds)) in chunk.iter().zip(decoded.drain(..)).zip(spans.iter()) {
                match (d, r.value) {
                    (Some(d), Some(value)) => events.record(|out| encode(out, &d, value, o, ds)),
                    _ => failed += 1,
                }
            }
            stage_ticks[STAGE_DECODE] += t1 - t0;
            stage_ticks[STAGE_EMIT] += tick(instrument) - t1;
        }
        let stage_ns = match started {
            Some(s) => crate::pipeline::ticks_to_ns(&stage_ticks, s.elapsed().as_nanos() as u64),
            None => stage_ticks,
        };
        let n_events = events.len() as u64;
        self.out_size = events.size();
        let mut outcomes = vec![("event".to_string(), n_events)];
        if failed > 0 {
            outcomes.push(("drop:undecodable".to_string(), failed));
        }
        BatchResult { streams, outcomes, stage_ns }
    }
}
