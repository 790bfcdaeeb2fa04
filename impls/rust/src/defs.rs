//! Stage property_defs (port of impls/reference/properties.py): property definitions with type
//! detection, deduplicated per batch, sorted by (team, kind, group type index, name).

use ahash::AHashMap;

use crate::context::Team;
use crate::json::{self, JStr, Map, Str, Value};
use crate::timestamps::{parse_iso, parse_rfc2822};

const MAX_NAME_BYTES: usize = 200;
const MAX_ROWS_PER_EVENT: usize = 10_000;
const SIX_MONTHS_S: f64 = 15_768_000.0;
const DATE_KEYWORDS: [&[u8]; 6] = [b"time", b"date", b"_at", b"-at", b"createdat", b"updatedat"];

// kind order: event 1, person 2, group 3
pub const EVENT: u8 = 1;
pub const PERSON: u8 = 2;
pub const GROUP: u8 = 3;

fn d(c: u8) -> bool {
    c.is_ascii_digit()
}
fn sep(c: u8) -> bool {
    c == b'/' || c == b'-'
}

/// DATE_RE: `(YYYY[/-][0-2]D[/-][0-3]D | [0-2]D[/-][0-3]D[/-]YYYY)([ T][0-2]D:[0-6]D:[0-6]D.*)?`
fn date_re(s: &[u8]) -> bool {
    if s.len() < 10 {
        return false;
    }
    let a = d(s[0]) && d(s[1]) && d(s[2]) && d(s[3]) && sep(s[4]) && (b'0'..=b'2').contains(&s[5]) && d(s[6])
        && sep(s[7]) && (b'0'..=b'3').contains(&s[8]) && d(s[9]);
    let b = (b'0'..=b'2').contains(&s[0]) && d(s[1]) && sep(s[2]) && (b'0'..=b'3').contains(&s[3]) && d(s[4])
        && sep(s[5]) && d(s[6]) && d(s[7]) && d(s[8]) && d(s[9]);
    if !(a || b) {
        return false;
    }
    if s.len() == 10 {
        return true;
    }
    s.len() >= 19
        && (s[10] == b' ' || s[10] == b'T')
        && (b'0'..=b'2').contains(&s[11])
        && d(s[12])
        && s[13] == b':'
        && (b'0'..=b'6').contains(&s[14])
        && d(s[15])
        && s[16] == b':'
        && (b'0'..=b'6').contains(&s[17])
        && d(s[18])
}

pub fn likely_date(s: &[u8]) -> bool {
    date_re(s) || parse_iso(s, true).is_some() || parse_rfc2822(s).is_some()
}

/// `any(word in key for word in DATE_KEYWORDS)`. Every keyword holds a `t`, so a keyword found
/// in `key` ends its last `t` on a `t` of `key`: only those positions are tried (sliding each
/// keyword over the name cost ~40% of detect_type's instructions, callgrind).
fn has_date_keyword(key: &[u8]) -> bool {
    memchr::memchr_iter(b't', key).any(|p| {
        DATE_KEYWORDS.iter().any(|w| {
            let j = w.iter().rposition(|&c| c == b't').expect("every keyword holds a t");
            p >= j && key.get(p - j..p - j + w.len()) == Some(w)
        })
    })
}

pub fn detect_type(name: &[u8], value: &Value, now_ms: i64) -> Option<&'static str> {
    // ASCII lowercase is what str.lower() amounts to for these ASCII prefixes and words; lowered
    // on the stack (the caller skips names over MAX_NAME_BYTES before this)
    let mut stack = [0u8; MAX_NAME_BYTES];
    let heap;
    let key: &[u8] = match stack.get_mut(..name.len()) {
        Some(buf) => {
            buf.copy_from_slice(name);
            buf.make_ascii_lowercase();
            buf
        }
        None => {
            heap = name.to_ascii_lowercase();
            &heap
        }
    };
    if key.starts_with(b"utm_")
        || key.starts_with(b"$initial_utm_")
        || key.starts_with(b"$feature/")
        || key.starts_with(b"$survey_response")
        || key == b"$feature_flag_response"
    {
        return Some("String");
    }
    if has_date_keyword(key) {
        match value {
            Value::Str(s) if likely_date(s) => return Some("DateTime"),
            Value::Int(_) | Value::UInt(_) | Value::Float(_) => {
                let threshold = now_ms as f64 / 1000.0 - SIX_MONTHS_S;
                if json::number_ge(value, threshold) == Some(true) {
                    return Some("DateTime");
                }
            }
            _ => {}
        }
    }
    match value {
        Value::Str(s) => {
            if matches!(s.as_slice(), b"true" | b"false" | b"TRUE" | b"FALSE") {
                Some("Boolean")
            } else if likely_date(s) {
                Some("DateTime")
            } else {
                Some("String")
            }
        }
        Value::Int(_) | Value::UInt(_) | Value::Float(_) => Some("Numeric"),
        Value::Bool(_) => Some("Boolean"),
        _ => None,
    }
}

