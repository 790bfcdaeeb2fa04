//! Byte scanning for the JSON parser and writer, sixteen bytes at a time.
//!
//! Why: finding the end of a string literal (`"` or `\`), checking a document for control
//! characters and finding the next byte the writer must escape were ~15% of the child's
//! instructions with eight-byte word tricks plus a byte loop for every tail (callgrind, general
//! profile). SSE2 is part of baseline x86-64, so no runtime detection is needed; other targets use
//! the portable version of the same masks.
//!
//! Every function returns the same answer as the obvious byte loop.

/// Bit k set when byte k of the block is `"` or `\`.
#[inline(always)]
fn quote_bs_mask(p: &[u8; 16]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE2 is always present on x86_64; the load is unaligned and reads exactly 16 bytes.
    unsafe {
        use std::arch::x86_64::*;
        let v = _mm_loadu_si128(p.as_ptr() as *const __m128i);
        let q = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
        let s = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
        _mm_movemask_epi8(_mm_or_si128(q, s)) as u32
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let mut m = 0;
        for (k, &c) in p.iter().enumerate() {
            m |= ((c == b'"' || c == b'\\') as u32) << k;
        }
        m
    }
}

/// Bit k set when byte k is below 0x20.
#[inline(always)]
fn control_mask(p: &[u8; 16]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: as above.
    unsafe {
        use std::arch::x86_64::*;
        let v = _mm_xor_si128(_mm_loadu_si128(p.as_ptr() as *const __m128i), _mm_set1_epi8(-128));
        // unsigned c < 0x20  <=>  signed (c ^ 0x80) < (0x20 ^ 0x80)
        _mm_movemask_epi8(_mm_cmplt_epi8(v, _mm_set1_epi8((0x20u8 ^ 0x80) as i8))) as u32
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let mut m = 0;
        for (k, &c) in p.iter().enumerate() {
            m |= ((c < 0x20) as u32) << k;
        }
        m
    }
}

/// write_mask of a block already in a register.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn write_mask_v(raw: std::arch::x86_64::__m128i) -> u32 {
    // SAFETY: SSE2 is always present on x86_64; register operations only.
    unsafe {
        use std::arch::x86_64::*;
        let v = _mm_xor_si128(raw, _mm_set1_epi8(-128));
        let lo = _mm_cmplt_epi8(v, _mm_set1_epi8((0x20u8 ^ 0x80) as i8));
        let hi = _mm_cmpgt_epi8(v, _mm_set1_epi8((0x7eu8 ^ 0x80) as i8));
        let q = _mm_cmpeq_epi8(raw, _mm_set1_epi8(b'"' as i8));
        let s = _mm_cmpeq_epi8(raw, _mm_set1_epi8(b'\\' as i8));
        _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(lo, hi), _mm_or_si128(q, s))) as u32
    }
}

/// write_mask of sixteen bytes held in a u128 (little-endian: byte k in bits 8k..8k+8).
#[inline(always)]
pub fn write_mask16(w: u128) -> u32 {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE2 is always present on x86_64; register operations only.
    unsafe {
        use std::arch::x86_64::*;
        write_mask_v(_mm_set_epi64x((w >> 64) as i64, w as i64))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        write_mask(&w.to_le_bytes())
    }
}

/// Bit k set when json.dumps(ensure_ascii=True) must escape byte k: `"`, `\`, < 0x20, >= 0x7f.
#[inline(always)]
fn write_mask(p: &[u8; 16]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: as above.
    unsafe {
        use std::arch::x86_64::*;
        let raw = _mm_loadu_si128(p.as_ptr() as *const __m128i);
        let v = _mm_xor_si128(raw, _mm_set1_epi8(-128));
        let lo = _mm_cmplt_epi8(v, _mm_set1_epi8((0x20u8 ^ 0x80) as i8));
        let hi = _mm_cmpgt_epi8(v, _mm_set1_epi8((0x7eu8 ^ 0x80) as i8));
        let q = _mm_cmpeq_epi8(raw, _mm_set1_epi8(b'"' as i8));
        let s = _mm_cmpeq_epi8(raw, _mm_set1_epi8(b'\\' as i8));
        _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(lo, hi), _mm_or_si128(q, s))) as u32
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let mut m = 0;
        for (k, &c) in p.iter().enumerate() {
            m |= ((c < 0x20 || c >= 0x7f || c == b'"' || c == b'\\') as u32) << k;
        }
        m
    }
}

