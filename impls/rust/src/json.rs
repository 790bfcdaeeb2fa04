//! A JSON value, parser and serializer with Python's `json` semantics.
//!
//! Why not serde_json: the reference pipeline is written with Python's `json` under the rules of
//! impls/reference/jsonrules.py (docs/pipeline.md, "JSON rules"), and hostile inputs must come
//! out exactly as it decides. Python keeps lone UTF-16 surrogates (`"\ud800"`) in strings, keeps
//! the first position but the last value of a duplicated key, and spells floats with `repr`;
//! serde_json rejects lone surrogates. So strings here are WTF-8 byte strings (UTF-8 that may
//! also hold surrogate code points) and each rule is implemented explicitly:
//! strict RFC 8259 (no NaN/Infinity), integers outside [-2^63, 2^64-1] become the nearest double,
//! a number whose double is infinite is invalid, nesting deeper than MAX_DEPTH is refused by a
//! scan of the raw text before parsing.

use std::hash::Hasher;


/// WTF-8 bytes: valid UTF-8, except that lone surrogates are encoded like any other code point.
pub type Str = Vec<u8>;
pub use crate::omap::Map;

/// Bytes of a JSON string value or object key: kept inline when at most JSTR_INLINE bytes, else
/// on the heap.
///
/// Why: a parsed document is ~140 strings per general event (keys and values), ~86% of them at
/// most 30 bytes; as `Vec<u8>` each was an allocation, a memcpy call and a free (callgrind:
/// `Parser::string`'s allocations and copies, and dropping the tree). Inline ones are filled with
/// two in-bounds loads (scan::load_upto16). Derefs to `[u8]`; hashes and compares as `[u8]`, so a
/// map keyed by it is looked up with `&[u8]`.
#[derive(Clone)]
pub struct JStr(JRepr);

pub const JSTR_INLINE: usize = 30;

#[derive(Clone)]
enum JRepr {
    Inline(u8, [u8; JSTR_INLINE]),
    Heap(Vec<u8>),
}

impl JStr {
    #[inline]
    pub const fn new() -> Self {
        JStr(JRepr::Inline(0, [0; JSTR_INLINE]))
    }
    #[inline(always)]
    pub fn from_slice(s: &[u8]) -> Self {
        let n = s.len();
        if n > JSTR_INLINE {
            return JStr(JRepr::Heap(s.to_vec()));
        }
        let mut buf = [0u8; JSTR_INLINE];
        if n <= 16 {
            buf[..16].copy_from_slice(&crate::scan::load_upto16(s).to_le_bytes());
        } else {
            buf[..16].copy_from_slice(&s[..16]);
            buf[16..30].copy_from_slice(&crate::scan::load_upto16(&s[16..]).to_le_bytes()[..14]);
        }
        JStr(JRepr::Inline(n as u8, buf))
    }
    /// The first min(16, len) bytes, zero-padded: scan::load_upto16 of them, read straight from
    /// the (zero-padded) inline buffer when inline.
    #[inline(always)]
    pub fn head16(&self) -> u128 {
        match &self.0 {
            JRepr::Inline(_, b) => u128::from_le_bytes(b[..16].try_into().unwrap()),
            JRepr::Heap(v) => crate::scan::load_upto16(&v[..v.len().min(16)]),
        }
    }
    /// b[at..at + n] as a JStr, reading whole 16-byte blocks of b when b extends far enough past
    /// it (the parser's keys and values: a key is always followed by at least `":` and a value),
    /// which spares load_upto16's branches on n.
    #[inline(always)]
    pub fn from_slice_in(b: &[u8], at: usize, n: usize) -> Self {
        if n <= 16 && at + 16 <= b.len() {
            let w = u128::from_le_bytes(b[at..at + 16].try_into().unwrap());
            let keep = if n == 16 { u128::MAX } else { (1u128 << (8 * n)) - 1 };
            let mut buf = [0u8; JSTR_INLINE];
            buf[..16].copy_from_slice(&(w & keep).to_le_bytes());
            return JStr(JRepr::Inline(n as u8, buf));
        }
        JStr::from_slice(&b[at..at + n])
    }
    /// Whether the bytes are on the heap (longer than JSTR_INLINE).
    #[inline(always)]
    pub fn is_heap(&self) -> bool {
        matches!(self.0, JRepr::Heap(_))
    }
    /// A string of n < 16 bytes given as its bytes zero-padded to 16 (scan::short_string).
    #[inline(always)]
    pub fn from_padded16(n: usize, v: u128) -> Self {
        debug_assert!(n < 16);
        let mut buf = [0u8; JSTR_INLINE];
        buf[..16].copy_from_slice(&v.to_le_bytes());
        JStr(JRepr::Inline(n as u8, buf))
    }
    #[inline(always)]
    pub fn as_slice(&self) -> &[u8] {
        match &self.0 {
            // SAFETY: n <= JSTR_INLINE always (from_slice), so the range is in bounds.
            JRepr::Inline(n, b) => unsafe { b.get_unchecked(..*n as usize) },
            JRepr::Heap(v) => v,
        }
    }
    pub fn into_vec(self) -> Vec<u8> {
        match self.0 {
            JRepr::Inline(n, b) => b[..n as usize].to_vec(),
            JRepr::Heap(v) => v,
        }
    }
}

impl Default for JStr {
    fn default() -> Self {
        JStr::new()
    }
}

impl std::ops::Deref for JStr {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl std::ops::DerefMut for JStr {
    #[inline]
    fn deref_mut(&mut self) -> &mut [u8] {
        match &mut self.0 {
            JRepr::Inline(n, b) => &mut b[..*n as usize],
            JRepr::Heap(v) => v,
        }
    }
}

impl std::borrow::Borrow<[u8]> for JStr {
    #[inline]
    fn borrow(&self) -> &[u8] {
        self.as_slice()
    }
}

impl AsRef<[u8]> for JStr {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl std::hash::Hash for JStr {
    #[inline]
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.as_slice().hash(h) // exactly as [u8] hashes: Borrow<[u8]> lookups depend on it
    }
}

impl PartialEq for JStr {
    #[inline]
    fn eq(&self, o: &JStr) -> bool {
        self.as_slice() == o.as_slice()
    }
}
impl Eq for JStr {}

impl PartialOrd for JStr {
    fn partial_cmp(&self, o: &JStr) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for JStr {
    fn cmp(&self, o: &JStr) -> std::cmp::Ordering {
        self.as_slice().cmp(o.as_slice())
    }
}

impl PartialEq<[u8]> for JStr {
    fn eq(&self, o: &[u8]) -> bool {
        self.as_slice() == o
    }
}
impl PartialEq<&[u8]> for JStr {
    fn eq(&self, o: &&[u8]) -> bool {
        self.as_slice() == *o
    }
}
impl PartialEq<Vec<u8>> for JStr {
    fn eq(&self, o: &Vec<u8>) -> bool {
        self.as_slice() == o.as_slice()
    }
}
impl<const N: usize> PartialEq<[u8; N]> for JStr {
    fn eq(&self, o: &[u8; N]) -> bool {
        self.as_slice() == o.as_slice()
    }
}
impl<const N: usize> PartialEq<&[u8; N]> for JStr {
    fn eq(&self, o: &&[u8; N]) -> bool {
        self.as_slice() == o.as_slice()
    }
}

impl std::fmt::Debug for JStr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_slice()))
    }
}

impl From<Vec<u8>> for JStr {
    #[inline]
    fn from(v: Vec<u8>) -> Self {
        if v.len() <= JSTR_INLINE {
            JStr::from_slice(&v)
        } else {
            JStr(JRepr::Heap(v))
        }
    }
}
impl From<&[u8]> for JStr {
    #[inline]
    fn from(s: &[u8]) -> Self {
        JStr::from_slice(s)
    }
}
impl<const N: usize> From<&[u8; N]> for JStr {
    #[inline]
    fn from(s: &[u8; N]) -> Self {
        JStr::from_slice(s)
    }
}
impl From<&str> for JStr {
    fn from(s: &str) -> Self {
        JStr::from_slice(s.as_bytes())
    }
}
impl From<JStr> for Vec<u8> {
    fn from(s: JStr) -> Vec<u8> {
        s.into_vec()
    }
}

#[derive(Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    /// An integer in (i64::MAX, u64::MAX]: still an integer under the JSON rules.
    UInt(u64),
    Float(f64),
    Str(JStr),
    Array(Vec<Value>),
    Object(Box<Map>),
    /// A non-empty object or array kept as its JSON text, not built (`Parser::skip_canonical`):
    /// compact, printable ASCII and spelled exactly as the encoder spells its value, so writing it
    /// is copying it. Only the `properties` members that no stage reads are kept so (the caller's
    /// filter, `PropSpans::read_keys`); anything that must look inside one parses it (`built`).
    Raw(Box<[u8]>),
}

// Word-at-a-time byte tests (classic "has zero byte" tricks; exact as booleans).
const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

#[inline(always)]
fn has_zero(v: u64) -> u64 {
    v.wrapping_sub(ONES) & !v & HIGH
}

#[inline(always)]
fn load8(b: &[u8], i: usize) -> u64 {
    u64::from_le_bytes(b[i..i + 8].try_into().unwrap())
}

/// Any byte that ends a plain run inside a JSON string literal: `"`, `\` or a control char.
#[inline(always)]
fn parse_special(w: u64) -> bool {
    (has_zero(w ^ (ONES * b'"' as u64)) | has_zero(w ^ (ONES * b'\\' as u64)) | (w.wrapping_sub(ONES * 0x20) & !w & HIGH)) != 0
}

pub fn new_map() -> Map {
    Map::default()
}

/// A value that owns no memory is copied as its bytes, inline at the call; only the others take
/// the member-by-member clone. Why: the stages clone ~15 values a general event (the
/// event-to-person copies, `$ip`, `$sent_at`), most of them numbers and short strings, and each
/// was a call through the derived clone's match (callgrind: ~48 instructions a clone).
impl Clone for Value {
    #[inline(always)]
    fn clone(&self) -> Self {
        if self.owns_nothing() {
            // SAFETY: a value that owns no memory (a literal, a number, an inline string) is
            // plain bytes: the copy shares nothing with self.
            return unsafe { std::ptr::read(self) };
        }
        self.clone_owning()
    }
}

impl Value {
    #[inline(never)]
    fn clone_owning(&self) -> Value {
        match self {
            Value::Null => Value::Null,
            Value::Bool(b) => Value::Bool(*b),
            Value::Int(i) => Value::Int(*i),
            Value::UInt(u) => Value::UInt(*u),
            Value::Float(f) => Value::Float(*f),
            Value::Str(s) => Value::Str(s.clone()),
            Value::Array(a) => Value::Array(a.clone()),
            Value::Object(m) => Value::Object(m.clone()),
            Value::Raw(t) => Value::Raw(t.clone()),
        }
    }

    /// A value that owns no memory (a literal, a number or an inline string): dropping it is a
    /// no-op.
    #[inline(always)]
    pub fn owns_nothing(&self) -> bool {
        match self {
            Value::Str(s) => !s.is_heap(),
            Value::Array(_) | Value::Object(_) | Value::Raw(_) => false,
            _ => true,
        }
    }
    pub fn as_str(&self) -> Option<&[u8]> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
    /// Python truthiness (`if value:`).
    pub fn truthy(&self) -> bool {
        match self {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::UInt(u) => *u != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::Array(a) => !a.is_empty(),
            Value::Object(m) => !m.is_empty(),
            Value::Raw(_) => true, // never an empty container
        }
    }
}

/// A Raw value's tree (for the rare reader that must look inside one; its text parsed once
/// already, so the parse cannot fail).
pub fn built(text: &[u8]) -> Value {
    parse(text).unwrap_or(Value::Null)
}

/// Why a parse failed: `too_deep` maps to the reason "json_too_deep", anything else to
/// "invalid_json" (the message only helps debugging).
#[derive(Debug)]
pub struct ParseError {
    pub msg: &'static str,
    pub pos: usize,
    pub too_deep: bool,
}

/// Nesting limit of the JSON rules (jsonrules.MAX_DEPTH).
pub const MAX_DEPTH: usize = 64;

/// jsonrules.too_deep: `[`/`{` nesting outside string literals exceeds max_depth at any point.
/// Checked on the raw text before parsing, so a document that is both too deep and invalid is
/// "too deep", as in the reference.
pub fn too_deep(text: &[u8], max_depth: usize) -> bool {
    let brackets = memchr::memchr_iter(b'[', text).count() + memchr::memchr_iter(b'{', text).count();
    if brackets <= max_depth {
        return false;
    }
    let mut depth: usize = 0;
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'"' => {
                // skip the literal: backslash escapes one byte; may run to the end unterminated
                i += 1;
                while i < text.len() {
                    match text[i] {
                        b'\\' => i += 2,
                        b'"' => break,
                        _ => i += 1,
                    }
                }
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > max_depth {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.wrapping_sub(1),
            _ => {}
        }
        i += 1;
    }
    false
}

/// Parse one document under the JSON rules (jsonrules.loads).
///
/// Same answers as "scan the raw text for depth, then parse", without scanning valid documents:
/// the parser stops at depth MAX_DEPTH + 1 (a valid prefix: the scan sees the same depth), and
/// only a document that fails to parse for another reason is scanned to choose the reason.
pub fn parse(input: &[u8]) -> Result<Value, ParseError> {
    parse_impl(input, None)
}