fn skipped_event_key(k: &[u8]) -> bool {
    // every skipped key starts with `$`: most keys are settled by their first two bytes
    // (called for every property of every event)
    if k.len() < 4 || k[0] != b'$' {
        return false;
    }
    match k[1] {
        b's' => k == b"$set" || k == b"$set_once",
        b'u' => k == b"$unset",
        b'g' => k == b"$groups" || (k.len() == 8 && k.starts_with(b"$group_") && (b'0'..=b'4').contains(&k[7])),
        b'f' => k.starts_with(b"$feature/") || k.starts_with(b"$feature_enrollment/"),
        _ => false,
    }
}

pub struct DefRow {
    pub team_id: i64,
    pub project_id: Value,
    pub name: Str,
    pub kind: u8,
    pub group_type_index: Option<i64>,
    pub property_type: Option<&'static str>,
}

/// The names seen in a batch for one (team, kind, group index), with their rows.
///
/// Why not a HashMap: every property of every event is looked up here (~50 per general event,
/// almost all already seen). A slot holds the name's first sixteen bytes and length, so a name
/// of up to 16 bytes (most) is settled by register compares, hashed from those bytes (`omap::slot_hash`, plus the
/// last eight for a longer one) that the parsed key already holds zero-padded
/// (`JStr::head16`): a HashMap lookup (Hasher plumbing, probe, byte compare) cost ~120
/// instructions (callgrind), this one ~30.
#[derive(Default)]
struct Names {
    /// open addressing; `row` is the row's index + 1, 0 for an empty slot; a power-of-two length
    slots: Vec<Slot>,
    rows: Vec<DefRow>,
    /// person names only: bit e of known[0] set once event-to-person key number e has its row,
    /// of known[1] once its `$initial_` name has (see `InitialKeys`)
    known: [u64; 2],
}

#[derive(Clone, Copy, Default)]
struct Slot {
    head: u128,
    len: u32,
    row: u32,
}

impl Names {
    /// Ok if the name has a row, else the free slot for it.
    #[inline(always)]
    fn find(&self, name: &[u8], head: u128, h: u64) -> Result<(), usize> {
        if self.slots.is_empty() {
            return Err(usize::MAX);
        }
        let mask = self.slots.len() - 1;
        let mut s = h as usize & mask;
        loop {
            let slot = self.slots[s];
            if slot.row == 0 {
                return Err(s);
            }
            if slot.head == head
                && slot.len as usize == name.len()
                && (name.len() <= 16 || crate::omap::long_eq(&self.rows[slot.row as usize - 1].name, name))
            {
                return Ok(());
            }
            s = (s + 1) & mask;
        }
    }

    fn add(&mut self, head: u128, h: u64, row: DefRow) {
        if (self.rows.len() + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let len = row.name.len() as u32;
        let Err(s) = self.find(&row.name, head, h) else { unreachable!("a name added twice") };
        self.rows.push(row);
        self.slots[s] = Slot { head, len, row: self.rows.len() as u32 };
    }

    fn grow(&mut self) {
        let n = (self.slots.len() * 2).max(256);
        let old = std::mem::replace(&mut self.slots, vec![Slot::default(); n]);
        let mask = n - 1;
        for slot in old.into_iter().filter(|s| s.row != 0) {
            let name = &self.rows[slot.row as usize - 1].name;
            let mut s = crate::omap::slot_hash(slot.head, name) as usize & mask;
            while self.slots[s].row != 0 {
                s = (s + 1) & mask;
            }
            self.slots[s] = slot;
        }
    }

    /// The row of a name, unless it has one already (the first occurrence's value types it).
    #[inline(always)]
    fn note(&mut self, team: &Team, kind: u8, index: Option<i64>, pname: &JStr, value: &Value, now_ms: i64) {
        if pname.len() > MAX_NAME_BYTES {
            return;
        }
        let head = pname.head16();
        let h = crate::omap::slot_hash(head, pname);
        if self.find(pname, head, h).is_ok() {
            return;
        }
        self.add(
            head,
            h,
            DefRow {
                team_id: team.id,
                project_id: team.project_id.clone(),
                name: pname.to_vec(),
                kind,
                group_type_index: index,
                property_type: detect_type(pname, value, now_ms),
            },
        );
    }
}

/// Per-batch dedup: (team, kind, index or -1) → name → row; first occurrence wins.
#[derive(Default)]
pub struct Seen {
    map: AHashMap<(i64, u8, i64), Names>,
}

impl Seen {
    fn names(&mut self, team: &Team, kind: u8, index: Option<i64>) -> &mut Names {
        self.map.entry((team.id, kind, index.unwrap_or(-1))).or_default()
    }

