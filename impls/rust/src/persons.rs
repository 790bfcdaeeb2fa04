//! Stage persons (port of impls/reference/persons.py): identify / alias / merge, property
//! updates, personless events, over a deterministic in-memory store seeded from the snapshot.

use std::rc::Rc;

use ahash::AHashMap;
use indexmap::IndexSet;
use sha1::{Digest, Sha1};

use crate::json::{self, JStr, Map, Str, Value};
use crate::timestamps::parse_timestamp;

const PERSON_NAMESPACE: [u8; 16] = [
    0x93, 0x29, 0x79, 0xb4, 0x65, 0xc3, 0x44, 0x24, 0x84, 0x67, 0x0b, 0x66, 0xec, 0x27, 0xbc, 0x22,
];
pub const PERSONLESS_CREATED_AT_MS: i64 = 5000;
const FORCE_UPGRADE_AFTER_MS: i64 = 60_000;

const ILLEGAL_IDS_ANY_CASE: [&[u8]; 10] = [
    b"anonymous", b"guest", b"distinctid", b"distinct_id", b"id", b"not_authenticated", b"email", b"undefined",
    b"true", b"false",
];
const ILLEGAL_IDS_EXACT: [&[u8]; 7] = [b"[object Object]", b"NaN", b"None", b"none", b"null", b"0", b"undefined"];

pub fn person_uuid(team_id: i64, distinct_id: &[u8]) -> Str {
    let mut h = Sha1::new();
    h.update(PERSON_NAMESPACE);
    h.update(itoa::Buffer::new().format(team_id).as_bytes());
    h.update(b":");
    h.update(distinct_id);
    let d = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = Vec::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push(b'-');
        }
        out.push(HEX[(byte >> 4) as usize]);
        out.push(HEX[(byte & 15) as usize]);
    }
    out
}

fn is_ascii_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

pub fn is_illegal_id(id: &[u8]) -> bool {
    let start = id.iter().position(|&c| !is_ascii_ws(c));
    let Some(start) = start else { return true };
    let end = id.iter().rposition(|&c| !is_ascii_ws(c)).unwrap() + 1;
    let trimmed = &id[start..end];
    let check = |c: &[u8]| {
        // str.lower() only turns ASCII letters into these ASCII words (see the reference's note)
        ILLEGAL_IDS_EXACT.contains(&c) || ILLEGAL_IDS_ANY_CASE.iter().any(|w| w.eq_ignore_ascii_case(c))
    };
    if check(trimmed) {
        return true;
    }
    let n = trimmed.len();
    n >= 2 && trimmed[0] == trimmed[n - 1] && (trimmed[0] == b'"' || trimmed[0] == b'\'') && check(&trimmed[1..n - 1])
}

pub struct Person {
    /// shared with every event's PersonResult (a clone per event was an allocation)
    pub id: Rc<[u8]>,
    pub team_id: i64,
    pub created_at_ms: i64,
    /// replaced, never mutated in place (events keep snapshots of it)
    pub properties: Rc<Map>,
    pub is_identified: bool,
    pub version: i64,
    pub distinct_ids: Vec<Str>,
    pub is_deleted: bool,
}

pub type PersonId = usize;

#[derive(Default)]
pub struct PersonStore {
    pub persons: Vec<Person>,
    /// team → distinct id → (person, distinct-id version); nested so lookups borrow the id
    by_distinct_id: AHashMap<i64, AHashMap<Str, (PersonId, i64)>>,
}

fn map_get<'a>(m: &'a Map, k: &str) -> Option<&'a Value> {
    m.get(k.as_bytes())
}

impl PersonStore {
    pub fn from_snapshot(rows: &[Value]) -> Result<Self, String> {
        let mut store = PersonStore::default();
        for row in rows {
            let Value::Object(r) = row else { return Err("person is not an object".into()) };
            let created = match map_get(r, "created_at") {
                Some(Value::Str(s)) => parse_timestamp(s).unwrap_or(0),
                _ => 0,
            };
            let (Some(Value::Str(id)), Some(Value::Int(team_id))) = (map_get(r, "id"), map_get(r, "team_id")) else {
                return Err("person needs a string id and an integer team_id".into());
            };
            let person = Person {
                id: Rc::from(id.as_slice()),
                team_id: *team_id,
                created_at_ms: created,
                properties: Rc::new(match map_get(r, "properties") {
                    Some(Value::Object(m)) => (**m).clone(),
                    _ => json::new_map(),
                }),
                is_identified: map_get(r, "is_identified").map_or(false, Value::truthy),
                version: match map_get(r, "version") {
                    Some(Value::Int(v)) => *v,
                    Some(Value::Float(f)) => f.trunc() as i64,
                    _ => 0,
                },
                distinct_ids: match map_get(r, "distinct_ids") {
                    Some(Value::Array(a)) => a.iter().filter_map(|v| v.as_str().map(|s| s.to_vec())).collect(),
                    _ => Vec::new(),
                },
                is_deleted: false,
            };
            store.add(person);
        }
        Ok(store)
    }