#[inline(always)]
fn block(b: &[u8], i: usize) -> &[u8; 16] {
    b[i..i + 16].try_into().unwrap()
}

/// First index >= i whose byte has its bit in `mask`, else b.len(). Tails shorter than a block
/// are read as the last 16 bytes of `b` (bits before i shifted out) or from a padded copy.
#[inline(always)]
fn find(b: &[u8], mut i: usize, mask: impl Fn(&[u8; 16]) -> u32, pad: u8) -> usize {
    while i + 16 <= b.len() {
        let m = mask(block(b, i));
        if m != 0 {
            return i + m.trailing_zeros() as usize;
        }
        i += 16;
    }
    if i >= b.len() {
        return b.len();
    }
    let m = if b.len() >= 16 {
        let base = b.len() - 16;
        mask(block(b, base)) >> (i - base)
    } else {
        let mut t = [pad; 16];
        t[..b.len() - i].copy_from_slice(&b[i..]);
        mask(&t) & ((1u32 << (b.len() - i)) - 1)
    };
    if m != 0 {
        i + m.trailing_zeros() as usize
    } else {
        b.len()
    }
}

/// For a string literal whose contents start at `i`: when the next `"` or `\` lies within the 16
/// bytes from `i` and is a `"`, that string's length k and its bytes zero-padded to 16 (k < 16).
/// One load and one mask for the short strings that most keys and values are (parser fast path).
#[inline(always)]
pub fn short_string(b: &[u8], i: usize) -> Option<(usize, u128)> {
    if i + 16 > b.len() {
        return None;
    }
    let blk = block(b, i);
    let m = quote_bs_mask(blk);
    if m == 0 {
        return None;
    }
    let k = m.trailing_zeros() as usize;
    if blk[k] != b'"' {
        return None;
    }
    let v = u128::from_le_bytes(*blk);
    let keep = if k == 0 { 0 } else { u128::MAX >> (128 - 8 * k) };
    Some((k, v & keep))
}

/// For a string literal whose contents start at `i`: its length when its closing quote comes
/// within 32 bytes with no backslash before it (two loads), else None.
#[inline(always)]
pub fn plain_string_len(b: &[u8], i: usize) -> Option<usize> {
    if i + 32 > b.len() {
        return short_string(b, i).map(|(k, _)| k);
    }
    let m = quote_bs_mask(block(b, i)) | (quote_bs_mask(block(b, i + 16)) << 16);
    if m == 0 {
        return None;
    }
    let k = m.trailing_zeros() as usize;
    (b[i + k] == b'"').then_some(k)
}

/// Position of the next `"` or `\` at or after `i` (or b.len()).
#[inline]
pub fn quote_or_backslash(b: &[u8], i: usize) -> usize {
    find(b, i, quote_bs_mask, b'a')
}

/// Append b[i..k] to `out`, where k is the next `"` or `\\` at or after `i` (or b.len()); returns k.
///
/// Sixteen bytes are loaded, stored at the end of `out` whatever they hold, and then tested, so
/// a run costs one unaligned store per block and no memcpy call (the stored bytes past the run
/// are beyond out.len() and overwritten next). The stores need room: when out's spare capacity
/// is at least b.len() - i (an unescape buffer reserved for the whole rest of the input always
/// has it, since unescaping never lengthens), `i + 16 <= b.len()` keeps every store inside it;
/// otherwise a plain scan and copy are used.
#[inline(always)]
pub fn copy_to_special(b: &[u8], mut i: usize, out: &mut Vec<u8>) -> usize {
    #[cfg(target_arch = "x86_64")]
    if out.capacity() - out.len() >= b.len() - i {
        let mut o = out.len();
        // SAFETY: loads read b[i..i + 16] with i + 16 <= b.len(); stores write
        // [o, o + 16) with o + 16 <= o + (b.len() - i) <= capacity (the check above, and o and i
        // advance together); set_len covers only bytes that were copied from b.
        unsafe {
            use std::arch::x86_64::*;
            let dst = out.as_mut_ptr();
            let src = b.as_ptr();
            while i + 16 <= b.len() {
                let v = _mm_loadu_si128(src.add(i) as *const __m128i);
                _mm_storeu_si128(dst.add(o) as *mut __m128i, v);
                let q = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
                let s = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
                let m = _mm_movemask_epi8(_mm_or_si128(q, s)) as u32;
                if m != 0 {
                    let k = m.trailing_zeros() as usize;
                    out.set_len(o + k);
                    return i + k;
                }
                i += 16;
                o += 16;
            }
            out.set_len(o);
        }
    }
    let k = quote_or_backslash(b, i);
    out.extend_from_slice(&b[i..k]);
    k
}

