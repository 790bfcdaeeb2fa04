//! The JSON object: members in document order in one Vec, with a hash index built only when a
//! large object is looked up.
//!
//! Why not IndexMap: every parsed object hashed every key into an IndexMap (hash, probe, equality
//! check, bucket push: ~200 instructions per member, callgrind: `insert_full` + `get_index_of`
//! ~14% of the floor), although most objects are never looked up by key (nested values, the
//! floor's whole tree) and small ones are found faster by a scan. Here:
//! - the parser checks for repeated keys itself (`from_members`: pairwise for a few members, a
//!   reused scratch table for more) and hands over the members as they are;
//! - a lookup scans when the object has at most LINEAR members, else builds the index (open
//!   addressing over member positions) once, on first use; appending keeps it, removing drops it.
//!
//! Semantics are IndexMap's as the pipeline used them: insertion order; `insert` of a present
//! key replaces the value in place; `shift_remove` keeps the order of the rest.

use std::cell::OnceCell;

use crate::json::{JStr, Value};

const LINEAR: usize = 16;
/// has_repeats compares every pair up to this many members, else uses its filter.
const PAIRWISE: usize = 8;

#[derive(Default)]
pub struct Map {
    entries: Vec<(JStr, Value)>,
    /// slots of an open-addressing table (power-of-two size, at least twice the members): member
    /// position + 1, 0 = empty, TOMB = a removed member (probing goes on past it)
    index: OnceCell<Box<[u32]>>,
    /// members plus tombstones in the index (its load)
    load: usize,
}

const TOMB: u32 = u32::MAX;

const FX_K: u64 = 0x517c_c1b7_2722_0a95;

#[inline(always)]
fn mix(h: u64, w: u64) -> u64 {
    (h.rotate_left(23) ^ w).wrapping_mul(FX_K).wrapping_add(h)
}

/// Hash of a key: its length and sixteen bytes at a time (scan::load_upto16 for the tail),
/// multiply-mixed; the table takes the low bits, so the high half is folded down.
#[inline(always)]
pub fn key_hash(k: &[u8]) -> u64 {
    let mut h = (k.len() as u64).wrapping_mul(FX_K);
    let mut i = 0;
    while i + 16 <= k.len() {
        let w = u128::from_le_bytes(k[i..i + 16].try_into().unwrap());
        h = mix(h ^ (w as u64), (w >> 64) as u64);
        i += 16;
    }
    if i < k.len() {
        let w = crate::scan::load_upto16(&k[i..]);
        h = mix(h ^ (w as u64), (w >> 64) as u64);
    }
    h ^ (h >> 32)
}

/// The index's hash of a key from its zero-padded first sixteen bytes (`JStr::head16`, one load
/// for a parsed key), its length and, past 16 bytes, its last eight: cheaper than key_hash's loop
/// for the index builds and lookups (callgrind: building the index of each event's properties
/// was ~2.5% of the child's instructions). The property-definition dedup (`defs::Names`) uses it
/// too.
#[inline(always)]
pub fn slot_hash(head: u128, k: &[u8]) -> u64 {
    let tail = if k.len() > 16 { u64::from_le_bytes(k[k.len() - 8..].try_into().unwrap()) } else { 0 };
    let x = (head as u64) ^ ((head >> 64) as u64).rotate_left(29) ^ tail.rotate_left(47) ^ k.len() as u64;
    let y = x.wrapping_mul(FX_K);
    y ^ (y >> 29)
}

/// Key equality: lengths first, then (up to 16 bytes) one register compare instead of a bcmp call.
#[inline(always)]
pub fn key_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && if a.len() <= 16 { crate::scan::load_upto16(a) == crate::scan::load_upto16(b) } else { long_eq(a, b) }
}