/// One member `"key":value` of the top-level `properties` object of a document, as spelled in
/// the input text: bytes [start, end), the key's closing quote at key_end.
#[derive(Clone, Copy, Debug)]
pub struct MemberSpan {
    pub start: u32,
    /// u32::MAX when the key is spelled with an escape (its text is not its value: never matched)
    pub key_end: u32,
    pub end: u32,
    /// the parser's count of `"` and `\\` characters before start and before end (see `qb`)
    pub qb_start: u32,
    pub qb_end: u32,
    /// nothing in the span is spelled otherwise than the encoder spells it, judged by the parser
    /// (no whitespace, `-0`, repeated key, escape other than the encoder's own (`canonical_escape`)
    /// or float spelled otherwise than its repr; non-ASCII is judged by the writer's caller on
    /// the whole record)
    pub canonical: bool,
}

/// The spans of the top-level `properties` members; `valid` is false when they cannot be used
/// (no such object, or a repeated key in it: its first position holds the last value).
#[derive(Default, Debug)]
pub struct PropSpans {
    pub members: Vec<MemberSpan>,
    pub valid: bool,
    /// parsing an outer record: where the top-level `data` string literal's contents are (the
    /// last `data` member; None when it is not a string)
    pub data_lit: Option<(u32, u32)>,
    /// number of `"` and `\\` characters in the whole text (valid after a successful parse)
    pub qb_total: u64,
    /// parsing an outer record: the `data` literal has no escape but `\\"`, `\\\\` and `\\/`, so its
    /// text holds no control character (the inner parse then skips that scan)
    pub data_plain: bool,
    /// set by the caller before parsing: the input is known to hold no byte below 0x20
    pub known_no_controls: bool,
    /// set by the caller before parse_recording, for a document known to be printable ASCII:
    /// the keys some stage reads. A `properties` member whose key it rejects and whose value is
    /// a compact canonical container is kept as Value::Raw, not built: large `$exception_list`s,
    /// `$ai_*` payloads, flag lists that only the output copies (general events: the `data`
    /// parse −4% instructions, the child −3.8% and the floor −7.6% in time). None builds every
    /// value.
    pub read_keys: Option<fn(&[u8]) -> bool>,
    /// set by the caller before parse_recording: build the `properties` object's lookup index
    /// while parsing it (Map::from_scratch_indexed), for a caller that looks its members up
    pub index_properties: bool,
    want_members: bool,
}

/// parse(), also recording the spans of the members of the top-level object's `properties`
/// object (the last one, if the key repeats), so that a writer can copy unchanged members
/// verbatim (`write_props_as_str`). Validation is exactly parse()'s: the same parser runs.
pub fn parse_recording(input: &[u8], spans: &mut PropSpans) -> Result<Value, ParseError> {
    spans.want_members = true;
    spans.members.clear();
    spans.members.reserve(64);
    spans.valid = false;
    spans.data_lit = None;
    parse_impl(input, Some(spans))
}

/// parse(), also noting where the top-level `data` string literal is (`spans.data_lit`).
pub fn parse_locating_data(input: &[u8], spans: &mut PropSpans) -> Result<Value, ParseError> {
    spans.want_members = false;
    spans.data_lit = None;
    spans.data_plain = false;
    parse_impl(input, Some(spans))
}

fn parse_impl(input: &[u8], spans: Option<&mut PropSpans>) -> Result<Value, ParseError> {
    let r = match spans {
        None => parse_with::<0>(input, None),
        Some(s) if s.want_members => parse_with::<2>(input, Some(s)),
        Some(s) => parse_with::<1>(input, Some(s)),
    };
    match r {
        Err(e) if !e.too_deep && too_deep(input, MAX_DEPTH) => {
            Err(ParseError { msg: "nesting too deep", pos: 0, too_deep: true })
        }
        other => other,
    }
}

/// The parser's work buffers, kept between documents: a fresh parser grew its member stack from
/// nothing for every document (several reallocations each, callgrind: `grow_one`/`finish_grow`).
#[derive(Default)]
struct Buffers {
    scratch: Vec<(JStr, Value)>,
    items: Vec<Value>,
    strbuf: Vec<u8>,
    numbuf: Vec<u8>,
    keys: Vec<(u32, u32)>,
}

thread_local! {
    static BUFFERS: std::cell::Cell<Option<Box<Buffers>>> = const { std::cell::Cell::new(None) };
}

fn parse_with<const R: u8>(input: &[u8], mut spans: Option<&mut PropSpans>) -> Result<Value, ParseError> {
    let known = spans.as_ref().is_some_and(|s| s.known_no_controls);
    let bufs = BUFFERS.with(|c| c.take()).unwrap_or_default();
    let Buffers { scratch, items, strbuf, numbuf, keys } = *bufs;
    let mut p = Parser::<R> {
        b: input,
        i: 0,
        depth: 0,
        scratch,
        items,
        strbuf,
        no_controls: known || !crate::scan::any_control(input),
        ctl_escapes: 0,
        rec_next: false,
        noncanon: 0,
        qb: 0,
        spans: PropSpans::default(),
        numbuf,
        keys,
    };
    if let Some(s) = spans.as_mut() {
        std::mem::swap(*s, &mut p.spans); // reuse its buffer
    }
    let r = p.document();
    if let Some(s) = spans.as_mut() {
        p.spans.qb_total = p.qb;
        std::mem::swap(*s, &mut p.spans);
    }
    let (mut scratch, mut items) = (p.scratch, p.items);
    scratch.clear(); // after an error, members of unfinished objects may remain
    items.clear();
    let keys = p.keys;
    BUFFERS.with(|c| c.set(Some(Box::new(Buffers { scratch, items, strbuf: p.strbuf, numbuf: p.numbuf, keys }))));
    r
}

/// R: what to record (a const parameter so that parse() — the floor's and the context's parser —
/// carries none of the bookkeeping): 0 nothing; 1 only where the top-level `data` string literal
/// is (parse_locating_data, for the record value); 2 the `properties` members' spans and what is
/// needed to judge them (parse_recording, for the `data` document).
struct Parser<'a, const R: u8> {
    b: &'a [u8],
    i: usize,
    depth: usize,
    /// members of the objects being parsed, innermost last: each map is built at its exact size
    scratch: Vec<(JStr, Value)>,
    /// the same for array items
    items: Vec<Value>,
    /// unescaping buffer, reused: each string is then copied out at its exact size
    strbuf: Vec<u8>,
    /// the input has no byte below 0x20 at all (compact JSON): strings can skip that check
    no_controls: bool,
    /// escapes that may yield a control character (`\\b \\f \\n \\r \\t \\uXXXX`) seen so far
    ctl_escapes: u32,
    /// the next object parsed is that `properties` object
    rec_next: bool,
    /// things seen so far that the canonical encoder would spell differently from the input:
    /// whitespace, floats not spelled as their repr, `-0`, repeated keys, escapes not spelled the encoder's way
    noncanon: u64,
    /// `"` and `\\` characters consumed so far (string delimiters, and in escapes the backslash
    /// and an escaped `"` or `\\`): where text[i] sits in a JSON string literal that spells the
    /// text with only `\\"` and `\\\\` escapes is i + qb (write_props_as_str)
    qb: u64,
    spans: PropSpans,
    /// a float's canonical spelling, to compare with the input's (R == 2)
    numbuf: Vec<u8>,
    /// skip_canonical: (start, length) of the keys of the objects it is inside
    keys: Vec<(u32, u32)>,
}

/// Vec::push, inlined: the parser's member and item stacks are pushed once per value, and the
/// out-of-line push_mut moved each 64-byte member through the stack (callgrind).
#[inline(always)]
fn push_inline<T>(v: &mut Vec<T>, x: T) {
    if v.len() == v.capacity() {
        v.reserve(16);
    }
    // SAFETY: len < capacity after the reserve; the slot is written before the length covers it.
    unsafe {
        v.as_mut_ptr().add(v.len()).write(x);
        v.set_len(v.len() + 1);
    }
}

/// The length of the string literal whose contents start at `i` when it holds no escape (its
/// closing quote comes before any backslash), else None: two loads for the short ones that most
/// keys and values are, a scan for the rest (URLs, user agents, labels).
#[inline(always)]
fn plain_len(b: &[u8], i: usize) -> Option<usize> {
    match crate::scan::plain_string_len(b, i) {
        Some(n) => Some(n),
        None => {
            let j = crate::scan::quote_or_backslash(b, i);
            (j < b.len() && b[j] == b'"').then(|| j - i)
        }
    }
}

#[inline(always)]
fn find_quote_or_backslash(b: &[u8], i: usize) -> usize {
    crate::scan::quote_or_backslash(b, i)
}

impl<'a, const R: u8> Parser<'a, R> {
    fn err(&self, msg: &'static str) -> ParseError {
        ParseError { msg, pos: self.i, too_deep: false }
    }

    fn document(&mut self) -> Result<Value, ParseError> {
        self.skip_ws();
        let v = self.value()?;
        self.skip_ws();
        if self.i != self.b.len() {
            return Err(self.err("extra data"));
        }
        Ok(v)
    }