/// Append s[i..k] to `out`, where k = needs_escape(s, i); returns k.
///
/// Why: the writer called the scan, then memcpy, per string (most strings are short keys and
/// values, so the call overheads dominated: callgrind, write_str_g + memcpy). Here full blocks are
/// stored whatever they hold and then tested (as in copy_to_special); a tail shorter than a block
/// (every short string) is gathered into one register with at most two overlapping in-bounds
/// loads (load_tail), tested and stored the same way. A byte loop for tails cost more than the
/// memcpy it replaced.
#[inline(always)]
pub fn copy_plain(s: &[u8], mut i: usize, out: &mut Vec<u8>) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        out.reserve(s.len() - i + 16);
        let mut o = out.len();
        // SAFETY: spare capacity >= s.len() - i + 16 (reserve above) and o, i advance together,
        // so every 16-byte store at o (made while i < s.len()) lies within the capacity; loads
        // read s[i..i + 16] with i + 16 <= s.len(), or load_tail's in-bounds bytes; set_len covers
        // only bytes that hold copies of s (the rest of a store is past len, overwritten later).
        unsafe {
            use std::arch::x86_64::*;
            let dst = out.as_mut_ptr();
            let src = s.as_ptr();
            while i + 16 <= s.len() {
                let v = _mm_loadu_si128(src.add(i) as *const __m128i);
                _mm_storeu_si128(dst.add(o) as *mut __m128i, v);
                let m = write_mask_v(v);
                if m != 0 {
                    let k = m.trailing_zeros() as usize;
                    out.set_len(o + k);
                    return i + k;
                }
                i += 16;
                o += 16;
            }
            let n = s.len() - i;
            if n == 0 {
                out.set_len(o);
                return i;
            }
            let t = load_tail(src.add(i), n);
            let v = _mm_set_epi64x((t >> 64) as i64, t as i64);
            _mm_storeu_si128(dst.add(o) as *mut __m128i, v);
            let m = write_mask_v(v) & ((1u32 << n) - 1);
            let k = if m != 0 { m.trailing_zeros() as usize } else { n };
            out.set_len(o + k);
            i + k
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let k = needs_escape(s, i);
        out.extend_from_slice(&s[i..k]);
        k
    }
}

/// s (at most 16 bytes) as the low s.len() bytes of a u128, the rest zero; reads only s.
#[inline(always)]
pub fn load_upto16(s: &[u8]) -> u128 {
    let n = s.len();
    debug_assert!(n <= 16);
    if n >= 16 {
        // (callers pass at most 16 bytes; a longer slice gives its first 16)
        u128::from_le_bytes(s[..16].try_into().unwrap())
    } else if n == 0 {
        0
    } else {
        // SAFETY: 0 < n < 16 and s[0..n] is readable.
        unsafe { load_tail(s.as_ptr(), n) }
    }
}

/// p[0..n] (0 < n < 16) as the low n bytes of a u128 (the rest zero), reading only p[0..n]:
/// two overlapping loads, the second shifted so the overlap drops out (u64 shifts: u128 ones
/// with a variable count cost a branchy sequence).
///
/// # Safety
/// p[0..n] must be readable.
#[inline(always)]
unsafe fn load_tail(p: *const u8, n: usize) -> u128 {
    if n >= 8 {
        let lo = (p as *const u64).read_unaligned();
        let hi = (p.add(n - 8) as *const u64).read_unaligned();
        let s = (16 - n) * 8; // 8..=64: shift in two steps so that 64 is well defined
        (lo as u128) | (((hi >> (s - 8)) >> 8) as u128) << 64
    } else if n >= 4 {
        let lo = (p as *const u32).read_unaligned() as u64;
        let hi = (p.add(n - 4) as *const u32).read_unaligned() as u64;
        (lo | ((hi >> ((8 - n) * 8)) << 32)) as u128
    } else {
        ((*p as u64) | ((*p.add(n / 2) as u64) << (8 * (n / 2))) | ((*p.add(n - 1) as u64) << (8 * (n - 1)))) as u128
    }
}

