//! Timestamps as integer epoch milliseconds (port of impls/reference/timestamps.py): the accepted
//! formats, capture's rule (skew, offset, future clamp, year range) and the output formats.
//! The format matchers are hand-written equivalents of the reference's regular expressions.

use crate::json::{Map, Value};

pub const DAY_MS: i64 = 86_400_000;
pub const FUTURE_LIMIT_MS: i128 = 23 * 3_600_000;

pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// "00", "01", … "99" back to back.
const DIGIT_PAIRS: [u8; 200] = {
    let mut t = [0u8; 200];
    let mut i = 0;
    while i < 100 {
        t[2 * i] = b'0' + (i / 10) as u8;
        t[2 * i + 1] = b'0' + (i % 10) as u8;
        i += 1;
    }
    t
};

pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + if month <= 2 { 1 } else { 0 }, month, day)
}

pub fn min_ms() -> i64 {
    days_from_civil(0, 1, 1) * DAY_MS
}
pub fn max_ms() -> i64 {
    days_from_civil(10000, 1, 1) * DAY_MS - 1
}

fn days_in_month(year: i64, month: i64) -> i64 {
    if month == 2 {
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        return if leap { 29 } else { 28 };
    }
    if matches!(month, 4 | 6 | 9 | 11) {
        30
    } else {
        31
    }
}

#[allow(clippy::too_many_arguments)]
fn to_ms(year: i64, month: i64, day: i64, hour: i64, minute: i64, second: i64, frac: Option<&[u8]>, zone_minutes: i64) -> Option<i64> {
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let millis = frac.map(frac_millis).unwrap_or(0);
    Some(days_from_civil(year, month, day) * DAY_MS + hour * 3_600_000 + minute * 60_000 + second * 1000 + millis - zone_minutes * 60_000)
}

/// int((frac + "00")[:3]): milliseconds, truncated.
fn frac_millis(frac: &[u8]) -> i64 {
    let mut v = 0;
    for k in 0..3 {
        v = v * 10 + frac.get(k).map(|c| (c - b'0') as i64).unwrap_or(0);
    }
    v
}

/// A tiny cursor for the fullmatch-style matchers.
struct M<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> M<'a> {
    fn digits(&mut self, n: usize) -> Option<i64> {
        let d = self.s.get(self.i..self.i + n)?;
        if !d.iter().all(|c| c.is_ascii_digit()) {
            return None;
        }
        self.i += n;
        Some(d.iter().fold(0i64, |a, c| a * 10 + (c - b'0') as i64))
    }
    fn byte(&mut self, c: u8) -> bool {
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn done(&self) -> bool {
        self.i == self.s.len()
    }
    /// `[0-9]+`
    fn digit_run(&mut self) -> Option<&'a [u8]> {
        let start = self.i;
        while self.i < self.s.len() && self.s[self.i].is_ascii_digit() {
            self.i += 1;
        }
        if self.i > start {
            Some(&self.s[start..self.i])
        } else {
            None
        }
    }
}

struct Clock<'a> {
    hour: i64,
    minute: i64,
    second: i64,
    frac: Option<&'a [u8]>,
}

/// `[Tt ]HH:MM(:SS(.f+)?)?` after the date (the leading separator already consumed).
fn clock<'a>(m: &mut M<'a>) -> Option<Clock<'a>> {
    let hour = m.digits(2)?;
    if !m.byte(b':') {
        return None;
    }
    let minute = m.digits(2)?;
    let mut second = 0;
    let mut frac = None;
    if m.peek() == Some(b':') {
        m.i += 1;
        second = m.digits(2)?;
        if m.peek() == Some(b'.') {
            m.i += 1;
            frac = Some(m.digit_run()?);
        }
    }
    Some(Clock { hour, minute, second, frac })
}

/// `Z|z|[+-][0-9]{2}(?::?[0-9]{2})?` → (sign, raw digits) or "utc".
fn zone_minutes_from(sign: i64, hours: i64, minutes: i64) -> Option<i64> {
    if hours > 23 || minutes > 59 {
        return None;
    }
    Some(sign * (hours * 60 + minutes))
}