/// Equality of two slices of the same length over 16 bytes: up to 32 bytes, their first and last
/// sixteen compared in registers (two overlapping loads each); longer ones by the slice compare.
/// Why: keys of 17–32 bytes (`$initial_referring_domain`, `$feature_flag_payloads`, …) are common
/// in person and event properties, and each compare was a bcmp call (callgrind: ~45,000 a
/// 3,000-event run from the map lookups and the definitions' dedup).
#[inline(always)]
pub fn long_eq(a: &[u8], b: &[u8]) -> bool {
    debug_assert!(a.len() == b.len() && a.len() > 16);
    let n = a.len();
    if n > 32 {
        return a == b;
    }
    let w = |s: &[u8], at: usize| u128::from_le_bytes(s[at..at + 16].try_into().unwrap());
    w(a, 0) == w(b, 0) && w(a, n - 16) == w(b, n - 16)
}

/// Whether two members have the same key.
fn has_repeats(items: &[(JStr, Value)]) -> bool {
    #[inline(always)]
    fn same(a: &JStr, ah: u128, b: &JStr) -> bool {
        a.len() == b.len() && ah == b.head16() && (a.len() <= 16 || long_eq(a, b))
    }
    let n = items.len();
    if n <= PAIRWISE {
        for i in 1..n {
            let (k, h) = (&items[i].0, items[i].0.head16());
            if items[..i].iter().any(|(e, _)| same(k, h, e)) {
                return true;
            }
        }
        return false;
    }
    let mut filter = [0u64; 16];
    for i in 0..n {
        let k = &items[i].0;
        let h = k.head16();
        let x = ((h as u64) ^ ((h >> 64) as u64).rotate_left(29) ^ (k.len() as u64)).wrapping_mul(FX_K);
        let bit = (x >> 54) as usize; // 10 bits
        let (w, b) = (bit >> 6, 1u64 << (bit & 63));
        if filter[w] & b != 0 && items[..i].iter().any(|(e, _)| same(k, h, e)) {
            return true;
        }
        filter[w] |= b;
    }
    false
}

/// v[base..] moved into a new Vec of the given capacity in one copy (a Drain moved the 64-byte
/// members one by one), v truncated to base.
pub fn take_tail<T>(v: &mut Vec<T>, base: usize, capacity: usize) -> Vec<T> {
    let n = v.len() - base;
    let mut out: Vec<T> = Vec::with_capacity(capacity.max(n));
    // SAFETY: the n elements are moved bitwise into out's fresh allocation, and v forgets them
    // (its length drops to base) so that each is owned, and dropped, once.
    unsafe {
        std::ptr::copy_nonoverlapping(v.as_ptr().add(base), out.as_mut_ptr(), n);
        out.set_len(n);
        v.set_len(base);
    }
    out
}

fn table_size(n: usize) -> usize {
    (n * 2).next_power_of_two().max(16)
}

fn build_index(entries: &[(JStr, Value)]) -> Box<[u32]> {
    let size = table_size(entries.len());
    let mut t = vec![0u32; size].into_boxed_slice();
    let mask = size - 1;
    for (pos, (k, _)) in entries.iter().enumerate() {
        let mut s = slot_hash(k.head16(), k) as usize & mask;
        while t[s] != 0 {
            s = (s + 1) & mask;
        }
        t[s] = pos as u32 + 1;
    }
    t
}

