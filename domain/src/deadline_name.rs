//! [`DeadlineName`]: the name of one deadline instance in a case (`api.md`: `interview`,
//! `verification_reply:<request_id>`, `file_submission`, ...).
//!
//! Its own module because both the fold ([`crate::state`]) and the reader's view
//! ([`crate::deadlines`]) name deadlines, and the view reads the state: the name sits below both,
//! so neither imports the other back.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::procedure::DeadlineKind;

/// The name of a deadline instance: a [`DeadlineKind`]'s spelling, or for a verification request's
/// reply `verification_reply:<request_id>` (one deadline per request).
///
/// Persistent: the name is stored in events (`deadline.name`, `deadline_missed.name`), in
/// snapshots (the keys of the state's deadlines) and in the read models, as the plain string;
/// `serde(transparent)` keeps that shape and reads every stored name back as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DeadlineName(String);

/// The prefix of a verification reply's deadline name.
const VERIFICATION_REPLY_PREFIX: &str = "verification_reply:";

impl DeadlineName {
    /// The deadline a case has one of at a time: its name is the kind's spelling.
    #[must_use]
    pub fn of(kind: DeadlineKind) -> Self {
        Self(kind.as_str().to_string())
    }

    /// The reply deadline of verification request `request_id` (each request has its own).
    #[must_use]
    pub fn verification_reply(request_id: &str) -> Self {
        Self(format!("{VERIFICATION_REPLY_PREFIX}{request_id}"))
    }

    /// The name as stored and shown.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<DeadlineKind> for DeadlineName {
    fn from(kind: DeadlineKind) -> Self {
        Self::of(kind)
    }
}

/// A string that names no deadline.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a deadline name (a deadline kind such as `interview`, or `verification_reply:<request_id>`)")]
pub struct InvalidDeadlineName(String);

impl FromStr for DeadlineName {
    type Err = InvalidDeadlineName;

    /// Reads a name from outside the domain (a URL, a read model row): a kind's spelling other
    /// than the bare `verification_reply`, or `verification_reply:` followed by a request id.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let valid = match s.strip_prefix(VERIFICATION_REPLY_PREFIX) {
            Some(id) => !id.is_empty(),
            None => s
                .parse::<DeadlineKind>()
                .is_ok_and(|k| k != DeadlineKind::VerificationReply),
        };
        if valid {
            Ok(Self(s.to_string()))
        } else {
            Err(InvalidDeadlineName(s.chars().take(64).collect()))
        }
    }
}

impl Deref for DeadlineName {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for DeadlineName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Lets the state's deadlines (keyed by name) be looked up with a plain `&str`; the order of
/// names is the order of their strings, as it was when they were strings.
impl Borrow<str> for DeadlineName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DeadlineName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<DeadlineName> for String {
    fn from(name: DeadlineName) -> Self {
        name.0
    }
}

impl PartialEq<str> for DeadlineName {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for DeadlineName {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for DeadlineName {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kind_names_its_deadline_and_a_request_names_its_reply_deadline() {
        assert_eq!(DeadlineName::of(DeadlineKind::Interview), "interview");
        assert_eq!(
            DeadlineName::verification_reply("vr-2"),
            "verification_reply:vr-2"
        );
    }

    #[test]
    fn names_are_stored_as_plain_strings() {
        let name = DeadlineName::verification_reply("vr-1");
        let json = serde_json::to_string(&name).ok();
        assert_eq!(json.as_deref(), Some("\"verification_reply:vr-1\""));
        let back: Option<DeadlineName> = json.and_then(|j| serde_json::from_str(&j).ok());
        assert_eq!(back, Some(name));
    }

    #[test]
    fn parsing_accepts_deadline_names_only() {
        assert_eq!(
            "decision".parse(),
            Ok(DeadlineName::of(DeadlineKind::Decision))
        );
        assert_eq!(
            "verification_reply:vr-1".parse(),
            Ok(DeadlineName::verification_reply("vr-1"))
        );
        for bad in ["", "verification_reply", "verification_reply:", "lunch"] {
            assert!(bad.parse::<DeadlineName>().is_err(), "{bad:?}");
        }
    }
}