    #[inline]
    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ParseError { msg: "nesting too deep", pos: self.i, too_deep: true });
        }
        Ok(())
    }

    #[inline]
    fn skip_ws(&mut self) {
        let start = self.i;
        while self.i < self.b.len() {
            match self.b[self.i] {
                b' ' | b'\t' | b'\n' | b'\r' => self.i += 1,
                _ => break,
            }
        }
        if R == 2 && self.i != start {
            self.noncanon += 1;
        }
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn value(&mut self) -> Result<Value, ParseError> {
        match self.peek() {
            None => Err(self.err("expecting value")),
            Some(b'"') => {
                self.i += 1;
                Ok(Value::Str(self.string()?))
            }
            Some(b'{') => {
                self.enter()?;
                let r = self.object();
                self.depth -= 1;
                r
            }
            Some(b'[') => {
                self.enter()?;
                let r = self.array();
                self.depth -= 1;
                r
            }
            Some(b'n') => self.literal(b"null", Value::Null),
            Some(b't') => self.literal(b"true", Value::Bool(true)),
            Some(b'f') => self.literal(b"false", Value::Bool(false)),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.err("expecting value")),
        }
    }

    fn literal(&mut self, word: &[u8], v: Value) -> Result<Value, ParseError> {
        if self.b[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(v)
        } else {
            Err(self.err("expecting value"))
        }
    }

    fn number(&mut self) -> Result<Value, ParseError> {
        let start = self.i;
        let b = self.b;
        let mut i = self.i;
        if b[i] == b'-' {
            i += 1;
        }
        match b.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => {
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
            }
            _ => return Err(self.err("expecting value")),
        }
        let int_end = i;
        let mut is_float = false;
        // Python's scanner: a fraction needs a digit after '.', an exponent a digit after [eE][+-];
        // otherwise the number ends before them (and the leftover is a syntax error upstream).
        if i + 1 < b.len() && b[i] == b'.' && b[i + 1].is_ascii_digit() {
            i += 2;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            is_float = true;
        }
        if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
            let mut j = i + 1;
            if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
                j += 1;
            }
            if j < b.len() && b[j].is_ascii_digit() {
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
                i = j;
                is_float = true;
            }
        }
        self.i = i;
        if !is_float {
            // Integers of at most 18 digits (every one fits an i64) are accumulated directly
            // (callgrind: str::from_utf8 + i64::from_str per number).
            let neg = b[start] == b'-';
            let digits = &b[start + neg as usize..i];
            if digits.len() <= 18 {
                let mut n: i64 = 0;
                for &d in digits {
                    n = n * 10 + (d - b'0') as i64;
                }
                if R == 2 && n == 0 && neg {
                    self.noncanon += 1; // `-0` is written `0`
                }
                return Ok(Value::Int(if neg { -n } else { n }));
            }
        }
        // SAFETY of from_utf8: only ASCII digits, sign, '.', 'e' were consumed.
        let text = std::str::from_utf8(&b[start..i]).unwrap();
        if !is_float {
            debug_assert!(int_end == i);
            if let Ok(n) = text.parse::<i64>() {
                if R == 2 && n == 0 && text.len() != 1 {
                    self.noncanon += 1; // `-0` is written `0`
                }
                return Ok(Value::Int(n));
            }
            if let Ok(n) = text.parse::<u64>() {
                return Ok(Value::UInt(n));
            }
        }
        // correctly rounded, like Python's float(); an infinite result is out of range
        let f = text.parse::<f64>().unwrap_or(f64::INFINITY);
        if f.is_infinite() {
            return Err(self.err("number out of range"));
        }
        if R == 2 {
            // canonical only when spelled as the encoder spells it (Python's repr)
            let canonical = match plain_float_is_repr(text.as_bytes()) {
                Some(c) => c,
                None => {
                    let mut spelled = std::mem::take(&mut self.numbuf);
                    spelled.clear();
                    write_float(&mut spelled, f);
                    let c = spelled == text.as_bytes();
                    self.numbuf = spelled;
                    c
                }
            };
            self.noncanon += !canonical as u64;
        }
        Ok(Value::Float(f))
    }

    fn array(&mut self) -> Result<Value, ParseError> {
        self.i += 1;
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(Value::Array(Vec::new()));
        }
        let base = self.items.len();
        if let Err(e) = self.elements() {
            self.items.truncate(base);
            return Err(e);
        }
        let n = self.items.len() - base;
        Ok(Value::Array(crate::omap::take_tail(&mut self.items, base, n)))
    }

    fn elements(&mut self) -> Result<(), ParseError> {
        loop {
            self.skip_ws();
            let v = self.value()?;
            push_inline(&mut self.items, v);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return Err(self.err("expecting ',' delimiter")),
            }
        }
    }

    fn object(&mut self) -> Result<Value, ParseError> {
        self.i += 1;
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(Value::Object(Box::new(new_map())));
        }
        let record = R == 2 && std::mem::take(&mut self.rec_next);
        let base = self.scratch.len();
        let r = self.members(record);
        if let Err(e) = r {
            self.scratch.truncate(base);
            return Err(e);
        }
        // Python dict semantics: a repeated key keeps its first position and its last value.
        let (map, repeated) = if record && self.spans.index_properties {
            Map::from_scratch_indexed(&mut self.scratch, base)
        } else {
            Map::from_scratch(&mut self.scratch, base)
        };
        if R == 2 && repeated {
            self.noncanon += 1;
        }
        if record {
            self.spans.valid = !repeated;
        }
        Ok(Value::Object(Box::new(map)))
    }

    /// One member `"key":value` followed by `,` or `}` in the commonest spelling — a key and a
    /// string value without escapes, or a number, or a literal, no whitespace — parsed in one
    /// straight run; false (nothing consumed) otherwise.
    ///
    /// Why: most members of event properties are spelled so, and the general path's per-member
    /// work (whitespace checks, a value() call returning through the stack, separate checks of
    /// each delimiter) was most of the parser's instructions (callgrind, parser ~90 instructions
    /// per token).
    #[inline(always)]
    fn plain_member(&mut self, record: bool) -> bool {
        let b = self.b;
        let start = self.i;
        if !self.no_controls || b.get(start) != Some(&b'"') {
            return false;
        }
        let Some(klen) = plain_len(b, start + 1) else { return false };
        let colon = start + 2 + klen;
        if b.get(colon) != Some(&b':') {
            return false;
        }
        // the top-level members that the recording parsers note (`members`) go the general way
        if R != 0 && self.depth == 1 && matches!(&b[start + 1..colon - 1], b"properties" | b"data") {
            return false;
        }
        let vstart = colon + 1;
        let nc0 = self.noncanon;
        let (value, end, quotes) = match b.get(vstart) {
            Some(b'"') => {
                let Some(vlen) = plain_len(b, vstart + 1) else { return false };
                (Value::Str(JStr::from_slice_in(b, vstart + 1, vlen)), vstart + 2 + vlen, 4)
            }
            Some(&c @ (b'-' | b'0'..=b'9')) => {
                // small positive integers here; zero, negatives, floats and long ones by number()
                let mut i = vstart;
                let mut n: i64 = 0;
                if c != b'-' && c != b'0' {
                    while i < b.len() && b[i].is_ascii_digit() && i - vstart < 18 {
                        n = n * 10 + (b[i] - b'0') as i64;
                        i += 1;
                    }
                }
                if i > vstart && matches!(b.get(i), Some(b',' | b'}')) {
                    (Value::Int(n), i, 2)
                } else {
                    self.i = vstart;
                    match self.number() {
                        Ok(v) => (v, self.i, 2),
                        Err(_) => {
                            // the general path parses it again and reports the error
                            self.i = start;
                            return false;
                        }
                    }
                }
            }
            Some(b't') if b[vstart..].starts_with(b"true") => (Value::Bool(true), vstart + 4, 2),
            Some(b'f') if b[vstart..].starts_with(b"false") => (Value::Bool(false), vstart + 5, 2),
            Some(b'n') if b[vstart..].starts_with(b"null") => (Value::Null, vstart + 4, 2),
            _ => return false,
        };
        if !matches!(b.get(end), Some(b',' | b'}')) {
            // e.g. whitespace after the value: the general path parses the member again
            self.i = start;
            self.noncanon = nc0;
            return false;
        }
        if R == 2 {
            self.qb += quotes;
            if record {
                self.spans.members.push(MemberSpan {
                    start: start as u32,
                    key_end: (colon - 1) as u32,
                    end: end as u32,
                    qb_start: (self.qb - quotes) as u32,
                    qb_end: self.qb as u32,
                    canonical: self.noncanon == nc0,
                });
            }
        }
        push_inline(&mut self.scratch, (JStr::from_slice_in(b, start + 1, klen), value));
        self.i = end;
        true
    }

    fn members(&mut self, record: bool) -> Result<(), ParseError> {
        loop {
            if self.plain_member(record) {
                // the delimiter after it, as below
                let c = self.b[self.i];
                self.i += 1;
                if c == b'}' {
                    return Ok(());
                }
                continue;
            }
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(self.err("expecting property name enclosed in double quotes"));
            }
            let start = self.i;
            let nc0 = self.noncanon;
            let qb_key = self.qb;
            self.i += 1;
            let key = self.string()?;
            let key_end = self.i - 1;
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(self.err("expecting ':' delimiter"));
            }
            self.i += 1;
            self.skip_ws();
            let mut data_at = None;
            if R != 0 && self.depth == 1 {
                if R == 2 && key == b"properties" {
                    // the last `properties` wins: forget the spans of an earlier one
                    self.spans.members.clear();
                    self.spans.valid = false;
                    self.rec_next = self.peek() == Some(b'{');
                } else if R == 1 && key == b"data" {
                    self.spans.data_lit = None;
                    self.spans.data_plain = false;
                    if self.peek() == Some(b'"') {
                        data_at = Some(self.i + 1);
                    }
                }
            }
            let ctl0 = self.ctl_escapes;
            let vstart = self.i;
            let v = if record
                && matches!(self.peek(), Some(b'{' | b'['))
                && self.spans.read_keys.is_some_and(|reads| !reads(&key))
                && self.skip_canonical()
            {
                Value::Raw(self.b[vstart..self.i].into())
            } else {
                self.value()?
            };
            self.rec_next = false;
            if R == 1 && data_at.is_some() {
                let a = data_at.unwrap();
                self.spans.data_lit = Some((a as u32, (self.i - 1) as u32));
                self.spans.data_plain = self.ctl_escapes == ctl0;
            }
            if record {
                let key_plain = key.len() == key_end - start - 1;
                self.spans.members.push(MemberSpan {
                    start: start as u32,
                    key_end: if key_plain { key_end as u32 } else { u32::MAX },
                    end: self.i as u32,
                    qb_start: qb_key as u32,
                    qb_end: self.qb as u32,
                    canonical: self.noncanon == nc0,
                });
            }
            push_inline(&mut self.scratch, (key, v));
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return Err(self.err("expecting ',' delimiter")),
            }
        }
    }

    /// Recognizes at `self.i` a non-empty object or array spelled compactly and exactly as the
    /// encoder spells its value (no whitespace, no escaped or repeated key, only the encoder's
    /// escapes, floats as their repr, nesting within MAX_DEPTH), without building it: true with
    /// `self.i` past it and `qb` counted as parsing it would. Otherwise false with nothing
    /// consumed: the caller parses it the usual way, which also reports any error, so this only
    /// has to be sure of what it accepts.
    fn skip_canonical(&mut self) -> bool {
        let (start, qb0, nc0) = (self.i, self.qb, self.noncanon);
        let mut keys = std::mem::take(&mut self.keys);
        keys.clear();
        let ok = self.no_controls && self.skip_walk(&mut keys) && self.noncanon == nc0;
        self.keys = keys;
        if !ok {
            (self.i, self.qb, self.noncanon) = (start, qb0, nc0);
        }
        ok
    }

    fn skip_walk(&mut self, keys: &mut Vec<(u32, u32)>) -> bool {
        let b = self.b;
        let mut i = self.i;
        if matches!(b.get(i + 1), Some(b'}' | b']')) {
            return false; // an empty one is built: nothing to save
        }
        let max = MAX_DEPTH - self.depth; // levels below this member (enter()'s limit)
        let mut d = 0usize;
        let mut objects: u64 = 0; // bit k: level k + 1 is an object
        let mut bases = [0u32; MAX_DEPTH + 1]; // where each open object's keys start in `keys`
        'value: loop {
            match b.get(i) {
                Some(&c @ (b'{' | b'[')) => {
                    d += 1;
                    if d > max {
                        return false;
                    }
                    i += 1;
                    let empty = b.get(i) == Some(if c == b'{' { &b'}' } else { &b']' });
                    if empty {
                        i += 1;
                        d -= 1;
                    } else if c == b'{' {
                        objects |= 1 << (d - 1);
                        bases[d] = keys.len() as u32;
                        match self.skip_key(i, keys) {
                            Some(j) => i = j,
                            None => return false,
                        }
                        continue 'value;
                    } else {
                        objects &= !(1 << (d - 1));
                        continue 'value;
                    }
                }
                Some(b'"') => match self.skip_string(i + 1) {
                    Some(j) => i = j,
                    None => return false,
                },
                Some(b'-' | b'0'..=b'9') => {
                    self.i = i;
                    if self.number().is_err() {
                        return false;
                    }
                    i = self.i;
                }
                Some(b't') if b[i..].starts_with(b"true") => i += 4,
                Some(b'f') if b[i..].starts_with(b"false") => i += 5,
                Some(b'n') if b[i..].starts_with(b"null") => i += 4,
                _ => return false,
            }
            // after a value: close containers until a `,` continues one
            loop {
                if d == 0 {
                    self.i = i;
                    return true;
                }
                let in_object = objects >> (d - 1) & 1 == 1;
                match b.get(i) {
                    Some(b',') => {
                        i += 1;
                        if in_object {
                            match self.skip_key(i, keys) {
                                Some(j) => i = j,
                                None => return false,
                            }
                        }
                        continue 'value;
                    }
                    Some(b'}') if in_object => {
                        let base = bases[d] as usize;
                        if repeated_key(b, &keys[base..]) {
                            return false;
                        }
                        keys.truncate(base);
                    }
                    Some(b']') if !in_object => {}
                    _ => return false,
                }
                i += 1;
                d -= 1;
            }
        }
    }

    /// A key without escapes and its `:` at `i`: the index after them, the key noted in `keys`.
    #[inline]
    fn skip_key(&mut self, i: usize, keys: &mut Vec<(u32, u32)>) -> Option<usize> {
        let b = self.b;
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let j = find_quote_or_backslash(b, i + 1);
        if b.get(j) != Some(&b'"') || b.get(j + 1) != Some(&b':') {
            return None;
        }
        self.qb += 2;
        keys.push(((i + 1) as u32, (j - i - 1) as u32));
        Some(j + 2)
    }

    /// A string literal's contents from `i` holding only the encoder's escapes: the index after
    /// its closing quote.
    #[inline]
    fn skip_string(&mut self, mut i: usize) -> Option<usize> {
        let b = self.b;
        self.qb += 2;
        loop {
            let j = find_quote_or_backslash(b, i);
            match b.get(j) {
                Some(b'"') => return Some(j + 1),
                Some(_) if canonical_escape(b, j) => {
                    // counted as escape() counts them
                    let e = b[j + 1];
                    self.qb += if e == b'"' || e == b'\\' { 2 } else { 1 };
                    i = j + if e == b'u' { 6 } else { 2 };
                }
                _ => return None,
            }
        }
    }

    /// string() for inputs without control characters: only `"` and `\\` matter.
    ///
    /// The `data` string of every record is JSON inside JSON: an escape every few bytes (`\"`).
    /// Runs between escapes are copied sixteen bytes at a time with unaligned stores into the
    /// unescape buffer (scan::copy_to_special), instead of a scan plus a memcpy call per run
    /// (callgrind: the memcpy calls and the scan setup were most of the decode of `data`).
    fn string_no_controls(&mut self) -> Result<JStr, ParseError> {
        let b = self.b;
        let start = self.i;
        if let Some((k, v)) = crate::scan::short_string(b, start) {
            self.i = start + k + 1;
            return Ok(JStr::from_padded16(k, v));
        }
        let mut i = find_quote_or_backslash(b, start);
        if i < b.len() && b[i] == b'"' {
            self.i = i + 1;
            return Ok(JStr::from_slice(&b[start..i]));
        }
        let mut out = std::mem::take(&mut self.strbuf);
        out.clear();
        // Unescaping never lengthens: the output up to input position i is at most i - start
        // bytes. So with capacity b.len() - start, a 16-byte store at output position o while
        // i + 16 <= b.len() stays inside the buffer.
        out.reserve(b.len() - start);
        out.extend_from_slice(&b[start..i]);
        let mut o = out.len();
        let r = loop {
            // b[i] is `"` or `\\`, or i is the end
            if i >= b.len() {
                self.i = i;
                break Err(self.err("unterminated string"));
            }
            if b[i] == b'"' {
                self.i = i + 1;
                // SAFETY: bytes [0, o) were all written (copied runs and escapes).
                unsafe { out.set_len(o) };
                // a long string (the `data` document, JSON in JSON) keeps the buffer itself
                // rather than copying it; the next one grows a new buffer
                break Ok(if o >= 1024 { JStr::from(std::mem::take(&mut out)) } else { JStr::from_slice(&out) });
            }
            // a backslash
            match b.get(i + 1) {
                Some(&c @ (b'"' | b'\\' | b'/')) => {
                    if R == 2 {
                        // `\"` and `\\` are the encoder's own spelling; `\/` is not
                        self.noncanon += (c == b'/') as u64;
                        self.qb += if c == b'/' { 1 } else { 2 };
                    }
                    // SAFETY: o <= i - start < capacity (see above).
                    unsafe { *out.as_mut_ptr().add(o) = c };
                    o += 1;
                    i += 2;
                }
                _ => {
                    // SAFETY: as at the end.
                    unsafe { out.set_len(o) };
                    i = match self.escape(&mut out, i) {
                        Ok(i) => i,
                        Err(e) => break Err(e),
                    };
                    o = out.len();
                }
            }
            // whole blocks holding only `\"` escapes (JSON in JSON), branch-free per block
            #[cfg(target_arch = "x86_64")]
            if R != 2 && crate::scan::have_ssse3() {
                // SAFETY: SSSE3 checked; o <= i - start and the capacity reserved above is at
                // least b.len() - start, which is what unescape_quote_blocks needs.
                debug_assert!(o <= i - start && out.capacity() >= b.len() - start);
                if crate::scan::have_avx2() {
                    // SAFETY: AVX2 checked; the same room condition
                    (i, o) = unsafe { crate::scan::unescape_quote_blocks32(b, i, out.as_mut_ptr(), o) };
                }
                (i, o) = unsafe { crate::scan::unescape_quote_blocks(b, i, out.as_mut_ptr(), o) };
            }
            // the run up to the next `"` or `\\`: copy_to_special stores sixteen bytes at a time,
            // then tests them (one escape every few bytes in JSON-in-JSON: a scan plus a memcpy
            // call per run cost more than the bytes); its room check holds, as o <= i - start
            // SAFETY: bytes [0, o) were all written.
            unsafe { out.set_len(o) };
            i = crate::scan::copy_to_special(b, i, &mut out);
            o = out.len();
        };
        if r.is_err() {
            out.clear(); // only kept for reuse
        }
        self.strbuf = out;
        r
    }

    /// One escape sequence at `i` (a backslash) appended to `out`; returns the index after it.
    fn escape(&mut self, out: &mut Vec<u8>, i: usize) -> Result<usize, ParseError> {
        let b = self.b;
        let Some(&e) = b.get(i + 1) else {
            self.i = i;
            return Err(self.err("unterminated string"));
        };
        let mut i = i + 2;
        if R == 2 {
            self.noncanon += !canonical_escape(b, i - 2) as u64;
            self.qb += if e == b'"' || e == b'\\' { 2 } else { 1 };
        }
        self.ctl_escapes += !matches!(e, b'"' | b'\\' | b'/') as u32;
        match e {
            b'"' => out.push(b'"'),
            b'\\' => out.push(b'\\'),
            b'/' => out.push(b'/'),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'u' => {
                let Some(mut cp) = hex4(b, i) else {
                    self.i = i;
                    return Err(self.err("invalid \\uXXXX escape"));
                };
                i += 4;
                // A high surrogate followed by an escaped low one is a pair; anything else
                // leaves it lone (kept, as Python does).
                if (0xD800..0xDC00).contains(&cp) && b.get(i) == Some(&b'\\') && b.get(i + 1) == Some(&b'u') {
                    if let Some(lo) = hex4(b, i + 2) {
                        if (0xDC00..0xE000).contains(&lo) {
                            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                            i += 6;
                            if R == 2 {
                                self.qb += 1; // the low half's backslash
                            }
                        }
                    }
                }
                push_code_point(out, cp);
            }
            _ => {
                self.i = i - 1;
                return Err(self.err("invalid escape"));
            }
        }
        Ok(i)
    }

    /// After the opening quote. Raw control characters are errors (Python's strict mode).
    ///
    /// The short-string case is inlined into the callers: returning a JStr through the stack
    /// from a call, written in pieces and read back whole, stalled on store forwarding (perf
    /// annotate: the loads right after `call string` were the parser's hottest instructions).
    #[inline(always)]
    fn string(&mut self) -> Result<JStr, ParseError> {
        if R == 2 {
            self.qb += 2;
        }
        if self.no_controls {
            if let Some((k, v)) = crate::scan::short_string(self.b, self.i) {
                self.i += k + 1;
                return Ok(JStr::from_padded16(k, v));
            }
        }
        self.string_slow()
    }

    #[inline(never)]
    fn string_slow(&mut self) -> Result<JStr, ParseError> {
        let b = self.b;
        let start = self.i;
        let mut i = start;
        if self.no_controls {
            return self.string_no_controls();
        }
        // Fast path: no escapes; eight bytes at a time first.
        while i + 8 <= b.len() && !parse_special(load8(b, i)) {
            i += 8;
        }
        while i < b.len() {
            let c = b[i];
            if c == b'"' {
                self.i = i + 1;
                return Ok(JStr::from_slice(&b[start..i]));
            }
            if c == b'\\' || c < 0x20 {
                break;
            }
            i += 1;
        }
        let mut out: Vec<u8> = Vec::with_capacity(i - start + 16);
        out.extend_from_slice(&b[start..i]);
        loop {
            let Some(&c) = b.get(i) else {
                self.i = i;
                return Err(self.err("unterminated string"));
            };
            match c {
                b'"' => {
                    self.i = i + 1;
                    return Ok(out.into());
                }
                b'\\' => i = self.escape(&mut out, i)?,
                c if c < 0x20 => {
                    self.i = i;
                    return Err(self.err("invalid control character"));
                }
                _ => {
                    let run = i;
                    while i + 8 <= b.len() && !parse_special(load8(b, i)) {
                        i += 8;
                    }
                    while i < b.len() && b[i] != b'"' && b[i] != b'\\' && b[i] >= 0x20 {
                        i += 1;
                    }
                    out.extend_from_slice(&b[run..i]);
                }
            }
        }
    }
}