pub fn parse_iso(s: &[u8], zone_required: bool) -> Option<i64> {
    match parse_iso_usual(s) {
        Some(decided) => decided,
        None => parse_iso_general(s, zone_required),
    }
}

/// The two spellings clients send (and every event's `now`): `YYYY-MM-DDTHH:MM:SS.f…Z` and
/// `YYYY-MM-DDTHH:MM:SS.f…±HH:MM`, decided from fixed positions; None (not decided here) for any
/// other shape, which the general matcher takes. Both carry a zone, so `zone_required` holds.
/// (The general matcher's cursor took ~530 instructions a timestamp, ~2.4 timestamps an event.)
#[inline]
fn parse_iso_usual(s: &[u8]) -> Option<Option<i64>> {
    #[inline(always)]
    fn digit(c: u8) -> bool {
        c.wrapping_sub(b'0') < 10
    }
    #[inline(always)]
    fn two(a: u8, b: u8) -> i64 {
        (a.wrapping_sub(b'0') as i64) * 10 + b.wrapping_sub(b'0') as i64
    }
    let n = s.len();
    if n < 22 {
        return None;
    }
    let p: &[u8; 22] = s[..22].try_into().unwrap();
    if p[4] != b'-' || p[7] != b'-' || p[10] != b'T' || p[13] != b':' || p[16] != b':' || p[19] != b'.' {
        return None;
    }
    let (frac_end, sign) = match s[n - 1] {
        b'Z' => (n - 1, 0),
        _ if n >= 27 && s[n - 3] == b':' && matches!(s[n - 6], b'+' | b'-') => (n - 6, if s[n - 6] == b'-' { -1 } else { 1 }),
        _ => return None,
    };
    let frac = &s[20..frac_end]; // at least one byte, by the lengths checked above
    let mut all = true;
    for i in [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18] {
        all &= digit(p[i]);
    }
    for &c in frac {
        all &= digit(c);
    }
    let z: &[u8; 6] = s[n - 6..].try_into().unwrap();
    if sign != 0 {
        all &= digit(z[1]) & digit(z[2]) & digit(z[4]) & digit(z[5]);
    }
    if !all {
        return None;
    }
    let zone = if sign == 0 {
        0
    } else {
        match zone_minutes_from(sign, two(z[1], z[2]), two(z[4], z[5])) {
            Some(z) => z,
            None => return Some(None),
        }
    };
    let year = two(p[0], p[1]) * 100 + two(p[2], p[3]);
    let (month, day) = (two(p[5], p[6]), two(p[8], p[9]));
    let (hour, minute, second) = (two(p[11], p[12]), two(p[14], p[15]), two(p[17], p[18]));
    Some(to_ms(year, month, day, hour, minute, second, Some(frac), zone))
}

fn parse_iso_general(s: &[u8], zone_required: bool) -> Option<i64> {
    let mut m = M { s, i: 0 };
    let year = m.digits(4)?;
    if !m.byte(b'-') {
        return None;
    }
    let month = m.digits(2)?;
    if !m.byte(b'-') {
        return None;
    }
    let day = m.digits(2)?;
    if m.done() {
        if zone_required {
            return None;
        }
        return to_ms(year, month, day, 0, 0, 0, None, 0);
    }
    if !matches!(m.peek(), Some(b'T' | b't' | b' ')) {
        return None;
    }
    m.i += 1;
    let c = clock(&mut m)?;
    let zone = match m.peek() {
        None => {
            if zone_required {
                return None;
            }
            0
        }
        Some(b'Z' | b'z') => {
            m.i += 1;
            0
        }
        Some(sign @ (b'+' | b'-')) => {
            m.i += 1;
            let hours = m.digits(2)?;
            let mut minutes = 0;
            if !m.done() {
                m.byte(b':');
                minutes = m.digits(2)?;
            }
            zone_minutes_from(if sign == b'-' { -1 } else { 1 }, hours, minutes)?
        }
        Some(_) => return None,
    };
    if !m.done() {
        return None;
    }
    to_ms(year, month, day, c.hour, c.minute, c.second, c.frac, zone)
}

