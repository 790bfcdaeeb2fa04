//! The shared-memory region of the bridge protocol (docs/bridge.md, "Shared memory").
//!
//! Why: a general batch is ~1.6 MB in and ~2.4 MB out; through 1 MiB pipes (the unprivileged cap,
//! /proc/sys/fs/pipe-max-size) that is several wake-ups of each process and two kernel copies of
//! every byte each way. The parent creates a file in /dev/shm and names it in its hello; both
//! sides map it, batch and result payloads go through it, and the pipe carries only small
//! control frames. Either side may grow the file: a reader re-maps when a frame names bytes past
//! its current mapping.

use std::fs::{File, OpenOptions};
use std::os::unix::io::AsRawFd;

pub struct Shm {
    file: File,
    ptr: *mut u8,
    len: usize,
}

impl Shm {
    pub fn open(path: &str) -> std::io::Result<Shm> {
        let file = OpenOptions::new().read(true).write(true).open(path)?;
        let mut shm = Shm { file, ptr: std::ptr::null_mut(), len: 0 };
        shm.remap()?;
        Ok(shm)
    }

    /// Map the whole file at its current size.
    fn remap(&mut self) -> std::io::Result<()> {
        let size = self.file.metadata()?.len() as usize;
        self.unmap();
        if size == 0 {
            return Ok(());
        }
        // SAFETY: a fresh shared mapping of our own open file; checked for MAP_FAILED.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                size,
                libc::PROT_READ | libc::PROT_WRITE,
                // pages faulted in now (session start), not in the first timed batches
                libc::MAP_SHARED | libc::MAP_POPULATE,
                self.file.as_raw_fd(),
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        self.ptr = p as *mut u8;
        self.len = size;
        Ok(())
    }

    fn unmap(&mut self) {
        if !self.ptr.is_null() {
            // SAFETY: ptr/len are exactly what mmap returned; no slice of it outlives &self borrows.
            unsafe { libc::munmap(self.ptr as *mut libc::c_void, self.len) };
            self.ptr = std::ptr::null_mut();
            self.len = 0;
        }
    }

    /// Bytes [0, n) as written by the parent; re-maps if the file grew past the mapping.
    pub fn input(&mut self, n: usize) -> Result<&[u8], String> {
        if n > self.len {
            self.remap().map_err(|e| format!("re-mapping the shared memory: {e}"))?;
            if n > self.len {
                return Err(format!("batch of {n} bytes past the shared memory's {} bytes", self.len));
            }
        }
        // SAFETY: within the mapping; the parent does not write while the child owns the batch.
        Ok(unsafe { std::slice::from_raw_parts(self.ptr, n) })
    }

    /// Make the mapping at least n bytes long (growing the file and re-mapping if needed).
    pub fn reserve(&mut self, n: usize) -> Result<(), String> {
        if n > self.len {
            let size = (n + n / 4 + (1 << 20)) & !((1 << 20) - 1);
            self.file.set_len(size as u64).map_err(|e| format!("growing the shared memory: {e}"))?;
            self.remap().map_err(|e| format!("re-mapping the shared memory: {e}"))?;
        }
        Ok(())
    }

    /// The address of byte `at` of the mapping (at most its length), for a buffer lent to the
    /// pipeline (alloc::vec_in_region); valid until the next re-map.
    pub fn ptr_at(&self, at: usize) -> *mut u8 {
        assert!(at <= self.len);
        // SAFETY: within the mapping (checked), or one past its end.
        unsafe { self.ptr.add(at) }
    }

    /// Bytes [at, at + n) to write the result into, growing the file (and the mapping) if needed.
    pub fn output(&mut self, at: usize, n: usize) -> Result<&mut [u8], String> {
        let end = at.checked_add(n).ok_or("result size overflow")?;
        self.reserve(end)?;
        // SAFETY: [at, end) is within the mapping (checked above); the parent does not touch the
        // region until it reads the `r` frame, and no other slice of the mapping is alive (&mut self).
        Ok(unsafe { std::slice::from_raw_parts_mut(self.ptr.add(at), n) })
    }
}

impl Drop for Shm {
    fn drop(&mut self) {
        self.unmap();
    }
}
