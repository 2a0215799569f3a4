//! Field parsers for the CSV reader, hand-rolled because they run 13 times per row on
//! multi-gigabyte exports and the generic parsers dominated the profile.

use nodewarden_model::{ParseStateError, SyncState};

fn show(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b);
    if s.chars().count() > 40 {
        format!("{:?}…", s.chars().take(40).collect::<String>())
    } else {
        format!("{s:?}")
    }
}

/// Value of 1 to 19 ASCII digits, or `None` if any byte is not a digit. Eight digits at a
/// time (SWAR): a digit-by-digit loop is bound by the multiply latency.
#[inline]
fn digits_u64(digits: &[u8]) -> Option<u64> {
    debug_assert!((1..20).contains(&digits.len()));
    let (head, rest) = digits.split_at(digits.len() % 8);
    let (mut v, mut invalid) = (0u64, false);
    for &c in head {
        let d = c.wrapping_sub(b'0');
        invalid |= d > 9;
        v = v.wrapping_mul(10).wrapping_add(u64::from(d));
    }
    for chunk in rest.chunks_exact(8) {
        let x = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        invalid |= !all_digits(x);
        v = v.wrapping_mul(100_000_000).wrapping_add(eight_digits(x));
    }
    (!invalid).then_some(v)
}

const ONES: u64 = 0x0101_0101_0101_0101;

#[inline]
fn all_digits(x: u64) -> bool {
    // Every byte is 0x30..=0x39: high nibble 3, and adding 6 does not carry out of it.
    (x & (0xF0 * ONES)) == 0x30 * ONES
        && (x.wrapping_add(0x06 * ONES) & (0xF0 * ONES)) == 0x30 * ONES
}

/// The value of eight ASCII digits, first digit in the lowest byte.
#[inline]
fn eight_digits(x: u64) -> u64 {
    let mut v = x.wrapping_sub(0x30 * ONES);
    v = v.wrapping_mul(10).wrapping_add(v >> 8);
    let mask = 0x0000_00FF_0000_00FF;
    let mul1 = 100 + (1_000_000 << 32);
    let mul2 = 1 + (10_000 << 32);
    (v & mask)
        .wrapping_mul(mul1)
        .wrapping_add(((v >> 16) & mask).wrapping_mul(mul2))
        >> 32
}

#[inline]
pub(crate) fn parse_u64(b: &[u8]) -> Result<u64, String> {
    let digits = b.strip_prefix(b"+").unwrap_or(b);
    let bad = || format!("{} is not a non-negative integer", show(b));
    match digits.len() {
        0 => Err(bad()),
        1..20 => digits_u64(digits).ok_or_else(bad),
        _ => {
            let mut v: u64 = 0;
            for &c in digits {
                let d = c.wrapping_sub(b'0');
                if d > 9 {
                    return Err(bad());
                }
                v = v
                    .checked_mul(10)
                    .and_then(|v| v.checked_add(u64::from(d)))
                    .ok_or_else(|| format!("{} is too large", show(b)))?;
            }
            Ok(v)
        }
    }
}

#[inline]
pub(crate) fn parse_u32(b: &[u8]) -> Result<u32, String> {
    parse_u64(b).and_then(|v| u32::try_from(v).map_err(|_| format!("{} is too large", show(b))))
}

pub(crate) fn parse_i64(b: &[u8]) -> Result<i64, String> {
    let (neg, digits) = match b.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, b),
    };
    let v = parse_u64(digits).map_err(|_| format!("{} is not an integer", show(b)))?;
    let v = i128::from(v);
    i64::try_from(if neg { -v } else { v }).map_err(|_| format!("{} is out of range", show(b)))
}

const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// Clinger's fast path: when the digits fit in 53 bits and there are at most 22 decimals,
/// both operands are exact and one IEEE division rounds correctly, so the result equals
/// the standard parser's. Anything else (exponents, long mantissas) returns `None`.
#[inline]
fn fast_f64(b: &[u8]) -> Option<f64> {
    let (neg, text) = match b.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, b),
    };
    let (int, frac) = match memchr::memchr(b'.', text) {
        Some(i) => (&text[..i], &text[i + 1..]),
        None => (text, &text[..0]),
    };
    if int.len() + frac.len() > 19 || frac.len() >= POW10.len() {
        return None;
    }
    let part = |d: &[u8]| if d.is_empty() { Some(0) } else { digits_u64(d) };
    let mant = part(int)?
        .checked_mul(10u64.pow(frac.len() as u32))?
        .checked_add(part(frac)?)?;
    if int.len() + frac.len() == 0 || mant > 1 << 53 {
        return None;
    }
    let v = mant as f64 / POW10[frac.len()];
    Some(if neg { -v } else { v })
}

