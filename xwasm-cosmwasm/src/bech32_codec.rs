//! Bech32 (BIP-173, not bech32m) decoding and encoding, accepting and
//! producing exactly what the `bech32` crate (0.11) does through
//! `CheckedHrpstring::new::<Bech32>`, `byte_iter` and `encode::<Bech32>`,
//! which stays the oracle in the tests.
//!
//! Written out because addresses sit on every CosmWasm call's path: the
//! crate's iterator adapters cost about 14,000 instructions to decode one
//! 32-byte address and 5,000 to encode it, a tenth of a hackatom
//! instantiate; these loops cost a tenth of that.

/// The bech32 alphabet.
const CHARSET: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";

/// Each ASCII byte's value in the alphabet, either case; -1: not in it.
const VALUES: [i8; 128] = {
    let mut values = [-1i8; 128];
    let mut i = 0;
    while i < 32 {
        values[CHARSET[i] as usize] = i as i8;
        values[CHARSET[i].to_ascii_uppercase() as usize] = i as i8;
        i += 1;
    }
    values
};

/// The longest string the crate's `Bech32` checksum accepts.
const CODE_LENGTH: usize = 1023;
/// The longest human-readable part BIP-173 allows.
const MAX_HRP_LENGTH: usize = 83;
const CHECKSUM_LENGTH: usize = 6;

/// For each value of a checksum's top 5 bits, the generators they select,
/// xored: one lookup per step instead of five tests.
const GENERATED: [u32; 32] = {
    const GENERATOR: [u32; 5] = [0x3b6a_57b2, 0x2650_8e6d, 0x1ea1_19fa, 0x3d42_33dd, 0x2a14_62b3];
    let mut table = [0u32; 32];
    let mut top = 0;
    while top < 32 {
        let mut i = 0;
        while i < 5 {
            if (top >> i) & 1 == 1 {
                table[top] ^= GENERATOR[i];
            }
            i += 1;
        }
        top += 1;
    }
    table
};

fn polymod_step(checksum: u32) -> u32 {
    ((checksum & 0x01ff_ffff) << 5) ^ GENERATED[(checksum >> 25) as usize]
}

/// The checksum state after the human-readable part (lowercased).
fn hrp_checksum(hrp: &[u8]) -> u32 {
    let mut checksum = 1;
    for &b in hrp {
        checksum = polymod_step(checksum) ^ u32::from(b.to_ascii_lowercase() >> 5);
    }
    checksum = polymod_step(checksum);
    for &b in hrp {
        checksum = polymod_step(checksum) ^ u32::from(b.to_ascii_lowercase() & 31);
    }
    checksum
}