    fn add<'v>(&mut self, team: &Team, kind: u8, index: Option<i64>, members: impl Iterator<Item = (&'v JStr, &'v Value)>, now_ms: i64) {
        let names = self.names(team, kind, index);
        for (pname, value) in members {
            names.note(team, kind, index, pname, value, now_ms);
        }
    }
}

/// An event's `$set` and `$set_once` as normalize built them when the event brought neither:
/// member j of each is event-to-person key number `keys[j]` (in `$set` the key itself, in
/// `$set_once` its `$initial_` name). Their person-definition rows are then deduplicated by that
/// number, a bit test, instead of a lookup by name: they are ~26 of a general event's ~75
/// candidate rows, and almost all of them were seen earlier in the batch.
pub struct InitialKeys<'a> {
    pub keys: &'a [u8],
}

pub fn collect(seen: &mut Seen, team: &Team, name: &[u8], props: &Map, now_ms: i64, initial: Option<InitialKeys<'_>>) {
    if name == b"$groupidentify" {
        let index = props.get(b"$group_type".as_slice()).and_then(|t| team.type_index(t));
        if let (Some(Value::Object(gs)), Some(i)) = (props.get(b"$group_set".as_slice()), index) {
            if gs.len() <= MAX_ROWS_PER_EVENT {
                seen.add(team, GROUP, Some(i), gs.iter(), now_ms);
            }
        }
        return;
    }
    // the reference counts every candidate row first and skips the event when there are too many
    let person_sources = [b"$set".as_slice(), b"$set_once".as_slice()].map(|k| match props.get(k) {
        Some(Value::Object(m)) => Some(&**m),
        _ => None,
    });
    let person_rows: usize = person_sources.iter().flatten().map(|m| m.len()).sum();
    // counted exactly only when the upper bound (every key a row) is over the limit
    if props.len() + person_rows > MAX_ROWS_PER_EVENT
        && props.iter().filter(|(k, _)| !skipped_event_key(k)).count() + person_rows > MAX_ROWS_PER_EVENT
    {
        return;
    }
    let event_members = props.iter().filter(|(k, _)| !skipped_event_key(k));
    seen.add(team, EVENT, None, event_members, now_ms);
    if person_rows > 0 {
        match (initial, person_sources) {
            (Some(InitialKeys { keys }), [Some(set), Some(set_once)]) if set.len() == keys.len() && set_once.len() == keys.len() => {
                let names = seen.names(team, PERSON, None);
                for (which, m) in [set, set_once].into_iter().enumerate() {
                    for ((pname, value), &e) in m.iter().zip(keys) {
                        let bit = 1u64 << e;
                        if names.known[which] & bit == 0 {
                            names.note(team, PERSON, None, pname, value, now_ms);
                            names.known[which] |= bit;
                        }
                    }
                }
            }
            _ => {
                let person_members = person_sources.iter().flatten().flat_map(|m| m.iter());
                seen.add(team, PERSON, None, person_members, now_ms);
            }
        }
    }
}

pub fn sorted(seen: Seen) -> Vec<DefRow> {
    let mut groups: Vec<((i64, u8, i64), Names)> = seen.map.into_iter().collect();
    groups.sort_by_key(|(k, _)| *k);
    let mut out = Vec::new();
    for (_, names) in groups {
        let mut rows = names.rows;
        rows.sort_unstable_by(|a, b| a.name.cmp(&b.name)); // the names are distinct
        out.extend(rows);
    }
    out
}

