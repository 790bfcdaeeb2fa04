//! `$elements` (autocapture element dicts) → the `elements_chain` string (port of
//! impls/reference/elements.py).

use crate::json::{self, char_prefix, Map, Str, Value};

const MAX_TEXT: usize = 400;
const MAX_HREF: usize = 2048;

fn class_names(el: &Map) -> Vec<&[u8]> {
    let list = match el.get(b"attr__class".as_slice()) {
        Some(Value::Str(s)) => return s.split(|&c| c == b' ').filter(|c| !c.is_empty()).collect(),
        Some(Value::Array(a)) => a,
        _ => match el.get(b"classes".as_slice()) {
            Some(Value::Array(a)) => a,
            _ => return Vec::new(),
        },
    };
    list.iter().filter_map(|c| c.as_str()).collect()
}

fn push_escaped(out: &mut Vec<u8>, s: &[u8]) {
    for &c in s {
        if c == b'"' {
            out.extend_from_slice(b"\\\"");
        } else {
            out.push(c);
        }
    }
}

fn non_empty_str<'a>(el: &'a Map, k: &str) -> Option<&'a [u8]> {
    match el.get(k.as_bytes()) {
        Some(Value::Str(s)) if !s.is_empty() => Some(s),
        _ => None,
    }
}

pub fn element_to_string(out: &mut Vec<u8>, el: &Map) {
    if let Some(Value::Str(tag)) = el.get(b"tag_name".as_slice()) {
        out.extend_from_slice(tag);
    }
    let mut classes = class_names(el);
    classes.sort();
    for c in classes {
        out.push(b'.');
        out.extend(c.iter().filter(|&&b| b != b'"'));
    }
    // an insertion-ordered dict: later writes of the same key keep its first position
    let mut attrs: Vec<(Str, Str)> = Vec::new();
    let set = |k: &[u8], v: Str, attrs: &mut Vec<(Str, Str)>| {
        if let Some(e) = attrs.iter_mut().find(|(key, _)| key == k) {
            e.1 = v;
        } else {
            attrs.push((k.to_vec(), v));
        }
    };
    if let Some(text) = non_empty_str(el, "$el_text") {
        set(b"text", char_prefix(text, MAX_TEXT).to_vec(), &mut attrs);
    }
    for (key, source) in [("nth-child", "nth_child"), ("nth-of-type", "nth_of_type")] {
        let v = match el.get(source.as_bytes()) {
            None | Some(Value::Null) => b"0".to_vec(),
            Some(v) => json::json_text(v),
        };
        set(key.as_bytes(), v, &mut attrs);
    }
    if let Some(href) = non_empty_str(el, "attr__href") {
        set(b"href", char_prefix(href, MAX_HREF).to_vec(), &mut attrs);
    }
    if let Some(id) = non_empty_str(el, "attr__id") {
        set(b"attr_id", id.to_vec(), &mut attrs);
    }
    for (k, v) in el.iter() {
        if k.starts_with(b"attr__") {
            set(k, json::json_text(v), &mut attrs);
        }
    }
    out.push(b':');
    for (k, v) in &attrs {
        push_escaped(out, k);
        out.extend_from_slice(b"=\"");
        push_escaped(out, v);
        out.push(b'"');
    }
}

/// Removes `$elements_chain` and `$elements` from the properties and returns the chain.
pub fn elements_chain(props: &mut Map) -> Str {
    let chain = props.shift_remove(b"$elements_chain".as_slice());
    let elements = props.shift_remove(b"$elements".as_slice());
    if let Some(Value::Str(c)) = chain {
        if !c.is_empty() {
            return c.into_vec();
        }
    }
    let mut out = Vec::new();
    if let Some(Value::Array(list)) = elements {
        let mut first = true;
        for e in &list {
            if let Value::Object(m) = e {
                if !first {
                    out.push(b';');
                }
                first = false;
                element_to_string(&mut out, m);
            }
        }
    }
    out
}