    fn entry(&self, team_id: i64, did: &[u8]) -> Option<&(PersonId, i64)> {
        self.by_distinct_id.get(&team_id)?.get(did)
    }

    pub fn get(&self, team_id: i64, did: &[u8]) -> Option<PersonId> {
        self.entry(team_id, did).map(|e| e.0)
    }

    pub fn distinct_id_version(&self, team_id: i64, did: &[u8]) -> i64 {
        self.entry(team_id, did).map_or(-1, |e| e.1)
    }

    pub fn add(&mut self, person: Person) -> PersonId {
        let pid = self.persons.len();
        let team = self.by_distinct_id.entry(person.team_id).or_default();
        for did in &person.distinct_ids {
            team.insert(did.clone(), (pid, 0));
        }
        self.persons.push(person);
        pid
    }

    fn move_distinct_id(&mut self, team_id: i64, did: &[u8], pid: PersonId, version: i64) {
        self.by_distinct_id.entry(team_id).or_default().insert(did.to_vec(), (pid, version));
        let p = &mut self.persons[pid];
        if !p.distinct_ids.iter().any(|d| d == did) {
            p.distinct_ids.push(did.to_vec());
        }
    }
}

/// What the batch changed, in first-touch order, for the flush stage.
#[derive(Default)]
pub struct Touches {
    pub persons: IndexSet<PersonId, ahash::RandomState>,
    pub distinct_ids: IndexSet<(i64, Str), ahash::RandomState>,
}

/// What process_person needs from the event, and what it writes back.
pub struct PersonEvent<'a> {
    pub team_id: i64,
    pub name: &'a [u8],
    pub distinct_id: &'a [u8],
    pub uuid: &'a [u8],
    pub timestamp_ms: i64,
    pub person_processing: bool,
    pub properties: &'a Map,
    pub warnings: &'a mut Vec<(&'static str, Vec<u8>)>,
}

pub struct PersonResult {
    pub person_id: Rc<[u8]>,
    pub properties: Option<Rc<Map>>,
    pub created_at_ms: i64,
    pub mode: &'static str,
    /// When `properties` is the person's stored properties with values changed or appended (none
    /// removed): those, and the positions in `properties` that differ from them (ascending), so
    /// that their JSON can be patched rather than written again (`json::map_as_str_patched`).
    pub base: Option<(Rc<Map>, Vec<u32>)>,
}

fn warn(ev: &mut PersonEvent<'_>, kind: &'static str, fields: &[(&str, &[u8])]) {
    let mut out = Vec::new();
    let mut w = json::ObjWriter::new(&mut out);
    w.str("eventUuid", ev.uuid);
    for (k, v) in fields {
        w.str(k, v);
    }
    w.finish();
    ev.warnings.push((kind, out));
}

fn is_merge_event(name: &[u8]) -> bool {
    matches!(name, b"$identify" | b"$create_alias" | b"$merge_dangerously")
}

fn is_person_event(name: &[u8]) -> bool {
    matches!(name, b"$identify" | b"$create_alias" | b"$merge_dangerously" | b"$set")
}

