//! Tamper evidence for the event history and keyed hashing for search.
//!
//! **Hash chain.** Every stored event carries
//! `hash = HMAC-SHA-256(hash_key, "ptl-chain-v1\n" || prev_hash || "\n" || canonical_json(event))`
//! where `prev_hash` is the hash of the preceding event (empty for the first).
//! Deleting, reordering, inserting or editing an event breaks the chain at
//! that point. The HMAC key lives outside the database (see `keys.rs`): a
//! plain SHA-256 chain could simply be recomputed by anyone who can write to
//! the database, a keyed one cannot.
//!
//! **Canonical form.** The hash is computed over RFC 8785 (JCS) canonical
//! JSON, not over the bytes an application happened to serialise: PostgreSQL
//! `JSONB` does not preserve key order or whitespace, so the JSON read back
//! differs textually from the JSON written. Canonicalising both when writing
//! and when verifying makes the hash independent of storage.
//!
//! **Timestamps.** Render every timestamp that goes into a hashed event with
//! [`canonical_timestamp`] (RFC 3339, UTC, exactly six fractional digits) and
//! store the same truncated value ([`truncate_to_micros`]). PostgreSQL
//! `timestamptz` keeps only microseconds, while `chrono` carries nanoseconds:
//! hashing `…05.123456789Z` at write time and reading back `…05.123456Z`
//! would make every honest event look tampered with. Likewise a variable
//! number of fractional digits (`.5Z` vs `.500000Z`) would change the hash.
//!
//! **Search hashes.** Identity fields (name + birth date) are stored only
//! encrypted; to find duplicates and returning persons without decrypting
//! every case, a keyed hash of a normalised form is stored alongside. The key
//! (`search.key`) lives outside the database, so the hashes cannot be
//! brute-forced from a database dump by enumerating names and dates.

use std::cmp::Ordering;
use std::fmt::Write as _;

use chrono::{DateTime, NaiveDate, SecondsFormat, SubsecRound, Utc};
use hmac::digest::generic_array::GenericArray;
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use serde_json::{Map, Number, Value};
use sha2::Sha256;
use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

type HmacSha256 = Hmac<Sha256>;

/// Sequence number of the first event of a chain.
pub const FIRST_SEQUENCE: i64 = 1;

/// Largest integer magnitude that an IEEE 754 double (and so RFC 8785)
/// represents exactly: 2^53 − 1.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Errors from [`canonical_json`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CanonicalError {
    /// An integer outside ±(2^53 − 1). RFC 8785 treats all numbers as IEEE
    /// 754 doubles, so such an integer would be rounded and two different
    /// values would hash alike; it is refused instead. Carry large values as
    /// strings.
    #[error("integer {0} is outside ±(2^53 − 1) and cannot be canonicalised losslessly; encode it as a string")]
    UnsafeInteger(String),
    /// A number that is neither an integer nor a finite double (only possible
    /// with serde_json's `arbitrary_precision` feature).
    ///
    /// Note on floats in general: they are canonicalised correctly, but
    /// serde_json's default parser may read a float one ulp off (enable its
    /// `float_roundtrip` feature if events ever carry floats), which would
    /// change the hash between writing and reading back. Events should carry
    /// only integers, strings, booleans, arrays and objects.
    #[error("number {0} cannot be represented as an IEEE 754 double")]
    UnrepresentableNumber(String),
}

/// HMAC-SHA-256 keyed with a 32-byte key, built without a fallible path.
///
/// RFC 2104 pads keys shorter than the 64-byte block with zeros, so keying
/// with the zero-padded block is the same function as keying with `key`.
pub(crate) fn keyed_hmac(key: &[u8; 32]) -> HmacSha256 {
    let mut block = Zeroizing::new([0u8; 64]);
    block[..32].copy_from_slice(key);
    <HmacSha256 as KeyInit>::new(GenericArray::from_slice(&block[..]))
}

// ---------------------------------------------------------------------------
// RFC 8785 canonical JSON
// ---------------------------------------------------------------------------

