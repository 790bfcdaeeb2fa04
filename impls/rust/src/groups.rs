//! Stage groups (port of impls/reference/groups.py): `$groups` → `$group_N` properties and
//! `$groupidentify` upserts into a deterministic in-memory group store.

use ahash::AHashMap;
use indexmap::IndexSet;

use crate::context::Team;
use crate::json::{self, JStr, Map, Str, Value};
use crate::timestamps::parse_timestamp;

pub type GroupKey = (i64, i64, Str);

pub struct Group {
    pub properties: Map,
    pub created_at_ms: i64,
    pub version: i64,
}

#[derive(Default)]
pub struct GroupStore {
    pub groups: AHashMap<GroupKey, Group>,
}

fn get<'a>(m: &'a Map, k: &str) -> Option<&'a Value> {
    m.get(k.as_bytes())
}

impl GroupStore {
    pub fn from_snapshot(rows: &[Value]) -> Result<Self, String> {
        let mut store = GroupStore::default();
        for row in rows {
            let Value::Object(r) = row else { return Err("group is not an object".into()) };
            let (Some(Value::Int(team_id)), Some(Value::Int(index)), Some(Value::Str(key))) =
                (get(r, "team_id"), get(r, "group_type_index"), get(r, "group_key"))
            else {
                return Err("group needs integer team_id, group_type_index and a string group_key".into());
            };
            let group = Group {
                properties: match get(r, "group_properties") {
                    Some(Value::Object(m)) => (**m).clone(),
                    _ => json::new_map(),
                },
                created_at_ms: match get(r, "created_at") {
                    Some(Value::Str(s)) => parse_timestamp(s).unwrap_or(0),
                    _ => 0,
                },
                version: match get(r, "version") {
                    Some(Value::Int(v)) => *v,
                    _ => 0,
                },
            };
            store.groups.insert((*team_id, *index, key.to_vec()), group);
        }
        Ok(store)
    }

    /// `$groupidentify`: create the group or apply `$group_set` ($set semantics).
    pub fn upsert(&mut self, team: &Team, props: &Map, timestamp_ms: i64, touched: &mut IndexSet<GroupKey, ahash::RandomState>) {
        let Some(index) = props.get(b"$group_type".as_slice()).and_then(|t| team.type_index(t)) else { return };
        let key = match props.get(b"$group_key".as_slice()) {
            None | Some(Value::Null) => return,
            Some(Value::Str(s)) if s.is_empty() => return,
            Some(v) => json::json_text(v),
        };
        let empty = json::new_map();
        let group_set = match props.get(b"$group_set".as_slice()) {
            Some(Value::Object(m)) => &**m,
            _ => &empty,
        };
        let store_key = (team.id, index, key);
        match self.groups.get_mut(&store_key) {
            None => {
                self.groups.insert(
                    store_key.clone(),
                    Group { properties: group_set.clone(), created_at_ms: timestamp_ms, version: 0 },
                );
                touched.insert(store_key);
            }
            Some(group) => {
                let mut changed = false;
                for (k, v) in group_set {
                    let same = group.properties.get(k).map_or(false, |cur| json::json_equal(cur, v));
                    if !same {
                        group.properties.insert(k.clone(), v.clone());
                        changed = true;
                    }
                }
                if changed {
                    group.version += 1;
                    touched.insert(store_key);
                }
            }
        }
    }
}

/// `$groups` → `properties["$group_" + index]` for known group types (non-null keys).
pub fn add_group_properties(team: &Team, props: &mut Map) {
    let Some(Value::Object(groups)) = props.get(b"$groups".as_slice()) else { return };
    // (index, value) in `$groups` order; the first few on the stack (an event carries a group or
    // two; a Vec and a key Vec per group were allocations for most general events)
    let mut few: [(u8, Value); 4] = [const { (0, Value::Null) }; 4];
    let mut n = 0;
    let mut more: Vec<(u8, Value)> = Vec::new();
    for (group_type, key) in groups.iter() {
        if key.is_null() {
            continue;
        }
        if let Some(Value::Int(i)) = team.group_types.get(group_type.as_slice()) {
            if (0..5).contains(i) {
                let add = (*i as u8, key.clone());
                if n < few.len() {
                    few[n] = add;
                    n += 1;
                } else {
                    more.push(add);
                }
            }
        }
    }
    for (i, v) in few.into_iter().take(n).chain(more) {
        props.insert(JStr::from_slice(&[b'$', b'g', b'r', b'o', b'u', b'p', b'_', b'0' + i]), v);
    }
}
