//! Durable creation of a file, with large objects (packs) written around the page cache.
//!
//! A buffered write copies every byte into the page cache, and the fsync that follows makes
//! the kernel write it back; on a 2-core VPS those copies and the writeback compete with the
//! backup's own compression (measured in docs/BENCHMARKS.md: 0.4–2.6 CPU s per GB, against
//! 0.1 for O_DIRECT). They also evict the node's hot database pages for data nobody reads
//! soon. So objects of `DIRECT_MIN` bytes or more are written with O_DIRECT from an aligned
//! per-thread buffer; the sub-block tail goes through a second, buffered descriptor. A
//! filesystem that refuses O_DIRECT (tmpfs, some FUSE and network mounts answer EINVAL) is
//! remembered and written buffered from then on. Either way the file is fsync'd before
//! this returns, as before.
use std::cell::RefCell;
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;

/// Below this a buffered write costs little, and the object may well be read back soon (an
/// index or snapshot).
pub const DIRECT_MIN: usize = 1 << 20;
/// A multiple of every logical block size in use (512 and 4096), as O_DIRECT requires of
/// the buffer's address, the file offset and the length.
const ALIGN: usize = 4096;
/// Bytes staged in the aligned buffer per write.
const PIECE: usize = 4 << 20;

thread_local! {
    /// One aligned staging buffer per writing thread, reused: a fresh one per object would
    /// page-fault every page of it.
    static STAGE: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Creates `path` (which must not exist) holding `data`, fsync'd. `direct` says whether the
/// filesystem is still believed to take O_DIRECT; cleared for good when it does not.
pub fn create_durable(path: &Path, data: &[u8], direct: &AtomicBool) -> std::io::Result<()> {
    if data.len() >= DIRECT_MIN && direct.load(Ordering::Relaxed) {
        match write_direct(path, data) {
            Ok(()) => return Ok(()),
            Err(e) if refused(&e) => {
                direct.store(false, Ordering::Relaxed);
                match fs::remove_file(path) {
                    Err(e) if e.kind() != ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
            }
            Err(e) => return Err(e),
        }
    }
    let mut f = OpenOptions::new().write(true).create_new(true).open(path)?;
    f.write_all(data)?;
    f.sync_all()
}

/// EINVAL (no O_DIRECT here, or an alignment the device does not accept) and EOPNOTSUPP:
/// the caller writes buffered instead.
pub fn refused(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EINVAL) | Some(libc::EOPNOTSUPP)
    )
}

fn write_direct(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_DIRECT)
        .open(path)?;
    let whole = write_blocks_at(&f, data, 0)?;
    if whole < data.len() {
        OpenOptions::new()
            .write(true)
            .open(path)?
            .write_all_at(&data[whole..], whole as u64)?;
    }
    // Data written with O_DIRECT is on the device, but the extents that locate it (and the
    // buffered tail, fsync being per file, not per descriptor) are not until this.
    f.sync_all()
}

/// Writes the whole blocks at the start of `data` to `f`, an O_DIRECT descriptor, at
/// `offset` (block-aligned: `aligned(offset)`), staged through an aligned per-thread
/// buffer; returns how many bytes that was. The caller writes the rest through a buffered
/// descriptor.
pub fn write_blocks_at(f: &File, data: &[u8], offset: u64) -> std::io::Result<usize> {
    if !aligned(offset) {
        return Err(std::io::Error::from_raw_os_error(libc::EINVAL));
    }
    let whole = data.len() / ALIGN * ALIGN;
    STAGE.with(|stage| -> std::io::Result<()> {
        let mut stage = stage.borrow_mut();
        if stage.len() < PIECE + ALIGN {
            stage.resize(PIECE + ALIGN, 0);
        }
        let at = stage.as_ptr().align_offset(ALIGN);
        let buf = &mut stage[at..at + PIECE];
        let mut pos = 0;
        while pos < whole {
            let n = (whole - pos).min(PIECE);
            buf[..n].copy_from_slice(&data[pos..pos + n]);
            f.write_all_at(&buf[..n], offset + pos as u64)?;
            pos += n;
        }
        Ok(())
    })?;
    Ok(whole)
}

/// Whether a file offset suits O_DIRECT.
pub fn aligned(offset: u64) -> bool {
    offset.is_multiple_of(ALIGN as u64)
}

