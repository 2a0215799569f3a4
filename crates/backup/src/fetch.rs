//! Reading many blobs of one pack in few requests: neighbouring blobs are fetched in one
//! range when the gap between them is small, which on S3 turns a request per chunk into
//! about one per pack.
use crate::crypto::Id;
use crate::error::Result;

use crate::format::pack_key;
use crate::repo::{Loc, Repository};

/// Blobs closer than this are read together (the gap is downloaded and dropped).
const MAX_GAP: u64 = 1 << 20;
/// One request's span at most, to bound memory and what a retry repeats.
const MAX_SPAN: u64 = 16 << 20;

/// One range request and the blobs inside it.
#[derive(Debug)]
pub struct Span {
    pub start: u64,
    pub end: u64,
    pub blobs: Vec<(Id, Loc)>,
}

/// Groups one pack's blobs (any order) into spans.
pub fn spans(mut blobs: Vec<(Id, Loc)>) -> Vec<Span> {
    blobs.sort_by_key(|(_, l)| l.offset);
    let mut out: Vec<Span> = Vec::new();
    for (id, loc) in blobs {
        let end = loc.offset + loc.length as u64;
        match out.last_mut() {
            Some(s) if loc.offset <= s.end + MAX_GAP && end - s.start <= MAX_SPAN => {
                s.end = s.end.max(end);
                s.blobs.push((id, loc));
            }
            _ => out.push(Span {
                start: loc.offset,
                end,
                blobs: vec![(id, loc)],
            }),
        }
    }
    out
}

/// Reads a span and hands each blob's sealed bytes to `each`.
pub fn read_span(
    repo: &Repository,
    pack: &str,
    span: &Span,
    mut each: impl FnMut(&Id, &Loc, &[u8]) -> Result<()>,
) -> Result<()> {
    let data = repo.get_range(&pack_key(pack), span.start, span.end - span.start)?;
    for (id, loc) in &span.blobs {
        let from = (loc.offset - span.start) as usize;
        // A pack shorter than its index says (truncated, or a forged index entry).
        let sealed = data.get(from..from + loc.length as usize).ok_or_else(|| {
            crate::error::BackupError::Integrity(format!(
                "pack {pack} is shorter than its index says"
            ))
        })?;
        each(id, loc, sealed)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(offset: u64, length: u32) -> Loc {
        Loc {
            pack: 0,
            offset,
            length,
            raw_len: length,
        }
    }

    #[test]
    fn near_blobs_share_a_request_far_ones_do_not() {
        let mib = 1u32 << 20;
        let s = spans(vec![
            ([2; 32], loc(8 + mib as u64, mib)),
            ([1; 32], loc(8, mib)),
            ([3; 32], loc(8 + 4 * mib as u64, mib)),
        ]);
        assert_eq!(s.len(), 2, "{s:?}");
        assert_eq!((s[0].start, s[0].end), (8, 8 + 2 * mib as u64));
        assert_eq!(s[0].blobs.len(), 2);
        assert_eq!(s[1].blobs[0].0, [3; 32]);
    }

    #[test]
    fn spans_stay_under_the_cap() {
        let blobs = (0..40u64)
            .map(|i| ([i as u8; 32], loc(i << 20, 1 << 20)))
            .collect();
        let s = spans(blobs);
        assert!(s.iter().all(|s| s.end - s.start <= MAX_SPAN));
        assert_eq!(s.iter().map(|s| s.blobs.len()).sum::<usize>(), 40);
        assert_eq!(s.len(), 3);
    }
}