/// Position of the next byte json.dumps(ensure_ascii=True) escapes, at or after `i` (or s.len()).
#[cfg_attr(target_arch = "x86_64", allow(dead_code))] // x86_64 uses copy_plain
#[inline]
pub fn needs_escape(s: &[u8], i: usize) -> usize {
    find(s, i, write_mask, b'a')
}

/// (every byte is ASCII, some byte is below 0x20, some byte is 0x7f) in one pass: a record
/// value's UTF-8 check, the parser's control-character check and the writer's "printable ASCII"
/// check of the `data` literal (json::write_props_as_str) read the value once instead of four times.
pub fn ascii_and_controls(b: &[u8]) -> (bool, bool, bool) {
    #[cfg(target_arch = "x86_64")]
    if b.len() >= 64 && have_avx2() {
        // SAFETY: AVX2 checked.
        return unsafe { ascii_and_controls_avx2(b) };
    }
    #[cfg(target_arch = "x86_64")]
    // SAFETY: every load reads b[i..i + 16] with i + 16 <= b.len().
    unsafe {
        use std::arch::x86_64::*;
        let p = b.as_ptr();
        let mut high = _mm_setzero_si128();
        let mut low = _mm_setzero_si128();
        let mut del = _mm_setzero_si128();
        let limit = _mm_set1_epi8((0x20u8 ^ 0x80) as i8);
        let del_byte = _mm_set1_epi8(0x7f);
        let mut i = 0;
        while i + 16 <= b.len() {
            let v = _mm_loadu_si128(p.add(i) as *const __m128i);
            high = _mm_or_si128(high, v);
            // unsigned v < 0x20, as a signed compare of v ^ 0x80
            low = _mm_or_si128(low, _mm_cmplt_epi8(_mm_xor_si128(v, _mm_set1_epi8(-128)), limit));
            del = _mm_or_si128(del, _mm_cmpeq_epi8(v, del_byte));
            i += 16;
        }
        let tail = &b[i..];
        (
            _mm_movemask_epi8(high) == 0 && tail.is_ascii(),
            _mm_movemask_epi8(low) != 0 || tail.iter().any(|&c| c < 0x20),
            _mm_movemask_epi8(del) != 0 || tail.contains(&0x7f),
        )
    }
    #[cfg(not(target_arch = "x86_64"))]
    (b.is_ascii(), any_control(b), b.contains(&0x7f))
}

/// ascii_and_controls 32 bytes at a time (every record value is scanned: ~2.7 KB a general
/// event); the last block overlaps the one before instead of a byte loop for the tail.
///
/// # Safety
/// AVX2 must be available; b.len() >= 32.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn ascii_and_controls_avx2(b: &[u8]) -> (bool, bool, bool) {
    use std::arch::x86_64::*;
    debug_assert!(b.len() >= 32);
    let p = b.as_ptr();
    let mut high = _mm256_setzero_si256();
    let mut low = _mm256_setzero_si256();
    let mut del = _mm256_setzero_si256();
    let flip = _mm256_set1_epi8(-128);
    let limit = _mm256_set1_epi8((0x20u8 ^ 0x80) as i8);
    let del_byte = _mm256_set1_epi8(0x7f);
    let mut scan = |at: usize| {
        // SAFETY: callers pass at + 32 <= b.len().
        let v = unsafe { _mm256_loadu_si256(p.add(at) as *const __m256i) };
        high = _mm256_or_si256(high, v);
        // unsigned v < 0x20, as a signed compare of v ^ 0x80
        low = _mm256_or_si256(low, _mm256_cmpgt_epi8(limit, _mm256_xor_si256(v, flip)));
        del = _mm256_or_si256(del, _mm256_cmpeq_epi8(v, del_byte));
    };
    let mut i = 0;
    while i + 32 <= b.len() {
        scan(i);
        i += 32;
    }
    if i < b.len() {
        scan(b.len() - 32);
    }
    (_mm256_movemask_epi8(high) == 0, _mm256_movemask_epi8(low) != 0, _mm256_movemask_epi8(del) != 0)
}