thread_local! {
    static DEDUP: std::cell::RefCell<Vec<u32>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Map {
    pub fn new() -> Self {
        Map::default()
    }

    pub fn with_capacity(n: usize) -> Self {
        Map { entries: Vec::with_capacity(n), index: OnceCell::new(), load: 0 }
    }

    /// from_members(scratch.drain(base..)), moving the members in one piece when no key repeats
    /// (the usual case), which is decided without a hash table: a 1024-bit filter on a cheap
    /// hash of each key's length and first 16 bytes, and an exact comparison with the earlier
    /// keys only when the filter bit was already set.
    pub fn from_scratch(scratch: &mut Vec<(JStr, Value)>, base: usize) -> (Map, bool) {
        let items = &scratch[base..];
        let n = items.len();
        if has_repeats(items) {
            return Map::from_members(scratch.drain(base..));
        }
        let entries = take_tail(scratch, base, if n > LINEAR { n + 8 } else { n });
        (Map { entries, index: OnceCell::new(), load: 0 }, false)
    }

    /// from_scratch, with the index built on the way (a key found there already is a repeat), for
    /// an object the caller will look up by key: the event's properties, which the stages look
    /// up ~15 times. Why: building it at the first lookup read every key again, out of the
    /// parser's hands, and cost more than the repeat check it replaces here (stage timers: the
    /// first stage to look up a property, ~0.2 µs a general event).
    pub fn from_scratch_indexed(scratch: &mut Vec<(JStr, Value)>, base: usize) -> (Map, bool) {
        let n = scratch.len() - base;
        if n <= LINEAR {
            return Map::from_scratch(scratch, base);
        }
        let size = table_size(n);
        let mut t = vec![0u32; size].into_boxed_slice();
        let mask = size - 1;
        for (pos, (k, _)) in scratch[base..].iter().enumerate() {
            let head = k.head16();
            let mut s = slot_hash(head, k) as usize & mask;
            while t[s] != 0 {
                let e = &scratch[base + t[s] as usize - 1].0;
                if e.len() == k.len() && e.head16() == head && (k.len() <= 16 || long_eq(e, k)) {
                    return Map::from_members(scratch.drain(base..));
                }
                s = (s + 1) & mask;
            }
            t[s] = pos as u32 + 1;
        }
        let entries = take_tail(scratch, base, n + 8);
        (Map { entries, index: OnceCell::from(t), load: 0 }, false)
    }

    /// An object from its members in document order, with Python dict semantics: a repeated key
    /// keeps its first position and its last value. Returns the map and whether a key repeated.
    pub fn from_members(members: impl ExactSizeIterator<Item = (JStr, Value)>) -> (Map, bool) {
        let n = members.len();
        // a large object is most likely an event's properties, which the stages extend by a few
        // keys: room for them saves regrowing (copying) the whole member array
        let mut entries: Vec<(JStr, Value)> = Vec::with_capacity(if n > LINEAR { n + 8 } else { n });
        let mut repeated = false;
        if n <= LINEAR {
            for (k, v) in members {
                match entries.iter().position(|(e, _)| key_eq(e, &k)) {
                    Some(p) => {
                        entries[p].1 = v;
                        repeated = true;
                    }
                    None => entries.push((k, v)),
                }
            }
        } else {
            DEDUP.with(|t| {
                let mut t = t.borrow_mut();
                let size = table_size(n);
                t.clear();
                t.resize(size, 0);
                let mask = size - 1;
                for (k, v) in members {
                    let mut s = key_hash(&k) as usize & mask;
                    loop {
                        let e = t[s];
                        if e == 0 {
                            t[s] = entries.len() as u32 + 1;
                            entries.push((k, v));
                            break;
                        }
                        let p = e as usize - 1;
                        if key_eq(&entries[p].0, &k) {
                            entries[p].1 = v;
                            repeated = true;
                            break;
                        }
                        s = (s + 1) & mask;
                    }
                }
            });
        }
        (Map { entries, index: OnceCell::new(), load: 0 }, repeated)
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn clear(&mut self) {
        self.entries.clear();
        self.index = OnceCell::new();
        self.load = 0;
    }

    pub fn reserve(&mut self, n: usize) {
        self.entries.reserve(n);
    }

    /// Position of a key.
    #[inline]
    pub fn position<Q: AsRef<[u8]> + ?Sized>(&self, key: &Q) -> Option<usize> {
        let key = key.as_ref();
        let n = key.len();
        // the key's bytes in a register once, for the compares below
        let w = if n <= 16 { crate::scan::load_upto16(key) } else { 0 };
        #[inline(always)]
        fn same(e: &JStr, key: &[u8], w: u128) -> bool {
            e.len() == key.len() && if key.len() <= 16 { e.head16() == w } else { long_eq(e, key) }
        }
        let eq = |e: &JStr| same(e, key, w);
        if self.entries.len() <= LINEAR {
            return self.entries.iter().position(|(k, _)| eq(k));
        }
        let t = self.index.get_or_init(|| build_index(&self.entries));
        let mask = t.len() - 1;
        let head = if n <= 16 { w } else { u128::from_le_bytes(key[..16].try_into().unwrap()) };
        let mut s = slot_hash(head, key) as usize & mask;
        loop {
            let e = t[s];
            if e == 0 {
                return None;
            }
            if e != TOMB {
                let p = e as usize - 1;
                if eq(&self.entries[p].0) {
                    return Some(p);
                }
            }
            s = (s + 1) & mask;
        }
    }

    /// The member at a position (from `position`, or counted in `iter`).
    #[inline]
    pub fn get_index(&self, i: usize) -> Option<(&JStr, &Value)> {
        self.entries.get(i).map(|(k, v)| (k, v))
    }

    /// The value at a position (from `position`).
    #[inline]
    pub fn get_index_mut(&mut self, i: usize) -> Option<&mut Value> {
        self.entries.get_mut(i).map(|(_, v)| v)
    }

    #[inline]
    pub fn get<Q: AsRef<[u8]> + ?Sized>(&self, key: &Q) -> Option<&Value> {
        self.position(key).map(|p| &self.entries[p].1)
    }

    #[inline]
    pub fn get_mut<Q: AsRef<[u8]> + ?Sized>(&mut self, key: &Q) -> Option<&mut Value> {
        match self.position(key) {
            Some(p) => Some(&mut self.entries[p].1),
            None => None,
        }
    }

    #[inline]
    pub fn contains_key<Q: AsRef<[u8]> + ?Sized>(&self, key: &Q) -> bool {
        self.position(key).is_some()
    }

    /// Replaces the value of a present key in place (returning the old one), else appends.
    pub fn insert(&mut self, key: JStr, value: Value) -> Option<Value> {
        if let Some(p) = self.position(&*key) {
            return Some(std::mem::replace(&mut self.entries[p].1, value));
        }
        self.push_absent(key, value);
        None
    }

    /// Appends a member whose key the caller knows is not in the map (no lookup; debug builds
    /// check). For building a map from keys known to be distinct.
    pub fn push_absent(&mut self, key: JStr, value: Value) {
        debug_assert!(self.position(&*key).is_none(), "push_absent of a present key");
        let pos = self.entries.len();
        self.entries.push((key, value));
        // keep a built index if it has room (load at most 1/2), else drop it
        if let Some(t) = self.index.get_mut() {
            if self.load == 0 {
                self.load = pos; // built since the last change: it holds every other member
            }
            if (self.load + 1) * 2 <= t.len() {
                self.load += 1;
                let mask = t.len() - 1;
                let k = &self.entries[pos].0;
                let mut s = slot_hash(k.head16(), k) as usize & mask;
                while t[s] != 0 {
                    s = (s + 1) & mask;
                }
                t[s] = pos as u32 + 1;
            } else {
                self.index = OnceCell::new();
                self.load = 0;
            }
        }
    }

    /// Removes a key, keeping the order of the others. A built index is patched (the slot
    /// becomes a tombstone, later positions move down by one) rather than rebuilt: the event's
    /// properties lose a few keys per event and are looked up between the removals.
    pub fn shift_remove<Q: AsRef<[u8]> + ?Sized>(&mut self, key: &Q) -> Option<Value> {
        let p = self.position(key)?;
        if let Some(t) = self.index.get_mut() {
            if self.load == 0 {
                self.load = self.entries.len();
            }
            let gone = p as u32 + 1;
            for s in t.iter_mut() {
                if *s == gone {
                    *s = TOMB;
                } else if *s != TOMB && *s > gone {
                    *s -= 1;
                }
            }
        }
        Some(self.entries.remove(p).1)
    }

    #[inline]
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&JStr, &Value)> + ExactSizeIterator + Clone {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    #[inline]
    pub fn iter_mut(&mut self) -> impl DoubleEndedIterator<Item = (&JStr, &mut Value)> + ExactSizeIterator {
        self.entries.iter_mut().map(|(k, v)| (&*k, v))
    }

    #[inline]
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &JStr> + ExactSizeIterator + Clone {
        self.entries.iter().map(|(k, _)| k)
    }

    #[inline]
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &Value> + ExactSizeIterator + Clone {
        self.entries.iter().map(|(_, v)| v)
    }
}

impl IntoIterator for Map {
    type Item = (JStr, Value);
    type IntoIter = std::vec::IntoIter<(JStr, Value)>;
    fn into_iter(mut self) -> Self::IntoIter {
        std::mem::take(&mut self.entries).into_iter()
    }
}

/// Dropping a map drops only the members that own memory (a heap key, a heap string, an array
/// or an object): most members of a parsed object are short keys with numbers, literals or
/// inline strings, and the generic drop called out to drop each of them (callgrind: dropping
/// the event's three maps was ~4% of the child's instructions).
impl Drop for Map {
    fn drop(&mut self) {
        // SAFETY: each member is dropped at most once (those that own nothing need no drop), and
        // the length is set to zero before the Vec itself is dropped, which then frees only
        // its buffer.
        unsafe {
            for e in self.entries.iter_mut() {
                if e.0.is_heap() || !e.1.owns_nothing() {
                    std::ptr::drop_in_place(e);
                }
            }
            self.entries.set_len(0);
        }
    }
}

/// Cloning copies the member array in one piece and clones only the members that own memory
/// (as Drop drops only those): most members are short keys with numbers, literals or inline
/// strings. Why: the persons stage clones a person's properties for every event that changes
/// them (about half of general events), and the member-by-member clone was ~90 instructions a
/// member (callgrind). A little room is left for the keys the stages append.
impl Clone for Map {
    fn clone(&self) -> Self {
        let n = self.entries.len();
        let mut entries: Vec<(JStr, Value)> = Vec::with_capacity(if n == 0 { 0 } else { n + 4 });
        // SAFETY: the n members are first copied bitwise, then each one that owns memory is
        // overwritten (ptr::write: the bitwise copy, which shares its owner's memory, is not
        // dropped) with its own clone; the length is set only then, so the Vec never holds a
        // copy that shares memory with self.
        unsafe {
            let dst = entries.as_mut_ptr();
            std::ptr::copy_nonoverlapping(self.entries.as_ptr(), dst, n);
            for (i, e) in self.entries.iter().enumerate() {
                if e.0.is_heap() || !e.1.owns_nothing() {
                    std::ptr::write(dst.add(i), e.clone());
                }
            }
            entries.set_len(n);
        }
        Map { entries, index: self.index.clone(), load: self.load }
    }
}

impl<'a> IntoIterator for &'a Map {
    type Item = (&'a JStr, &'a Value);
    type IntoIter = std::iter::Map<std::slice::Iter<'a, (JStr, Value)>, fn(&'a (JStr, Value)) -> (&'a JStr, &'a Value)>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter().map(|(k, v)| (k, v))
    }
}