/// Whether an object's keys (positions in `b`, spelled without escapes) repeat one.
fn repeated_key(b: &[u8], keys: &[(u32, u32)]) -> bool {
    let text = |&(s, n): &(u32, u32)| &b[s as usize..(s + n) as usize];
    if keys.len() <= 16 {
        return keys.iter().enumerate().any(|(k, x)| keys[..k].iter().any(|y| x.1 == y.1 && text(x) == text(y)));
    }
    let mut sorted: Vec<&[u8]> = keys.iter().map(text).collect();
    sorted.sort_unstable();
    sorted.windows(2).any(|w| w[0] == w[1])
}

/// Whether the escape at `b[i]` (a backslash) is spelled exactly as the encoder
/// (`json.dumps(ensure_ascii=True)`) writes the character it stands for: `\"`, `\\`, the five
/// short forms, and `\uXXXX` in lowercase hex for the other controls and for everything from
/// 0x7f up (a surrogate pair as two such escapes). `\/`, uppercase hex and `\u` spellings of
/// printable ASCII or of the short forms are not. The callers count the rest as non-canonical
/// and re-encode (a wrong "canonical" would copy the input's spelling into the output).
fn canonical_escape(b: &[u8], i: usize) -> bool {
    match b.get(i + 1) {
        Some(b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't') => true,
        Some(b'u') => {
            let lower = |j: usize| b.get(j..j + 4).is_some_and(|h| h.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')));
            if !lower(i + 2) {
                return false;
            }
            let cp = hex4(b, i + 2).unwrap_or(0);
            if (0xD800..0xDC00).contains(&cp) && b.get(i + 6) == Some(&b'\\') && b.get(i + 7) == Some(&b'u') {
                // the low half, if it is one, is judged with it: both must be lowercase
                if let Some(lo) = hex4(b, i + 8) {
                    if (0xDC00..0xE000).contains(&lo) {
                        return lower(i + 8);
                    }
                }
            }
            !matches!(cp, 0x08 | 0x09 | 0x0a | 0x0c | 0x0d | 0x20..=0x7e)
        }
        _ => false,
    }
}

/// Whether a JSON float literal is spelled exactly as repr() spells its value, decided from the
/// text for plain decimals (`-?int.frac`, no exponent) of at most 15 significant digits; None
/// otherwise (the caller formats the value and compares).
///
/// Why it holds: repr writes the shortest decimal that reads back as the same double, as
/// `int.frac` (at least one fraction digit) for 1e-4 <= |x| < 1e16. Two decimals of at most 15
/// significant digits never read as the same double (DBL_DIG = 15), so a literal with at most 15
/// significant digits and no superfluous zero is that shortest decimal. (A parse-time check for
/// every float of the properties: formatting each one cost ~1.5% of the child's instructions.)
fn plain_float_is_repr(s: &[u8]) -> Option<bool> {
    let t = s.strip_prefix(b"-").unwrap_or(s);
    let dot = t.iter().position(|&c| c == b'.')?;
    let (int, frac) = (&t[..dot], &t[dot + 1..]);
    if int.is_empty() || frac.is_empty() || (int.len() > 1 && int[0] == b'0') || !int.iter().chain(frac).all(u8::is_ascii_digit) {
        return None; // an exponent (or not a JSON decimal)
    }
    if frac.len() > 1 && frac.ends_with(b"0") {
        return Some(false); // `1.50` is written `1.5`
    }
    if int.len() > 16 {
        return None; // 1e16 and beyond are written with an exponent
    }
    let digits = || int.iter().chain(if frac == b"0" { &b""[..] } else { frac });
    let leading = digits().take_while(|&&c| c == b'0').count();
    let total = digits().count();
    if leading == total {
        return Some(int == b"0"); // zero: `0.0` (JSON has no other leading zeros)
    }
    if int == b"0" && leading > 4 {
        return Some(false); // below 1e-4: written with an exponent (`1e-05`)
    }
    let trailing = digits().rev().take_while(|&&c| c == b'0').count();
    (total - leading - trailing <= 15).then_some(true)
}

fn hex4(b: &[u8], i: usize) -> Option<u32> {
    let s = b.get(i..i + 4)?;
    let mut v = 0u32;
    for &c in s {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => return None,
        };
        v = v * 16 + d as u32;
    }
    Some(v)
}

/// Append a code point (surrogates included) in (generalized) UTF-8.
pub fn push_code_point(out: &mut Vec<u8>, cp: u32) {
    if cp < 0x80 {
        out.push(cp as u8);
    } else if cp < 0x800 {
        out.push(0xC0 | (cp >> 6) as u8);
        out.push(0x80 | (cp & 0x3F) as u8);
    } else if cp < 0x10000 {
        out.push(0xE0 | (cp >> 12) as u8);
        out.push(0x80 | ((cp >> 6) & 0x3F) as u8);
        out.push(0x80 | (cp & 0x3F) as u8);
    } else {
        out.push(0xF0 | (cp >> 18) as u8);
        out.push(0x80 | ((cp >> 12) & 0x3F) as u8);
        out.push(0x80 | ((cp >> 6) & 0x3F) as u8);
        out.push(0x80 | (cp & 0x3F) as u8);
    }
}

/// Decode one code point from WTF-8 at `i`; returns (code point, byte length).
#[inline]
pub fn decode_code_point(s: &[u8], i: usize) -> (u32, usize) {
    let c = s[i];
    if c < 0x80 {
        (c as u32, 1)
    } else if c < 0xE0 {
        ((((c & 0x1F) as u32) << 6) | (s[i + 1] & 0x3F) as u32, 2)
    } else if c < 0xF0 {
        ((((c & 0x0F) as u32) << 12) | (((s[i + 1] & 0x3F) as u32) << 6) | (s[i + 2] & 0x3F) as u32, 3)
    } else {
        (
            (((c & 0x07) as u32) << 18)
                | (((s[i + 1] & 0x3F) as u32) << 12)
                | (((s[i + 2] & 0x3F) as u32) << 6)
                | (s[i + 3] & 0x3F) as u32,
            4,
        )
    }
}

/// Number of code points (Python's `len(str)`).
pub fn char_len(s: &[u8]) -> usize {
    s.iter().filter(|&&c| (c & 0xC0) != 0x80).count()
}

/// The first `n` code points (Python's `s[:n]`).
pub fn char_prefix(s: &[u8], n: usize) -> &[u8] {
    let mut count = 0;
    for (i, &c) in s.iter().enumerate() {
        if (c & 0xC0) != 0x80 {
            if count == n {
                return &s[..i];
            }
            count += 1;
        }
    }
    s
}

// ---------------------------------------------------------------------------------------------
// Serialization: `json.dumps(v, ensure_ascii=True, separators=(",", ":"))` byte for byte.

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Per-byte escape class for ASCII: 0 = copy, 1 = short escape, 2 = \u00XX.
static ESCAPE: [u8; 128] = {
    let mut t = [0u8; 128];
    let mut i = 0;
    while i < 0x20 {
        t[i] = 2;
        i += 1;
    }
    t[0x08] = 1;
    t[0x09] = 1;
    t[0x0A] = 1;
    t[0x0C] = 1;
    t[0x0D] = 1;
    t[b'"' as usize] = 1;
    t[b'\\' as usize] = 1;
    t[0x7F] = 2;
    t
};

fn push_u_escape(out: &mut Vec<u8>, u: u32) {
    out.extend_from_slice(b"\\u");
    out.push(HEX[((u >> 12) & 0xF) as usize]);
    out.push(HEX[((u >> 8) & 0xF) as usize]);
    out.push(HEX[((u >> 4) & 0xF) as usize]);
    out.push(HEX[(u & 0xF) as usize]);
}