/// Serialises `v` in RFC 8785 (JSON Canonicalization Scheme) form: no
/// whitespace, object members sorted by the UTF-16 code units of their
/// names, strings with only the mandatory escapes (`\u00xx` in lowercase hex
/// for other control characters), numbers in ECMAScript shortest form.
///
/// # Errors
///
/// [`CanonicalError::UnsafeInteger`] for integers beyond ±(2^53 − 1), which
/// RFC 8785 could only render rounded (a lossy, therefore forgeable, hash
/// input); [`CanonicalError::UnrepresentableNumber`] for numbers that are not
/// doubles.
pub fn canonical_json(v: &Value) -> Result<String, CanonicalError> {
    let mut out = String::new();
    write_value(&mut out, v)?;
    Ok(out)
}

fn write_value(out: &mut String, v: &Value) -> Result<(), CanonicalError> {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => write_number(out, n)?,
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item)?;
            }
            out.push(']');
        }
        Value::Object(map) => write_object(out, map)?,
    }
    Ok(())
}

fn write_object(out: &mut String, map: &Map<String, Value>) -> Result<(), CanonicalError> {
    let mut members: Vec<(&String, &Value)> = map.iter().collect();
    members.sort_by(|(a, _), (b, _)| cmp_utf16(a, b));
    out.push('{');
    for (i, (name, value)) in members.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(out, name);
        out.push(':');
        write_value(out, value)?;
    }
    out.push('}');
    Ok(())
}

fn cmp_utf16(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                // Writing to a String cannot fail.
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_number(out: &mut String, n: &Number) -> Result<(), CanonicalError> {
    if let Some(u) = n.as_u64() {
        if u > MAX_SAFE_INTEGER {
            return Err(CanonicalError::UnsafeInteger(u.to_string()));
        }
        let _ = write!(out, "{u}");
    } else if let Some(i) = n.as_i64() {
        if i.unsigned_abs() > MAX_SAFE_INTEGER {
            return Err(CanonicalError::UnsafeInteger(i.to_string()));
        }
        let _ = write!(out, "{i}");
    } else if let Some(f) = n.as_f64().filter(|f| f.is_finite()) {
        out.push_str(&ecmascript_number(f));
    } else {
        return Err(CanonicalError::UnrepresentableNumber(n.to_string()));
    }
    Ok(())
}

/// ECMAScript `Number.prototype.toString()` for a finite double, as RFC 8785
/// requires.
///
/// The digits come from serde_json's float formatting (Ryū), which yields the
/// shortest digit string that round-trips and, among those, the one closest
/// to the exact value: the digit string ECMAScript specifies. Only the layout
/// (plain or exponent form, `e+`) is redone here. Checked against the
/// RFC 8785 Appendix B table in the tests.
fn ecmascript_number(f: f64) -> String {
    let Some(n) = Number::from_f64(f) else {
        return String::new(); // not finite; callers check before
    };
    let (negative, digits, n) = decimal_parts(&n.to_string());
    if digits.is_empty() {
        return "0".to_owned(); // 0 and -0
    }
    // value = 0.d1d2…dk × 10^n
    let k = i64::try_from(digits.len()).unwrap_or(i64::MAX);
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    if k <= n && n <= 21 {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n(
            '0',
            usize::try_from(n - k).unwrap_or(0),
        ));
    } else if 0 < n && n <= 21 {
        let (int, frac) = digits.split_at(usize::try_from(n).unwrap_or(0));
        out.push_str(int);
        out.push('.');
        out.push_str(frac);
    } else if -6 < n && n <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', usize::try_from(-n).unwrap_or(0)));
        out.push_str(&digits);
    } else {
        let (first, rest) = digits.split_at(1);
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        let e = n - 1;
        let _ = write!(
            out,
            "e{}{}",
            if e < 0 { '-' } else { '+' },
            e.unsigned_abs()
        );
    }
    out
}