impl FromIterator<(JStr, Value)> for Map {
    /// IndexMap's collect: a repeated key keeps its first position and its last value.
    fn from_iter<I: IntoIterator<Item = (JStr, Value)>>(it: I) -> Self {
        let mut m = Map::new();
        for (k, v) in it {
            m.insert(k, v);
        }
        m
    }
}

impl Extend<(JStr, Value)> for Map {
    fn extend<I: IntoIterator<Item = (JStr, Value)>>(&mut self, it: I) {
        for (k, v) in it {
            self.insert(k, v);
        }
    }
}

/// As IndexMap's: the same keys with equal values, in any order.
impl PartialEq for Map {
    fn eq(&self, o: &Map) -> bool {
        self.len() == o.len() && self.iter().all(|(k, v)| o.get(k.as_slice()) == Some(v))
    }
}

impl std::fmt::Debug for Map {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(s: &str) -> JStr {
        JStr::from(s)
    }

    #[test]
    fn long_keys_compare_as_slices() {
        // same length, one byte differing anywhere (the overlap of the two 16-byte halves included)
        for n in 17..=40 {
            let a: Vec<u8> = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
            assert!(long_eq(&a, &a.clone()) && key_eq(&a, &a.clone()));
            for i in 0..n {
                let mut b = a.clone();
                b[i] ^= 0x20;
                assert!(!long_eq(&a, &b) && !key_eq(&a, &b), "{n} {i}");
            }
        }
    }