/// Any byte below 0x20.
pub fn any_control(b: &[u8]) -> bool {
    let mut i = 0;
    let mut acc = 0;
    while i + 16 <= b.len() {
        acc |= control_mask(block(b, i));
        i += 16;
    }
    acc != 0 || b[i..].iter().any(|&c| c < 0x20)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_and_controls_same_as_byte_loops() {
        // one odd byte at every position of inputs up to 140 bytes long (both the 16- and the 32-byte paths)
        for len in 0..140 {
            for at in 0..len.max(1) {
                for odd in [0x00u8, 0x1f, 0x20, 0x7f, 0x80, 0xff] {
                    let mut b = vec![b'a'; len];
                    if at < len {
                        b[at] = odd;
                    }
                    let want = (b.is_ascii(), b.iter().any(|&c| c < 0x20), b.contains(&0x7f));
                    assert_eq!(ascii_and_controls(&b), want, "len {len} at {at} byte {odd:#x}");
                }
            }
        }
    }

    #[test]
    fn same_as_byte_loops() {
        let mut s: Vec<u8> = Vec::new();
        for n in 0..300u32 {
            s.push(match n % 37 {
                0 => b'"',
                5 => b'\\',
                7 => 0x1f,
                11 => 0x7f,
                13 => 0xc3,
                17 => 0x20,
                19 => 0x7e,
                _ => b'a' + (n % 26) as u8,
            });
        }
        for len in 0..s.len() {
            let b = &s[..len];
            for i in 0..=len {
                let q = (i..len).find(|&k| b[k] == b'"' || b[k] == b'\\').unwrap_or(len);
                assert_eq!(quote_or_backslash(b, i), q);
                let w = (i..len).find(|&k| b[k] < 0x20 || b[k] >= 0x7f || b[k] == b'"' || b[k] == b'\\').unwrap_or(len);
                assert_eq!(needs_escape(b, i), w);
            }
            assert_eq!(any_control(b), b.iter().any(|&c| c < 0x20));
            for i in 0..=len {
                let q = quote_or_backslash(b, i);
                let want = (q < len && b[q] == b'"' && q - i < 16 && i + 16 <= len).then(|| q - i);
                let got = short_string(b, i);
                assert_eq!(got.map(|g| g.0), want);
                if let Some((k, v)) = got {
                    let mut pad = [0u8; 16];
                    pad[..k].copy_from_slice(&b[i..i + k]);
                    assert_eq!(v, u128::from_le_bytes(pad));
                }
            }
            for i in 0..=len {
                let q = quote_or_backslash(b, i);
                let w = needs_escape(b, i);
                let mut out = vec![b'y'; 5];
                assert_eq!(copy_plain(b, i, &mut out), w);
                assert_eq!(&out[5..], &b[i..w]);
                for (pre, cap) in [(0usize, len), (3, 0), (1, len + 40)] {
                    let mut out = vec![b'x'; pre];
                    out.reserve(cap);
                    assert_eq!(copy_to_special(b, i, &mut out), q);
                    assert_eq!(&out[..pre], &vec![b'x'; pre][..]);
                    assert_eq!(&out[pre..], &b[i..q]);
                }
            }
        }
    }
}

/// For each 8-bit mask m, the pshufb control that packs the bytes of an 8-byte half whose bit
/// in m is clear (the kept bytes first, then zeroing lanes).
#[cfg(target_arch = "x86_64")]
static PACK: [[u8; 16]; 256] = {
    let mut t = [[0x80u8; 16]; 256];
    let mut m = 0;
    while m < 256 {
        let mut j = 0;
        let mut k = 0;
        while j < 8 {
            if m & (1 << j) == 0 {
                t[m][k] = j as u8;
                k += 1;
            }
            j += 1;
        }
        m += 1;
    }
    t
};

/// Whether the pshufb block loops can run here (SSSE3, and POPCNT for the counts), decided once.
#[cfg(target_arch = "x86_64")]
pub fn have_ssse3() -> bool {
    use std::sync::OnceLock;
    static HAVE: OnceLock<bool> = OnceLock::new();
    *HAVE.get_or_init(|| std::arch::is_x86_feature_detected!("ssse3") && std::arch::is_x86_feature_detected!("popcnt"))
}

pub fn have_avx2() -> bool {
    use std::sync::OnceLock;
    static HAVE: OnceLock<bool> = OnceLock::new();
    *HAVE.get_or_init(|| std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("popcnt"))
}