#[inline]
pub(crate) fn parse_f64(b: &[u8]) -> Result<f64, String> {
    fast_f64(b)
        .or_else(|| std::str::from_utf8(b).ok()?.parse::<f64>().ok())
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("{} is not a finite number", show(b)))
}

#[inline]
pub(crate) fn parse_non_negative_f64(b: &[u8]) -> Result<f64, String> {
    parse_f64(b).and_then(|v| {
        if v >= 0.0 {
            Ok(v)
        } else {
            Err(format!("{} is negative", show(b)))
        }
    })
}

pub(crate) fn parse_state(b: &[u8]) -> Result<SyncState, String> {
    // A match on the bytes compiles to a length switch; a search over `ALL` showed up in
    // the profile at one call per row.
    Ok(match b {
        b"syncing" => SyncState::Syncing,
        b"done" => SyncState::Done,
        b"unknown" => SyncState::Unknown,
        b"not-enough-peers" => SyncState::NotEnoughPeers,
        b"error" => SyncState::Error,
        _ => return Err(ParseStateError(String::from_utf8_lossy(b).into_owned()).to_string()),
    })
}

/// Copies `bytes` into `buf` unless it already holds them (node names repeat every row).
pub(crate) fn set_string(buf: &mut String, bytes: &[u8]) -> Result<(), String> {
    if buf.as_bytes() != bytes {
        let s = std::str::from_utf8(bytes).map_err(|_| "not valid UTF-8".to_owned())?;
        buf.clear();
        buf.push_str(s);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn number_parsers_reject_junk() {
        assert!(parse_u64(b"-1").is_err());
        assert!(parse_u64(b"").is_err());
        assert!(parse_u64(b"18446744073709551616").is_err());
        assert_eq!(parse_u64(b"18446744073709551615"), Ok(u64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775808"), Ok(i64::MIN));
        assert!(parse_i64(b"9223372036854775808").is_err());
        assert!(parse_f64(b"NaN").is_err());
        assert!(parse_f64(b"inf").is_err());
        assert!(parse_f64(b"1.2.3").is_err());
        assert!(parse_non_negative_f64(b"-0.5").is_err());
        assert_eq!(parse_f64(b"1e3"), Ok(1000.0));
        assert_eq!(
            parse_state(b"not-enough-peers"),
            Ok(SyncState::NotEnoughPeers)
        );
        assert!(parse_state(b"Syncing").is_err());
        for st in SyncState::ALL {
            assert_eq!(parse_state(st.as_str().as_bytes()), Ok(st));
        }
    }

    proptest! {
        #[test]
        fn integers_agree_with_std(v in any::<u64>(), width in 0usize..22) {
            let text = format!("{v:0width$}");
            prop_assert_eq!(parse_u64(text.as_bytes()), Ok(v));
            let junk = format!("{text}x");
            prop_assert!(parse_u64(junk.as_bytes()).is_err());
        }

        #[test]
        fn any_byte_string_parses_like_std(b in prop::collection::vec(any::<u8>(), 0..24)) {
            let ours = parse_u64(&b).ok();
            let std = std::str::from_utf8(&b).ok().and_then(|s| s.parse::<u64>().ok());
            prop_assert_eq!(ours, std);
        }

        #[test]
        fn fast_float_agrees_with_std(v in any::<f64>().prop_filter("finite", |v| v.is_finite())) {
            let text = v.to_string();
            prop_assert_eq!(parse_f64(text.as_bytes()).unwrap().to_bits(), text.parse::<f64>().unwrap().to_bits());
        }

        #[test]
        fn fast_float_agrees_on_short_decimals(int in 0u64..10_000_000_000, frac in 0u32..1_000_000, n in 1usize..7) {
            let text = format!("{int}.{:0n$}", frac % 10u32.pow(n as u32));
            prop_assert_eq!(parse_f64(text.as_bytes()).unwrap(), text.parse::<f64>().unwrap());
        }
    }
}