pub fn write_str(out: &mut Vec<u8>, s: &[u8]) {
    write_str_g::<false>(out, s)
}

/// The backslash of an escape: in DOUBLE mode the text is itself inside a JSON string, so it is
/// written escaped (`\\`).
#[inline(always)]
fn push_bs<const DOUBLE: bool>(out: &mut Vec<u8>) {
    if DOUBLE {
        push2(out, *b"\\\\");
    } else {
        out.push(b'\\');
    }
}

#[inline(always)]
fn push_quote<const DOUBLE: bool>(out: &mut Vec<u8>) {
    if DOUBLE {
        push2(out, *b"\\\"");
    } else {
        out.push(b'"');
    }
}

/// Two bytes appended with one store: `extend_from_slice` of a two-byte literal stayed a call
/// (callgrind: ~40 instructions for each escaped quote of the event row's re-encoded members).
#[inline(always)]
fn push2(out: &mut Vec<u8>, b: [u8; 2]) {
    out.reserve(2);
    // SAFETY: two bytes reserved past the length.
    unsafe {
        let at = out.len();
        (out.as_mut_ptr().add(at) as *mut [u8; 2]).write_unaligned(b);
        out.set_len(at + 2);
    }
}

/// The opening or closing quote of write_str_g's output at `p`: its length.
///
/// # Safety
/// `p` must be valid for writing two bytes.
#[inline(always)]
unsafe fn put_quote<const DOUBLE: bool>(p: *mut u8) -> usize {
    if DOUBLE {
        (p as *mut [u8; 2]).write_unaligned(*b"\\\"");
        2
    } else {
        *p = b'"';
        1
    }
}

#[inline(always)]
fn push_u_escape_g<const DOUBLE: bool>(out: &mut Vec<u8>, u: u32) {
    push_bs::<DOUBLE>(out);
    out.push(b'u');
    out.push(HEX[((u >> 12) & 0xF) as usize]);
    out.push(HEX[((u >> 8) & 0xF) as usize]);
    out.push(HEX[((u >> 4) & 0xF) as usize]);
    out.push(HEX[(u & 0xF) as usize]);
}

/// json.dumps (ensure_ascii) of a string; with DOUBLE, that text escaped once more, as the
/// contents of an enclosing JSON string (one pass instead of serializing, then escaping).
fn write_str_g<const DOUBLE: bool>(out: &mut Vec<u8>, s: &[u8]) {
    push_quote::<DOUBLE>(out);
    let mut i = 0;
    #[cfg(target_arch = "x86_64")]
    if !DOUBLE && s.len() >= 64 && crate::scan::have_ssse3() {
        // long strings (the overflow lane's whole values): escape-dense blocks without a branch
        // per escape
        out.reserve(2 * s.len() + 32);
        // SAFETY: SSSE3 checked; the reserve gives escape_quote_blocks its room; bytes up to the
        // returned o were written.
        unsafe {
            let (ni, o) = crate::scan::escape_quote_blocks(s, 0, out.as_mut_ptr(), out.len());
            out.set_len(o);
            i = ni;
        }
    }
    loop {
        // copies the plain run itself (no separate memcpy of s[run..i])
        i = crate::scan::copy_plain(s, i, out);
        if i >= s.len() {
            break;
        }
        let c = s[i];
        if c < 0x80 {
            let cls = ESCAPE[c as usize];
            if cls == 1 {
                push_bs::<DOUBLE>(out);
                match c {
                    0x08 => out.push(b'b'),
                    0x09 => out.push(b't'),
                    0x0A => out.push(b'n'),
                    0x0C => out.push(b'f'),
                    0x0D => out.push(b'r'),
                    b'"' => push_quote::<DOUBLE>(out),
                    _ => push_bs::<DOUBLE>(out), // the backslash itself
                }
            } else {
                push_u_escape_g::<DOUBLE>(out, c as u32);
            }
            i += 1;
            } else {
            let (cp, n) = decode_code_point(s, i);
            if cp >= 0x10000 {
                let v = cp - 0x10000;
                push_u_escape_g::<DOUBLE>(out, 0xD800 + (v >> 10));
                push_u_escape_g::<DOUBLE>(out, 0xDC00 + (v & 0x3FF));
            } else {
                push_u_escape_g::<DOUBLE>(out, cp);
            }
            i += n;
            }
    }
    push_quote::<DOUBLE>(out);
}

/// write_str_g for a parsed string: an inline one of at most 16 bytes that needs no escape (most
/// keys and many values) is stored from its zero-padded head in one 16-byte store; one of 17 to
/// 32 bytes from its first and last sixteen (overlapping) in two; the quotes around it in the
/// same reservation. Why the second case: the `$initial_` keys of `$set_once` and many URLs,
/// browser and referrer values are that long, and took write_str_g's general loop.
#[inline(always)]
fn write_jstr_g<const DOUBLE: bool>(out: &mut Vec<u8>, s: &JStr) {
    let n = s.len();
    let (head, tail) = if n <= 16 && !s.is_heap() {
        let h = s.head16();
        if crate::scan::write_mask16(h) & ((1u32 << n) - 1) != 0 {
            return write_str_g::<DOUBLE>(out, s);
        }
        (h, None)
    } else if (17..=32).contains(&n) {
        let (h, t) = (u128::from_le_bytes(s[..16].try_into().unwrap()), u128::from_le_bytes(s[n - 16..].try_into().unwrap()));
        if crate::scan::write_mask16(h) | crate::scan::write_mask16(t) != 0 {
            return write_str_g::<DOUBLE>(out, s);
        }
        (h, Some(t))
    } else {
        return write_str_g::<DOUBLE>(out, s);
    };
    out.reserve(32 + 4);
    // SAFETY: 36 bytes reserved past `at`: an opening quote of q ≤ 2 bytes, 16 bytes at q (of
    // which the first n ≤ 16 are kept) or the string's n ≤ 32 bytes as two overlapping stores,
    // and the closing quote at q + n; [at, at + 2q + n) is all written.
    unsafe {
        let at = out.len();
        let p = out.as_mut_ptr().add(at);
        let q = put_quote::<DOUBLE>(p);
        (p.add(q) as *mut u128).write_unaligned(head.to_le());
        if let Some(t) = tail {
            (p.add(q + n - 16) as *mut u128).write_unaligned(t.to_le());
        }
        put_quote::<DOUBLE>(p.add(q + n));
        out.set_len(at + 2 * q + n);
    }
}

fn write_value_g<const DOUBLE: bool>(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Str(s) => write_jstr_g::<DOUBLE>(out, s),
        Value::Array(a) => {
            out.push(b'[');
            for (k, x) in a.iter().enumerate() {
                if k > 0 {
                    out.push(b',');
                }
                write_value_g::<DOUBLE>(out, x);
            }
            out.push(b']');
        }
        Value::Object(m) => write_map_g::<DOUBLE>(out, m),
        // printable ASCII: inside a string literal only `"` and `\\` need escaping
        Value::Raw(t) if DOUBLE => write_ascii_json_in_str(out, t),
        other => write_value(out, other), // literals and numbers need no escaping
    }
}

fn write_map_g<const DOUBLE: bool>(out: &mut Vec<u8>, m: &Map) {
    out.push(b'{');
    for (k, (key, x)) in m.iter().enumerate() {
        if k > 0 {
            out.push(b',');
        }
        write_jstr_g::<DOUBLE>(out, key);
        out.push(b':');
        write_value_g::<DOUBLE>(out, x);
    }
    out.push(b'}');
}

/// `json.dumps(json.dumps(m))` for an object: its JSON text as a JSON string literal, in one pass.
pub fn write_map_as_str(out: &mut Vec<u8>, m: &Map) {
    out.push(b'"');
    write_map_g::<true>(out, m);
    out.push(b'"');
}

/// write_map_as_str(m) into a new buffer, with the offset where each member starts (its key's
/// opening quote) — what map_as_str_patched needs to patch this text for a changed copy of m.
pub fn map_as_str_noting(m: &Map) -> (Vec<u8>, Vec<u32>) {
    let mut out = Vec::with_capacity(256);
    let mut starts = Vec::with_capacity(m.len());
    out.push(b'"');
    out.push(b'{');
    for (k, (key, x)) in m.iter().enumerate() {
        if k > 0 {
            out.push(b',');
        }
        starts.push(out.len() as u32);
        write_jstr_g::<true>(&mut out, key);
        out.push(b':');
        write_value_g::<true>(&mut out, x);
    }
    out.push(b'}');
    out.push(b'"');
    (out, starts)
}

/// map_as_str_noting(m) for an m that is a copy of the map `base_text` was written from
/// (map_as_str_noting, `base_starts`) with the members at the positions `changed` (ascending)
/// given new values or appended, and nothing else changed: the unchanged members' text is copied
/// from `base_text`, a run of them at a time, and only the changed ones are written.
///
/// Why: an event's `person_properties` is the person's properties after its `$set`, usually the
/// stored properties with a few values changed (a new snapshot per event for, e.g., a changed
/// `$current_url`): writing all of them again per snapshot was ~3% of the child's instructions.
/// When the arguments do not describe such a copy, it writes m whole.
pub fn map_as_str_patched(m: &Map, base_text: &[u8], base_starts: &[u32], changed: &[u32]) -> (Vec<u8>, Vec<u32>) {
    let base_len = base_starts.len();
    let n = m.len();
    // every position past the base's members is changed (appended), positions ascend and exist
    let appended_ok = n >= base_len
        && changed.len() >= n - base_len
        && changed[changed.len() - (n - base_len)..].iter().zip(base_len..n).all(|(&c, i)| c as usize == i);
    let ascending = changed.windows(2).all(|w| w[0] < w[1]) && changed.last().map_or(true, |&c| (c as usize) < n);
    if !(appended_ok && ascending) || base_text.len() < 4 {
        return map_as_str_noting(m);
    }
    // where member i of the base ends: before the comma of the next, or before the closing `}"`
    let base_end = |i: usize| if i + 1 < base_len { base_starts[i + 1] as usize - 1 } else { base_text.len() - 2 };
    let mut out = Vec::with_capacity(base_text.len() + 64);
    let mut starts = Vec::with_capacity(n);
    out.push(b'"');
    out.push(b'{');
    let (mut i, mut c) = (0usize, 0usize);
    while i < n {
        if i > 0 {
            out.push(b',');
        }
        if c < changed.len() && changed[c] as usize == i {
            starts.push(out.len() as u32);
            let (key, x) = m.get_index(i).expect("i < n");
            write_jstr_g::<true>(&mut out, key);
            out.push(b':');
            write_value_g::<true>(&mut out, x);
            c += 1;
            i += 1;
            continue;
        }
        // unchanged members [i, j) of the base, separators included, in one copy
        let j = if c < changed.len() { changed[c] as usize } else { base_len };
        let from = base_starts[i] as usize;
        let shift = out.len() as i64 - from as i64;
        starts.extend(base_starts[i..j].iter().map(|&s| (s as i64 + shift) as u32));
        out.extend_from_slice(&base_text[from..base_end(j - 1)]);
        i = j;
    }
    out.push(b'}');
    out.push(b'"');
    (out, starts)
}

/// write_map_as_str for an event's final `properties`, copying unchanged members from the input.
///
/// `text` is the `data` document the properties were parsed from (parse_recording, which filled
/// `spans`), and `raw_lit` the contents of the JSON string literal that spelled `text` in the
/// record (between its quotes). When that literal escapes nothing but `"` and `\\` (then its
/// length is text.len() + spans.qb_total: every other escape is longer) and is printable ASCII,
/// a member of `text` is spelled in the literal exactly as write_str_g::<true> would write it,
/// provided the parser found nothing non-canonical in it (whitespace, escapes, floats, `-0`,
/// repeated keys). Such members are copied from the literal with one memcpy per run of members
/// that were adjacent in the input; the rest is encoded from the map. The output is
/// byte-identical to write_map_as_str(m) (tests below, and `partbench verify`).
///
/// Why "unchanged" holds: the pipeline changes a property's value in place only for keys in
/// `may_change`; any other key is only read, removed or appended (json::Map keeps order), so a
/// key found among the recorded members, in order, still holds the value parsed from that span.
///
/// With QUOTED false, the same text without its enclosing quotes: the object as a member of a
/// document that is itself being written inside a JSON string (write_data_as_str).
pub fn write_props_as_str<const QUOTED: bool>(
    out: &mut Vec<u8>,
    m: &Map,
    text: &[u8],
    raw_lit: &[u8],
    spans: &PropSpans,
    may_change: fn(&[u8]) -> bool,
    record_printable: bool,
) {
    // record_printable: the caller found the whole record value printable ASCII (no need to
    // scan the literal again)
    let usable = spans.valid
        && raw_lit.len() as u64 == text.len() as u64 + spans.qb_total
        && (record_printable || (raw_lit.is_ascii() && memchr::memchr(0x7f, raw_lit).is_none()));
    if !usable {
        if QUOTED {
            return write_map_as_str(out, m);
        }
        return write_map_g::<true>(out, m);
    }
    let members = &spans.members;
    out.reserve(raw_lit.len() + 64);
    if QUOTED {
        out.push(b'"');
    }
    out.push(b'{');
    let mut first = true;
    let mut next = 0usize; // recorded members before this one are behind us
    let mut run: Option<(usize, usize)> = None; // pending verbatim bytes [s, e) of raw_lit
    for (key, v) in m.iter() {
        let mut hit = None;
        if !may_change(key) {
            for (q, ms) in members.iter().enumerate().skip(next) {
                if ms.key_end != u32::MAX && crate::omap::key_eq(&text[ms.start as usize + 1..ms.key_end as usize], key) {
                    hit = Some(q);
                    break;
                }
            }
        }
        if let Some(q) = hit {
            next = q + 1;
            let ms = members[q];
            if ms.canonical {
                let s = ms.start as usize + ms.qb_start as usize;
                let e = ms.end as usize + ms.qb_end as usize;
                run = match run {
                    // adjacent in the input, compact: separated by exactly one ','
                    Some((rs, re)) if re + 1 == s && raw_lit[re] == b',' => Some((rs, e)),
                    other => {
                        if let Some((rs, re)) = other {
                            if !first {
                                out.push(b',');
                            }
                            first = false;
                            out.extend_from_slice(&raw_lit[rs..re]);
                        }
                        Some((s, e))
                    }
                };
                continue;
            }
        }
        if let Some((rs, re)) = run.take() {
            if !first {
                out.push(b',');
            }
            first = false;
            out.extend_from_slice(&raw_lit[rs..re]);
        }
        if !first {
            out.push(b',');
        }
        first = false;
        write_jstr_g::<true>(out, key);
        out.push(b':');
        write_value_g::<true>(out, v);
    }
    if let Some((rs, re)) = run {
        if !first {
            out.push(b',');
        }
        out.extend_from_slice(&raw_lit[rs..re]);
    }
    out.push(b'}');
    if QUOTED {
        out.push(b'"');
    }
}