impl PersonStore {
    fn merge(&mut self, ev: &mut PersonEvent<'_>, other: &[u8], touches: &mut Touches) -> (Option<PersonId>, bool) {
        let team_id = ev.team_id;
        let into = ev.distinct_id;
        if other == into {
            return (None, false);
        }
        for (candidate, counterpart) in [(into, other), (other, into)] {
            if is_illegal_id(candidate) {
                warn(
                    ev,
                    "cannot_merge_with_illegal_distinct_id",
                    &[("illegalDistinctId", candidate), ("otherDistinctId", counterpart)],
                );
                return (None, false);
            }
        }
        let into_p = self.get(team_id, into);
        let other_p = self.get(team_id, other);
        match (into_p, other_p) {
            (None, None) => {
                let pid = self.add(Person {
                    id: Rc::from(person_uuid(team_id, into)),
                    team_id,
                    created_at_ms: ev.timestamp_ms,
                    properties: Rc::new(json::new_map()),
                    is_identified: true,
                    version: 0,
                    distinct_ids: vec![into.to_vec(), other.to_vec()],
                    is_deleted: false,
                });
                touches.persons.insert(pid);
                touches.distinct_ids.insert((team_id, into.to_vec()));
                touches.distinct_ids.insert((team_id, other.to_vec()));
                (Some(pid), true)
            }
            (Some(pid), None) | (None, Some(pid)) => {
                let missing = if into_p.is_some() { other } else { into };
                self.move_distinct_id(team_id, missing, pid, 0);
                touches.distinct_ids.insert((team_id, missing.to_vec()));
                let p = &mut self.persons[pid];
                if !p.is_identified {
                    p.is_identified = true;
                    p.version += 1;
                    touches.persons.insert(pid);
                    return (Some(pid), true);
                }
                (Some(pid), false)
            }
            (Some(ip), Some(op)) => {
                if ip == op {
                    return (Some(ip), false);
                }
                if self.persons[op].is_identified && ev.name != b"$merge_dangerously" {
                    warn(
                        ev,
                        "cannot_merge_already_identified",
                        &[("sourcePersonDistinctId", other), ("targetPersonDistinctId", into)],
                    );
                    return (Some(ip), false);
                }
                // {**other.properties, **into.properties}
                let mut merged = (*self.persons[op].properties).clone();
                for (k, v) in self.persons[ip].properties.iter() {
                    merged.insert(k.clone(), v.clone());
                }
                let (o_created, o_version) = (self.persons[op].created_at_ms, self.persons[op].version);
                {
                    let p = &mut self.persons[ip];
                    p.properties = Rc::new(merged);
                    p.created_at_ms = p.created_at_ms.min(o_created);
                    p.version = p.version.max(o_version) + 1;
                    p.is_identified = true;
                }
                touches.persons.insert(ip);
                let dids = self.persons[op].distinct_ids.clone();
                for did in dids {
                    let v = self.distinct_id_version(team_id, &did) + 1;
                    self.move_distinct_id(team_id, &did, ip, v);
                    touches.distinct_ids.insert((team_id, did));
                }
                self.persons[op].is_deleted = true;
                touches.persons.insert(op);
                (Some(ip), true)
            }
        }
    }

    fn personless(&self, ev: &PersonEvent<'_>) -> PersonResult {
        if let Some(pid) = self.get(ev.team_id, ev.distinct_id) {
            let p = &self.persons[pid];
            if ev.timestamp_ms - p.created_at_ms > FORCE_UPGRADE_AFTER_MS {
                return PersonResult {
                    person_id: p.id.clone(),
                    properties: Some(p.properties.clone()),
                    created_at_ms: p.created_at_ms,
                    mode: "force_upgrade",
                    base: None,
                };
            }
        }
        PersonResult {
            person_id: Rc::from(person_uuid(ev.team_id, ev.distinct_id)),
            properties: None,
            created_at_ms: PERSONLESS_CREATED_AT_MS,
            mode: "propertyless",
            base: None,
        }
    }

    /// Per event, in batch order.
    pub fn process(&mut self, ev: &mut PersonEvent<'_>, touches: &mut Touches) -> PersonResult {
        if !ev.person_processing {
            return self.personless(ev);
        }
        let team_id = ev.team_id;
        let props = ev.properties;
        let mut person = None;
        let mut bumped = false;
        if is_merge_event(ev.name) {
            let key: &[u8] = if ev.name == b"$identify" { b"$anon_distinct_id" } else { b"alias" };
            if let Some(Value::Str(other)) = props.get(key) {
                (person, bumped) = self.merge(ev, other, touches);
            }
        }
        if person.is_none() {
            person = self.get(team_id, ev.distinct_id);
        }
        let pid = match person {
            Some(p) => p,
            None => {
                let pid = self.add(Person {
                    id: Rc::from(person_uuid(team_id, ev.distinct_id)),
                    team_id,
                    created_at_ms: ev.timestamp_ms,
                    properties: Rc::new(json::new_map()),
                    is_identified: false,
                    version: 0,
                    distinct_ids: vec![ev.distinct_id.to_vec()],
                    is_deleted: false,
                });
                touches.persons.insert(pid);
                touches.distinct_ids.insert((team_id, ev.distinct_id.to_vec()));
                bumped = true;
                pid
            }
        };
        let (updated, only_filtered, changed) = apply_updates(&self.persons[pid].properties, props);
        let mut base = None;
        let event_props = match updated {
            Some(updated) => {
                let updated = Rc::new(updated);
                base = changed.map(|c| (self.persons[pid].properties.clone(), c));
                if !bumped && only_filtered && !is_person_event(ev.name) {
                    // the event sees them; the person is not written
                } else {
                    let p = &mut self.persons[pid];
                    p.properties = updated.clone();
                    if !bumped {
                        p.version += 1;
                    }
                    touches.persons.insert(pid);
                }
                updated
            }
            None => self.persons[pid].properties.clone(),
        };
        let p = &self.persons[pid];
        PersonResult { person_id: p.id.clone(), properties: Some(event_props), created_at_ms: p.created_at_ms, mode: "full", base }
    }
}