/// unescape_quote_blocks on 32-byte blocks (AVX2 compares; the packing is still per 8-byte
/// quarter with pshufb): half the per-block work for the long `\"`-only stretches of a `data`
/// literal. Stops where a block does not qualify, or 40 bytes before the end; the caller goes on
/// with unescape_quote_blocks.
///
/// # Safety
/// AVX2 and POPCNT must be available, and o <= i - start where dst's capacity is at least
/// b.len() - start. A block's stores end at most 40 bytes past o (the last quarter is stored at
/// o + up to 24), so blocks are taken only while i + 40 <= b.len(); the loads (b[i..i + 33]) are
/// in bounds too.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,popcnt")]
pub unsafe fn unescape_quote_blocks32(b: &[u8], mut i: usize, dst: *mut u8, mut o: usize) -> (usize, usize) {
    use std::arch::x86_64::*;
    let src = b.as_ptr();
    let quote = _mm256_set1_epi8(b'"' as i8);
    let bslash = _mm256_set1_epi8(b'\\' as i8);
    let pack = |m: u32| _mm_loadu_si128(PACK[m as usize].as_ptr() as *const __m128i);
    while i + 40 <= b.len() {
        let v = _mm256_loadu_si256(src.add(i) as *const __m256i);
        let next = _mm256_loadu_si256(src.add(i + 1) as *const __m256i);
        let bs = _mm256_movemask_epi8(_mm256_cmpeq_epi8(v, bslash)) as u32;
        let qs = _mm256_movemask_epi8(_mm256_cmpeq_epi8(v, quote)) as u32;
        let qn = _mm256_movemask_epi8(_mm256_cmpeq_epi8(next, quote)) as u32;
        // as in unescape_quote_blocks: only `\"` escapes, no closing quote
        if bs & !qn != 0 || qs & !(bs << 1) != 0 {
            break;
        }
        let take = 32 - (bs >> 31) as usize;
        let bs = bs & 0x7FFF_FFFF;
        if bs == 0 {
            _mm256_storeu_si256(dst.add(o) as *mut __m256i, v);
        } else {
            let lo = _mm256_castsi256_si128(v);
            let hi = _mm256_extracti128_si256::<1>(v);
            let mut at = o;
            for (q, m) in [(lo, bs & 0xFF), (_mm_srli_si128::<8>(lo), (bs >> 8) & 0xFF), (hi, (bs >> 16) & 0xFF), (_mm_srli_si128::<8>(hi), bs >> 24)] {
                _mm_storeu_si128(dst.add(at) as *mut __m128i, _mm_shuffle_epi8(q, pack(m)));
                at += 8 - m.count_ones() as usize;
            }
        }
        o += take - bs.count_ones() as usize;
        i += take;
    }
    (i, o)
}

/// Unescape whole 16-byte blocks of a string literal's contents from b[i], writing at dst + o,
/// as long as every escape in a block is `\"` (both bytes in the block, or a backslash in the
/// last byte, then left for the next step) and no block holds the
/// literal's closing quote; returns the new (i, o) at the first block that does not qualify
/// (the caller's scalar loop goes on from there).
///
/// Why: the `data` string of every record is JSON inside JSON, with a `\"` every ten bytes or
/// so; the scalar loop paid a mispredicted branch per escape (~1.4 µs of ~2.2 µs decoding a
/// general record's outer layer). Here a block costs the same whatever it holds: the backslashes
/// are dropped by two pshufb packs of 8-byte halves.
///
/// # Safety
/// SSSE3 must be available, and o <= i - start where dst's capacity is at least b.len() - start
/// (unescaping never lengthens). A block's stores end at most 24 bytes past o (the high half is
/// stored at o + up to 8), so blocks are taken only while i + 24 <= b.len(): every store then
/// ends within b.len() - start; the loads (b[i..i + 17]) are in bounds too.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "ssse3,popcnt")]
pub unsafe fn unescape_quote_blocks(b: &[u8], mut i: usize, dst: *mut u8, mut o: usize) -> (usize, usize) {
    use std::arch::x86_64::*;
    let src = b.as_ptr();
    let quote = _mm_set1_epi8(b'"' as i8);
    let bslash = _mm_set1_epi8(b'\\' as i8);
    while i + 24 <= b.len() {
        let v = _mm_loadu_si128(src.add(i) as *const __m128i);
        let next = _mm_loadu_si128(src.add(i + 1) as *const __m128i);
        let bs = _mm_movemask_epi8(_mm_cmpeq_epi8(v, bslash)) as u32;
        let qs = _mm_movemask_epi8(_mm_cmpeq_epi8(v, quote)) as u32;
        let qn = _mm_movemask_epi8(_mm_cmpeq_epi8(next, quote)) as u32;
        // every backslash escapes the quote right after it, inside this block; every quote is
        // escaped (an unescaped one closes the literal)
        if bs & !qn != 0 || qs & !(bs << 1) != 0 {
            break;
        }
        // a backslash in the last byte: its quote is in the next block, so this step takes 15
        // bytes and the next block starts at that backslash
        let take = 16 - (bs >> 15) as usize;
        let bs = bs & 0x7FFF;
        if bs == 0 {
            _mm_storeu_si128(dst.add(o) as *mut __m128i, v);
        } else {
            let lo = bs & 0xFF;
            let hi = bs >> 8;
            let packed_lo = _mm_shuffle_epi8(v, _mm_loadu_si128(PACK[lo as usize].as_ptr() as *const __m128i));
            _mm_storeu_si128(dst.add(o) as *mut __m128i, packed_lo);
            let n_lo = 8 - lo.count_ones() as usize;
            let packed_hi =
                _mm_shuffle_epi8(_mm_srli_si128(v, 8), _mm_loadu_si128(PACK[hi as usize].as_ptr() as *const __m128i));
            _mm_storeu_si128(dst.add(o + n_lo) as *mut __m128i, packed_hi);
        }
        o += take - bs.count_ones() as usize;
        i += take;
    }
    (i, o)
}

