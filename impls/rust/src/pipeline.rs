//! The full pipeline: a port of impls/reference (rules in docs/pipeline.md), stage by stage,
//! with the same stage names as impls.base.STAGES and a timer per stage.

use std::rc::Rc;
use std::time::Instant;

use ahash::AHashMap;
use indexmap::IndexSet;

use crate::context::{Context, Team};
use crate::defs;
use crate::elements::elements_chain;
use crate::groups::{add_group_properties, GroupKey, GroupStore};
use crate::json::{self, char_len, char_prefix, JStr, Map, ObjWriter, Str, Value};
use crate::persons::{PersonEvent, PersonResult, PersonStore, Touches};
use crate::protocol::{out_streams, with_margin, BatchResult, OutStream, RecordRef, StreamSize};
use crate::timestamps::{event_timestamp, format_ms, format_ms_fixed, format_seconds, max_ms, min_ms, parse_timestamp};
use crate::{Mode, STAGES, STREAMS};

const MAX_EVENT_NAME: usize = 200;
const MAX_GROUP_KEY: usize = 400;
const SCALE_FACTOR: i64 = 16;
const MAX_COORDINATE: f64 = 1e9;

// stream indexes (STREAMS order)
const S_EVENTS: usize = 0;
const S_AI: usize = 1;
const S_PERSONS: usize = 2;
const S_DISTINCT_IDS: usize = 3;
const S_GROUPS: usize = 4;
const S_DEFS: usize = 5;
const S_HEATMAPS: usize = 6;
const S_WARNINGS: usize = 7;
const S_OVERFLOW: usize = 8;
const S_DLQ: usize = 9;

/// The list and its lookup from one table: the keys as an array, and a `match` on them (which
/// compiles to a length switch, cheaper than scanning the list for every property).
macro_rules! key_table {
    ($list:ident, $lookup:ident, $($k:literal => $i:literal),* $(,)?) => {
        const $list: &[&[u8]] = &[$($k),*];
        fn $lookup(k: &[u8]) -> Option<usize> {
            match k {
                $($k => Some($i),)*
                _ => None,
            }
        }
    };
}

// normalize.EVENT_TO_PERSON_PROPERTIES: the ~20 event-to-person keys, then the campaign keys
key_table!(
    EVENT_TO_PERSON,
    event_to_person,
    b"$app_build" => 0, b"$app_name" => 1, b"$app_namespace" => 2, b"$app_version" => 3,
    b"$browser" => 4, b"$browser_version" => 5, b"$device_type" => 6, b"$current_url" => 7,
    b"$pathname" => 8, b"$os" => 9, b"$os_name" => 10, b"$os_version" => 11,
    b"$referring_domain" => 12, b"$referrer" => 13, b"$screen_height" => 14,
    b"$screen_width" => 15, b"$viewport_height" => 16, b"$viewport_width" => 17,
    b"$raw_user_agent" => 18, b"utm_source" => 19, b"utm_medium" => 20, b"utm_campaign" => 21,
    b"utm_content" => 22, b"utm_term" => 23, b"gclid" => 24, b"gad_source" => 25, b"gclsrc" => 26,
    b"dclid" => 27, b"gbraid" => 28, b"wbraid" => 29, b"fbclid" => 30, b"msclkid" => 31,
    b"twclid" => 32, b"li_fat_id" => 33, b"mc_cid" => 34, b"igshid" => 35, b"ttclid" => 36,
    b"rdt_cid" => 37, b"epik" => 38, b"qclid" => 39, b"sccid" => 40, b"irclid" => 41, b"_kx" => 42,
);

// defs::InitialKeys numbers them in a u64
const _: () = assert!(EVENT_TO_PERSON.len() <= 64);

fn is_event_to_person(k: &[u8]) -> bool {
    event_to_person(k).is_some()
}

thread_local! {
    /// Each event-to-person key's `$initial_` name (`$` dropped), built once: normalize wrote
    /// them byte by byte for every key of every event (~14 a general event).
    static INITIAL_NAMES: Vec<JStr> = EVENT_TO_PERSON
        .iter()
        .map(|k| [b"$initial_".as_slice(), k.strip_prefix(b"$").unwrap_or(k)].concat().into())
        .collect();
}

/// Every property key whose value any stage changes in place (sanitize, normalize, groups); all
/// other keys are only read, removed or appended. json::write_props_as_str re-encodes these
/// instead of copying their input spelling. A stage that starts changing another key in place
/// must add it here.
fn may_change(k: &[u8]) -> bool {
    matches!(
        k,
        b"$set" | b"$set_once" | b"$unset" | b"$ip" | b"$sent_at" | b"$session_id" | b"$os"
            | b"$group_0" | b"$group_1" | b"$group_2" | b"$group_3" | b"$group_4"
            | b"$heatmap_data" | b"$elements" | b"$elements_chain"
    )
}

/// Every property key that some stage reads, changes, removes or copies elsewhere (the reference's
/// `props.get`s, docs/pipeline.md). decode keeps the object and array values of all other keys as
/// unbuilt JSON text (json::Value::Raw, `PropSpans::read_keys`): nothing looks inside them, the
/// output copies them. A stage that starts reading another key must add it here.
pub fn is_read(k: &[u8]) -> bool {
    may_change(k)
        || is_event_to_person(k)
        || matches!(
            k,
            b"$groups" | b"$group_type" | b"$group_key" | b"$group_set" | b"$viewport_width" | b"$viewport_height"
                | b"$process_person_profile" | b"$anon_distinct_id" | b"alias" | b"$ignore_sent_at"
        )
}

struct HeatRow {
    session_id: Str,
    viewport_width: i64,
    viewport_height: i64,
    x: i64,
    y: i64,
    fixed: bool,
    url: Str,
    kind: Str,
}

/// What create_event settles for the row; the `properties` field itself is written by emit,
/// straight into the output stream from the final properties (write_props_as_str), rather than
/// into a buffer of its own that emit then copied (~2.2 KB a general event).
struct EventRow {
    /// `person_properties`: JSON text already written as a JSON string literal, shared by the
    /// events of one person snapshot (serialized once per batch)
    person_properties_lit: Rc<[u8]>,
    chain: Str,
}