/// FILTERED_PERSON_KEYS or `$geoip_*`: `$set` changes to only these on a non-person event do
/// not write the person.
fn is_filtered(key: &[u8]) -> bool {
    matches!(
        key,
        b"$current_url" | b"$pathname" | b"$referrer" | b"$referring_domain" | b"$screen_height" | b"$screen_width"
            | b"$viewport_height" | b"$viewport_width" | b"$browser" | b"$browser_version" | b"$os" | b"$os_version"
            | b"$os_name" | b"$device_type" | b"$raw_user_agent" | b"$app_build" | b"$app_name" | b"$app_namespace"
            | b"$app_version"
    ) || key.starts_with(b"$geoip_")
}

/// New properties (None if unchanged), whether every change is a filtered `$set` key, and (when
/// nothing was removed) the positions in the new properties that differ from `current`, ascending.
fn apply_updates(current: &Map, props: &Map) -> (Option<Map>, bool, Option<Vec<u32>>) {
    let empty = json::new_map();
    let to_set = match props.get(b"$set".as_slice()) {
        Some(Value::Object(m)) => &**m,
        _ => &empty,
    };
    let to_set_once = match props.get(b"$set_once".as_slice()) {
        Some(Value::Object(m)) => &**m,
        _ => &empty,
    };
    let unset: Vec<&[u8]> = match props.get(b"$unset".as_slice()) {
        Some(Value::Object(m)) => m.keys().map(|k| k.as_slice()).collect(),
        Some(Value::Array(a)) => a.iter().filter_map(|v| v.as_str()).collect(),
        _ => Vec::new(),
    };
    // the changes in the reference's order, each with where its key is in `current` (None: to
    // be appended), so that applying them needs no second lookup and no map of their own
    let mut changes: Vec<(Option<usize>, &JStr, &Value)> = Vec::with_capacity(to_set_once.len() + to_set.len());
    let mut only_filtered = true;
    // a map's keys are distinct: a `$set_once` key is never already among the changes
    for (k, v) in to_set_once {
        if !current.contains_key(k) {
            changes.push((None, k, v));
            only_filtered = false;
        }
    }
    let from_once = changes.len();
    for (k, v) in to_set {
        let at = current.position(k);
        if let Some((_, cur)) = at.and_then(|p| current.get_index(p)) {
            if json::json_equal(cur, v) {
                continue;
            }
        }
        // nor a `$set` key among the `$set` changes before it; a key absent from `current` may be
        // among the `$set_once` ones, and then takes this value there (dict update order)
        match changes[..from_once].iter_mut().find(|c| at.is_none() && c.1 == k) {
            Some(c) => c.2 = v,
            None => changes.push((at, k, v)),
        }
        if !is_filtered(k) {
            only_filtered = false;
        }
    }
    let removals: Vec<&[u8]> =
        unset.into_iter().filter(|k| current.contains_key(*k) || changes.iter().any(|c| c.1.as_slice() == *k)).collect();
    if changes.is_empty() && removals.is_empty() {
        return (None, true, None);
    }
    if !removals.is_empty() {
        only_filtered = false;
    }
    let mut updated = current.clone();
    // insert(): in place when the key is there, else appended; noting where each change lands
    let mut changed = Vec::with_capacity(changes.len());
    for (at, k, v) in changes {
        match at {
            Some(p) => {
                *updated.get_index_mut(p).expect("a position in current") = v.clone();
                changed.push(p as u32);
            }
            None => {
                changed.push(updated.len() as u32);
                updated.push_absent(k.clone(), v.clone());
            }
        }
    }
    changed.sort_unstable();
    let changed = removals.is_empty().then_some(changed);
    for k in removals {
        updated.shift_remove(k);
    }
    (Some(updated), only_filtered, changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_v5_like_python() {
        // python: uuid.uuid5(UUID("932979b4-65c3-4424-8467-0b66ec27bc22"), "2:user_1")
        assert_eq!(String::from_utf8(person_uuid(2, b"user_1")).unwrap(), "77836d1e-f851-51c0-bccb-fe4e3ccee968");
    }

    /// apply_updates as first written: the changes gathered in a map with insert(), then applied
    /// with insert() (the oracle for the version that notes positions).
    fn apply_updates_by_inserts(current: &Map, props: &Map) -> (Option<Map>, bool, Option<Vec<u32>>) {
        let obj = |k: &str| match props.get(k.as_bytes()) {
            Some(Value::Object(m)) => (**m).clone(),
            _ => json::new_map(),
        };
        let (to_set, to_set_once) = (obj("$set"), obj("$set_once"));
        let unset: Vec<Vec<u8>> = match props.get(b"$unset".as_slice()) {
            Some(Value::Object(m)) => m.keys().map(|k| k.to_vec()).collect(),
            Some(Value::Array(a)) => a.iter().filter_map(|v| v.as_str().map(|s| s.to_vec())).collect(),
            _ => Vec::new(),
        };
        let mut changes = json::new_map();
        let mut only_filtered = true;
        for (k, v) in to_set_once.iter() {
            if !current.contains_key(k) {
                changes.insert(k.clone(), v.clone());
                only_filtered = false;
            }
        }
        for (k, v) in to_set.iter() {
            if current.get(k).is_some_and(|c| json::json_equal(c, v)) {
                continue;
            }
            changes.insert(k.clone(), v.clone());
            only_filtered &= is_filtered(k);
        }
        let removals: Vec<Vec<u8>> = unset.into_iter().filter(|k| current.contains_key(k) || changes.contains_key(k)).collect();
        if changes.is_empty() && removals.is_empty() {
            return (None, true, None);
        }
        only_filtered &= removals.is_empty();
        let mut updated = current.clone();
        let mut changed = Vec::new();
        for (k, v) in changes {
            changed.push(updated.position(&k).unwrap_or(updated.len()) as u32);
            updated.insert(k, v);
        }
        changed.sort_unstable();
        let changed = removals.is_empty().then_some(changed);
        for k in removals {
            updated.shift_remove(&k);
        }
        (Some(updated), only_filtered, changed)
    }

    #[test]
    fn updates_applied_as_dict_updates() {
        let parse = |s: &str| match json::parse(s.as_bytes()).unwrap() {
            Value::Object(m) => *m,
            _ => panic!(),
        };
        let currents = [r#"{}"#, r#"{"a":1,"$browser":"x","b":{"n":[1]}}"#];
        let updates = [
            r#"{}"#,
            r#"{"$set":{"a":1}}"#,
            r#"{"$set":{"a":2,"$browser":"y"}}"#,
            r#"{"$set":{"$browser":"y","$os":"z"}}"#,
            r#"{"$set_once":{"a":5,"c":3},"$set":{"c":4,"d":5}}"#,
            r#"{"$set_once":{"c":3,"e":6},"$set":{"e":7,"c":4,"b":{"n":[1]}}}"#,
            r#"{"$set":{"c":1},"$unset":["c","a","zz"]}"#,
            r#"{"$set_once":{"c":1},"$unset":{"c":null}}"#,
            r#"{"$unset":["b"],"$set":"not an object"}"#,
        ];
        for cur in currents {
            let current = parse(cur);
            for up in updates {
                let props = parse(up);
                let (got, want) = (apply_updates(&current, &props), apply_updates_by_inserts(&current, &props));
                let text = |m: &Option<Map>| m.as_ref().map(|m| String::from_utf8(json::to_bytes(&Value::Object(Box::new(m.clone())))).unwrap());
                assert_eq!((text(&got.0), got.1, got.2), (text(&want.0), want.1, want.2), "{cur} {up}");
            }
        }
    }

    #[test]
    fn illegal_ids() {
        assert!(is_illegal_id(b"  "));
        assert!(is_illegal_id(b" Anonymous "));
        assert!(is_illegal_id(b"\"null\""));
        assert!(is_illegal_id(b"'undefined'"));
        assert!(!is_illegal_id(b"user_1"));
        assert!(!is_illegal_id(b"NULL"));
    }
}