/// For each 8-bit mask m, the pshufb control that spreads an 8-byte half so that every byte
/// whose bit is set gets a free lane before it (zeroed, for the backslash), and those lanes.
#[cfg(target_arch = "x86_64")]
static SPREAD: [([u8; 16], [u8; 16]); 256] = {
    let mut t = [([0x80u8; 16], [0u8; 16]); 256];
    let mut m = 0;
    while m < 256 {
        let mut j = 0;
        let mut k = 0;
        while j < 8 {
            if m & (1 << j) != 0 {
                t[m].1[k] = b'\\';
                k += 1;
            }
            t[m].0[k] = j as u8;
            k += 1;
            j += 1;
        }
        m += 1;
    }
    t
};

/// json.dumps's escaping of whole 16-byte blocks of s from s[i], written at dst + o, as long as
/// a block needs no escape but `\"` and `\\` (printable ASCII otherwise); returns the new (i, o)
/// at the first block that does not qualify (the caller's loop goes on from there).
///
/// Why: the overflow lane writes each record's whole value as a JSON string, and a value is
/// JSON with a `\"` every few bytes: a branch per escape cost ~7 µs per overflowed general
/// record. Here a block costs the same whatever it holds (two pshufb spreads, backslashes OR-ed
/// into the free lanes).
///
/// # Safety
/// SSSE3 must be available; dst must have room for 32 bytes at every o reached, i.e. a spare
/// capacity of at least 2 * (s.len() - i) + 32 from the starting o.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "ssse3,popcnt")]
pub unsafe fn escape_quote_blocks(s: &[u8], mut i: usize, dst: *mut u8, mut o: usize) -> (usize, usize) {
    use std::arch::x86_64::*;
    let src = s.as_ptr();
    while i + 16 <= s.len() {
        let v = _mm_loadu_si128(src.add(i) as *const __m128i);
        let flipped = _mm_xor_si128(v, _mm_set1_epi8(-128));
        let lo = _mm_cmplt_epi8(flipped, _mm_set1_epi8((0x20u8 ^ 0x80) as i8));
        let hi = _mm_cmpgt_epi8(flipped, _mm_set1_epi8((0x7eu8 ^ 0x80) as i8));
        if _mm_movemask_epi8(_mm_or_si128(lo, hi)) != 0 {
            break;
        }
        let q = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
        let b = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
        let m = _mm_movemask_epi8(_mm_or_si128(q, b)) as u32;
        if m == 0 {
            _mm_storeu_si128(dst.add(o) as *mut __m128i, v);
            o += 16;
        } else {
            for (half, bits) in [(v, m & 0xFF), (_mm_srli_si128(v, 8), m >> 8)] {
                let (ctl, fill) = &SPREAD[bits as usize];
                let spread = _mm_shuffle_epi8(half, _mm_loadu_si128(ctl.as_ptr() as *const __m128i));
                let out = _mm_or_si128(spread, _mm_loadu_si128(fill.as_ptr() as *const __m128i));
                _mm_storeu_si128(dst.add(o) as *mut __m128i, out);
                o += 8 + bits.count_ones() as usize;
            }
        }
        i += 16;
    }
    (i, o)
}