/// The floor's `data` field: json.dumps(doc) as a JSON string literal, its `properties` members
/// copied from the record where unchanged-and-canonical, exactly as the full pipeline writes an
/// event row's `properties` (write_props_as_str; here nothing changes them). The output is
/// byte-identical to write_value_as_str(doc).
pub fn write_data_as_str(out: &mut Vec<u8>, doc: &Value, text: &[u8], raw_lit: &[u8], spans: &PropSpans, record_printable: bool) {
    let Value::Object(m) = doc else { return write_value_as_str(out, doc) };
    out.push(b'"');
    out.push(b'{');
    for (j, (k, v)) in m.iter().enumerate() {
        if j > 0 {
            out.push(b',');
        }
        write_jstr_g::<true>(out, k);
        out.push(b':');
        match v {
            Value::Object(p) if k.as_slice() == b"properties" => {
                write_props_as_str::<false>(out, p, text, raw_lit, spans, |_| false, record_printable)
            }
            _ => write_value_g::<true>(out, v),
        }
    }
    out.push(b'}');
    out.push(b'"');
}

/// The same for any value.
pub fn write_value_as_str(out: &mut Vec<u8>, v: &Value) {
    out.push(b'"');
    write_value_g::<true>(out, v);
    out.push(b'"');
}

/// write_str for text known to be printable ASCII (our own ensure_ascii output): SIMD search for
/// the two characters that need escaping.
pub fn write_ascii_json_as_str(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    write_ascii_json_in_str(out, s);
    out.push(b'"');
}

/// The same without the enclosing quotes.
fn write_ascii_json_in_str(out: &mut Vec<u8>, s: &[u8]) {
    debug_assert!(s.iter().all(|&c| (0x20..0x7f).contains(&c)));
    out.reserve(s.len() + s.len() / 4 + 2);
    let mut run = 0;
    for i in memchr::memchr2_iter(b'"', b'\\', s) {
        out.extend_from_slice(&s[run..i]);
        out.push(b'\\');
        out.push(s[i]);
        run = i + 1;
    }
    out.extend_from_slice(&s[run..]);
}

/// Python's `repr(float)` (as json.dumps writes floats; NaN/inf as Python spells them).
pub fn write_float(out: &mut Vec<u8>, f: f64) {
    if f.is_nan() {
        out.extend_from_slice(b"NaN");
        return;
    }
    if f.is_infinite() {
        out.extend_from_slice(if f > 0.0 { b"Infinity" } else { b"-Infinity" });
        return;
    }
    if f == 0.0 {
        out.extend_from_slice(if f.is_sign_negative() { b"-0.0" } else { b"0.0" });
        return;
    }
    // ryu gives the shortest round-trip digits; re-layout them the way Python's repr does.
    let mut buf = ryu::Buffer::new();
    let s = buf.format_finite(f).as_bytes();
    let (neg, s) = if s[0] == b'-' { (true, &s[1..]) } else { (false, s) };
    let (mant, exp) = match s.iter().position(|&c| c == b'e') {
        Some(p) => (&s[..p], std::str::from_utf8(&s[p + 1..]).unwrap().parse::<i32>().unwrap()),
        None => (s, 0),
    };
    // digits without the point, and the decimal exponent of the first digit (on the stack: ryu
    // writes at most 17 significant digits plus a point and leading zeros)
    let mut all = [0u8; 32];
    let mut n = 0;
    let mut point = mant.len() as i32;
    for (k, &c) in mant.iter().enumerate() {
        if c == b'.' {
            point = k as i32;
        } else {
            all[n] = c;
            n += 1;
        }
    }
    let lead = all[..n].iter().take_while(|&&c| c == b'0').count();
    let mut end = n;
    while end > lead + 1 && all[end - 1] == b'0' {
        end -= 1;
    }
    let digits = &all[lead..end];
    let e10 = point - lead as i32 - 1 + exp; // value = d.ddd × 10^e10
    if neg {
        out.push(b'-');
    }
    let nd = digits.len() as i32;
    if (-4..16).contains(&e10) {
        if e10 < 0 {
            out.extend_from_slice(b"0.");
            for _ in 0..(-e10 - 1) {
                out.push(b'0');
            }
            out.extend_from_slice(digits);
        } else if nd <= e10 + 1 {
            out.extend_from_slice(digits);
            for _ in 0..(e10 + 1 - nd) {
                out.push(b'0');
            }
            out.extend_from_slice(b".0");
        } else {
            out.extend_from_slice(&digits[..(e10 + 1) as usize]);
            out.push(b'.');
            out.extend_from_slice(&digits[(e10 + 1) as usize..]);
        }
    } else {
        out.push(digits[0]);
        if nd > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        out.push(b'e');
        out.push(if e10 < 0 { b'-' } else { b'+' });
        let a = e10.unsigned_abs();
        if a < 10 {
            out.push(b'0');
        }
        out.extend_from_slice(itoa::Buffer::new().format(a).as_bytes());
    }
}

pub fn write_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Int(i) => out.extend_from_slice(itoa::Buffer::new().format(*i).as_bytes()),
        Value::UInt(u) => out.extend_from_slice(itoa::Buffer::new().format(*u).as_bytes()),
        Value::Float(f) => write_float(out, *f),
        Value::Str(s) => write_jstr_g::<false>(out, s),
        Value::Array(a) => {
            out.push(b'[');
            for (k, x) in a.iter().enumerate() {
                if k > 0 {
                    out.push(b',');
                }
                write_value(out, x);
            }
            out.push(b']');
        }
        Value::Object(m) => write_map(out, m),
        Value::Raw(t) => out.extend_from_slice(t),
    }
}

pub fn write_map(out: &mut Vec<u8>, m: &Map) {
    out.push(b'{');
    for (k, (key, x)) in m.iter().enumerate() {
        if k > 0 {
            out.push(b',');
        }
        write_jstr_g::<false>(out, key);
        out.push(b':');
        write_value(out, x);
    }
    out.push(b'}');
}

#[cfg(test)]
pub fn to_bytes(v: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    write_value(&mut out, v);
    out
}

