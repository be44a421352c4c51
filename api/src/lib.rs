//! The REST API and the `ptl` command line.
//!
//! Layout of the library (the `ptl` binary, `main.rs` and its `cli/` modules, one per
//! subcommand, is built on it):
//! - [`app`]: starting the application (keys, store, migrations, durability check, erasure
//!   ledger, engine, authenticator, router), the same for `ptl serve` and the end-to-end tests;
//! - [`config`]: typed settings from `ptl.toml` and `PTL_*` environment variables;
//! - [`server`]: the routes of `api.md` and their error precedence; [`lists`]: the list
//!   endpoints (work queue with person search, deadlines, statistics) read from the read models;
//!   [`view`]: the case view; [`metrics`]: Prometheus counters by route (never by case);
//! - [`models`]: request bodies parsed into domain commands; free text split off for the vault;
//! - [`problem`]: the one API error enum, rendered as RFC 9457 problem+json, and the JSON
//!   extractor that reports malformed bodies in that format;
//! - [`auth`]: bearer JWT verification (HS256 shared secret, optionally an identity provider's
//!   RS256 or EdDSA key), minting for the CLI, and the revocation hook;
//! - [`offices`]: the office tree (national, deciding authorities, regions, districts) and who
//!   may see which case;
//! - [`openapi`]: the OpenAPI 3.1 document served at `GET /openapi.json`;
//! - [`demo`]: demonstration cases moved through the real engine (`ptl demo`);
//! - [`rebuild_cli`]: `ptl projections rebuild` with a progress bar and a summary line;
//! - [`fuzzing`]: the entry point of `api/fuzz`, the handlers' command decoding from raw bytes.

pub mod app;
pub mod auth;
pub mod config;
pub mod demo;
pub mod lists;
pub mod metrics;
pub mod models;
pub mod offices;
pub mod openapi;
pub mod problem;
pub mod rebuild_cli;
pub mod server;
pub mod view;

/// The fuzzing entry point of `api/fuzz` (`cargo fuzz run decode_command`): the JSON command
/// decoding the server applies to the body of `POST /api/v1/cases` and of
/// `POST /api/v1/cases/{id}/actions/{action}`, from raw bytes. Not part of the REST contract.
pub mod fuzzing {
    use ptl_domain::ActionName;

    use crate::models::{parse_action, parse_register};
    use crate::problem::{ApiError, Lang};

    /// Decodes `body` as the handlers do: `action` is `register` (`POST /api/v1/cases`) or the
    /// `{action}` path segment. Returns the status the request gets from this stage: 200 when the
    /// body decodes into a command, otherwise the 4xx of the problem document (which is rendered
    /// too, as the server would).
    ///
    /// # Panics
    /// When the decoding refuses a body with anything but a 4xx: that is a bug for the fuzzer to
    /// report (a panic elsewhere in the decoding is one as well).
    #[must_use]
    pub fn decode_any(action: &str, body: &[u8]) -> u16 {
        let result = decode(action, body);
        match result {
            Ok(()) => 200,
            Err(e) => {
                let problem = e.problem(Lang::Uk);
                let status = e.status().as_u16();
                assert!(
                    (400..500).contains(&status),
                    "decoding gave {status}: {e:?}"
                );
                assert_eq!(problem.status, status);
                assert!(serde_json::to_vec(&problem).is_ok());
                status
            }
        }
    }

    fn decode(action: &str, body: &[u8]) -> Result<(), ApiError> {
        // As `server::json_body`: malformed JSON is a 400.
        let value: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| ApiError::MalformedJson {
                detail: format!("malformed JSON: {e}"),
            })?;
        if action == "register" {
            let parsed = parse_register(&value, String::new())?;
            // The person's record is among the texts for the vault, and the search index gets
            // the same birth date as the domain command.
            assert!(parsed
                .texts
                .iter()
                .any(|t| Some(&t.record) == parsed.register.person.as_ref()));
            assert_eq!(
                parsed.register.applicant.birth_date,
                parsed.person.birth_date
            );
            return Ok(());
        }
        // As `server::post_action_inner`: any other name is 404 `unknown_action`.
        let name: ActionName = action
            .parse()
            .ok()
            .filter(|a: &ActionName| a.is_client_action())
            .ok_or_else(|| ApiError::UnknownAction {
                action: action.chars().take(64).collect(),
            })?;
        parse_action(name, &value)?;
        Ok(())
    }

    /// The fuzz target's input format: `<action>\n<body>` (the action name, a newline, then
    /// the raw body bytes); an input without a newline is a registration body. Returns what
    /// [`decode_any`] returns, or 0 when the action name is not UTF-8 (a path segment always is).
    #[must_use]
    pub fn decode_input(data: &[u8]) -> u16 {
        let (action, body) = match data.iter().position(|b| *b == b'\n') {
            Some(i) => (&data[..i], &data[i + 1..]),
            None => (&b"register"[..], data),
        };
        match std::str::from_utf8(action) {
            Ok(action) => decode_any(action, body),
            Err(_) => 0,
        }
    }

    #[cfg(test)]
    mod tests {
        use super::{decode_any, decode_input};

        #[test]
        fn decodes_like_the_server() {
            let note = br#"{"occurred_on":"2026-03-02","text":"called the hotline"}"#;
            assert_eq!(decode_any("add-note", note), 200);
            assert_eq!(decode_any("add-note", b"{"), 400);
            assert_eq!(decode_any("add-note", b"[]"), 422);
            assert_eq!(decode_any("no-such-action", note), 404);
            assert_eq!(decode_any("record-missed-deadline", note), 404);
            assert_eq!(decode_any("register", b"{}"), 422);
            assert_eq!(
                decode_input(b"add-note\n{\"occurred_on\":\"2026-03-02\"}"),
                422
            );
            assert_eq!(decode_input(b"\xff\n{}"), 0);
            assert_eq!(decode_input(b"{}"), 422);
        }

        /// Found by the probes run beside `scripts/schemathesis.sh`: an amount above 2^53 - 1
        /// reached the hash chain, whose canonical JSON refuses it (a 500).
        #[test]
        fn an_amount_beyond_the_json_safe_range_is_refused() {
            let body = |n: u64| format!(r#"{{"occurred_on":"2026-03-02","amount_kopiyky":{n}}}"#);
            assert_eq!(
                decode_any("record-payment", body(9_007_199_254_740_991).as_bytes()),
                200
            );
            assert_eq!(
                decode_any("record-payment", body(9_007_199_254_740_992).as_bytes()),
                422
            );
            assert_eq!(decode_any("record-payment", body(u64::MAX).as_bytes()), 422);
        }

        /// Found by the same probes on PostgreSQL: a NUL character in a text that goes into an
        /// event (`jsonb`) was a 500.
        #[test]
        fn a_nul_character_in_text_is_refused() {
            let b = br#"{"occurred_on":"2026-03-02","assignee":"a\u0000b"}"#;
            assert_eq!(decode_any("assign", b), 422);
            let b = br#"{"occurred_on":"2026-03-02","text":"\u0000"}"#;
            assert_eq!(decode_any("add-note", b), 422);
        }
    }
}