/// One input record on its way through the pipeline (impls/reference/state.py's EventState).
struct Ev {
    outcome: Option<&'static str>,
    force_disable_pp: bool,
    /// the outer object and the inner `data`: the merged event is `{...data, ...outer}`
    outer: Map,
    data: Map,
    /// lowercased (a valid uuid: 36 bytes); name, distinct id and token as parsed strings, held
    /// inline when short (most are): decode allocated for each of them
    uuid: [u8; 36],
    name: JStr,
    distinct_id: JStr,
    token: Option<JStr>,
    properties: Map,
    /// where the members of `properties` are spelled in the `data` text (when they came from it)
    prop_spans: json::PropSpans,
    /// when normalize built `$set` and `$set_once` from the event's own properties (it brought
    /// neither): the event-to-person key number of each of their members (defs::InitialKeys)
    initial_keys: Vec<u8>,
    initial_keys_valid: bool,
    /// where the `data` literal is in the record value
    outer_spans: json::PropSpans,
    /// the record value is printable ASCII (no byte above 0x7e; controls are JSON errors or
    /// whitespace outside strings)
    printable: bool,
    now_ms: i64,
    team: usize,
    timestamp_ms: Option<i64>,
    person_processing: bool,
    force_overflow: bool,
    skip_person: bool,
    person: Option<PersonResult>,
    row: Option<EventRow>,
    heat_rows: Vec<HeatRow>,
    warnings: Vec<(&'static str, Vec<u8>)>,
    dlq: Option<(&'static str, &'static str)>,
    overflow: Option<&'static str>,
    /// where each of FIELDS is in the merged event: (in `outer`, member index); set by decode
    /// once `outer` and `data` are final (only values change in them afterwards)
    fields: [Option<(bool, u32)>; FIELDS.len()],
}

/// The members the stages read from the merged event (`event_get`). Found in one pass over both
/// layers per record instead of a lookup in each per read (~25 `Map::position` calls per
/// general event, ~3 K instructions, callgrind).
const FIELDS: [&[u8]; 14] = [
    b"uuid", b"event", b"distinct_id", b"$distinct_id", b"token", b"$token", b"api_key",
    b"now", b"$set", b"$set_once", b"ip", b"sent_at", b"timestamp", b"offset",
];

#[inline]
fn field_index(key: &[u8]) -> Option<usize> {
    // (a `match` on the byte strings ran ~0.4% more instructions in all, callgrind)
    FIELDS.iter().position(|f| *f == key)
}

impl Ev {
    fn new() -> Ev {
        Ev {
            outcome: None,
            force_disable_pp: false,
            outer: json::new_map(),
            data: json::new_map(),
            uuid: [0; 36],
            name: JStr::new(),
            distinct_id: JStr::new(),
            token: None,
            properties: json::new_map(),
            prop_spans: json::PropSpans::default(),
            initial_keys: Vec::new(),
            initial_keys_valid: false,
            outer_spans: json::PropSpans::default(),
            printable: false,
            now_ms: 0,
            team: 0,
            timestamp_ms: None,
            person_processing: true,
            force_overflow: false,
            skip_person: false,
            person: None,
            row: None,
            heat_rows: Vec::new(),
            warnings: Vec::new(),
            dlq: None,
            overflow: None,
            fields: [None; FIELDS.len()],
        }
    }

    /// Record where FIELDS are, after `outer` and `data` are set (outer wins, as in event_get).
    fn locate_fields(&mut self) {
        for (outer, m) in [(false, &self.data), (true, &self.outer)] {
            for (i, (k, _)) in m.iter().enumerate() {
                if let Some(f) = field_index(k) {
                    self.fields[f] = Some((outer, i as u32));
                }
            }
        }
    }

    /// `event.get(key)` on the merged event (outer wins; `data` itself was deleted).
    fn event_get(&self, key: &[u8]) -> Option<&Value> {
        if let Some(f) = field_index(key) {
            let (outer, i) = self.fields[f]?;
            let m = if outer { &self.outer } else { &self.data };
            return m.get_index(i as usize).map(|(_, v)| v);
        }
        if key == b"data" {
            return None;
        }
        self.outer.get(key).or_else(|| self.data.get(key))
    }

    fn set_dlq(&mut self, reason: &'static str, step: &'static str) {
        self.outcome = Some("dlq");
        self.dlq = Some((reason, step));
    }
}

/// 1 for an ASCII hex digit.
const HEX_DIGIT: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        t[c] = (c as u8).is_ascii_hexdigit() as u8;
        c += 1;
    }
    t
};

/// `8-4-4-4-12` hex digits with hyphens. Every byte is checked, without a branch per byte (a
/// loop stopping at the first bad byte mispredicted its way through every valid UUID: perf showed
/// it at ~0.8% of the child for two calls per event).
fn is_uuid(s: &[u8]) -> bool {
    let Ok(s) = <&[u8; 36]>::try_from(s) else { return false };
    let hyphens = (s[8] == b'-') & (s[13] == b'-') & (s[18] == b'-') & (s[23] == b'-');
    let mut digits = 1u8;
    for (i, &c) in s.iter().enumerate() {
        if !matches!(i, 8 | 13 | 18 | 23) {
            digits &= HEX_DIGIT[c as usize];
        }
    }
    hyphens & (digits == 1)
}

pub struct Pipeline {
    ctx: Context,
    persons: PersonStore,
    groups: GroupStore,
    buckets: AHashMap<Str, (f64, i64)>,
    bucket_key: Str,
    /// bytes per output stream in the previous batch (the next one's buffer sizes)
    out_sizes: Vec<StreamSize>,
    person_json: PersonJson,
}

/// The `person_properties` JSON (a JSON string literal) of each person-properties snapshot in use.
///
/// Why: events of one person share a snapshot (an Rc) until its properties change, within a batch
/// and across batches (the stored properties), so each is written once; and a snapshot that is the
/// stored properties with a few values changed (`PersonResult::base`) is patched from the stored
/// one's text (`json::map_as_str_patched`) instead of written whole. Keyed by the snapshot's
/// address; the entry holds the Rc, so the address cannot be reused while it is there, and
/// `forget_unused` drops, after each batch, the entries only this table still holds and those the
/// batch did not use (so the table holds the texts of the persons of about one batch, not of every
/// person seen).
#[derive(Default)]
struct PersonJson {
    by_snapshot: AHashMap<*const Map, SnapshotJson>,
}

struct SnapshotJson {
    snapshot: Rc<Map>,
    text: Rc<[u8]>,
    /// where each member starts in `text`
    starts: Vec<u32>,
    /// read or written during the current batch
    used: bool,
}