/// A small builder for output rows: `{"k":v,...}` written straight into a buffer, in order.
pub struct ObjWriter<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> ObjWriter<'a> {
    pub fn new(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        ObjWriter { out, first: true }
    }
    /// Keys are the writers' own field names (plain ASCII identifiers): written without the
    /// escape scan (14 keys per event row).
    /// Short keys are stored as one 16-byte register (a memcpy call per key cost more).
    fn key(&mut self, k: &str) {
        debug_assert!(k.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_'), "{k}");
        let k = k.as_bytes();
        let out = &mut *self.out;
        out.reserve(k.len() + 20);
        let at = out.len();
        // SAFETY: k.len() + 20 bytes are reserved past `at`; the writes reach at most
        // at + 2 + max(16, k.len()) and at + k.len() + 4, and [at, at + o + 2) is all written.
        unsafe {
            let p = out.as_mut_ptr().add(at);
            let mut o = 0;
            if !self.first {
                *p = b',';
                o = 1;
            }
            *p.add(o) = b'"';
            o += 1;
            if k.len() <= 16 {
                (p.add(o) as *mut u128).write_unaligned(crate::scan::load_upto16(k).to_le());
            } else {
                std::ptr::copy_nonoverlapping(k.as_ptr(), p.add(o), k.len());
            }
            o += k.len();
            *p.add(o) = b'"';
            *p.add(o + 1) = b':';
            out.set_len(at + o + 2);
        }
        self.first = false;
    }
    pub fn str(&mut self, k: &str, v: &[u8]) -> &mut Self {
        self.key(k);
        write_str(self.out, v);
        self
    }
    /// A string value known to need no escape (digits and punctuation, e.g. a timestamp).
    pub fn plain_str(&mut self, k: &str, v: &[u8]) -> &mut Self {
        debug_assert!(v.iter().all(|&c| (0x20..0x7f).contains(&c) && c != b'"' && c != b'\\'));
        self.key(k);
        self.out.reserve(v.len() + 2);
        self.out.push(b'"');
        self.out.extend_from_slice(v);
        self.out.push(b'"');
        self
    }
    pub fn opt_str(&mut self, k: &str, v: Option<&[u8]>) -> &mut Self {
        self.key(k);
        match v {
            Some(s) => write_str(self.out, s),
            None => self.out.extend_from_slice(b"null"),
        }
        self
    }
    pub fn int(&mut self, k: &str, v: i64) -> &mut Self {
        self.key(k);
        self.out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
        self
    }
    pub fn bool(&mut self, k: &str, v: bool) -> &mut Self {
        self.key(k);
        self.out.extend_from_slice(if v { b"true" } else { b"false" });
        self
    }
    pub fn null(&mut self, k: &str) -> &mut Self {
        self.key(k);
        self.out.extend_from_slice(b"null");
        self
    }
    pub fn value(&mut self, k: &str, v: &Value) -> &mut Self {
        self.key(k);
        write_value(self.out, v);
        self
    }
    /// A field whose value is itself JSON text written by this module (ASCII, no control
    /// characters), written as a JSON string: only `"` and `\\` need a backslash.
    pub fn json_str(&mut self, k: &str, json: &[u8]) -> &mut Self {
        self.key(k);
        write_ascii_json_as_str(self.out, json);
        self
    }
    /// A value written by `write` (which appends exactly one JSON value).
    pub fn with(&mut self, k: &str, write: impl FnOnce(&mut Vec<u8>)) -> &mut Self {
        self.key(k);
        write(self.out);
        self
    }
    /// A value already serialized (e.g. by write_map_as_str).
    pub fn raw(&mut self, k: &str, json: &[u8]) -> &mut Self {
        self.key(k);
        self.out.extend_from_slice(json);
        self
    }
    /// An object written as a JSON string holding its JSON text.
    pub fn map_as_str(&mut self, k: &str, m: &Map) -> &mut Self {
        self.key(k);
        write_map_as_str(self.out, m);
        self
    }
    pub fn finish(&mut self) {
        self.out.push(b'}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parsed strings (JStr, inline or not) are written exactly as their bytes are, at every
    /// length around the 16-byte fast path, with and without characters that need escapes.
    #[test]
    fn jstr_writes_equal_byte_writes() {
        for n in 0usize..=34 {
            for fill in [&b"a"[..], b"\"", b"\\", b"\n", b"\x7f", "é".as_bytes(), b"\x01"] {
                for at in [0, n / 2, n.saturating_sub(1)] {
                    let mut bytes = vec![b'x'; n];
                    if n > 0 {
                        bytes.splice(at..at + 1, fill.iter().copied());
                    }
                    let v = Value::Str(JStr::from_slice(&bytes));
                    let (mut want, mut got) = (Vec::new(), Vec::new());
                    write_str(&mut want, &bytes);
                    write_value(&mut got, &v);
                    assert_eq!(got, want, "{bytes:?}");
                    let (mut want2, mut got2) = (Vec::new(), Vec::new());
                    write_str_g::<true>(&mut want2, &bytes);
                    write_value_g::<true>(&mut got2, &v);
                    assert_eq!(got2, want2, "{bytes:?}");
                }
            }
        }
    }

    fn rt(s: &str) -> String {
        String::from_utf8(to_bytes(&parse(s.as_bytes()).unwrap())).unwrap()
    }

    /// One escape early, then plain bytes, then `\"` near the end of the input: the block loop
    /// has consumed little, so its stores come closest to the end of the unescape buffer (a
    /// string past 1 KiB gets a buffer of exactly its size from the system allocator, where
    /// valgrind's memcheck sees a store past the end).
    #[test]
    fn sparse_escapes_near_the_end() {
        for k in 0..40 {
            for t in 0..24 {
                let text = format!("{}\"{}\"{}", "a".repeat(1100), "b".repeat(k), "c".repeat(t));
                let mut lit = Vec::new();
                write_str(&mut lit, text.as_bytes());
                let Value::Str(back) = parse(&lit).unwrap() else { panic!() };
                assert_eq!(back.as_slice(), text.as_bytes(), "k {k} t {t}");
            }
        }
    }

    /// Strings dense in `"` and `\\` (escapes at every offset of a 16-byte block, across block
    /// ends, next to the closing quote) survive write_str then parse unchanged: the unescape
    /// paths (scan::unescape_quote_blocks and the scalar loop) agree with the writer.
    #[test]
    fn escape_dense_strings_round_trip() {
        let mut seed: u64 = 12345;
        // with backslashes (scalar paths) and without (every escape a `\"`: the block path)
        // (lengths past 1 KiB too: those buffers come from the system allocator, where
        // valgrind's memcheck sees a store past the end)
        for (len, alphabet) in (0..200).chain(1100..1140).flat_map(|n| [(n, &b"a\"\\x\"/\n"[..]), (n, &b"a\"x\"/"[..])]) {
            for _ in 0..20 {
                let s: Vec<u8> = (0..len)
                    .map(|_| {
                        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                        alphabet[(seed >> 33) as usize % alphabet.len()]
                    })
                    .collect();
                let mut lit = Vec::new();
                write_str(&mut lit, &s);
                // twice: a string inside a string, as `data` is
                let mut outer = Vec::new();
                write_str(&mut outer, &lit);
                let Value::Str(once) = parse(&outer).unwrap() else { panic!() };
                assert_eq!(once.as_slice(), lit.as_slice());
                let Value::Str(back) = parse(&lit).unwrap() else { panic!() };
                assert_eq!(back.as_slice(), s.as_slice());
            }
        }
    }

    #[test]
    fn floats_like_python_repr() {
        let cases = [
            (1.0, "1.0"),
            (0.1, "0.1"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (1.5e-5, "1.5e-05"),
            (0.0001, "0.0001"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (-2.5, "-2.5"),
            (1e22, "1e+22"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (1752148212.417, "1752148212.417"),
        ];
        for (f, want) in cases {
            let mut out = Vec::new();
            write_float(&mut out, f);
            assert_eq!(String::from_utf8(out).unwrap(), want);
        }
    }

    #[test]
    fn integers() {
        for (input, want) in [
            ("0", "0"),
            ("-0", "0"),
            ("7", "7"),
            ("-12", "-12"),
            ("123456789012345678", "123456789012345678"),
            ("-123456789012345678", "-123456789012345678"),
            ("999999999999999999", "999999999999999999"),
            ("1234567890123456789", "1234567890123456789"),
            ("9223372036854775807", "9223372036854775807"),
            ("-9223372036854775808", "-9223372036854775808"),
            ("18446744073709551615", "18446744073709551615"),
            ("[1,-2,30]", "[1,-2,30]"),
            (r#"{"a":1,"b":2,"a":3}"#, r#"{"a":3,"b":2}"#),
            (r#"{"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k1":10}"#, r#"{"k0":0,"k1":10,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9}"#),
        ] {
            assert_eq!(rt(input), want, "{input}");
        }
        assert!(parse(b"01").is_err() && parse(b"-").is_err() && parse(b"-a").is_err());
    }

    #[test]
    fn strings_and_surrogates() {
        assert_eq!(rt(r#""\ud800x""#), r#""\ud800x""#);
        assert_eq!(rt(r#""\ud83d\ude00""#), r#""\ud83d\ude00""#);
        assert_eq!(rt("\"é\u{7f}\""), r#""\u00e9\u007f""#);
        assert_eq!(rt(r#"{"a":1,"b":2,"a":3}"#), r#"{"a":3,"b":2}"#);
        assert_eq!(rt("123456789012345678901234567890"), "1.2345678901234568e+29");
        assert_eq!(rt("18446744073709551615"), "18446744073709551615");
        assert_eq!(rt("18446744073709551616"), "1.8446744073709552e+19");
        assert_eq!(rt("-9223372036854775809"), "-9.223372036854776e+18");
        assert!(parse(b"1e400").is_err());
        assert!(parse(b"NaN").is_err());
        assert!(parse(b"\"a\x01\"").is_err());
        assert!(parse(b"[1] x").is_err());
        assert!(parse(b"01").is_err());
    }

    #[test]
    fn depth_limit() {
        assert!(!too_deep(b"[[[1]]]", 3));
        assert!(too_deep(b"[[[[1]]]]", 3));
        assert!(!too_deep(b"[[\"[[[[\\\"[[\"]]", 3));
        assert!(too_deep(b"[[[[ oops", 3));
        let deep = "[".repeat(65) + &"]".repeat(65);
        assert!(parse(deep.as_bytes()).unwrap_err().too_deep);
        let ok = "[".repeat(64) + &"]".repeat(64);
        assert!(parse(ok.as_bytes()).is_ok());
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers shared by the stages (jsonrules.json_text / json_equal).

/// `json.dumps(v, ensure_ascii=False, separators=(",", ":"))`: only `"`, `\` and control
/// characters are escaped; everything else (lone surrogates included) is written as is.
pub fn write_value_text(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Str(s) => write_str_text(out, s),
        Value::Array(a) => {
            out.push(b'[');
            for (k, x) in a.iter().enumerate() {
                if k > 0 {
                    out.push(b',');
                }
                write_value_text(out, x);
            }
            out.push(b']');
        }
        Value::Object(m) => {
            out.push(b'{');
            for (k, (key, x)) in m.iter().enumerate() {
                if k > 0 {
                    out.push(b',');
                }
                write_str_text(out, key);
                out.push(b':');
                write_value_text(out, x);
            }
            out.push(b'}');
        }
        Value::Raw(t) => write_value_text(out, &built(t)),
        other => write_value(out, other),
    }
}

fn write_str_text(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    let mut run = 0;
    for (i, &c) in s.iter().enumerate() {
        if c >= 0x20 && c != b'"' && c != b'\\' {
            continue;
        }
        out.extend_from_slice(&s[run..i]);
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0C => out.extend_from_slice(b"\\f"),
            _ => push_u_escape(out, c as u32),
        }
        run = i + 1;
    }
    out.extend_from_slice(&s[run..]);
    out.push(b'"');
}

/// jsonrules.json_text: strings as they are, anything else as compact non-ASCII-escaped JSON.
pub fn json_text(v: &Value) -> Str {
    match v {
        Value::Str(s) => s.to_vec(),
        other => {
            let mut out = Vec::new();
            write_value_text(&mut out, other);
            out
        }
    }
}

/// Exact comparison of an integer with a double (Python compares int and float exactly).
fn int_eq_float(i: i128, f: f64) -> bool {
    f.fract() == 0.0 && f.abs() < 1e30 && (f as i128) == i
}

/// jsonrules.json_equal: booleans are not numbers; int and float compare by exact value.
pub fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Raw(x), _) => json_equal(&built(x), b),
        (_, Value::Raw(y)) => json_equal(a, &built(y)),
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::UInt(x), Value::UInt(y)) => x == y,
        (Value::Int(_), Value::UInt(_)) | (Value::UInt(_), Value::Int(_)) => false,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::Int(i), Value::Float(f)) | (Value::Float(f), Value::Int(i)) => int_eq_float(*i as i128, *f),
        (Value::UInt(u), Value::Float(f)) | (Value::Float(f), Value::UInt(u)) => int_eq_float(*u as i128, *f),
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_equal(p, q)),
        (Value::Object(x), Value::Object(y)) => {
            // dict keys() equality is order-insensitive
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).map_or(false, |w| json_equal(v, w)))
        }
        _ => false,
    }
}

/// Python's `value >= threshold` for an int or float value against a float threshold.
pub fn number_ge(v: &Value, t: f64) -> Option<bool> {
    match v {
        Value::Float(f) => Some(*f >= t),
        Value::Int(i) => Some(int_ge_float(*i as i128, t)),
        Value::UInt(u) => Some(int_ge_float(*u as i128, t)),
        _ => None,
    }
}

fn int_ge_float(i: i128, t: f64) -> bool {
    if t > 1e30 {
        return false;
    }
    if t < -1e30 {
        return true;
    }
    i >= t.ceil() as i128
}

#[cfg(test)]
mod double_tests {
    use super::*;

    #[test]
    fn as_str_equals_escaping_the_text() {
        let doc = r#"{"a":"q\"b\\c\n\u00e9\ud800\ud83d\ude00","n":[1,2.5,null,true],"o":{"k":"\u0001"}}"#;
        let v = parse(doc.as_bytes()).unwrap();
        let mut text = Vec::new();
        write_value(&mut text, &v);
        let mut twice = Vec::new();
        write_str(&mut twice, &text);
        let mut one_pass = Vec::new();
        write_value_as_str(&mut one_pass, &v);
        assert_eq!(String::from_utf8(one_pass).unwrap(), String::from_utf8(twice).unwrap());
    }

    #[test]
    fn parsed_strings_written_as_the_general_loop_writes_them() {
        // every length around the 16- and 32-byte stores, inline and on the heap, plain and with
        // a byte that needs escaping (or is not ASCII) at each position
        let specials: [&[u8]; 5] = [br#"\""#, br#"\\"#, br#"\n"#, br#"\u00e9"#, br#"\u007f"#];
        for n in 0..=40usize {
            let plain: Vec<u8> = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
            let mut docs = vec![plain.clone()];
            for at in 0..n {
                for sp in specials {
                    let mut d = plain[..at].to_vec();
                    d.extend_from_slice(sp);
                    d.extend_from_slice(&plain[at + 1..]);
                    docs.push(d);
                }
            }
            for body in docs {
                let mut doc = b"\"".to_vec();
                doc.extend_from_slice(&body);
                doc.push(b'"');
                let Value::Str(s) = parse(&doc).unwrap() else { panic!() };
                for double in [false, true] {
                    let (mut fast, mut general) = (Vec::new(), Vec::new());
                    if double {
                        write_jstr_g::<true>(&mut fast, &s);
                        write_str_g::<true>(&mut general, &s);
                    } else {
                        write_jstr_g::<false>(&mut fast, &s);
                        write_str_g::<false>(&mut general, &s);
                    }
                    assert_eq!(fast, general, "{} {double}", String::from_utf8_lossy(&doc));
                }
            }
        }
    }
}

#[cfg(test)]
mod verbatim_tests {
    use super::*;

    fn check(data: &str, mutate: impl Fn(&mut Map)) {
        let text = data.as_bytes();
        let mut lit = Vec::new();
        write_str(&mut lit, text); // how the record spells the data string
        let raw = &lit[1..lit.len() - 1];
        let mut spans = PropSpans::default();
        let Value::Object(mut doc) = parse_recording(text, &mut spans).unwrap() else { panic!() };
        let mut props = match doc.shift_remove(b"properties".as_slice()) {
            Some(Value::Object(m)) => *m,
            _ => panic!(),
        };
        mutate(&mut props);
        let mut want = Vec::new();
        write_map_as_str(&mut want, &props);
        let mut got = Vec::new();
        write_props_as_str::<true>(&mut got, &props, text, raw, &spans, |k| k == b"$set", false);
        assert_eq!(String::from_utf8(got).unwrap(), String::from_utf8(want).unwrap(), "{data}");
    }

    #[test]
    fn verbatim_equals_encoding() {
        let docs = [
            r#"{"properties":{"a":"x","b":1,"c":[1,"q"],"d":{"e":null},"f":true}}"#,
            r#"{"properties":{"a":"x y","b":1.50,"c":-0,"d":"\u00e9","e":"\/","f":1e2,"g":"ok"}}"#,
            r#"{"properties":{"a" : "x", "b":[ 1 ],"c":{},"d":{"k":1,"k":2},"e":"\"q\"","f":"\\"}}"#,
            r#"{"properties":{"a":"é","b":"\u007f"}}"#,
            r#"{"properties":{"a":1,"a":2,"b":3}}"#,
            r#"{"properties":{"a":1},"x":2,"properties":{"b":"c","d":"e"}}"#,
            r#"{"properties":{"$set":{"a":1},"k\u0041":1,"kA":2,"z":"w"}}"#,
            r#"{"properties":{}}"#,
            r#"{"properties":{"a":"l\n\t\"q\"\\\u00e9\ud83d\ude00\u001f\ud800","b":"\u00E9","c":"\u0041\u000a","d":[1.5,1.50]}}"#,
            r#"{"properties":{"a":1e+16,"b":1e16,"c":0.0001,"d":1e-05,"e":-0.0,"f":100000000000000000000,"g":2.5e-07,"h":0.1}}"#,
        ];
        for d in docs {
            check(d, |_| {});
            check(d, |m| {
                m.shift_remove(b"b".as_slice());
            });
            check(d, |m| {
                m.insert(b"$set".into(), Value::Int(7));
                m.insert(b"new".into(), Value::Str(b"v\"".into()));
            });
            check(d, |m| {
                // removed, then appended again: only keys in may_change may be (here `$set`)
                m.shift_remove(b"$set".as_slice());
                let last = m.keys().last().cloned();
                if let Some(k) = last {
                    m.shift_remove(&k);
                }
                m.insert(b"$set".into(), Value::Int(3));
            });
        }
    }

    /// A person-properties snapshot's JSON patched from its base's equals the snapshot written
    /// whole, text and member offsets, for values changed anywhere and members appended; and
    /// arguments that do not describe such a copy give the whole writing too.
    #[test]
    fn patched_map_text_equals_writing_it_whole() {
        let mut seed: u64 = 7;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let value = |r: u64| match r % 5 {
            0 => Value::Str(format!("v\"{r}\u{e9}").into_bytes().into()),
            1 => Value::Int(r as i64 - 50),
            2 => Value::Null,
            3 => Value::Str(b"a long enough value to be kept on the heap, not inline".as_slice().into()),
            _ => Value::Array(vec![Value::Bool(r % 2 == 0), Value::Float(r as f64 / 8.0)]),
        };
        for _ in 0..400 {
            let n = next(12) as usize;
            let base: Map = (0..n).map(|i| (JStr::from(format!("k{i}").as_str()), value(next(100)))).collect();
            let mut m = base.clone();
            let mut changed = Vec::new();
            for i in 0..n {
                if next(3) == 0 {
                    *m.get_index_mut(i).unwrap() = value(next(100));
                    changed.push(i as u32);
                }
            }
            for j in 0..next(4) as usize {
                changed.push(m.len() as u32);
                m.push_absent(JStr::from(format!("new{j}").as_str()), value(next(100)));
            }
            let (bt, bs) = map_as_str_noting(&base);
            let whole = map_as_str_noting(&m);
            let mut plain = Vec::new();
            write_map_as_str(&mut plain, &m);
            assert_eq!(whole.0, plain);
            assert_eq!(map_as_str_patched(&m, &bt, &bs, &changed), whole);
            // not a description of m: an appended member left out, or positions out of order
            if m.len() > n {
                assert_eq!(map_as_str_patched(&m, &bt, &bs, &changed[..changed.len() - 1]), whole);
            }
            if changed.len() > 1 {
                let mut shuffled = changed.clone();
                shuffled.reverse();
                assert_eq!(map_as_str_patched(&m, &bt, &bs, &shuffled), whole);
            }
        }
    }

    /// The floor's writer of a whole `data` document (its `properties` members copied where the
    /// record spells them canonically) gives json.dumps of the document as a string, byte for
    /// byte, whatever else the document holds.
    #[test]
    fn data_document_verbatim_equals_encoding() {
        let docs = [
            r#"{"event":"e","properties":{"a":"x","b":1.50,"c":[1,"q"],"d":"\u00e9"},"offset":3}"#,
            r#"{"properties":{"a":1,"a":2},"uuid":"u\"q","properties":{"b":"c"}}"#,
            r#"{"x" : 1, "properties":{"a" : "x", "e":"\"q\"", "f":"\\"}, "y":[1.0, -0]}"#,
            r#"{"properties":"not an object","z":{"k":1}}"#,
            r#"{"properties":{"a":"l\n\t\ud83d\ude00\u001f\ud800","b":"é"}}"#,
            r#"{"no_properties":{"a":1}}"#,
            r#"[1,{"properties":{"a":1}}]"#,
        ];
        for d in docs {
            let text = d.as_bytes();
            let mut lit = Vec::new();
            write_str(&mut lit, text);
            let raw = &lit[1..lit.len() - 1];
            let mut spans = PropSpans::default();
            let doc = parse_recording(text, &mut spans).unwrap();
            let mut want = Vec::new();
            write_value_as_str(&mut want, &doc);
            for printable in [false, text.iter().all(|c| (0x20..0x7f).contains(c))] {
                let mut got = Vec::new();
                write_data_as_str(&mut got, &doc, text, raw, &spans, printable);
                assert_eq!(String::from_utf8(got).unwrap(), String::from_utf8(want.clone()).unwrap(), "{d}");
            }
        }
    }

    /// The text-only judgement of float spellings agrees with formatting the value, wherever it
    /// decides.
    #[test]
    fn plain_float_judgement_matches_formatting() {
        let mut seed: u64 = 99;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut spellings: Vec<String> = [
            "0.0", "-0.0", "0.00", "1.0", "1.50", "100.0", "0.0001", "0.00001", "0.00010", "123456789012345.0",
            "1234567890123456.0", "12345678901234567.0", "9999999999999999.0", "0.1", "0.30000000000000004",
            "0.3000000000000000", "1.7976931348623157", "00.1", "1.", ".5", "1e5", "1.5e3",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for _ in 0..20_000 {
            let r = next();
            let digits = 1 + (r % 18) as usize;
            let mut m = String::new();
            for _ in 0..digits {
                m.push((b'0' + (next() % 10) as u8) as char);
            }
            let point = (next() % (digits as u64 + 3)) as usize;
            let (int, frac) = if point >= digits { (m.clone(), "0".to_string()) } else { (m[..point].to_string(), m[point..].to_string()) };
            let int = int.trim_start_matches('0');
            let int = if int.is_empty() { "0" } else { int };
            let lead = "0".repeat((next() % 6) as usize);
            let frac = if next() % 3 == 0 { format!("{lead}{frac}") } else { frac };
            let sign = if next() % 2 == 0 { "-" } else { "" };
            spellings.push(format!("{sign}{int}.{frac}"));
            let mut repr = Vec::new();
            write_float(&mut repr, f64::from_bits(next() >> 2));
            spellings.push(String::from_utf8(repr).unwrap());
        }
        let mut decided = 0;
        for s in &spellings {
            let Some(fast) = plain_float_is_repr(s.as_bytes()) else { continue };
            decided += 1;
            let f: f64 = s.parse().unwrap();
            let mut repr = Vec::new();
            write_float(&mut repr, f);
            assert_eq!(fast, repr == s.as_bytes(), "{s}: repr {}", String::from_utf8_lossy(&repr));
        }
        assert!(decided > 10_000, "{decided}");
    }

    /// Which members the parser judges canonical: spelled exactly as the encoder writes them.
    #[test]
    fn canonical_spellings() {
        let cases: [(&str, bool); 26] = [
            (r#""s""#, true),
            (r#""q\"q""#, true),
            (r#""b\\s""#, true),
            (r#""\b\f\n\r\t""#, true),
            (r#""\u001f\u007f\u00e9\u2028""#, true),
            (r#""\ud83d\ude00""#, true),
            (r#""\ud800x""#, true),
            (r#""\udc00""#, true),
            (r#""\/""#, false),
            (r#""\u00E9""#, false),
            (r#""\ud83d\uDE00""#, false),
            (r#""\u0041""#, false),
            (r#""\u000a""#, false),
            (r#""\u0022""#, false),
            (r#"{"k":"\n"}"#, true),
            (r#"{"k":"\u00C9"}"#, false),
            ("1.5", true),
            ("0.1", true),
            ("1e+16", true),
            ("1e-05", true),
            ("-0.0", true),
            ("1.50", false),
            ("1e16", false),
            ("1E+16", false),
            ("100000000000000000000", false),
            ("[0.00001]", false),
        ];
        for (value, want) in cases {
            let doc = format!(r#"{{"properties":{{"m":{value},"z":1}}}}"#);
            let mut spans = PropSpans::default();
            parse_recording(doc.as_bytes(), &mut spans).unwrap();
            assert!(spans.valid, "{doc}");
            assert_eq!(spans.members[0].canonical, want, "{value}");
            assert!(spans.members[1].canonical, "{value}: the next member is judged on its own");
        }
    }

    fn spans_key(s: &PropSpans) -> Vec<(u32, u32, u32, u32, u32, bool)> {
        s.members.iter().map(|m| (m.start, m.key_end, m.end, m.qb_start, m.qb_end, m.canonical)).collect()
    }

    /// One `properties` value parsed built and left raw (every key unread): the same verdict,
    /// spans and written text whichever way, and raw exactly when `want_raw` says.
    fn check_raw(value: &str, want_raw: Option<bool>) {
        let doc = format!(r#"{{"properties":{{"m":{value},"z":1}},"x":{value}}}"#);
        let text = doc.as_bytes();
        let mut lit = Vec::new();
        write_str(&mut lit, text);
        let raw_lit = &lit[1..lit.len() - 1];
        let mut built_spans = PropSpans::default();
        let built = parse_recording(text, &mut built_spans);
        let mut raw_spans = PropSpans { read_keys: Some(|_| false), ..Default::default() };
        let raw = parse_recording(text, &mut raw_spans);
        let (built, raw) = match (built, raw) {
            (Ok(b), Ok(r)) => (b, r),
            (Err(b), Err(r)) => return assert_eq!(b.too_deep, r.too_deep, "{value}"),
            (b, r) => panic!("{value}: built {:?}, raw {:?}", b.err(), r.err()),
        };
        assert_eq!(spans_key(&built_spans), spans_key(&raw_spans), "{value}");
        assert_eq!((built_spans.valid, built_spans.qb_total), (raw_spans.valid, raw_spans.qb_total), "{value}");
        let (Value::Object(b), Value::Object(r)) = (&built, &raw) else { panic!() };
        let (Some(Value::Object(bp)), Some(Value::Object(rp))) = (b.get(b"properties".as_slice()), r.get(b"properties".as_slice())) else { panic!() };
        let (bm, rm) = (bp.get(b"m".as_slice()).unwrap(), rp.get(b"m".as_slice()).unwrap());
        if let Some(want) = want_raw {
            assert_eq!(matches!(rm, Value::Raw(_)), want, "{value}");
        }
        assert!(!matches!(r.get(b"x".as_slice()), Some(Value::Raw(_))), "only properties members are left raw");
        assert!(json_equal(bm, rm) && json_equal(rm, bm) && json_equal(&built, &raw), "{value}");
        assert_eq!(bm.truthy(), rm.truthy(), "{value}");
        assert_eq!(json_text(bm), json_text(rm), "{value}");
        for doc in [&built, &raw] {
            let mut plain = Vec::new();
            write_value(&mut plain, doc);
            assert_eq!(plain, to_bytes(&built), "{value}");
            let mut quoted = Vec::new();
            write_value_as_str(&mut quoted, doc);
            let mut want = Vec::new();
            write_str(&mut want, &plain);
            assert_eq!(quoted, want, "{value}");
        }
        let printable = text.iter().all(|c| (0x20..0x7f).contains(c));
        let mut want = Vec::new();
        write_data_as_str(&mut want, &built, text, raw_lit, &built_spans, printable);
        let mut got = Vec::new();
        write_data_as_str(&mut got, &raw, text, raw_lit, &raw_spans, printable);
        assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(&want), "{value}");
    }

    #[test]
    fn raw_values_equal_built_ones() {
        let deep = |n: usize| format!("{}1{}", "[".repeat(n), "]".repeat(n));
        let cases: Vec<(String, Option<bool>)> = [
            (r#"{"a":1,"b":[true,false,null],"c":{"d":"e\"f\\g\n\u00e9\ud83d\ude00\ud800"}}"#, Some(true)),
            (r#"[1,-2,0.5,1e+16,"x",[],{},[[]],{"k":{}}]"#, Some(true)),
            (r#"[18446744073709551615,-9223372036854775808,123456789012345678901234]"#, None),
            (r#"{}"#, Some(false)),
            (r#"[]"#, Some(false)),
            (r#"[1, 2]"#, Some(false)),
            (r#"[1,2]"#, Some(true)),
            (r#"{"a" :1}"#, Some(false)),
            (r#"{"a":1,"a":2}"#, Some(false)),
            (r#"{"k":{"a":1,"b":2,"a":3}}"#, Some(false)),
            (r#"[{"a":1},{"a":1}]"#, Some(true)),
            (r#"{"\u0061":1}"#, Some(false)),
            (r#"["\/"]"#, Some(false)),
            (r#"["\u00E9"]"#, Some(false)),
            (r#"["\u0041"]"#, Some(false)),
            (r#"[1.50]"#, Some(false)),
            (r#"[-0]"#, Some(false)),
            (r#"[1e16]"#, Some(false)),
            (r#"[0.1,2.5e-07,-0.0]"#, Some(true)),
            (r#"[1,]"#, None),
            (r#"[1 2]"#, None),
            (r#"{"a":1,}"#, None),
            (r#"{"a"}"#, None),
            (r#"{"a":}"#, None),
            (r#"[01]"#, None),
            (r#"[1e999]"#, None),
            (r#"["\x"]"#, None),
            (r#"["\u12"]"#, None),
            (r#"[tru]"#, None),
            (r#"[nul,1]"#, None),
            (r#"{"a":1]"#, None),
            (r#"[1}"#, None),
            (r#"[1"#, None),
            (r#"["abc"#, None),
        ]
        .iter()
        .map(|(v, w)| (v.to_string(), *w))
        .chain([(deep(40), Some(true)), (deep(61), Some(true)), (deep(62), Some(true)), (deep(63), None), (deep(70), None)])
        .chain((1..40).map(|n| (format!("{{{}}}", (0..n).map(|i| format!(r#""k{}":{i}"#, i % 37)).collect::<Vec<_>>().join(",")), Some(n < 38))))
        .collect();
        for (value, want) in &cases {
            check_raw(value, *want);
        }
    }
}
#[cfg(test)]
mod size_probe {
    /// JStr's inline buffer is sized so that a JStr, and so a Value, stays 32 bytes.
    #[test]
    fn sizes() {
        assert_eq!(std::mem::size_of::<super::JStr>(), 32);
        assert_eq!(std::mem::size_of::<super::Value>(), 32);
    }
}
