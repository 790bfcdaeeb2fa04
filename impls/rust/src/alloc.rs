//! A small-object pool allocator in front of the system allocator.
//!
//! Why: the pipeline builds and drops hundreds of small strings and maps per event, and glibc's
//! malloc/free/consolidation took over a quarter of the child's time (perf); with this pool the
//! child runs about a quarter fewer instructions (callgrind, 2,000 general events). mimalloc and
//! jemalloc are not packaged for Debian here, so this is the minimal alternative: blocks of up to
//! 1 KiB come from per-size-class free lists (16-byte classes), blocks of up to 64 KiB from
//! power-of-two classes (2, 4, … 64 KiB: a general event's `data` text and its properties
//! literal, ~2–4 KiB each, went through glibc's `_int_malloc`/`_int_free`, ~3% of the child's
//! time in perf), all carved out of 1 MiB chunks and reused but never returned to the system
//! (the child is one session: its peak is bounded by a batch); larger blocks go to the system
//! allocator. The lists are per thread (no lock).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, UnsafeCell};
use std::ptr;

const CLASS: usize = 16;
const SMALL: usize = 64; // 16-byte classes: blocks up to 1024 bytes
const LARGE: usize = 6; // then 2, 4, 8, 16, 32, 64 KiB
const CLASSES: usize = SMALL + LARGE;
/// The largest block the pool serves.
const MAX_BLOCK: usize = (CLASS * SMALL) << LARGE;
const CHUNK: usize = 1 << 20;

struct State {
    free: [*mut u8; CLASSES],
    chunk: *mut u8,
    left: usize,
}

thread_local! {
    // Per thread, so no lock: an uncontended atomic swap per allocation and per free was ~1 µs
    // per general event (the child is single-threaded, but a global allocator must be sound for
    // any thread). A const initializer and no destructor: reaching it never allocates. A block
    // freed by another thread than the one that allocated it joins that thread's lists, which
    // is sound: chunks are never returned.
    static STATE: UnsafeCell<State> = const {
        UnsafeCell::new(State { free: [ptr::null_mut(); CLASSES], chunk: ptr::null_mut(), left: 0 })
    };
}

pub struct Pool;

impl Pool {
    pub const fn new() -> Pool {
        Pool
    }

    #[inline]
    fn class(layout: &Layout) -> Option<usize> {
        let n = layout.size();
        if layout.align() > CLASS || n > MAX_BLOCK {
            None
        } else if n <= CLASS * SMALL {
            Some(n.max(1).div_ceil(CLASS) - 1)
        } else {
            // (1 KiB, 2 KiB] → SMALL, (2 KiB, 4 KiB] → SMALL + 1, …
            Some(SMALL + (usize::BITS - (n - 1).leading_zeros()) as usize - 11)
        }
    }

    #[inline]
    fn class_size(c: usize) -> usize {
        if c < SMALL {
            (c + 1) * CLASS
        } else {
            (CLASS * SMALL) << (c - SMALL + 1)
        }
    }
}

thread_local! {
    // One block of the bridge's shared memory lent to an output buffer (see `vec_in_region`):
    // (start, end, handed out yet). Only large blocks are checked against it, so the pool's
    // paths carry no extra work.
    static REGION: Cell<(usize, usize, bool)> = const { Cell::new((0, 0, true)) };
}

/// An empty `Vec` whose `len` bytes of capacity are the memory at `ptr` (the bridge's shared
/// memory), so that a stream of output records is written where the parent reads it and is
/// not copied there after the batch (protocol::OutStream).
///
/// The block comes from the global allocator (this one hands it out for the request), so the
/// `Vec` is an ordinary one: freeing a block inside the region is a no-op (the mapping owns
/// it), and growing one past its capacity moves it to the heap (then the result is copied
/// into the shared memory as before). `len` must be over the pool's block sizes (64 KiB); the region
/// stays registered until the next call, so the `Vec` must be dropped before then, and before
/// the mapping goes away.
pub fn vec_in_region(ptr: *mut u8, len: usize) -> Vec<u8> {
    assert!(len > MAX_BLOCK && !ptr.is_null());
    REGION.with(|r| r.set((ptr as usize, ptr as usize + len, false)));
    let v = Vec::with_capacity(len);
    debug_assert_eq!(v.as_ptr(), ptr as *const u8);
    v
}

/// Forget the region once its `Vec` is gone (the mapping may move before the next batch).
pub fn release_region() {
    REGION.with(|r| r.set((0, 0, true)));
}

#[inline]
fn in_region(p: *mut u8) -> bool {
    let (start, end, _) = REGION.with(Cell::get);
    (start..end).contains(&(p as usize))
}

unsafe impl GlobalAlloc for Pool {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some(c) = Pool::class(&layout) else {
            let (start, end, lent) = REGION.with(Cell::get);
            if !lent && layout.size() == end - start {
                REGION.with(|r| r.set((start, end, true)));
                return start as *mut u8;
            }
            return System.alloc(layout);
        };
        // SAFETY: the state is this thread's own, and no reference to it outlives this call.
        STATE.with(|st| {
            let st = &mut *st.get();
            let head = st.free[c];
            if !head.is_null() {
                // a free block stores the next free block's address in its first word
                st.free[c] = *(head as *mut *mut u8);
                return head;
            }
            let size = Pool::class_size(c);
            if st.left < size {
                let chunk = System.alloc(Layout::from_size_align_unchecked(CHUNK, CLASS));
                if chunk.is_null() {
                    return ptr::null_mut();
                }
                st.chunk = chunk;
                st.left = CHUNK;
            }
            let p = st.chunk;
            st.chunk = st.chunk.add(size);
            st.left -= size;
            p
        })
    }

    #[inline]
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        let Some(c) = Pool::class(&layout) else {
            if !in_region(p) {
                System.dealloc(p, layout);
            }
            return;
        };
        // SAFETY: as in alloc.
        STATE.with(|st| {
            let st = &mut *st.get();
            *(p as *mut *mut u8) = st.free[c];
            st.free[c] = p;
        })
    }

    #[inline]
    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
        match (Pool::class(&layout), Pool::class(&new_layout)) {
            (Some(a), Some(b)) if a == b => p,
            (None, None) if in_region(p) => {
                let q = System.alloc(new_layout);
                if !q.is_null() {
                    ptr::copy_nonoverlapping(p, q, layout.size().min(new_size));
                }
                q
            }
            (None, None) => System.realloc(p, layout, new_size),
            _ => {
                let q = self.alloc(new_layout);
                if !q.is_null() {
                    ptr::copy_nonoverlapping(p, q, layout.size().min(new_size));
                    self.dealloc(p, layout);
                }
                q
            }
        }
    }
}

