//! The partition context (teams, restrictions, settings) as the pipeline uses it.

use ahash::AHashMap;

use crate::json::{self, Map, Str, Value};

pub struct Team {
    pub id: i64,
    /// `team.get("project_id", team["id"])`
    pub project_id: Value,
    pub anonymize_ips: bool,
    pub person_processing_opt_out: bool,
    /// `drop_events_older_than_s` when set (int or float seconds).
    pub max_age_s: Option<Value>,
    /// group type name → raw index value (validated where used, like the reference)
    pub group_types: Map,
}

impl Team {
    /// `_type_index`: an int 0..5 for a known group type name, else None.
    pub fn type_index(&self, group_type: &Value) -> Option<i64> {
        let Value::Str(name) = group_type else { return None };
        match self.group_types.get(name.as_slice()) {
            Some(Value::Int(i)) if (0..5).contains(i) => Some(*i),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Default)]
pub struct Actions {
    pub drop: bool,
    pub dlq: bool,
    pub force_overflow: bool,
    pub skip_person: bool,
}

pub struct Settings {
    pub overflow_enabled: bool,
    pub capacity: f64,
    pub replenish_per_s: f64,
}

pub struct Context {
    pub teams: Vec<Team>,
    pub team_by_token: AHashMap<Str, usize>,
    /// token → [(distinct_id or None, action)]
    pub restrictions: AHashMap<Str, Vec<(Option<Str>, Str)>>,
    pub settings: Settings,
    pub topic: Str,
    pub partition: Value,
    pub persons: Vec<Value>,
    pub groups: Vec<Value>,
}

fn get<'a>(m: &'a Map, k: &str) -> Option<&'a Value> {
    m.get(k.as_bytes())
}

fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::UInt(u) => Some(*u as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

impl Context {
    pub fn from_json(bytes: &[u8]) -> Result<Context, String> {
        let doc = json::parse(bytes).map_err(|e| format!("context is not JSON ({} at {})", e.msg, e.pos))?;
        let Value::Object(mut doc) = doc else { return Err("context is not an object".into()) };
        let mut take_list = |k: &str| -> Result<Vec<Value>, String> {
            match doc.shift_remove(k.as_bytes()) {
                Some(Value::Array(a)) => Ok(a),
                None | Some(Value::Null) => Ok(Vec::new()),
                _ => Err(format!("context {k} is not a list")),
            }
        };
        let teams_raw = take_list("teams")?;
        let persons = take_list("persons")?;
        let groups = take_list("groups")?;
        let restrictions_raw = take_list("restrictions")?;
        let settings = match doc.get(b"settings".as_slice()) {
            Some(Value::Object(m)) => (**m).clone(),
            _ => json::new_map(),
        };
        let mut teams = Vec::new();
        let mut team_by_token = AHashMap::new();
        for t in teams_raw {
            let Value::Object(t) = t else { return Err("team is not an object".into()) };
            let id = match get(&t, "id") {
                Some(Value::Int(i)) => *i,
                _ => return Err("team id is not an integer".into()),
            };
            let token = match get(&t, "api_token") {
                Some(Value::Str(s)) => s.to_vec(),
                _ => return Err(format!("team {id}: api_token is not a string")),
            };
            let team = Team {
                id,
                project_id: get(&t, "project_id").cloned().unwrap_or(Value::Int(id)),
                anonymize_ips: get(&t, "anonymize_ips").map_or(false, Value::truthy),
                person_processing_opt_out: get(&t, "person_processing_opt_out").map_or(false, Value::truthy),
                max_age_s: match get(&t, "drop_events_older_than_s") {
                    None | Some(Value::Null) => None,
                    Some(v) => Some(v.clone()),
                },
                group_types: match get(&t, "group_types") {
                    Some(Value::Object(m)) => (**m).clone(),
                    _ => json::new_map(),
                },
            };
            // later teams with the same token win, as in a dict comprehension
            team_by_token.insert(token, teams.len());
            teams.push(team);
        }
        let mut restrictions: AHashMap<Str, Vec<(Option<Str>, Str)>> = AHashMap::new();
        for r in restrictions_raw {
            let Value::Object(r) = r else { return Err("restriction is not an object".into()) };
            let (Some(Value::Str(token)), Some(Value::Str(action))) = (get(&r, "token"), get(&r, "action")) else {
                return Err("restriction needs string token and action".into());
            };
            let did = match get(&r, "distinct_id") {
                Some(Value::Str(s)) => Some(s.to_vec()),
                None | Some(Value::Null) => None,
                // a non-string distinct id never equals an event's (string) distinct id
                Some(_) => Some(b"\x00<non-string>".to_vec()),
            };
            restrictions.entry(token.to_vec()).or_default().push((did, action.to_vec()));
        }
        let settings = Settings {
            overflow_enabled: get(&settings, "overflow_enabled").map_or(true, Value::truthy),
            capacity: get(&settings, "overflow_bucket_capacity").and_then(as_f64).unwrap_or(1000.0),
            replenish_per_s: get(&settings, "overflow_replenish_per_s").and_then(as_f64).unwrap_or(1.0),
        };
        let topic = match get(&doc, "topic") {
            Some(Value::Str(s)) => s.to_vec(),
            _ => b"events_plugin_ingestion".to_vec(),
        };
        let partition = get(&doc, "partition").cloned().unwrap_or(Value::Int(0));
        Ok(Context { teams, team_by_token, restrictions, settings, topic, partition, persons, groups })
    }

    pub fn actions(&self, token: &[u8], distinct_id: &[u8]) -> Actions {
        let mut a = Actions::default();
        if let Some(rules) = self.restrictions.get(token) {
            for (did, action) in rules {
                if did.as_deref().map_or(true, |d| d == distinct_id) {
                    match action.as_slice() {
                        b"drop" => a.drop = true,
                        b"dlq" => a.dlq = true,
                        b"force_overflow" => a.force_overflow = true,
                        b"skip_person_processing" => a.skip_person = true,
                        _ => {}
                    }
                }
            }
        }
        a
    }
}