impl PersonJson {
    fn text(&mut self, p: &Rc<Map>, base: Option<&(Rc<Map>, Vec<u32>)>) -> Rc<[u8]> {
        if let Some(e) = self.by_snapshot.get_mut(&Rc::as_ptr(p)) {
            e.used = true;
            return e.text.clone();
        }
        let base = base.map(|(b, changed)| {
            let entry = self.by_snapshot.get_mut(&Rc::as_ptr(b)).map(|e| {
                e.used = true;
                (&e.text, &e.starts)
            });
            (entry, b, changed)
        });
        let (text, starts) = match base {
            Some((Some((text, starts)), _, changed)) => json::map_as_str_patched(p, text, starts, changed),
            // the base is still the person's stored properties (held by the store as well as by this
            // event: only the current event is alive here), so the person's next snapshots will be
            // patched from its text: worth writing; else writing it would be work done twice
            Some((None, b, changed)) if Rc::strong_count(b) > 1 => {
                let (bt, bs) = json::map_as_str_noting(b);
                let made = json::map_as_str_patched(p, &bt, &bs, changed);
                let bt: Rc<[u8]> = Rc::from(bt);
                self.by_snapshot.insert(Rc::as_ptr(b), SnapshotJson { snapshot: b.clone(), text: bt, starts: bs, used: true });
                made
            }
            _ => json::map_as_str_noting(p),
        };
        let text: Rc<[u8]> = Rc::from(text);
        self.by_snapshot.insert(Rc::as_ptr(p), SnapshotJson { snapshot: p.clone(), text: text.clone(), starts, used: true });
        text
    }

    /// Drop the entries of snapshots that nothing else holds any more, or that this batch did not use.
    fn forget_unused(&mut self) {
        self.by_snapshot.retain(|_, e| std::mem::take(&mut e.used) && Rc::strong_count(&e.snapshot) > 1);
    }
}

impl Pipeline {
    pub fn from_context_json(bytes: &[u8]) -> Result<Self, String> {
        let ctx = Context::from_json(bytes)?;
        let persons = PersonStore::from_snapshot(&ctx.persons)?;
        let groups = GroupStore::from_snapshot(&ctx.groups)?;
        Ok(Pipeline { ctx, persons, groups, buckets: AHashMap::new(), bucket_key: Vec::new(), out_sizes: Vec::new(), person_json: PersonJson::default() })
    }
}

// ---------------------------------------------------------------------------------------------
// decode