/// Splits a decimal number text (`-12.5`, `1e-7`, `1.25E+30`) into its sign,
/// significant digits without leading or trailing zeros, and the exponent
/// `n` such that the value is `0.digits × 10^n`.
fn decimal_parts(text: &str) -> (bool, String, i64) {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exp) = match unsigned.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.trim_start_matches('+').parse::<i64>().unwrap_or(0)),
        None => (unsigned, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all: String = int.chars().chain(frac.chars()).collect();
    let mut point = i64::try_from(int.len()).unwrap_or(0) + exp;
    let trimmed_start = all.trim_start_matches('0');
    point -= i64::try_from(all.len() - trimmed_start.len()).unwrap_or(0);
    let digits = trimmed_start.trim_end_matches('0').to_owned();
    (negative, digits, point)
}

// ---------------------------------------------------------------------------
// Timestamps
// ---------------------------------------------------------------------------

/// Truncates a timestamp to whole microseconds, the precision PostgreSQL
/// stores. Apply it when an event is created, before hashing and storing.
#[must_use]
pub fn truncate_to_micros(ts: DateTime<Utc>) -> DateTime<Utc> {
    ts.trunc_subsecs(6)
}

/// Renders a timestamp for hashing: RFC 3339, UTC `Z`, exactly six
/// fractional digits (after truncation to microseconds), e.g.
/// `2024-05-01T08:30:00.000000Z`.
#[must_use]
pub fn canonical_timestamp(ts: DateTime<Utc>) -> String {
    truncate_to_micros(ts).to_rfc3339_opts(SecondsFormat::Micros, true)
}

// ---------------------------------------------------------------------------
// Hash chain
// ---------------------------------------------------------------------------

fn chain_mac(hash_key: &[u8; 32], prev_hash: Option<&str>, canonical: &str) -> HmacSha256 {
    let mut mac = keyed_hmac(hash_key);
    mac.update(b"ptl-chain-v1\n");
    mac.update(prev_hash.unwrap_or("").as_bytes());
    mac.update(b"\n");
    mac.update(canonical.as_bytes());
    mac
}

/// The chain hash of one event: lowercase hex of
/// HMAC-SHA-256(`hash_key`, `"ptl-chain-v1\n" || prev_hash || "\n" || canonical`),
/// with `prev_hash` empty for the first event.
///
/// `canonical` must be the output of [`canonical_json`] for the event
/// (including its sequence number, aggregate id and a timestamp rendered with
/// [`canonical_timestamp`]).
#[must_use]
pub fn chain_hash(hash_key: &[u8; 32], prev_hash: Option<&str>, canonical: &str) -> String {
    hex::encode(
        chain_mac(hash_key, prev_hash, canonical)
            .finalize()
            .into_bytes(),
    )
}

/// Verifies a whole chain, in ascending sequence order, from its first event.
///
/// Each item is `(sequence, canonical_json, stored_hash, stored_prev_hash)`.
/// Returns the sequence number of the first invalid item, or `None` if the
/// chain is intact (an empty chain is intact). An item is invalid if
///
/// * it is the first item but its sequence is not [`FIRST_SEQUENCE`] or it
///   has a previous hash (events were removed from the head);
/// * its sequence is not the previous sequence + 1 (a gap or reordering);
/// * its stored previous hash is not the previous item's stored hash (a
///   broken link);
/// * its stored hash does not match the recomputed HMAC (edited content, or
///   a hash forged without the key). Comparison is constant-time.
///
/// Sequence numbers must come from a gapless per-chain counter (such as the
/// per-aggregate event sequence), not from a database sequence, which skips
/// values on rolled-back transactions.
///
/// Truncation of the tail cannot be detected from the events alone: compare
/// the last verified sequence and hash with an externally kept checkpoint.
pub fn verify_chain<'a>(
    hash_key: &[u8; 32],
    items: impl IntoIterator<Item = (i64, &'a str, &'a str, Option<&'a str>)>,
) -> Option<i64> {
    verify_from(hash_key, None, items)
}

/// Like [`verify_chain`], but continues after an already verified (trusted)
/// event `last_verified = (sequence, hash)`, for incremental verification.
pub fn verify_chain_after<'a>(
    hash_key: &[u8; 32],
    last_verified: (i64, &str),
    items: impl IntoIterator<Item = (i64, &'a str, &'a str, Option<&'a str>)>,
) -> Option<i64> {
    verify_from(hash_key, Some(last_verified), items)
}

