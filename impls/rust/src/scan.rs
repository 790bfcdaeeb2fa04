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

/// Position of the next `"` or `\` at or after `i` (or b.len()).
#[inline]
pub fn quote_or_backslash(b: &[u8], i: usize) -> usize {
    find(b, i, quote_bs_mask, b'a')
}

/// Position of the next byte json.dumps(ensure_ascii=True) escapes, at or after `i` (or s.len()).
#[inline]
pub fn needs_escape(s: &[u8], i: usize) -> usize {
    find(s, i, write_mask, b'a')
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
        }
    }
}