/// Stage decode for a block of records, one layer at a time: every record's outer object, then
/// every `data` document, then the event fields. Why: the two parsers (one instantiation per
/// layer) and the field checks do not fit in the instruction cache together; taken record by
/// record they evicted each other (callgrind: 35% fewer I1 misses in the child this way, ~1.1%
/// faster in alternated passes).
fn decode_block(evs: &mut [Ev], records: &[RecordRef<'_>]) {
    for (ev, rec) in evs.iter_mut().zip(records) {
        decode_outer(ev, rec);
    }
    for ev in evs.iter_mut().filter(|ev| ev.outcome.is_none()) {
        decode_data(ev);
    }
    for (ev, rec) in evs.iter_mut().zip(records) {
        if ev.outcome.is_none() {
            decode_event(ev, rec);
        }
    }
}

fn decode_outer(ev: &mut Ev, rec: &RecordRef<'_>) {
    for (name, value) in rec.headers.iter() {
        if name == b"force_disable_person_processing" {
            ev.force_disable_pp = value == b"true"; // the last header of a name wins
        }
    }
    let Some(value) = rec.value.filter(|v| !v.is_empty()) else {
        return ev.set_dlq("empty_value", "decode");
    };
    let (ascii, controls, del) = crate::scan::ascii_and_controls(value);
    ev.printable = ascii && !del;
    if !ascii && std::str::from_utf8(value).is_err() {
        return ev.set_dlq("invalid_utf8", "decode");
    }
    ev.outer_spans.known_no_controls = !controls;
    let outer = match json::parse_locating_data(value, &mut ev.outer_spans) {
        Ok(Value::Object(m)) => m,
        Ok(_) => return ev.set_dlq("invalid_json", "decode"),
        Err(e) => return ev.set_dlq(if e.too_deep { "json_too_deep" } else { "invalid_json" }, "decode"),
    };
    ev.outer = *outer;
}

fn decode_data(ev: &mut Ev) {
    let outer = &ev.outer;
    let data = match outer.get(b"data".as_slice()) {
        Some(Value::Str(s)) => match {
            ev.prop_spans.known_no_controls = ev.outer_spans.data_plain;
            // Raw values must be printable ASCII: so is the data text when the record is and its
            // literal's only escapes are `\"`, `\\` and `\/`
            ev.prop_spans.read_keys = (ev.printable && ev.outer_spans.data_plain).then_some(is_read as fn(&[u8]) -> bool);
            ev.prop_spans.index_properties = true;
            json::parse_recording(s, &mut ev.prop_spans)
        } {
            Ok(Value::Object(m)) => m,
            Ok(_) => return ev.set_dlq("invalid_data", "decode"),
            Err(e) => return ev.set_dlq(if e.too_deep { "json_too_deep" } else { "invalid_data" }, "decode"),
        },
        _ => return ev.set_dlq("invalid_data", "decode"),
    };
    ev.data = *data;
}

fn decode_event(ev: &mut Ev, rec: &RecordRef<'_>) {
    ev.locate_fields();
    let uuid = match ev.event_get(b"uuid") {
        None | Some(Value::Null) => return ev.set_dlq("empty_uuid", "decode"),
        Some(Value::Str(s)) if s.is_empty() => return ev.set_dlq("empty_uuid", "decode"),
        Some(Value::Str(s)) if is_uuid(s) => {
            let mut u: [u8; 36] = s[..].try_into().expect("36 bytes, by is_uuid");
            u.make_ascii_lowercase();
            u
        }
        Some(_) => return ev.set_dlq("invalid_uuid", "decode"),
    };
    // take the properties out of whichever layer they come from (nothing reads them there again)
    let from_outer = ev.outer.contains_key(b"properties".as_slice());
    if from_outer {
        ev.prop_spans.valid = false; // the spans are positions in the data text
    }
    let src = if from_outer { &mut ev.outer } else { &mut ev.data };
    let properties = match src.get_mut(b"properties".as_slice()) {
        None | Some(Value::Null) => json::new_map(),
        Some(Value::Object(m)) => std::mem::take(&mut **m),
        Some(_) => return ev.set_dlq("invalid_properties", "decode"),
    };
    let name = match ev.event_get(b"event") {
        None | Some(Value::Null) => {
            ev.outcome = Some("drop:missing_event");
            return;
        }
        Some(Value::Str(s)) => JStr::from_slice(char_prefix(s, MAX_EVENT_NAME)),
        Some(v) => JStr::from_slice(char_prefix(&json::json_text(v), MAX_EVENT_NAME)),
    };
    let did = match ev.event_get(b"distinct_id") {
        None | Some(Value::Null) => ev.event_get(b"$distinct_id"),
        some => some,
    };
    let distinct_id = match did {
        None | Some(Value::Null) => None,
        Some(Value::Str(s)) if s.is_empty() => None,
        Some(Value::Str(s)) => Some(s.clone()),
        Some(v) => Some(JStr::from(json::json_text(v))),
    };
    let Some(distinct_id) = distinct_id else {
        ev.outcome = Some("drop:missing_distinct_id");
        return;
    };
    let mut token = None;
    for key in [b"token".as_slice(), b"$token", b"api_key"] {
        if let Some(Value::Str(s)) = ev.event_get(key) {
            if token.is_none() && !s.is_empty() {
                token = Some(s.clone());
            }
        }
    }
    ev.uuid = uuid;
    ev.name = name;
    ev.distinct_id = distinct_id;
    ev.token = token;
    ev.properties = properties;
    ev.now_ms = rec.timestamp_ms;
    if let Some(Value::Str(now)) = ev.event_get(b"now") {
        if let Some(ms) = parse_timestamp(now) {
            if (min_ms()..=max_ms()).contains(&ms) {
                ev.now_ms = ms;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// sanitize, validate, normalize

fn sanitize(ev: &mut Ev) {
    if ev.distinct_id.contains(&0) {
        let mut out = Vec::with_capacity(ev.distinct_id.len() + 4);
        for &c in ev.distinct_id.iter() {
            if c == 0 {
                out.extend_from_slice("\u{FFFD}".as_bytes());
            } else {
                out.push(c);
            }
        }
        ev.distinct_id = JStr::from(out);
    }
    for key in [b"$set".as_slice(), b"$set_once"] {
        let Some(Value::Object(top)) = ev.event_get(key) else { continue };
        let merged = match ev.properties.get(key) {
            Some(Value::Object(inner)) => {
                let mut m = (**inner).clone();
                for (k, v) in top.iter() {
                    m.insert(k.clone(), v.clone());
                }
                m
            }
            _ => (**top).clone(),
        };
        ev.properties.insert(key.into(), Value::Object(Box::new(merged)));
    }
    if !ev.properties.contains_key(b"$ip".as_slice()) {
        if let Some(ip) = ev.event_get(b"ip") {
            if !ip.is_null() {
                let ip = ip.clone();
                ev.properties.insert(b"$ip".into(), ip);
            }
        }
    }
    if let Some(Value::Str(sent_at)) = ev.event_get(b"sent_at") {
        if !sent_at.is_empty() {
            let v = Value::Str(sent_at.clone());
            ev.properties.insert(b"$sent_at".into(), v);
        }
    }
    if let Some(Value::Str(sid)) = ev.properties.get_mut(b"$session_id".as_slice()) {
        if is_uuid(sid) {
            sid.make_ascii_lowercase();
        }
    }
}

fn apply_timestamp(ev: &mut Ev) {
    if ev.timestamp_ms.is_some() {
        return;
    }
    let (ts, kinds) = event_timestamp(|k| ev.event_get(k), &ev.properties, ev.now_ms);
    ev.timestamp_ms = Some(ts);
    for kind in kinds {
        let mut out = Vec::new();
        let mut w = ObjWriter::new(&mut out);
        w.str("eventUuid", &ev.uuid);
        match ev.event_get(b"timestamp") {
            Some(v) => w.value("timestamp", v),
            None => w.null("timestamp"),
        };
        w.finish();
        ev.warnings.push((kind, out));
    }
}

fn older_than(age_ms: i64, max_age_s: &Value) -> bool {
    match max_age_s {
        Value::Int(s) => age_ms as i128 > *s as i128 * 1000,
        Value::UInt(s) => (age_ms as i128) > *s as i128 * 1000,
        Value::Float(f) => (age_ms as f64) > f * 1000.0,
        Value::Bool(b) => age_ms > if *b { 1000 } else { 0 },
        _ => false,
    }
}

fn validate(ev: &mut Ev, ctx: &Context) {
    let actions = ctx.actions(ev.token.as_deref().unwrap_or(b""), &ev.distinct_id);
    if actions.drop {
        ev.outcome = Some("drop:restricted");
        return;
    }
    if actions.dlq {
        return ev.set_dlq("restricted", "validate");
    }
    ev.force_overflow = actions.force_overflow;
    ev.skip_person = actions.skip_person;
    let team = &ctx.teams[ev.team];
    if let Some(max_age) = &team.max_age_s {
        apply_timestamp(ev);
        if older_than(ev.now_ms - ev.timestamp_ms.unwrap(), max_age) {
            ev.outcome = Some("drop:old_event");
            return;
        }
    }
    if ev.name == b"$groupidentify" {
        if let Some(Value::Str(key)) = ev.properties.get(b"$group_key".as_slice()) {
            if char_len(key) > MAX_GROUP_KEY {
                ev.outcome = Some("drop:group_key_too_long");
            }
        }
    }
}

/// The object under `key` taken out of props (an empty one if it is absent or not an object),
/// and where `key` is, for put_object.
fn take_object(props: &mut Map, key: &[u8]) -> (Map, Option<usize>) {
    // Python copies the dict and stores the copy back under the same key; the original is not
    // referenced anywhere else, so updating it in place is the same (and keeps the key's position)
    let at = props.position(key);
    let taken = match at.and_then(|p| props.get_index_mut(p)) {
        Some(Value::Object(m)) => std::mem::take(&mut **m),
        _ => json::new_map(),
    };
    (taken, at)
}

/// props[key] = m, where take_object found key (positions do not move in between: the caller
/// only appends): no second lookup.
fn put_object(props: &mut Map, key: &[u8], at: Option<usize>, m: Map) {
    match at.and_then(|p| props.get_index_mut(p)) {
        Some(slot) => *slot = Value::Object(Box::new(m)),
        None => props.push_absent(key.into(), Value::Object(Box::new(m))),
    }
}

/// Returns whether `$set` and `$set_once` were built here from nothing, their members'
/// event-to-person key numbers then in `keys`.
fn add_initial_properties(props: &mut Map, keys: &mut Vec<u8>) -> bool {
    // positions, not copies: the values are cloned once each into the maps below (the $set /
    // $set_once taken out of props keep their positions, so these stay valid until the loop ends)
    // on the stack: a map's keys are distinct, so at most one member per event-to-person key
    let mut found_at = [(0u32, 0u8); EVENT_TO_PERSON.len()];
    let mut n = 0;
    for (i, (k, _)) in props.iter().enumerate() {
        if let Some(e) = event_to_person(k) {
            found_at[n] = (i as u32, e as u8);
            n += 1;
        }
    }
    let found = &found_at[..n];
    if found.is_empty() {
        return false;
    }
    let (mut to_set, set_at) = take_object(props, b"$set");
    let (mut to_set_once, set_once_at) = take_object(props, b"$set_once");
    let absent = |m: &Map, k: &[u8]| m.get(k).map_or(true, Value::is_null);
    // Most events bring no $set/$set_once of their own: then every key below is absent (the
    // found keys are distinct, and so are their `$initial_` names, none of which is itself an
    // event-to-person key), so they are appended without the two lookups and the insert's own.
    let fresh = to_set.is_empty() && to_set_once.is_empty();
    // room for all of them at once (growing from empty reallocated each map three or four times)
    to_set.reserve(found.len());
    to_set_once.reserve(found.len() + 1);
    INITIAL_NAMES.with(|names| {
        for &(at, e) in found {
            let (key, value) = props.get_index(at as usize).expect("a position found above");
            if *key == b"$os_name" {
                continue; // only a fallback alias of $os, below
            }
            let key = key.clone();
            let initial = &names[e as usize];
            if fresh {
                to_set_once.push_absent(initial.clone(), value.clone());
                to_set.push_absent(key, value.clone());
                keys.push(e);
                continue;
            }
            let set_once = absent(&to_set_once, initial);
            if absent(&to_set, &key) {
                if set_once {
                    to_set_once.insert(initial.clone(), value.clone());
                }
                to_set.insert(key, value.clone());
            } else if set_once {
                to_set_once.insert(initial.clone(), value.clone());
            }
        }
    });
    if let Some(Value::Str(os_name)) = props.get(b"$os_name".as_slice()) {
        if !os_name.is_empty() {
            let os = Value::Str(os_name.clone());
            if absent(props, b"$os") {
                props.insert(b"$os".into(), os.clone());
            }
            let sizes = (to_set.len(), to_set_once.len());
            if absent(&to_set, b"$os") {
                to_set.insert(b"$os".into(), os.clone());
            }
            if absent(&to_set_once, b"$initial_os") {
                to_set_once.insert(b"$initial_os".into(), os);
            }
            if (to_set.len(), to_set_once.len()) != sizes {
                keys.push(event_to_person(b"$os").expect("an event-to-person key") as u8);
            }
        }
    }
    // (defs::collect checks both maps' sizes against the numbers before it uses them)
    let numbered = fresh && to_set.len() == keys.len() && to_set_once.len() == keys.len();
    put_object(props, b"$set", set_at, to_set);
    // `$set` appended above is not `$set_once`: still absent if it was
    put_object(props, b"$set_once", set_once_at, to_set_once);
    numbered
}

fn normalize(ev: &mut Ev, team: &Team) {
    ev.person_processing = !(ev.skip_person
        || team.person_processing_opt_out
        || ev.force_disable_pp
        || matches!(ev.properties.get(b"$process_person_profile".as_slice()), Some(Value::Bool(false))));
    let name = ev.name.as_slice();
    if !ev.person_processing && matches!(name, b"$identify" | b"$create_alias" | b"$merge_dangerously" | b"$groupidentify") {
        ev.outcome = Some("drop:person_processing_disabled");
        return;
    }
    if ev.person_processing && name != b"$groupidentify" {
        if name != b"$snapshot" && name != b"$performance_event" {
            ev.initial_keys_valid = add_initial_properties(&mut ev.properties, &mut ev.initial_keys);
        }
    } else {
        for k in [b"$set".as_slice(), b"$set_once", b"$unset"] {
            ev.properties.shift_remove(k);
        }
    }
    apply_timestamp(ev);
}

// ---------------------------------------------------------------------------------------------
// heatmaps

fn coordinate(v: Option<&Value>) -> Option<f64> {
    let f = match v? {
        Value::Int(i) => *i as f64,
        Value::UInt(u) => *u as f64,
        Value::Float(f) => *f,
        _ => return None,
    };
    // exact for ints: any int whose double lands in range is within 2^53 of it
    (-MAX_COORDINATE..=MAX_COORDINATE).contains(&f).then_some(f)
}

fn scaled(v: Option<&Value>) -> i64 {
    coordinate(v).map_or(0, |f| (f / SCALE_FACTOR as f64).ceil() as i64)
}

fn extract_heatmaps(ev: &mut Ev) {
    let Some(data) = ev.properties.shift_remove(b"$heatmap_data".as_slice()) else { return };
    let Value::Object(data) = data else { return };
    let props = &ev.properties;
    let session_id = match props.get(b"$session_id".as_slice()) {
        Some(Value::Str(s)) => s.to_vec(),
        _ => Vec::new(),
    };
    let vw = scaled(props.get(b"$viewport_width".as_slice()));
    let vh = scaled(props.get(b"$viewport_height".as_slice()));
    for (url, points) in data.iter() {
        let Value::Array(points) = points else { continue };
        for p in points {
            let Value::Object(p) = p else { continue };
            let (x, y) = (p.get(b"x".as_slice()), p.get(b"y".as_slice()));
            let Some(Value::Str(kind)) = p.get(b"type".as_slice()) else { continue };
            if coordinate(x).is_none() || coordinate(y).is_none() {
                continue;
            }
            ev.heat_rows.push(HeatRow {
                session_id: session_id.clone(),
                viewport_width: vw,
                viewport_height: vh,
                x: scaled(x),
                y: scaled(y),
                fixed: matches!(p.get(b"target_fixed".as_slice()), Some(Value::Bool(true))),
                url: url.to_vec(),
                kind: kind.to_vec(),
            });
        }
    }
}

// ---------------------------------------------------------------------------------------------
// output records

fn b64(out: &mut Vec<u8>, data: &[u8]) {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = ((b[0] as u32) << 16) | ((b[1] as u32) << 8) | b[2] as u32;
        out.push(T[(n >> 18) as usize & 63]);
        out.push(T[(n >> 12) as usize & 63]);
        out.push(if chunk.len() > 1 { T[(n >> 6) as usize & 63] } else { b'=' });
        out.push(if chunk.len() > 2 { T[n as usize & 63] } else { b'=' });
    }
}

fn opt_b64(w: &mut ObjWriter<'_>, k: &str, data: Option<&[u8]>) {
    match data {
        Some(d) => {
            let mut s = Vec::with_capacity(d.len() * 4 / 3 + 4);
            b64(&mut s, d);
            w.str(k, &s);
        }
        None => {
            w.null(k);
        }
    }
}

/// A timestamp as the rows spell it, on the stack in the usual range (years 0..=9999): digits
/// and punctuation only, written with ObjWriter::plain_str.
enum Ts {
    Fixed([u8; 23], usize),
    Other(Vec<u8>),
}

impl std::ops::Deref for Ts {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Ts::Fixed(b, n) => &b[..*n],
            Ts::Other(v) => v,
        }
    }
}

/// `YYYY-MM-DD HH:MM:SS.mmm`, or without the milliseconds (format_seconds) when `seconds`.
fn ts(ms: i64, seconds: bool) -> Ts {
    match format_ms_fixed(ms) {
        Some(b) => Ts::Fixed(b, if seconds { 19 } else { 23 }),
        None => {
            let mut o = Vec::with_capacity(24);
            (if seconds { format_seconds } else { format_ms })(&mut o, ms);
            Ts::Other(o)
        }
    }
}

fn ts_ms(ms: i64) -> Ts {
    ts(ms, false)
}

fn ts_s(ms: i64) -> Ts {
    ts(ms, true)
}

impl Pipeline {
    fn encode_event_row(&self, out: &mut Vec<u8>, ev: &Ev, rec: &RecordRef<'_>, row: &EventRow) {
        let team = &self.ctx.teams[ev.team];
        let person = ev.person.as_ref().expect("persons ran");
        let now = ts_ms(ev.now_ms);
        let data_text = match ev.outer.get(b"data".as_slice()) {
            Some(Value::Str(t)) => t.as_slice(),
            _ => b"",
        };
        let raw_lit = match (rec.value, ev.outer_spans.data_lit) {
            (Some(v), Some((a, z))) => &v[a as usize..z as usize],
            _ => b"",
        };
        let mut w = ObjWriter::new(out);
        w.plain_str("uuid", &ev.uuid)
            .str("event", &ev.name)
            .with("properties", |out| {
                json::write_props_as_str::<true>(out, &ev.properties, data_text, raw_lit, &ev.prop_spans, may_change, ev.printable)
            })
            .plain_str("timestamp", &ts_ms(ev.timestamp_ms.unwrap_or(0)))
            .int("team_id", team.id)
            .value("project_id", &team.project_id)
            .str("distinct_id", &ev.distinct_id)
            .str("elements_chain", &row.chain)
            .plain_str("created_at", &now)
            .plain_str("captured_at", &now)
            .str("person_id", &person.person_id)
            .raw("person_properties", &row.person_properties_lit)
            .plain_str("person_created_at", &ts_s(person.created_at_ms))
            .plain_str("person_mode", person.mode.as_bytes());
        w.finish();
    }

    fn encode_dlq(&self, out: &mut Vec<u8>, rec: &RecordRef<'_>, reason: &str, step: &str) {
        let mut w = ObjWriter::new(out);
        w.str("dlq_reason", reason.as_bytes())
            .str("dlq_step", step.as_bytes())
            .str("dlq_topic", &self.ctx.topic)
            .value("dlq_partition", &self.ctx.partition)
            .int("dlq_offset", rec.offset)
            .int("timestamp_ms", rec.timestamp_ms);
        opt_b64(&mut w, "key_b64", rec.key);
        opt_b64(&mut w, "value_b64", rec.value);
        w.finish();
    }
}

fn encode_overflow(out: &mut Vec<u8>, rec: &RecordRef<'_>, reason: &str) {
    let mut w = ObjWriter::new(out);
    w.int("offset", rec.offset).int("timestamp_ms", rec.timestamp_ms);
    opt_b64(&mut w, "key_b64", rec.key);
    w.str("reason", reason.as_bytes()).opt_str("value", rec.value);
    w.finish();
}

fn encode_heat(out: &mut Vec<u8>, ev: &Ev, team_id: i64, h: &HeatRow) {
    let mut w = ObjWriter::new(out);
    w.str("session_id", &h.session_id)
        .int("team_id", team_id)
        .str("distinct_id", &ev.distinct_id)
        .plain_str("timestamp", &ts_ms(ev.timestamp_ms.unwrap_or(0)))
        .int("scale_factor", SCALE_FACTOR)
        .int("viewport_width", h.viewport_width)
        .int("viewport_height", h.viewport_height)
        .int("x", h.x)
        .int("y", h.y)
        .bool("pointer_target_fixed", h.fixed)
        .str("current_url", &h.url)
        .str("type", &h.kind);
    w.finish();
}

// ---------------------------------------------------------------------------------------------
// the stages, event by event
//
// The reference runs each stage over the whole batch before the next. Here each record goes
// through every stage while its parsed tree is still in cache, then the batch-wide tail runs
// (property-definition rows, flush). The outputs are the same: every piece of state shared
// across events (overflow buckets, person store, group store, touched sets, definition dedup)
// is read and written by one stage only, so running stage k of event j before stage k+1 of event
// j-1 changes nothing any stage sees. Why: a batch's trees (~10 KB per general event) do not fit
// in L2, and thirteen passes over them cost more in cache misses than the work (batch size 50 ran
// ~25% faster per event than 500 with the stage-by-stage loop).

/// What the per-event stages share across a batch.
struct Batch {
    touches: Touches,
    touched_groups: IndexSet<GroupKey, ahash::RandomState>,
    seen: defs::Seen,
    defs: Vec<defs::DefRow>,
    streams: Vec<OutStream>,
}

impl Pipeline {
    /// Stage `i` for one record; nothing when the stage does not apply to it (its filter).
    fn event_stage(&mut self, i: usize, ev: &mut Ev, rec: &RecordRef<'_>, b: &mut Batch) {
        let ctx = &self.ctx;
        let live = ev.outcome.is_none();
        match i {
            0 => {} // decode_block, for the whole block
            1 if live => match &ev.token {
                None => ev.outcome = Some("drop:missing_token"),
                Some(t) => match ctx.team_by_token.get(t.as_slice()) {
                    None => ev.outcome = Some("drop:unknown_token"),
                    Some(&team) => ev.team = team,
                },
            },
            2 if live => sanitize(ev),
            3 if live => validate(ev, ctx),
            4 if live => {
                let s = &ctx.settings;
                let reason = if ev.force_overflow {
                    "forced"
                } else if s.overflow_enabled {
                    // `token:distinct_id` in a buffer kept across events (a Vec per event was an allocation)
                    let key = &mut self.bucket_key;
                    key.clear();
                    key.extend_from_slice(ev.token.as_deref().unwrap_or(b""));
                    key.push(b':');
                    key.extend_from_slice(&ev.distinct_id);
                    if take(&mut self.buckets, key, ev.now_ms, s.capacity, s.replenish_per_s) {
                        return;
                    }
                    "rate_limited"
                } else {
                    return;
                };
                ev.outcome = Some("overflow");
                ev.overflow = Some(reason);
            }
            5 if live => normalize(ev, &ctx.teams[ev.team]),
            6 if live && ev.name != b"$$heatmap" => {
                let team_id = ctx.teams[ev.team].id;
                let mut pe = PersonEvent {
                    team_id,
                    name: &ev.name,
                    distinct_id: &ev.distinct_id,
                    uuid: &ev.uuid,
                    timestamp_ms: ev.timestamp_ms.unwrap_or(0),
                    person_processing: ev.person_processing,
                    properties: &ev.properties,
                    warnings: &mut ev.warnings,
                };
                let r = self.persons.process(&mut pe, &mut b.touches);
                ev.person = Some(r);
            }
            7 if live && ev.name != b"$$heatmap" => {
                let team = &ctx.teams[ev.team];
                add_group_properties(team, &mut ev.properties);
                if ev.name == b"$groupidentify" {
                    self.groups.upsert(team, &ev.properties, ev.timestamp_ms.unwrap_or(0), &mut b.touched_groups);
                }
            }
            8 if live => {
                extract_heatmaps(ev);
                if ev.name == b"$$heatmap" {
                    ev.outcome = Some("heatmap");
                }
            }
            9 if live => {
                let chain = elements_chain(&mut ev.properties);
                if ctx.teams[ev.team].anonymize_ips {
                    ev.properties.shift_remove(b"$ip".as_slice());
                }
                let person_properties_lit = match ev.person.as_ref() {
                    Some(r @ PersonResult { properties: Some(p), .. }) => self.person_json.text(p, r.base.as_ref()),
                    _ => Rc::from(&b"\"{}\""[..]),
                };
                ev.row = Some(EventRow { person_properties_lit, chain });
                ev.outcome = Some("event");
            }
            10 if ev.outcome == Some("event") => {
                let initial = ev.initial_keys_valid.then_some(defs::InitialKeys { keys: &ev.initial_keys });
                defs::collect(&mut b.seen, &ctx.teams[ev.team], &ev.name, &ev.properties, ev.now_ms, initial);
            }
            11 => self.emit_event(ev, rec, &mut b.streams),
            _ => {}
        }
    }

    fn emit_event(&self, ev: &Ev, rec: &RecordRef<'_>, streams: &mut [OutStream]) {
        if let Some(row) = &ev.row {
            streams[S_EVENTS].record(|out| self.encode_event_row(out, ev, rec, row));
            if ev.name.starts_with(b"$ai_") {
                let (events, rest) = streams.split_at_mut(S_AI);
                rest[0].push(events[S_EVENTS].last().expect("the row just written"));
            }
        }
        let team_id = self.ctx.teams.get(ev.team).map(|t| t.id).unwrap_or(0);
        for h in &ev.heat_rows {
            streams[S_HEATMAPS].record(|out| encode_heat(out, ev, team_id, h));
        }
        for (kind, details) in &ev.warnings {
            streams[S_WARNINGS].record(|out| {
                    let mut w = ObjWriter::new(out);
                    w.int("team_id", team_id)
                        .plain_str("source", b"plugin-server")
                        .plain_str("type", kind.as_bytes())
                        .json_str("details", details)
                        .plain_str("timestamp", &ts_ms(ev.now_ms));
                    w.finish();
            });
        }
        if let Some(reason) = ev.overflow {
            streams[S_OVERFLOW].record(|out| encode_overflow(out, rec, reason));
        }
        if let Some((reason, step)) = ev.dlq {
            streams[S_DLQ].record(|out| self.encode_dlq(out, rec, reason, step));
        }
    }

    /// The property-definition rows of the batch, after every event's.
    fn emit_defs(&self, b: &mut Batch) {
        for d in &b.defs {
            b.streams[S_DEFS].record(|out| {
                let mut w = ObjWriter::new(out);
                w.int("team_id", d.team_id)
                    .value("project_id", &d.project_id)
                    .str("name", &d.name)
                    .plain_str("type", defs::kind_name(d.kind));
                match d.group_type_index {
                    Some(i) => w.int("group_type_index", i),
                    None => w.null("group_type_index"),
                };
                w.opt_str("property_type", d.property_type.map(str::as_bytes));
                w.finish();
            });
        }
    }

    fn flush(&self, b: &mut Batch) {
        let streams = &mut b.streams;
        for &pid in &b.touches.persons {
            let p = &self.persons.persons[pid];
            streams[S_PERSONS].record(|out| {
                let mut w = ObjWriter::new(out);
                w.str("id", &p.id)
                    .plain_str("created_at", &ts_s(p.created_at_ms))
                    .map_as_str("properties", &p.properties)
                    .int("team_id", p.team_id)
                    .int("is_identified", p.is_identified as i64)
                    .int("is_deleted", p.is_deleted as i64)
                    .int("version", if p.is_deleted { p.version + 100 } else { p.version });
                w.finish();
            });
        }
        for (team_id, did) in &b.touches.distinct_ids {
            if let Some(pid) = self.persons.get(*team_id, did) {
                let version = self.persons.distinct_id_version(*team_id, did);
                streams[S_DISTINCT_IDS].record(|out| {
                    let mut w = ObjWriter::new(out);
                    w.str("distinct_id", did)
                        .str("person_id", &self.persons.persons[pid].id)
                        .int("team_id", *team_id)
                        .int("version", version)
                        .int("is_deleted", 0);
                    w.finish();
                });
            }
        }
        for key in &b.touched_groups {
            if let Some(g) = self.groups.groups.get(key) {
                streams[S_GROUPS].record(|out| {
                    let mut w = ObjWriter::new(out);
                    w.int("team_id", key.0)
                        .int("group_type_index", key.1)
                        .str("group_key", &key.2)
                        .map_as_str("group_properties", &g.properties)
                        .plain_str("created_at", &ts_ms(g.created_at_ms))
                        .int("version", g.version);
                    w.finish();
                });
            }
        }
    }
}

/// overflow.TokenBuckets.take: one token at message time now_ms; false when over the limit.
fn take(buckets: &mut AHashMap<Str, (f64, i64)>, key: &[u8], now_ms: i64, capacity: f64, rate: f64) -> bool {
    let state = match buckets.get_mut(key) {
        Some(s) => {
            if now_ms > s.1 {
                // (elapsed_ms * rate) / 1000.0, in this order, as in every implementation
                s.0 = capacity.min(s.0 + (now_ms - s.1) as f64 * rate / 1000.0);
                s.1 = now_ms;
            }
            s
        }
        None => buckets.entry(key.to_vec()).or_insert((capacity, now_ms)),
    };
    if state.0 >= 1.0 {
        state.0 -= 1.0;
        true
    } else {
        false
    }
}

/// Cheap per-stage clock for the instrumented run: the time-stamp counter, converted to
/// nanoseconds with the batch's own Instant-measured duration (a clock read per stage per event
/// through clock_gettime would cost more than some stages).
#[inline(always)]
pub fn ticks() -> u64 {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: rdtsc has no preconditions.
    unsafe {
        std::arch::x86_64::_rdtsc()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        std::time::UNIX_EPOCH.elapsed().map_or(0, |d| d.as_nanos() as u64)
    }
}

/// Scale per-stage tick counts to nanoseconds so that they add up to the batch's measured time.
pub fn ticks_to_ns(stage_ticks: &[u64], elapsed_ns: u64) -> Vec<u64> {
    let total: u64 = stage_ticks.iter().sum();
    if total == 0 {
        return vec![0; stage_ticks.len()];
    }
    stage_ticks.iter().map(|&t| (t as u128 * elapsed_ns as u128 / total as u128) as u64).collect()
}

/// Records taken through the stages together: each stage's code runs for a few records in a row
/// (one record at a time refetched ~76 KB of code per record, callgrind's I1 misses) while their
/// trees stay in cache (a whole batch's, ~5 MB, did not). Alternated passes: 4 records ~2.8% faster
/// than 1, 8 alike, 32 ~1.3% (seventh step); since decode parses each layer of the block's
/// records in a pass of its own (eleventh step), 8 is ~0.9% faster than 4 (the floor's best stays 4).
pub const BLOCK: usize = 8;

impl Mode for Pipeline {
    fn process(&mut self, records: &[RecordRef<'_>], instrument: bool, mut events: OutStream) -> BatchResult {
        let mut b = Batch {
            touches: Touches::default(),
            touched_groups: IndexSet::default(),
            seen: defs::Seen::default(),
            defs: Vec::new(),
            streams: out_streams(STREAMS.len(), &self.out_sizes),
        };
        events.reserve(self.out_sizes.first().copied().map_or((0, 0), with_margin));
        b.streams[0] = events;
        // indexes into STAGES
        const DEFS: usize = 10;
        const EMIT: usize = 11;
        const FLUSH: usize = 12;
        let mut stage_ticks = vec![0u64; STAGES.len()];
        let started = instrument.then(Instant::now);
        let mut counts: Vec<(String, u64)> = Vec::new();
        let mut evs: Vec<Ev> = (0..BLOCK.min(records.len())).map(|_| Ev::new()).collect();
        for chunk in records.chunks(BLOCK) {
            // the previous block's trees are dropped here, while they are still in cache; the
            // span buffers are kept
            for ev in evs.iter_mut().take(chunk.len()) {
                let members = std::mem::take(&mut ev.prop_spans.members);
                let mut initial_keys = std::mem::take(&mut ev.initial_keys);
                initial_keys.clear();
                *ev = Ev::new();
                ev.prop_spans.members = members;
                ev.initial_keys = initial_keys;
            }
            for i in 0..=EMIT {
                let t0 = if instrument { ticks() } else { 0 };
                if i == 0 {
                    decode_block(&mut evs[..chunk.len()], chunk);
                } else {
                    for (ev, rec) in evs.iter_mut().zip(chunk) {
                        self.event_stage(i, ev, rec, &mut b);
                    }
                }
                if instrument {
                    stage_ticks[i] += ticks() - t0;
                }
            }
            for ev in evs.iter().take(chunk.len()) {
                let o = ev.outcome.unwrap_or("unaccounted");
                match counts.iter_mut().find(|(k, _)| k == o) {
                    Some(e) => e.1 += 1,
                    None => counts.push((o.to_string(), 1)),
                }
            }
        }
        drop(evs);
        self.person_json.forget_unused();
        let t0 = ticks();
        b.defs = defs::sorted(std::mem::take(&mut b.seen));
        let t1 = ticks();
        self.emit_defs(&mut b);
        let t2 = ticks();
        self.flush(&mut b);
        let t3 = ticks();
        stage_ticks[DEFS] += t1 - t0;
        stage_ticks[EMIT] += t2 - t1;
        stage_ticks[FLUSH] += t3 - t2;
        let stage_ns = match started {
            Some(s) => ticks_to_ns(&stage_ticks, s.elapsed().as_nanos() as u64),
            None => vec![0; STAGES.len()],
        };
        self.out_sizes = b.streams.iter().map(OutStream::size).collect();
        BatchResult { streams: b.streams, outcomes: counts, stage_ns }
    }
}

#[cfg(test)]
mod uuid_tests {
    use super::is_uuid;

    fn plain(s: &[u8]) -> bool {
        s.len() == 36
            && s.iter().enumerate().all(|(i, &c)| if matches!(i, 8 | 13 | 18 | 23) { c == b'-' } else { c.is_ascii_hexdigit() })
    }

    #[test]
    fn uuid_check_agrees_with_the_plain_definition() {
        let good = b"0192e4c1-7a3b-7cde-8f01-23456789abCD";
        assert!(is_uuid(good));
        // every byte of a valid UUID replaced by each byte value; and lengths around 36
        for i in 0..36 {
            for b in 0..=255u8 {
                let mut s = *good;
                s[i] = b;
                assert_eq!(is_uuid(&s), plain(&s), "byte {i} = {b}");
            }
        }
        for n in [0, 35, 37] {
            let s = vec![b'a'; n];
            assert!(!is_uuid(&s));
        }
        assert!(!is_uuid(&good[..35]));
    }
}

#[cfg(test)]
mod key_table_tests {
    use super::*;

    /// Each key's index in the list is the one its lookup gives (the macro's two halves agree),
    /// and the `$initial_` names are the reference's.
    #[test]
    fn event_to_person_lookup_matches_the_list() {
        for (i, k) in EVENT_TO_PERSON.iter().enumerate() {
            assert_eq!(event_to_person(k), Some(i), "{}", String::from_utf8_lossy(k));
        }
        assert_eq!(event_to_person(b"$os_names"), None);
        INITIAL_NAMES.with(|names| {
            assert_eq!(names.len(), EVENT_TO_PERSON.len());
            assert_eq!(names[event_to_person(b"$os").unwrap()].as_slice(), b"$initial_os");
            assert_eq!(names[event_to_person(b"utm_source").unwrap()].as_slice(), b"$initial_utm_source");
        });
    }
}