fn parse_slash(s: &[u8]) -> Option<Option<i64>> {
    let mut m = M { s, i: 0 };
    let year = m.digits(4)?;
    if !m.byte(b'/') {
        return None;
    }
    let month = m.digits(2)?;
    if !m.byte(b'/') {
        return None;
    }
    let day = m.digits(2)?;
    if m.done() {
        return Some(to_ms(year, month, day, 0, 0, 0, None, 0));
    }
    if !matches!(m.peek(), Some(b'T' | b't' | b' ')) {
        return None;
    }
    m.i += 1;
    let c = clock(&mut m)?;
    if !m.done() {
        return None;
    }
    Some(to_ms(year, month, day, c.hour, c.minute, c.second, c.frac, 0))
}

const MONTHS: [&[u8]; 12] = [b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"];
const WEEKDAYS: [&[u8]; 7] = [b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun"];

pub fn parse_rfc2822(s: &[u8]) -> Option<i64> {
    let mut m = M { s, i: 0 };
    // optional "Www, " (the day group needs a digit, so there is no ambiguity)
    if s.len() >= 5 && WEEKDAYS.contains(&&s[..3]) && &s[3..5] == b", " {
        m.i = 5;
    }
    let day = if m.s.get(m.i + 1).map_or(false, |c| c.is_ascii_digit()) { m.digits(2)? } else { m.digits(1)? };
    if !m.byte(b' ') {
        return None;
    }
    let mon = m.s.get(m.i..m.i + 3)?;
    let month = MONTHS.iter().position(|x| *x == mon)? as i64 + 1;
    m.i += 3;
    if !m.byte(b' ') {
        return None;
    }
    let year = m.digits(4)?;
    if !m.byte(b' ') {
        return None;
    }
    let hour = m.digits(2)?;
    if !m.byte(b':') {
        return None;
    }
    let minute = m.digits(2)?;
    let mut second = 0;
    if m.peek() == Some(b':') {
        m.i += 1;
        second = m.digits(2)?;
    }
    if !m.byte(b' ') {
        return None;
    }
    let rest = &m.s[m.i..];
    let zone = match rest {
        b"GMT" | b"UTC" | b"UT" | b"Z" => 0,
        [sign @ (b'+' | b'-'), d @ ..] if d.len() == 4 && d.iter().all(|c| c.is_ascii_digit()) => {
            let hours = ((d[0] - b'0') * 10 + (d[1] - b'0')) as i64;
            let minutes = ((d[2] - b'0') * 10 + (d[3] - b'0')) as i64;
            zone_minutes_from(if *sign == b'-' { -1 } else { 1 }, hours, minutes)?
        }
        _ => return None,
    };
    to_ms(year, month, day, hour, minute, second, None, zone)
}

fn parse_epoch(s: &[u8]) -> Option<Option<i64>> {
    let mut m = M { s, i: 0 };
    let whole = m.digit_run()?;
    if whole.len() > 15 {
        return None;
    }
    let mut frac = None;
    if m.peek() == Some(b'.') {
        m.i += 1;
        frac = Some(m.digit_run()?);
    }
    if !m.done() {
        return None;
    }
    let value = whole.iter().fold(0i64, |a, c| a * 10 + (c - b'0') as i64);
    if value < 100_000_000_000 {
        return Some(Some(value * 1000 + frac.map(frac_millis).unwrap_or(0)));
    }
    Some(Some(value))
}

/// Epoch ms of a timestamp string in one of the accepted formats (tried in order), else None.
pub fn parse_timestamp(s: &[u8]) -> Option<i64> {
    if let Some(ms) = parse_iso(s, false) {
        return Some(ms);
    }
    if let Some(r) = parse_slash(s) {
        return r;
    }
    if let Some(ms) = parse_rfc2822(s) {
        return Some(ms);
    }
    if let Some(r) = parse_epoch(s) {
        return r;
    }
    None
}

/// A JSON value as a timestamp: strings by format, non-negative integers as epoch digits.
pub fn parse_timestamp_value(v: &Value) -> Option<i64> {
    match v {
        Value::Str(s) => parse_timestamp(s),
        Value::Int(i) if *i >= 0 => parse_timestamp(itoa::Buffer::new().format(*i).as_bytes()),
        Value::UInt(u) => parse_timestamp(itoa::Buffer::new().format(*u).as_bytes()),
        _ => None,
    }
}

/// Capture's parse_event_timestamp: (timestamp ms, warning types raised).
/// `event` is the merged event's getter (the pipeline keeps its two layers apart).
pub fn event_timestamp<'e>(event: impl Fn(&[u8]) -> Option<&'e Value>, properties: &Map, now_ms: i64) -> (i64, Vec<&'static str>) {
    let mut warnings = Vec::new();
    let mut sent_at_ms = None;
    if !matches!(properties.get(b"$ignore_sent_at".as_slice()), Some(Value::Bool(true))) {
        if let Some(Value::Str(s)) = event(b"sent_at") {
            sent_at_ms = parse_timestamp(s);
        }
    }
    let now = now_ms as i128;
    let mut ts: i128 = now;
    match event(b"timestamp") {
        None | Some(Value::Null) => {}
        Some(raw) => match parse_timestamp_value(raw) {
            None => warnings.push("ignored_invalid_timestamp"),
            Some(parsed) => {
                ts = match sent_at_ms {
                    Some(sent) => parsed as i128 + (now - sent as i128),
                    None => parsed as i128,
                }
            }
        },
    }
    match event(b"offset") {
        Some(Value::Int(o)) => ts = now - *o as i128,
        Some(Value::UInt(o)) => ts = now - *o as i128,
        _ => {}
    }
    if ts - now > FUTURE_LIMIT_MS {
        ts = now;
        warnings.push("event_timestamp_in_future");
    }
    if ts < min_ms() as i128 || ts > max_ms() as i128 {
        ts = 0;
        warnings.push("timestamp_out_of_range");
    }
    (ts as i64, warnings)
}

/// `YYYY-MM-DD HH:MM:SS.mmm` (UTC).
pub fn format_ms(out: &mut Vec<u8>, ms: i64) {
    if let Some(b) = format_ms_fixed(ms) {
        out.extend_from_slice(&b);
        return;
    }
    let days = ms.div_euclid(DAY_MS);
    let rem = ms.rem_euclid(DAY_MS);
    let (year, month, day) = civil_from_days(days);
    let (secs, millis) = (rem / 1000, rem % 1000);
    let (hours, secs) = (secs / 3600, secs % 3600);
    let (minutes, secs) = (secs / 60, secs % 60);
    push_num(out, year, 4);
    out.push(b'-');
    push_num(out, month, 2);
    out.push(b'-');
    push_num(out, day, 2);
    out.push(b' ');
    push_num(out, hours, 2);
    out.push(b':');
    push_num(out, minutes, 2);
    out.push(b':');
    push_num(out, secs, 2);
    out.push(b'.');
    push_num(out, millis, 3);
}

thread_local! {
    /// (days since the epoch, its `YYYY-MM-DD`) of the last date format_ms_fixed wrote; i64::MIN
    /// is no day it can be asked for (its range is checked first)
    static LAST_DATE: std::cell::Cell<(i64, [u8; 10])> = const { std::cell::Cell::new((i64::MIN, [0; 10])) };
}

/// format_ms for years 0..=9999 — every timestamp the pipeline writes — as a fixed-width array:
/// digits stored directly (itoa and a push per piece cost ~700 instructions a timestamp, ~3.6
/// timestamps per event), no allocation for the caller.
pub fn format_ms_fixed(ms: i64) -> Option<[u8; 23]> {
    let days = ms.div_euclid(DAY_MS);
    let rem = ms.rem_euclid(DAY_MS);
    let mut b = *b"0000-00-00 00:00:00.000";
    // two digits at a time from a table (a division per digit cost more than the rest)
    let put2 = |b: &mut [u8; 23], at: usize, v: i64| {
        let v = v as usize * 2;
        b[at..at + 2].copy_from_slice(&DIGIT_PAIRS[v..v + 2]);
    };
    // the date of the last day formatted is kept: an event's timestamps (its own, `now`, the
    // person's) mostly fall on the same few days, and the calendar arithmetic was about half
    // of this function (callgrind)
    let (cached_days, cached_date) = LAST_DATE.get();
    if days == cached_days {
        b[..10].copy_from_slice(&cached_date);
    } else {
        let (year, month, day) = civil_from_days(days);
        if !(0..=9999).contains(&year) {
            return None;
        }
        put2(&mut b, 0, year / 100);
        put2(&mut b, 2, year % 100);
        put2(&mut b, 5, month);
        put2(&mut b, 8, day);
        LAST_DATE.set((days, b[..10].try_into().unwrap()));
    }
    let (secs, millis) = (rem / 1000, rem % 1000);
    let (hours, secs) = (secs / 3600, secs % 3600);
    let (minutes, secs) = (secs / 60, secs % 60);
    put2(&mut b, 11, hours);
    put2(&mut b, 14, minutes);
    put2(&mut b, 17, secs);
    put2(&mut b, 21, millis % 100);
    b[20] = b'0' + (millis / 100) as u8;
    Some(b)
}

/// `YYYY-MM-DD HH:MM:SS` (milliseconds dropped).
pub fn format_seconds(out: &mut Vec<u8>, ms: i64) {
    let start = out.len();
    format_ms(out, ms);
    out.truncate(start + 19);
}

fn push_num(out: &mut Vec<u8>, v: i64, width: usize) {
    // Python's f"{v:04d}" on a negative year gives "-001"; years here are 0..=9999.
    let mut b = itoa::Buffer::new();
    let s = b.format(v.abs());
    if v < 0 {
        out.push(b'-');
    }
    let w = if v < 0 { width.saturating_sub(1) } else { width };
    for _ in s.len()..w {
        out.push(b'0');
    }
    out.extend_from_slice(s.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usual_iso_spellings_decided_as_the_general_matcher_does() {
        let bases: [&[u8]; 6] = [
            b"2026-11-20T10:11:12.345Z",
            b"2026-11-20T10:11:12.345678+01:30",
            b"2024-02-29T23:59:59.9-23:59",
            b"1999-12-31T00:00:00.123456789Z",
            b"2026-13-40T25:61:61.000+24:00",
            b"2026-11-20T10:11:12.3+00:60",
        ];
        let bytes = [b'0', b'5', b'9', b'-', b'+', b':', b'.', b'T', b't', b' ', b'Z', b'z', b'/', b'a', 0x7f];
        let mut checked = 0;
        for base in bases {
            let mut cases: Vec<Vec<u8>> = vec![base.to_vec()];
            for i in 0..base.len() {
                for &b in &bytes {
                    let mut s = base.to_vec();
                    s[i] = b;
                    cases.push(s);
                }
                let mut shorter = base.to_vec();
                shorter.remove(i);
                cases.push(shorter);
                let mut longer = base.to_vec();
                longer.insert(i, b'7');
                cases.push(longer);
            }
            for s in cases {
                for zone_required in [false, true] {
                    assert_eq!(
                        parse_iso(&s, zone_required),
                        parse_iso_general(&s, zone_required),
                        "{:?} zone_required={zone_required}",
                        String::from_utf8_lossy(&s)
                    );
                    checked += 1;
                }
            }
        }
        assert!(parse_iso_usual(bases[0]).is_some() && parse_iso_usual(bases[1]).is_some(), "the fast path decides the usual spellings");
        assert!(checked > 3000);
    }

    #[test]
    fn format_ms_fast_path_same_as_pieces() {
        // the fixed-width path against the general one (push_num per piece), across the range
        let general = |ms: i64| {
            let (days, rem) = (ms.div_euclid(DAY_MS), ms.rem_euclid(DAY_MS));
            let (y, mo, d) = civil_from_days(days);
            let mut o = Vec::new();
            for (v, w, sep) in [(y, 4, b'-'), (mo, 2, b'-'), (d, 2, b' '), (rem / 3_600_000, 2, b':'), (rem / 60_000 % 60, 2, b':'), (rem / 1000 % 60, 2, b'.'), (rem % 1000, 3, 0)] {
                push_num(&mut o, v, w);
                if sep != 0 {
                    o.push(sep);
                }
            }
            o
        };
        let mut ms = min_ms();
        while ms <= max_ms() {
            let mut fast = Vec::new();
            format_ms(&mut fast, ms);
            assert_eq!(fast, general(ms), "{ms}");
            ms += 7_777_777_777 + ms.rem_euclid(999);
        }
        for ms in [0, -1, min_ms(), max_ms(), 1_795_201_468_255] {
            let mut fast = Vec::new();
            format_ms(&mut fast, ms);
            assert_eq!(fast, general(ms), "{ms}");
        }
        // the same days again and again (the kept date), interleaved, around midnight, and a
        // day out of range in between (never kept)
        let days = [1_795_201_468_255, 1_795_201_468_255 + DAY_MS, 0, 1_795_201_468_255 - DAY_MS];
        for round in 0..50i64 {
            for (i, &d) in days.iter().enumerate() {
                let ms = d - d.rem_euclid(DAY_MS) + (round * 1_234_567 + i as i64 * 86_399_999) % DAY_MS;
                let mut fast = Vec::new();
                format_ms(&mut fast, ms);
                assert_eq!(fast, general(ms), "{ms}");
                assert_eq!(format_ms_fixed(ms + 1).map(|b| b.to_vec()), Some(general(ms + 1)), "{}", ms + 1);
            }
            assert_eq!(format_ms_fixed(max_ms() + 1), None);
            assert_eq!(format_ms_fixed(min_ms() - 1), None);
        }
    }

    fn fmt(ms: i64) -> String {
        let mut o = Vec::new();
        format_ms(&mut o, ms);
        String::from_utf8(o).unwrap()
    }

    #[test]
    fn formats() {
        let base = parse_timestamp(b"2026-11-20T10:00:00.123Z").unwrap();
        assert_eq!(fmt(base), "2026-11-20 10:00:00.123");
        assert_eq!(parse_timestamp(b"2026-11-20T12:00:00+02:00"), Some(base - 123));
        assert_eq!(parse_timestamp(b"2026-11-20T12:00:00+02"), Some(base - 123));
        assert_eq!(parse_timestamp(b"2026-11-20T12:00:00+0200"), Some(base - 123));
        assert_eq!(parse_timestamp(b"2026-11-20 10:00:00.1239"), Some(base));
        assert_eq!(parse_timestamp(b"2026/11/20 10:00:00.123"), Some(base));
        assert_eq!(parse_timestamp(b"Fri, 20 Nov 2026 10:00:00 GMT"), Some(base - 123));
        assert_eq!(parse_timestamp(b"20 Nov 2026 11:00:00 +0100"), Some(base - 123));
        assert_eq!(parse_timestamp(b"1700000000"), Some(1_700_000_000_000));
        assert_eq!(parse_timestamp(b"1700000000.5"), Some(1_700_000_000_500));
        assert_eq!(parse_timestamp(b"1700000000123"), Some(1_700_000_000_123));
        assert_eq!(parse_timestamp(b"2026-02-30"), None);
        assert_eq!(parse_timestamp(b"2026-11-20T10:00"), Some(base - 123));
        assert_eq!(parse_timestamp(b"2026-11-20T10:00:00+053"), None);
        assert_eq!(parse_timestamp(b"nope"), None);
        assert_eq!(fmt(min_ms()), "0000-01-01 00:00:00.000");
        assert_eq!(fmt(max_ms()), "9999-12-31 23:59:59.999");
    }
}