    #[test]
    fn repeats_found_whatever_the_filter_says() {
        // many keys sharing length and first 16 bytes (one filter bit), and long keys
        for n in [2usize, 8, 9, 30, 300] {
            let keys: Vec<String> = (0..n).map(|i| format!("same-prefix-1234{i:04}")).collect();
            let members = |extra: Option<usize>| {
                let mut v: Vec<(JStr, Value)> = keys.iter().map(|s| (k(s), Value::Null)).collect();
                if let Some(i) = extra {
                    v.push((k(&keys[i]), Value::Bool(true)));
                }
                v
            };
            assert!(!has_repeats(&members(None)));
            for i in [0, n / 2, n - 1] {
                let mut s = members(Some(i));
                assert!(has_repeats(&s));
                let (m, rep) = Map::from_scratch(&mut s, 0);
                assert!(rep && m.len() == n && m.get(keys[i].as_bytes()) == Some(&Value::Bool(true)));
            }
        }
    }

    #[test]
    fn behaves_like_an_ordered_dict() {
        for n in [0usize, 3, 8, 9, 17, 40, 200] {
            // members with repeats: key i % (n/2 + 1)
            let members: Vec<(JStr, Value)> = (0..n).map(|i| (k(&format!("key{}", i % (n / 2 + 1))), Value::Int(i as i64))).collect();
            let (mut m, repeated) = Map::from_members(members.clone().into_iter());
            // from_scratch: the same map and flag, from a scratch vector with other members before
            let mut scratch: Vec<(JStr, Value)> = vec![(k("before"), Value::Null)];
            scratch.extend(members.iter().cloned());
            let (m2, repeated2) = Map::from_scratch(&mut scratch, 1);
            assert_eq!(scratch.len(), 1);
            assert_eq!(repeated2, repeated);
            assert!(m2.iter().eq(m.iter()));
            let mut want: Vec<(String, i64)> = Vec::new();
            for i in 0..n {
                let key = format!("key{}", i % (n / 2 + 1));
                match want.iter_mut().find(|(w, _)| *w == key) {
                    Some(e) => e.1 = i as i64,
                    None => want.push((key, i as i64)),
                }
            }
            assert_eq!(repeated, want.len() != n);
            let got: Vec<(String, i64)> = m
                .iter()
                .map(|(k, v)| (String::from_utf8(k.to_vec()).unwrap(), if let Value::Int(i) = v { *i } else { -1 }))
                .collect();
            assert_eq!(got, want);
            for (key, v) in &want {
                assert_eq!(m.get(key.as_bytes()), Some(&Value::Int(*v)));
            }
            assert_eq!(m.get(b"absent".as_slice()), None);
            // insert (present: in place; absent: appended), remove, lookups stay right
            for i in 0..60 {
                m.insert(k(&format!("new{i}")), Value::Int(-i));
                if i % 7 == 0 {
                    assert!(m.shift_remove(format!("new{}", i / 2).as_bytes()).is_some() || i == 0);
                }
            }
            if let Some((key, _)) = want.first() {
                assert_eq!(m.insert(k(key), Value::Null), Some(Value::Int(want[0].1)));
                assert_eq!(m.keys().next().unwrap().as_slice(), key.as_bytes());
            }
            for i in 0..60 {
                let present = m.iter().any(|(kk, _)| kk.as_slice() == format!("new{i}").as_bytes());
                assert_eq!(m.contains_key(format!("new{i}").as_bytes()), present);
            }
            let all: Vec<(JStr, Value)> = m.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            for (pos, (key, v)) in all.iter().enumerate() {
                assert_eq!(m.position(key.as_slice()), Some(pos));
                assert_eq!(m.get(key.as_slice()), Some(v));
            }
            // remove from the front and the middle, with an index built, then look up again
            let mut rest = all.clone();
            for victim in [0usize, 3, 1] {
                if victim < rest.len() {
                    let (key, v) = rest.remove(victim);
                    assert_eq!(m.shift_remove(key.as_slice()), Some(v));
                    for (pos, (key, v)) in rest.iter().enumerate() {
                        assert_eq!(m.position(key.as_slice()), Some(pos));
                        assert_eq!(m.get(key.as_slice()), Some(v));
                    }
                    m.insert(k(&format!("again{victim}")), Value::Bool(true));
                    rest.push((k(&format!("again{victim}")), Value::Bool(true)));
                    assert_eq!(m.position(format!("again{victim}").as_bytes()), Some(rest.len() - 1));
                }
            }
        }
    }