/// The human-readable part and the data bytes of `s`, if it is a valid
/// bech32 string; bits left over after the last whole byte are dropped.
pub(crate) fn decode(s: &str) -> Option<(&str, Vec<u8>)> {
    let bytes = s.as_bytes();
    let separator = bytes.iter().rposition(|&b| b == b'1')?;
    let (hrp, data) = (&bytes[..separator], &bytes[separator + 1..]);
    let upper = bytes.iter().any(u8::is_ascii_uppercase);
    if upper && bytes.iter().any(u8::is_ascii_lowercase) {
        return None;
    }
    if hrp.is_empty() || hrp.len() > MAX_HRP_LENGTH || hrp.iter().any(|b| !(33..=126).contains(b)) {
        return None;
    }
    if bytes.len() > CODE_LENGTH || data.len() < CHECKSUM_LENGTH {
        return None;
    }
    let mut checksum = hrp_checksum(hrp);
    let mut values = Vec::with_capacity(data.len());
    for &b in data {
        let value = *VALUES.get(usize::from(b))?;
        let value = u8::try_from(value).ok()?;
        checksum = polymod_step(checksum) ^ u32::from(value);
        values.push(value);
    }
    if checksum != 1 {
        return None;
    }
    values.truncate(values.len() - CHECKSUM_LENGTH);
    let mut out = Vec::with_capacity(values.len() * 5 / 8);
    let (mut acc, mut bits) = (0u32, 0u32);
    for value in values {
        acc = (acc << 5) | u32::from(value);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    // The human-readable part is ASCII: the separator split no character.
    Some((std::str::from_utf8(hrp).ok()?, out))
}

/// `data` under `hrp` (a valid human-readable part), in lowercase; with
/// no limit on the length (the crate's is [`CODE_LENGTH`]).
pub(crate) fn encode(hrp: &str, data: &[u8]) -> String {
    let hrp = hrp.as_bytes();
    let mut out = Vec::with_capacity(hrp.len() + 1 + (data.len() * 8).div_ceil(5) + CHECKSUM_LENGTH);
    out.extend(hrp.iter().map(u8::to_ascii_lowercase));
    out.push(b'1');
    let mut checksum = hrp_checksum(hrp);
    let mut push = |value: u32, out: &mut Vec<u8>| {
        checksum = polymod_step(checksum) ^ value;
        out.push(CHARSET[value as usize]);
    };
    let (mut acc, mut bits) = (0u32, 0u32);
    for &byte in data {
        acc = (acc << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            push((acc >> bits) & 31, &mut out);
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        push((acc << (5 - bits)) & 31, &mut out);
    }
    for _ in 0..CHECKSUM_LENGTH {
        checksum = polymod_step(checksum);
    }
    checksum ^= 1;
    for i in (0..CHECKSUM_LENGTH).rev() {
        out.push(CHARSET[((checksum >> (5 * i)) & 31) as usize]);
    }
    String::from_utf8(out).expect("ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;
    use bech32::primitives::decode::CheckedHrpstring;
    use bech32::{Bech32, Hrp};
    use proptest::prelude::*;

    /// The crate's answer.
    fn crate_decode(s: &str) -> Option<(String, Vec<u8>)> {
        let checked = CheckedHrpstring::new::<Bech32>(s).ok()?;
        Some((checked.hrp().as_str().to_owned(), checked.byte_iter().collect()))
    }

    fn ours(s: &str) -> Option<(String, Vec<u8>)> {
        decode(s).map(|(hrp, bytes)| (hrp.to_owned(), bytes))
    }

    fn crate_encode(hrp: &str, data: &[u8]) -> String {
        bech32::encode::<Bech32>(Hrp::parse(hrp).unwrap(), data).unwrap()
    }

    const PREFIXES: [&str; 5] = ["cosmwasm", "juno", "a", "osmo", "wasm"];

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

        #[test]
        fn encoding_equals_the_crates(prefix in 0..PREFIXES.len(), data in prop::collection::vec(any::<u8>(), 0..80)) {
            prop_assert_eq!(encode(PREFIXES[prefix], &data), crate_encode(PREFIXES[prefix], &data));
        }

        /// Valid addresses, then each with one edit: a character replaced
        /// (from the alphabet, another case, '1', a non-ASCII one), removed
        /// or inserted, or the whole string's case changed.
        #[test]
        fn decoding_equals_the_crates(
            prefix in 0..PREFIXES.len(),
            data in prop::collection::vec(any::<u8>(), 0..70),
            at in any::<prop::sample::Index>(),
            edit in 0..6u8,
            with in prop::sample::select(vec!['q', 'p', 'Q', 'b', 'i', 'o', '1', 'é', ' ', 'A', '~', '\u{7f}']),
        ) {
            let valid = encode(PREFIXES[prefix], &data);
            prop_assert_eq!(ours(&valid), crate_decode(&valid));
            let mut chars: Vec<char> = valid.chars().collect();
            let at = at.index(chars.len());
            match edit {
                0 => chars[at] = with,
                1 => { chars.remove(at); }
                2 => chars.insert(at, with),
                3 => chars = chars.iter().map(|c| c.to_ascii_uppercase()).collect(),
                4 => chars[at] = chars[at].to_ascii_uppercase(),
                _ => chars.truncate(at),
            }
            let edited: String = chars.into_iter().collect();
            prop_assert_eq!(ours(&edited), crate_decode(&edited), "{}", edited);
        }

        #[test]
        fn arbitrary_strings_decode_as_the_crate_decodes_them(s in "[a-zA-Z0-9~ é]{0,20}1[qpzry9x8gf2tvdw0s3jn54khce6mua7lQPZB1io]{0,20}") {
            prop_assert_eq!(ours(&s), crate_decode(&s));
        }
    }

    #[test]
    fn lengths_at_the_limits_decode_as_the_crate_decodes_them() {
        let long_hrp = "a".repeat(MAX_HRP_LENGTH);
        let longer_hrp = "a".repeat(MAX_HRP_LENGTH + 1);
        for s in [
            crate_encode(&long_hrp, &[1, 2, 3]),
            format!("{longer_hrp}1qqqqqq"),
            crate_encode("a", &[7; 630]),
            encode("a", &[7; 635]),
            "1qqqqqq".to_owned(),
            "a1qqqqq".to_owned(),
            String::new(),
        ] {
            assert_eq!(ours(&s), crate_decode(&s), "{s}");
        }
    }
}
