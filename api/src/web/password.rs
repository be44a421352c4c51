//! Passwords: Argon2id hashes (OWASP's parameters: 19 MiB, 2 passes, 1 lane), the policy (at least
//! 12 characters, not one of the most common passwords) and one-time passwords.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::Rng;

/// The shortest accepted password, in characters.
pub const MIN_CHARS: usize = 12;

/// The most common passwords (lower-cased), refused whatever their length.
const COMMON: &str = include_str!("common-passwords.txt");

fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Why a password is refused (a sentence for the person choosing it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Weak {
    /// Shorter than [`MIN_CHARS`].
    #[error("the password must be at least 12 characters long")]
    TooShort,
    /// In the list of common passwords.
    #[error("this password is one of the most common ones; choose another")]
    Common,
}

impl Weak {
    /// The catalogue key of the reason.
    #[must_use]
    pub const fn key(self) -> &'static str {
        match self {
            Self::TooShort => "web-password-too-short",
            Self::Common => "web-password-common",
        }
    }
}

/// Checks the policy.
///
/// # Errors
/// The reason the password is refused.
pub fn check_policy(password: &str) -> Result<(), Weak> {
    if password.chars().count() < MIN_CHARS {
        return Err(Weak::TooShort);
    }
    let lower = password.to_lowercase();
    if COMMON.lines().any(|l| l.trim() == lower) {
        return Err(Weak::Common);
    }
    Ok(())
}

/// The Argon2id PHC string of `password`.
///
/// # Errors
/// Hashing failed (it does not with these parameters).
pub fn hash(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("the password could not be hashed: {e}"))
}

/// Whether `password` matches the stored PHC string (a malformed one matches nothing).
#[must_use]
pub fn verify(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| argon2().verify_password(password.as_bytes(), &h).is_ok())
}

/// Spends the time of one verification, so an unknown login answers as slowly as a known one.
pub fn verify_nothing(password: &str) {
    static DUMMY: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| hash("ptl-dummy-password-for-timing").unwrap_or_default());
    let _ = verify(password, &DUMMY);
}

/// A one-time password: 16 characters from an alphabet without look-alikes, in groups of four.
#[must_use]
pub fn one_time() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzACDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    let chars: Vec<char> = (0..16)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let h = hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", &h));
        assert!(!verify("correct horse batterz", &h));
        assert!(!verify("x", "not a phc string"));
    }

    #[test]
    fn the_policy_refuses_short_and_common_passwords() {
        assert_eq!(check_policy("short"), Err(Weak::TooShort));
        assert_eq!(check_policy("Password1234"), Err(Weak::Common));
        assert_eq!(check_policy("qwertyuiop123"), Err(Weak::Common));
        assert!(check_policy("рушник-над-Россю-7").is_ok());
        assert!(check_policy(&one_time()).is_ok());
    }
}