pub fn kind_name(kind: u8) -> &'static [u8] {
    match kind {
        EVENT => b"event",
        PERSON => b"person",
        _ => b"group",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skipped_keys() {
        for k in ["$set", "$set_once", "$unset", "$groups", "$group_0", "$group_4", "$feature/x", "$feature_enrollment/y"] {
            assert!(skipped_event_key(k.as_bytes()), "{k}");
        }
        for k in ["", "$", "$se", "set", "$sets", "$group_5", "$group_", "$group_00", "$feature", "$featurex/", "$os", "group_0"] {
            assert!(!skipped_event_key(k.as_bytes()), "{k}");
        }
    }

    #[test]
    fn date_keywords_found_as_by_substring_search() {
        let naive = |k: &[u8]| DATE_KEYWORDS.iter().any(|w| k.windows(w.len()).any(|x| x == *w));
        let mut names: Vec<Vec<u8>> = ["", "t", "at", "_at", "x-at", "time", "ttime", "datetime", "update", "updatedat",
            "createdat", "created_at", "xcreatedatx", "tt_att", "dat", "date", "da_te", "timestamp", "at_", "$time"]
            .iter()
            .map(|s| s.as_bytes().to_vec())
            .collect();
        // every string of up to 5 letters from the keywords' alphabet
        let alphabet = b"t_-aimedcru";
        let mut frontier: Vec<Vec<u8>> = vec![vec![]];
        for _ in 0..5 {
            frontier = frontier.iter().flat_map(|s| alphabet.iter().map(move |&c| [s.as_slice(), &[c]].concat())).collect();
            names.extend(frontier.iter().cloned());
        }
        let mut found = 0;
        for k in &names {
            assert_eq!(has_date_keyword(k), naive(k), "{}", String::from_utf8_lossy(k));
            found += naive(k) as usize;
        }
        assert!(found > 500, "{found}");
    }

    /// Rows deduplicated by event-to-person number (InitialKeys) are the rows deduplicated by
    /// name, whatever mix of numbered and unnumbered events brings them.
    #[test]
    fn numbered_person_keys_give_the_same_rows() {
        let team = Team {
            id: 7,
            project_id: Value::Int(7),
            anonymize_ips: false,
            person_processing_opt_out: false,
            max_age_s: None,
            group_types: Map::new(),
        };
        let obj = |pairs: &[(&str, Value)]| {
            let mut m = Map::new();
            for (k, v) in pairs {
                m.insert(JStr::from_slice(k.as_bytes()), v.clone());
            }
            Value::Object(Box::new(m))
        };
        let s = |x: &str| Value::Str(JStr::from_slice(x.as_bytes()));
        let event = |set: &[(&str, Value)], set_once: &[(&str, Value)]| {
            let mut props = Map::new();
            props.insert(JStr::from_slice(b"$set"), obj(set));
            props.insert(JStr::from_slice(b"$set_once"), obj(set_once));
            props
        };
        // key numbers as normalize gives them: $browser 4, $os 9, $current_url 7
        let a = event(&[("$browser", s("x")), ("$os", Value::Int(3))], &[("$initial_browser", s("x")), ("$initial_os", Value::Int(3))]);
        let b = event(&[("$current_url", s("u")), ("$os", s("2024-01-01"))], &[("$initial_current_url", s("u")), ("$initial_os", s("2024-01-01"))]);
        let own = event(&[("$os", s("true")), ("plan", s("pro"))], &[]);
        let rows = |numbered: bool| {
            let mut seen = Seen::default();
            let numbers: [&[u8]; 2] = [&[4, 9], &[7, 9]];
            for (props, keys) in [(&own, None), (&a, Some(numbers[0])), (&b, Some(numbers[1])), (&a, Some(numbers[0]))] {
                let initial = keys.filter(|_| numbered).map(|keys| InitialKeys { keys });
                collect(&mut seen, &team, b"$pageview", props, 1_800_000_000_000, initial);
            }
            sorted(seen).into_iter().map(|r| (r.kind, r.name, r.property_type)).collect::<Vec<_>>()
        };
        let by_name = rows(false);
        assert_eq!(rows(true), by_name);
        assert_eq!(by_name.iter().filter(|r| r.0 == PERSON).count(), 7, "{by_name:?}"); // and `plan`
        // the first occurrence types the row: $os came first from the event's own $set
        assert!(by_name.contains(&(PERSON, b"$os".to_vec(), Some("Boolean"))), "{by_name:?}");
    }

    #[test]
    fn types() {
        let now = 1_800_000_000_000;
        assert_eq!(detect_type(b"utm_source", &Value::Int(3), now), Some("String"));
        assert_eq!(detect_type(b"created_at", &Value::Int(1_799_000_000), now), Some("DateTime"));
        assert_eq!(detect_type(b"created_at", &Value::Int(1_000), now), Some("Numeric"));
        assert_eq!(detect_type(b"x", &Value::Str(b"2024-01-02".into()), now), Some("DateTime"));
        assert_eq!(detect_type(b"x", &Value::Str(b"2024-01-02T10:00:00".into()), now), Some("DateTime"));
        assert_eq!(detect_type(b"x", &Value::Str(b"TRUE".into()), now), Some("Boolean"));
        assert_eq!(detect_type(b"x", &Value::Bool(true), now), Some("Boolean"));
        assert_eq!(detect_type(b"x", &Value::Null, now), None);
    }
}