fn verify_from<'a>(
    hash_key: &[u8; 32],
    anchor: Option<(i64, &str)>,
    items: impl IntoIterator<Item = (i64, &'a str, &'a str, Option<&'a str>)>,
) -> Option<i64> {
    let mut prev: Option<(i64, String)> = anchor.map(|(s, h)| (s, h.to_owned()));
    for (seq, canonical, stored_hash, stored_prev) in items {
        let linked = match &prev {
            None => seq == FIRST_SEQUENCE && stored_prev.is_none(),
            Some((prev_seq, prev_hash)) => {
                prev_seq.checked_add(1) == Some(seq) && stored_prev == Some(prev_hash.as_str())
            }
        };
        if !linked {
            return Some(seq);
        }
        let Ok(stored_bytes) = hex::decode(stored_hash) else {
            return Some(seq);
        };
        if chain_mac(hash_key, stored_prev, canonical)
            .verify_slice(&stored_bytes)
            .is_err()
        {
            return Some(seq);
        }
        prev = Some((seq, stored_hash.to_owned()));
    }
    None
}

// ---------------------------------------------------------------------------
// Identity normalisation and search hashes
// ---------------------------------------------------------------------------

/// Characters written as apostrophes in names (notably in Ukrainian, where
/// the modifier letter U+02BC is the orthographic apostrophe but U+0027 and
/// U+2019 are common in practice).
const APOSTROPHES: [char; 7] = [
    '\u{0027}', // APOSTROPHE
    '\u{2019}', // RIGHT SINGLE QUOTATION MARK
    '\u{02BC}', // MODIFIER LETTER APOSTROPHE
    '\u{02B9}', // MODIFIER LETTER PRIME
    '\u{2018}', // LEFT SINGLE QUOTATION MARK
    '\u{0060}', // GRAVE ACCENT
    '\u{00B4}', // ACUTE ACCENT
];

/// Characters that take no space and no ink (zero-width space, joiners, word joiner, byte-order
/// mark, soft hyphen, Mongolian vowel separator): pasted from documents and messengers, or typed on
/// purpose, they make two spellings of one name differ invisibly. Removed before matching.
const INVISIBLE: [char; 8] = [
    '\u{200B}', // ZERO WIDTH SPACE
    '\u{200C}', // ZERO WIDTH NON-JOINER
    '\u{200D}', // ZERO WIDTH JOINER
    '\u{2060}', // WORD JOINER
    '\u{FEFF}', // ZERO WIDTH NO-BREAK SPACE (byte-order mark)
    '\u{00AD}', // SOFT HYPHEN
    '\u{180E}', // MONGOLIAN VOWEL SEPARATOR
    '\u{2063}', // INVISIBLE SEPARATOR
];

/// Latin letters (after lowercasing) that look like a Cyrillic letter in one of their cases, and
/// that letter: a Ukrainian name typed on a Latin keyboard layout, wholly or in part, reads the
/// same on paper ("Оleна" with a Latin `O` and `e`). Folding them to the Cyrillic letter makes such
/// a name match its Cyrillic spelling; a name wholly in Latin letters still matches itself (the
/// fold is one-to-one).
const LOOK_ALIKES: [(char, char); 14] = [
    ('a', 'а'),
    ('b', 'в'), // B / В
    ('c', 'с'),
    ('e', 'е'),
    ('h', 'н'), // H / Н
    ('i', 'і'),
    ('ï', 'ї'),
    ('k', 'к'),
    ('m', 'м'), // M / М
    ('o', 'о'),
    ('p', 'р'),
    ('t', 'т'), // T / Т
    ('x', 'х'),
    ('y', 'у'),
];

/// The version of [`normalise_identity`]. The person index stores hashes of normalised names, so
/// a change of the normalisation must bump it: the engine rebuilds the index from the vault at
/// start when the stored version differs (`Engine::ensure_person_index`).
///
/// 1: NFC, lowercase, apostrophes, whitespace. 2: also invisible characters removed and Latin
/// look-alikes folded to Cyrillic.
pub const NORMALISATION_VERSION: i64 = 2;