/// Reads `len` bytes at `offset` of `path` around the page cache, or `None` when this
/// filesystem refuses O_DIRECT (remembered in `direct`) or the read is too small to gain:
/// the caller then reads buffered. A range past the end of the file is an
/// `UnexpectedEof`, found before anything is allocated for it.
pub fn read_range(
    path: &Path,
    offset: u64,
    len: u64,
    direct: &AtomicBool,
) -> std::io::Result<Option<Bytes>> {
    if len < DIRECT_MIN as u64 || !direct.load(Ordering::Relaxed) {
        return Ok(None);
    }
    let f = match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECT)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if refused(&e) => {
            direct.store(false, Ordering::Relaxed);
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    let size = f.metadata()?.len();
    let end = offset.checked_add(len).filter(|&e| e <= size);
    let Some(end) = end else {
        return Err(ErrorKind::UnexpectedEof.into());
    };
    let align = ALIGN as u64;
    let start = offset / align * align;
    let stop = end.div_ceil(align) * align;
    let span = (stop - start) as usize;
    let mut v = vec![0u8; span + ALIGN];
    let at = v.as_ptr().align_offset(ALIGN);
    let mut got = 0;
    let want = (end - start) as usize;
    while got < want {
        // Whole blocks only; the last one may reach past the end of the file.
        let n = match f.read_at(&mut v[at + got..at + span], start + got as u64) {
            Ok(0) => return Err(ErrorKind::UnexpectedEof.into()),
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) if refused(&e) && got == 0 => {
                direct.store(false, Ordering::Relaxed);
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        got += n;
        if got < want && !got.is_multiple_of(ALIGN) {
            return Err(ErrorKind::UnexpectedEof.into());
        }
    }
    let from = at + (offset - start) as usize;
    Ok(Some(Bytes::from(v).slice(from..from + len as usize)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 31 % 251) as u8).collect()
    }

    #[test]
    fn sizes_around_the_alignment_and_the_piece_read_back_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let direct = AtomicBool::new(true);
        for n in [
            0,
            1,
            DIRECT_MIN - 1,
            DIRECT_MIN,
            DIRECT_MIN + 1,
            DIRECT_MIN + ALIGN - 1,
            PIECE,
            PIECE + 17,
            2 * PIECE + ALIGN,
        ] {
            let p = dir.path().join(format!("f{n}"));
            let data = pattern(n);
            create_durable(&p, &data, &direct).unwrap();
            assert_eq!(fs::read(&p).unwrap(), data, "{n} bytes");
        }
    }

    #[test]
    fn ranges_at_any_offset_read_back_exactly_and_past_the_end_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        let n = 3 * DIRECT_MIN + 123;
        let data = pattern(n);
        fs::write(&p, &data).unwrap();
        let direct = AtomicBool::new(true);
        for (off, len) in [
            (0, DIRECT_MIN),
            (1, DIRECT_MIN),
            (ALIGN - 1, DIRECT_MIN + 2),
            (n - DIRECT_MIN, DIRECT_MIN),
            (0, n),
            (17, n - 17),
        ] {
            match read_range(&p, off as u64, len as u64, &direct).unwrap() {
                Some(b) => assert_eq!(&b[..], &data[off..off + len], "{off}+{len}"),
                None => assert!(!direct.load(Ordering::Relaxed), "declined on a capable fs"),
            }
        }
        assert!(
            read_range(&p, 1, 100, &direct).unwrap().is_none(),
            "small: buffered"
        );
        for (off, len) in [
            (1, n as u64),
            (n as u64, DIRECT_MIN as u64),
            (u64::MAX, u64::MAX),
        ] {
            let e = read_range(&p, off, len, &direct).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::UnexpectedEof, "{off}+{len}");
        }
    }

    #[test]
    fn an_existing_file_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        fs::write(&p, b"earlier").unwrap();
        for direct in [true, false] {
            let e =
                create_durable(&p, &pattern(DIRECT_MIN + 5), &AtomicBool::new(direct)).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::AlreadyExists);
            assert_eq!(fs::read(&p).unwrap(), b"earlier");
        }
    }

    #[test]
    fn a_filesystem_without_o_direct_falls_back_and_is_remembered() {
        // /dev/shm is tmpfs, which answers O_DIRECT with EINVAL; skip where it is absent.
        let Ok(dir) = tempfile::tempdir_in("/dev/shm") else {
            return;
        };
        let direct = AtomicBool::new(true);
        let data = pattern(DIRECT_MIN + 3);
        let p = dir.path().join("f");
        create_durable(&p, &data, &direct).unwrap();
        assert_eq!(fs::read(&p).unwrap(), data);
        let tmpfs_refuses = OpenOptions::new()
            .write(true)
            .create(true)
            .custom_flags(libc::O_DIRECT)
            .open(dir.path().join("probe"))
            .is_err();
        assert_eq!(direct.load(Ordering::Relaxed), !tmpfs_refuses);
    }
}
