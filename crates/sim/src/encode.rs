//! Small encoders the dialects need: hex, base64 (Go's `[]byte` JSON) and
//! bech32 (zenon addresses). Hand-rolled: each is a few lines and hot-path friendly.

const HEX: &[u8; 16] = b"0123456789abcdef";

pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    push_hex(&mut s, bytes);
    s
}

pub fn hex0x(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(2 + bytes.len() * 2);
    s.push_str("0x");
    push_hex(&mut s, bytes);
    s
}

pub fn push_hex(s: &mut String, bytes: &[u8]) {
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
}

/// Decodes hex with or without `0x`; `None` on odd length or a bad digit.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    let s = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    s.as_bytes()
        .chunks(2)
        .map(|p| Some(digit(p[0])? << 4 | digit(p[1])?))
        .collect()
}

pub fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (chunk[0] as u32) << 16
            | (*chunk.get(1).unwrap_or(&0) as u32) << 8
            | *chunk.get(2).unwrap_or(&0) as u32;
        let chars = [18, 12, 6, 0].map(|sh| T[(n >> sh & 63) as usize] as char);
        let keep = chunk.len() + 1;
        for (i, c) in chars.into_iter().enumerate() {
            out.push(if i < keep { c } else { '=' });
        }
    }
    out
}

/// BIP-173 bech32 of 8-bit data under `hrp`.
pub fn bech32(hrp: &str, data: &[u8]) -> String {
    const CHARSET: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    let mut five = Vec::with_capacity(data.len() * 8 / 5 + 1);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in data {
        acc = acc << 8 | b as u32;
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            five.push((acc >> bits & 31) as u8);
        }
    }
    if bits > 0 {
        five.push((acc << (5 - bits) & 31) as u8);
    }
    let mut values: Vec<u8> = hrp.bytes().map(|c| c >> 5).collect();
    values.push(0);
    values.extend(hrp.bytes().map(|c| c & 31));
    values.extend(&five);
    values.extend([0u8; 6]);
    let polymod = bech32_polymod(&values) ^ 1;
    let mut s = String::with_capacity(hrp.len() + 1 + five.len() + 6);
    s.push_str(hrp);
    s.push('1');
    for v in five {
        s.push(CHARSET[v as usize] as char);
    }
    for i in 0..6 {
        s.push(CHARSET[(polymod >> (5 * (5 - i)) & 31) as usize] as char);
    }
    s
}

fn bech32_polymod(values: &[u8]) -> u32 {
    const GEN: [u32; 5] = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
    let mut chk: u32 = 1;
    for &v in values {
        let top = chk >> 25;
        chk = (chk & 0x1ff_ffff) << 5 ^ v as u32;
        for (i, g) in GEN.iter().enumerate() {
            if top >> i & 1 == 1 {
                chk ^= g;
            }
        }
    }
    chk
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        assert_eq!(hex(&[0, 0xab, 0x10]), "00ab10");
        assert_eq!(hex0x(&[1]), "0x01");
        assert_eq!(unhex("0x00ab10").unwrap(), vec![0, 0xab, 0x10]);
        assert_eq!(unhex("00AB").unwrap(), vec![0, 0xab]);
        assert!(unhex("0x0").is_none());
        assert!(unhex("zz").is_none());
    }

    #[test]
    fn base64_matches_go() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(&[0, 0, 0]), "AAAA");
    }

    #[test]
    fn bech32_vectors() {
        // BIP-173 test vectors.
        assert_eq!(bech32("a", &[]), "a12uel5l");
        let data = unhex("00443214c74254b635cf84653a56d7c675be77df").unwrap();
        assert_eq!(
            bech32("abcdef", &data),
            "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw"
        );
        // A zenon user address: type byte 0 then 19 bytes, 40 characters.
        let a = bech32("z", &[0u8; 20]);
        assert_eq!(a.len(), 40);
        assert!(a.starts_with("z1qq"));
    }
}