/// Normalises a name for matching: invisible characters ([`INVISIBLE`]) removed, Unicode NFC,
/// full Unicode lowercase, Latin letters that look Cyrillic folded to the Cyrillic letter
/// ([`LOOK_ALIKES`]), apostrophe variants unified to U+0027, leading/trailing whitespace removed
/// and every run of whitespace (any Unicode whitespace, including tabs and no-break spaces)
/// collapsed to one space. Its version is [`NORMALISATION_VERSION`].
///
/// It does not transliterate: "Maryana" and "Мар'яна" stay different.
#[must_use]
pub fn normalise_identity(s: &str) -> String {
    let visible: String = s.chars().filter(|c| !INVISIBLE.contains(c)).collect();
    // NFC before lowercasing so that composed and decomposed input lowercase
    // alike, and again after, since lowercasing can yield decomposable
    // sequences.
    let lowered: String = visible.nfc().collect::<String>().to_lowercase();
    let unified: String = lowered
        .nfc()
        .map(|c| {
            if APOSTROPHES.contains(&c) {
                return '\'';
            }
            LOOK_ALIKES
                .iter()
                .find(|(latin, _)| *latin == c)
                .map_or(c, |(_, cyrillic)| *cyrillic)
        })
        .collect();
    unified.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Keyed search hash of a person: lowercase hex of
/// HMAC-SHA-256(`search_key`, `"ptl-person-v1\n" || normalise_identity(full_name) || "\n" || YYYY-MM-DD`).
#[must_use]
pub fn person_search_hash(search_key: &[u8; 32], full_name: &str, birth_date: NaiveDate) -> String {
    let mut mac = keyed_hmac(search_key);
    mac.update(b"ptl-person-v1\n");
    mac.update(normalise_identity(full_name).as_bytes());
    mac.update(b"\n");
    mac.update(birth_date.format("%Y-%m-%d").to_string().as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    const KEY: [u8; 32] = [7; 32];

    fn canon(text: &str) -> String {
        canonical_json(&serde_json::from_str(text).unwrap()).unwrap()
    }

    #[test]
    fn padded_key_hmac_equals_the_standard_hmac() {
        let mut standard = <HmacSha256 as Mac>::new_from_slice(&KEY).unwrap();
        standard.update(b"abc");
        let mut ours = keyed_hmac(&KEY);
        ours.update(b"abc");
        assert_eq!(
            standard.finalize().into_bytes(),
            ours.finalize().into_bytes()
        );
    }

    #[test]
    fn rfc8785_sorting_example_orders_keys_by_utf16_code_units() {
        let input = r#"{
            "\u20ac": "Euro Sign",
            "\r": "Carriage Return",
            "\ufb33": "Hebrew Letter Dalet With Dagesh",
            "1": "One",
            "\ud83d\ude00": "Emoji: Grinning Face",
            "\u0080": "Control",
            "\u00f6": "Latin Small Letter O With Diaeresis"
        }"#;
        let expected = "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\
                        \"ö\":\"Latin Small Letter O With Diaeresis\",\"€\":\"Euro Sign\",\
                        \"😀\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}";
        assert_eq!(canon(input), expected);
    }

    #[test]
    #[allow(clippy::excessive_precision)] // the RFC's input, verbatim
    fn rfc8785_main_example_is_reproduced_exactly() {
        // The numbers are built from Rust literals: serde_json's default
        // (fast) float parser reads 333333333.33333329 one ulp off unless its
        // `float_roundtrip` feature is enabled.
        let string: Value =
            serde_json::from_str(r#""\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/""#).unwrap();
        let input = json!({
            "numbers": [333_333_333.333_333_29_f64, 1e30, 4.50, 2e-3, 0.000_000_000_000_000_000_000_000_001],
            "string": string,
            "literals": [null, true, false]
        });
        let expected = r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#;
        assert_eq!(canonical_json(&input).unwrap(), expected);
    }

    #[test]
    fn rfc8785_number_examples_match_ecmascript_formatting() {
        let cases: [(u64, &str); 24] = [
            (0x0000000000000000, "0"),
            (0x8000000000000000, "0"),
            (0x0000000000000001, "5e-324"),
            (0x8000000000000001, "-5e-324"),
            (0x7fefffffffffffff, "1.7976931348623157e+308"),
            (0xffefffffffffffff, "-1.7976931348623157e+308"),
            (0x4340000000000000, "9007199254740992"),
            (0xc340000000000000, "-9007199254740992"),
            (0x4430000000000000, "295147905179352830000"),
            (0x44b52d02c7e14af5, "9.999999999999997e+22"),
            (0x44b52d02c7e14af6, "1e+23"),
            (0x44b52d02c7e14af7, "1.0000000000000001e+23"),
            (0x444b1ae4d6e2ef4e, "999999999999999700000"),
            (0x444b1ae4d6e2ef4f, "999999999999999900000"),
            (0x444b1ae4d6e2ef50, "1e+21"),
            (0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"),
            (0x3eb0c6f7a0b5ed8d, "0.000001"),
            (0x41b3de4355555553, "333333333.3333332"),
            (0x41b3de4355555554, "333333333.33333325"),
            (0x41b3de4355555555, "333333333.3333333"),
            (0x41b3de4355555556, "333333333.3333334"),
            (0x41b3de4355555557, "333333333.33333343"),
            (0xbecbf647612f3696, "-0.0000033333333333333333"),
            (0x43143ff3c1cb0959, "1424953923781206.2"),
        ];
        for (bits, expected) in cases {
            let f = f64::from_bits(bits);
            assert_eq!(ecmascript_number(f), expected, "{bits:#018x}");
            let v = Value::Number(Number::from_f64(f).unwrap());
            assert_eq!(canonical_json(&v).unwrap(), expected, "{bits:#018x}");
        }
    }

    #[test]
    fn integers_within_the_safe_range_are_written_as_is() {
        let v = json!({"b": 9_007_199_254_740_991_u64, "a": -9_007_199_254_740_991_i64, "c": 0});
        assert_eq!(
            canonical_json(&v).unwrap(),
            r#"{"a":-9007199254740991,"b":9007199254740991,"c":0}"#
        );
    }

    #[test]
    fn integers_beyond_two_to_the_53_are_refused_rather_than_rounded() {
        assert_eq!(
            canonical_json(&json!({"n": 9_007_199_254_740_993_u64})),
            Err(CanonicalError::UnsafeInteger("9007199254740993".into()))
        );
        assert!(canonical_json(&json!([i64::MIN])).is_err());
        assert!(canonical_json(&json!(u64::MAX)).is_err());
    }

    #[test]
    fn non_ascii_keys_sort_by_utf16_not_by_code_point() {
        // U+FF61 sorts after U+1F600 by code point but before it in UTF-16
        // (0xD83D < 0xFF61).
        let v = json!({"\u{ff61}": 1, "\u{1f600}": 2, "я": 3, "a": 4, "A": 5, "ä": 6});
        assert_eq!(
            canonical_json(&v).unwrap(),
            "{\"A\":5,\"a\":4,\"ä\":6,\"я\":3,\"😀\":2,\"｡\":1}"
        );
    }

    #[test]
    fn strings_use_only_the_mandatory_escapes() {
        let v = json!("q\" b\\ \u{8}\u{c}\n\r\t \u{1} \u{1f} \u{7f} / \u{2028} é");
        assert_eq!(
            canonical_json(&v).unwrap(),
            "\"q\\\" b\\\\ \\b\\f\\n\\r\\t \\u0001 \\u001f \u{7f} / \u{2028} é\""
        );
    }

    #[test]
    fn canonical_form_ignores_key_order_and_whitespace_like_jsonb_does() {
        let written = r#"{"type":"CaseOpened","seq":1,"data":{"z":true,"a":[1,2]}}"#;
        let read_back = r#"{"seq": 1, "data": {"a": [1, 2], "z": true}, "type": "CaseOpened"}"#;
        assert_eq!(canon(written), canon(read_back));
        assert_eq!(
            canon(written),
            r#"{"data":{"a":[1,2],"z":true},"seq":1,"type":"CaseOpened"}"#
        );
    }

    #[test]
    fn timestamps_are_rendered_at_microsecond_precision() {
        let ts = Utc
            .with_ymd_and_hms(2024, 5, 1, 8, 30, 0)
            .unwrap()
            .checked_add_signed(chrono::Duration::nanoseconds(123_456_789))
            .unwrap();
        assert_eq!(canonical_timestamp(ts), "2024-05-01T08:30:00.123456Z");
        let whole = Utc.with_ymd_and_hms(2024, 5, 1, 8, 30, 0).unwrap();
        assert_eq!(canonical_timestamp(whole), "2024-05-01T08:30:00.000000Z");
        assert_eq!(
            canonical_timestamp(truncate_to_micros(ts)),
            canonical_timestamp(ts)
        );
    }

    fn build_chain(n: i64) -> Vec<(i64, String, String, Option<String>)> {
        let mut chain = Vec::new();
        let mut prev: Option<String> = None;
        for seq in 1..=n {
            let canonical = canonical_json(&json!({"seq": seq, "type": "Noted"})).unwrap();
            let hash = chain_hash(&KEY, prev.as_deref(), &canonical);
            chain.push((seq, canonical, hash.clone(), prev.clone()));
            prev = Some(hash);
        }
        chain
    }

    fn verify(chain: &[(i64, String, String, Option<String>)]) -> Option<i64> {
        verify_chain(
            &KEY,
            chain
                .iter()
                .map(|(s, c, h, p)| (*s, c.as_str(), h.as_str(), p.as_deref())),
        )
    }

    #[test]
    fn chain_hash_is_lowercase_hex_hmac_of_the_documented_input() {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&KEY).unwrap();
        mac.update(b"ptl-chain-v1\nabc\n{\"a\":1}");
        let expected = hex::encode(mac.finalize().into_bytes());
        assert_eq!(chain_hash(&KEY, Some("abc"), r#"{"a":1}"#), expected);
        assert_eq!(expected.len(), 64);
        assert_ne!(
            chain_hash(&KEY, None, r#"{"a":1}"#),
            chain_hash(&[8; 32], None, r#"{"a":1}"#)
        );
    }

    #[test]
    fn an_intact_chain_and_an_empty_chain_verify() {
        assert_eq!(verify(&build_chain(5)), None);
        assert_eq!(verify(&[]), None);
    }

    #[test]
    fn an_edited_event_is_reported_at_its_sequence() {
        let mut chain = build_chain(5);
        chain[2].1 = chain[2].1.replace("Noted", "Deleted");
        assert_eq!(verify(&chain), Some(3));
    }

    #[test]
    fn a_rehashed_forgery_breaks_the_link_to_the_next_event() {
        let mut chain = build_chain(5);
        chain[2].1 = chain[2].1.replace("Noted", "Deleted");
        chain[2].2 = chain_hash(&KEY, chain[2].3.as_deref(), &chain[2].1);
        assert_eq!(verify(&chain), Some(4));
    }

    #[test]
    fn a_hash_forged_without_the_key_is_rejected() {
        let mut chain = build_chain(3);
        chain[1].1 = chain[1].1.replace("Noted", "Deleted");
        chain[1].2 = chain_hash(&[0; 32], chain[1].3.as_deref(), &chain[1].1);
        assert_eq!(verify(&chain), Some(2));
    }

    #[test]
    fn a_missing_event_is_reported_as_a_gap() {
        let mut chain = build_chain(5);
        chain.remove(2);
        assert_eq!(verify(&chain), Some(4));
    }

    #[test]
    fn removing_the_first_event_is_detected() {
        let mut chain = build_chain(3);
        chain.remove(0);
        assert_eq!(verify(&chain), Some(2));
    }

    #[test]
    fn a_broken_link_is_reported_even_when_the_hash_is_self_consistent() {
        let mut chain = build_chain(4);
        chain[3].3 = Some("00".repeat(32));
        chain[3].2 = chain_hash(&KEY, chain[3].3.as_deref(), &chain[3].1);
        assert_eq!(verify(&chain), Some(4));
    }

    #[test]
    fn a_malformed_stored_hash_is_reported() {
        let mut chain = build_chain(2);
        chain[0].2 = "not hex".into();
        assert_eq!(verify(&chain), Some(1));
    }

    #[test]
    fn verification_can_continue_after_a_trusted_checkpoint() {
        let chain = build_chain(6);
        let (seq, _, hash, _) = &chain[2];
        let rest = chain[3..]
            .iter()
            .map(|(s, c, h, p)| (*s, c.as_str(), h.as_str(), p.as_deref()));
        assert_eq!(verify_chain_after(&KEY, (*seq, hash), rest), None);
        let rest = chain[4..]
            .iter()
            .map(|(s, c, h, p)| (*s, c.as_str(), h.as_str(), p.as_deref()));
        assert_eq!(verify_chain_after(&KEY, (*seq, hash), rest), Some(5));
    }

    fn date() -> NaiveDate {
        NaiveDate::from_ymd_opt(1999, 3, 14).unwrap()
    }

    #[test]
    fn spelling_variants_of_one_name_give_the_same_search_hash() {
        let variants = [
            "Марʼяна  Коваль",         // U+02BC, double space
            "марʼяна коваль",          // lowercase
            "Мар'яна Коваль",          // U+0027
            "Мар’яна\tКоваль",         // U+2019, tab
            " МАР`ЯНА\u{a0}КОВАЛЬ \n", // grave, no-break space, padding
        ];
        let expected = person_search_hash(&KEY, variants[0], date());
        for v in variants {
            assert_eq!(person_search_hash(&KEY, v, date()), expected, "{v:?}");
        }
        assert_eq!(normalise_identity(variants[0]), "мар'яна коваль");
    }

    #[test]
    fn zero_width_characters_and_latin_look_alikes_give_the_same_search_hash() {
        let expected = person_search_hash(&KEY, "Олена Шевченко", date());
        for v in [
            "Оле\u{200B}на Шев\u{200D}ченко", // zero-width space and joiner
            "\u{FEFF}Олена\u{00AD} Шевченко\u{2060}", // BOM, soft hyphen, word joiner
            "Олeна Шeвчeнкo",                 // Latin e and o
            "OЛЕНА ШЕВЧЕНКO",                 // Latin capital O
            "Oлeнa Шeвчeнкo",                 // Latin O, e, a, o
        ] {
            assert_eq!(person_search_hash(&KEY, v, date()), expected, "{v:?}");
        }
        // A name wholly in Latin letters matches itself in any case, and not its transliteration.
        assert_eq!(
            normalise_identity("MARIA TKACH"),
            normalise_identity("maria tkach")
        );
        assert_ne!(
            normalise_identity("Olena Shevchenko"),
            normalise_identity("Олена Шевченко")
        );
    }

    #[test]
    fn decomposed_input_hashes_like_composed_input() {
        let composed = "Андрій Зайченко-Бéла";
        let decomposed: String = composed.nfd().collect();
        assert_ne!(composed, decomposed);
        assert_eq!(
            normalise_identity(composed),
            normalise_identity(&decomposed)
        );
        assert_eq!(
            person_search_hash(&KEY, composed, date()),
            person_search_hash(&KEY, &decomposed, date())
        );
    }

    #[test]
    fn different_birth_dates_give_different_hashes() {
        let other = NaiveDate::from_ymd_opt(1999, 3, 15).unwrap();
        assert_ne!(
            person_search_hash(&KEY, "Мар'яна Коваль", date()),
            person_search_hash(&KEY, "Мар'яна Коваль", other)
        );
    }

    #[test]
    fn a_different_search_key_gives_a_different_hash() {
        assert_ne!(
            person_search_hash(&KEY, "Мар'яна Коваль", date()),
            person_search_hash(&[8; 32], "Мар'яна Коваль", date())
        );
    }

    #[test]
    fn the_search_hash_is_the_documented_hmac() {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&KEY).unwrap();
        mac.update("ptl-person-v1\nмар'яна коваль\n1999-03-14".as_bytes());
        assert_eq!(
            person_search_hash(&KEY, "Мар’яна Коваль", date()),
            hex::encode(mac.finalize().into_bytes())
        );
    }
}