    #[test]
    fn indexed_while_parsed_like_from_scratch() {
        for n in [0usize, 5, 16, 17, 40, 300] {
            for repeat in [None, Some(0), Some(n / 2)] {
                let mut members: Vec<(JStr, Value)> = (0..n).map(|i| (k(&format!("prop_{i}_{}", "x".repeat(i % 23))), Value::Int(i as i64))).collect();
                if let Some(r) = repeat.filter(|_| n > 0) {
                    members.push((members[r].0.clone(), Value::Bool(true)));
                }
                let mut a: Vec<(JStr, Value)> = vec![(k("before"), Value::Null)];
                a.extend(members.iter().cloned());
                let mut b = a.clone();
                let (want, want_rep) = Map::from_scratch(&mut a, 1);
                let (mut got, got_rep) = Map::from_scratch_indexed(&mut b, 1);
                assert_eq!(b.len(), 1, "the members taken off the scratch");
                assert_eq!(got_rep, want_rep);
                assert_eq!(got_rep, repeat.is_some() && n > 0);
                assert!(got.iter().eq(want.iter()));
                // built only when it will be used, and then complete
                assert_eq!(got.index.get().is_some(), n > LINEAR && !got_rep, "{n}");
                for (pos, (key, v)) in want.iter().enumerate() {
                    assert_eq!(got.position(key.as_slice()), Some(pos));
                    assert_eq!(got.get(key.as_slice()), Some(v));
                }
                assert_eq!(got.position(b"prop_absent".as_slice()), None);
                // appended and removed members keep it right
                for i in 0..20 {
                    got.push_absent(k(&format!("added{i}")), Value::Int(-i));
                }
                got.shift_remove(b"prop_1_x".as_slice());
                let all: Vec<JStr> = got.keys().cloned().collect();
                for (pos, key) in all.iter().enumerate() {
                    assert_eq!(got.position(key.as_slice()), Some(pos), "{n}");
                }
            }
        }
    }