/// Keep freed large blocks in the process instead of returning them to the kernel.
///
/// Why: a batch allocates a few megabytes of output rows (blocks above the pool's 1 KiB), frees
/// them after the result is written, and glibc trimmed the heap top (and unmapped big blocks)
/// each time, so the next batch faulted the same pages in again (~0.9 minor faults per event).
/// The session's peak is bounded by one batch, so holding on to it costs nothing extra.
pub fn keep_freed_memory() {
    // SAFETY: mallopt only changes glibc's tuning parameters.
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, 512 << 20);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
    }
}

/// Fault in `bytes` of heap at session start (untimed), so the first batches do not.
///
/// Why: the harness starts a fresh child for every measured pass (a fresh state), so each pass
/// paid the page faults of a process's first megabytes of heap (~1,000 minor faults in the
/// first batch of a general session, ~1,400 in all), which a long-running consumer pays once
/// and the reference, measured in a warm process, not at all. Touched and freed at once: with
/// `keep_freed_memory` glibc keeps the block, and the pool's chunks and the output streams are
/// carved from it. Alternated A/B, fresh sessions of 10,000 general events: first batch
/// 8.0 → 6.1 ms, a pass −3.5%.
pub fn prefault_heap(bytes: usize) {
    // SAFETY: a plain malloc/free pair; every write is inside the block.
    unsafe {
        let p = libc::malloc(bytes) as *mut u8;
        if p.is_null() {
            return;
        }
        let mut i = 0;
        while i < bytes {
            std::ptr::write_volatile(p.add(i), 0);
            i += 4096;
        }
        libc::free(p as *mut libc::c_void);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vec_in_the_region_writes_there_and_moves_out_when_it_grows() {
        // the "shared memory": a leaked heap block (a region's memory is never freed by the Vec)
        let region: &'static mut [u8] = Box::leak(vec![0u8; 1 << 18].into_boxed_slice());
        let base = region.as_mut_ptr();
        let room = 100_000;
        let mut v = vec_in_region(base, room);
        assert_eq!(v.as_ptr(), base as *const u8);
        assert_eq!(v.capacity(), room);
        v.extend_from_slice(&[7u8; 99_000]);
        assert_eq!(v.as_ptr(), base as *const u8, "within its room it stays in the region");
        assert_eq!(region_byte(base, 98_999), 7);
        v.extend_from_slice(&[9u8; 2000]); // past the room: moved to the heap, contents kept
        assert_ne!(v.as_ptr(), base as *const u8);
        assert!(v[..99_000].iter().all(|&b| b == 7) && v[99_000..].iter().all(|&b| b == 9));
        drop(v); // an ordinary heap block now
        let w = vec_in_region(base, 70_000);
        assert_eq!(w.as_ptr(), base as *const u8);
        drop(w); // freeing the region's block is a no-op
        release_region();
        // an ordinary large allocation of the same size is not handed the region again
        let x: Vec<u8> = Vec::with_capacity(70_000);
        assert_ne!(x.as_ptr(), base as *const u8);
    }

    fn region_byte(base: *mut u8, i: usize) -> u8 {
        // SAFETY: within the leaked 8 KiB block.
        unsafe { *base.add(i) }
    }
}

#[cfg(test)]
mod class_tests {
    use super::*;

    #[test]
    fn classes_cover_each_size_with_the_smallest_block() {
        for n in [1usize, 16, 17, 1024, 1025, 2048, 2049, 4096, 65_535, 65_536] {
            let c = Pool::class(&Layout::from_size_align(n, 8).unwrap()).unwrap();
            assert!(Pool::class_size(c) >= n, "{n}");
            assert!(c == 0 || Pool::class_size(c - 1) < n, "{n}: a smaller class would do");
        }
        assert_eq!(Pool::class(&Layout::from_size_align(65_537, 8).unwrap()), None);
        assert_eq!(Pool::class(&Layout::from_size_align(64, 32).unwrap()), None);
        assert_eq!(Pool::class_size(CLASSES - 1), MAX_BLOCK);
    }

    #[test]
    fn blocks_of_every_class_are_reused_and_keep_their_bytes() {
        for n in [24usize, 1000, 3000, 40_000] {
            let mut v: Vec<u8> = Vec::with_capacity(n);
            v.resize(n, 0xAB);
            let p = v.as_ptr();
            drop(v);
            let w: Vec<u8> = Vec::with_capacity(n);
            assert_eq!(w.as_ptr(), p, "{n}: the freed block is handed out again");
            let mut g: Vec<u8> = vec![1u8; n];
            g.extend_from_slice(&vec![2u8; n]); // grows into a larger class: copied
            assert!(g[..n].iter().all(|&b| b == 1) && g[n..].iter().all(|&b| b == 2));
        }
    }
}