    #[test]
    fn clones_are_deep_and_independent() {
        for n in [0usize, 3, 17, 40] {
            // short and heap keys; inline and heap strings, numbers, literals, nested containers
            let mut m = Map::new();
            for i in 0..n {
                let key = if i % 3 == 0 { format!("long_key_{}_{}", i, "k".repeat(30)) } else { format!("k{i}") };
                let v = match i % 5 {
                    0 => Value::Str(JStr::from("short")),
                    1 => Value::Str(JStr::from("a string too long to be kept inline in a JStr".repeat(2).as_str())),
                    2 => Value::Int(i as i64),
                    3 => Value::Array(vec![Value::Str(JStr::from("x".repeat(40).as_str())), Value::Null]),
                    _ => Value::Object(Box::new(Map::from_iter([(k("inner"), Value::Str(JStr::from("y".repeat(50).as_str())))]))),
                };
                m.insert(k(&key), v);
            }
            let _ = m.position(b"k1".as_slice()); // an index, when large enough, is cloned too
            let snapshot: Vec<(JStr, Value)> = m.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            let mut c = m.clone();
            assert!(c.iter().eq(m.iter()));
            for (pos, (key, _)) in snapshot.iter().enumerate() {
                assert_eq!(c.position(key.as_slice()), Some(pos));
            }
            // changing every member of the clone leaves the original as it was
            for (_, v) in c.iter_mut() {
                match v {
                    Value::Str(s) => *s = JStr::from("changed"),
                    Value::Array(a) => a.clear(),
                    Value::Object(o) => o.clear(),
                    other => *other = Value::Null,
                }
            }
            c.push_absent(k("appended"), Value::Null);
            drop(c);
            assert!(m.iter().map(|(k, v)| (k.clone(), v.clone())).eq(snapshot.into_iter()));
        }
    }
}
