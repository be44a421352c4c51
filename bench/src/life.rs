//! One case's life as the loads send it: the application to register (each naming its own
//! person), the steps after it with their bodies, and the event each acknowledged step must have
//! recorded (what `check` compares).

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{json, Value};

/// The office the loads register their cases at (the scripts mint the caseworker tokens for it).
pub const OFFICE: &str = "UA7102";

/// The date the loads give as `received_on` and `occurred_on`.
pub fn today() -> String {
    // The UTC date is never after the Kyiv date, so it is never "in the future" for the server.
    chrono::Utc::now().date_naive().to_string()
}

/// Registrations so far: each application names its own person, as real applications do (one
/// person for all of them would make every registration's duplicate check read every earlier
/// case: a cost that grows with the run, not one a region sees).
static APPLICANTS: AtomicU64 = AtomicU64::new(0);

/// A registration body for `office`, received on `day`, naming a person no earlier one named.
pub fn application(office: &str, day: &str) -> Value {
    let n = APPLICANTS.fetch_add(1, Ordering::Relaxed);
    let full_name = format!("Марʼяна Коваль {n}");
    json!({
        "received_on": day,
        "office": office,
        "filed_by": "self",
        "applicant": { "sex": "female", "birth_year": 1990, "citizenship": "ukrainian", "speaks_ukrainian_or_russian": true, "interpreter_used": false },
        "referral": { "source": "hotline", "organisation": "La Strada hotline 527", "referred_on": day },
        "exploitation": { "forms": ["labour"], "country": "PL" },
        "documents": [{ "kind": "identity_document", "note": "passport copy" }],
        "rights_explained": true,
        "person": { "full_name": full_name, "birth_date": "1990-04-02", "contacts": "+380 67 000 0000", "id_document": "FE123456" }
    })
}

/// One step of a case's life: who, what, and the body (given the case view so far).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Register,
    ReadCase,
    Consent,
    ConsentPolice,
    Interview,
    Queue,
    RequestVerification,
    VerificationReply,
    SubmitFile,
    Decision,
}

pub const LIFE: [Step; 11] = [
    Step::Register,
    Step::ReadCase,
    Step::Consent,
    Step::ConsentPolice,
    Step::Interview,
    Step::Queue,
    Step::RequestVerification,
    Step::VerificationReply,
    Step::SubmitFile,
    Step::ReadCase,
    Step::Decision,
];

impl Step {
    pub fn action(self) -> Option<&'static str> {
        Some(match self {
            Step::Consent | Step::ConsentPolice => "record-consent",
            Step::Interview => "record-interview",
            Step::RequestVerification => "request-verification",
            Step::VerificationReply => "record-verification-reply",
            Step::SubmitFile => "submit-file",
            Step::Decision => "record-decision",
            _ => return None,
        })
    }
    pub fn event_type(self) -> &'static str {
        match self {
            Step::Register => "application_registered",
            Step::Consent | Step::ConsentPolice => "consent_given",
            Step::Interview => "interview_recorded",
            Step::RequestVerification => "verification_requested",
            Step::VerificationReply => "verification_reply_recorded",
            Step::SubmitFile => "file_submitted",
            Step::Decision => "status_granted",
            _ => "",
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Step::Register => "register",
            s => s.action().unwrap_or("read"),
        }
    }
    /// The step's name in the per-step latency lines.
    pub fn label(self) -> &'static str {
        match self {
            Step::ReadCase => "read case",
            Step::Queue => "work queue",
            s => s.name(),
        }
    }
    pub fn from_name(s: &str) -> Option<Step> {
        Some(match s {
            "register" => Step::Register,
            "record-consent" => Step::Consent,
            "record-interview" => Step::Interview,
            "request-verification" => Step::RequestVerification,
            "record-verification-reply" => Step::VerificationReply,
            "submit-file" => Step::SubmitFile,
            "record-decision" => Step::Decision,
            _ => return None,
        })
    }
    pub fn body(self, day: &str, view: &Value) -> Value {
        match self {
            Step::Consent => {
                json!({"occurred_on": day, "scope": "status_procedure", "given_by": "person"})
            }
            Step::ConsentPolice => {
                json!({"occurred_on": day, "scope": "share_with_police", "given_by": "person"})
            }
            Step::Interview => {
                json!({"occurred_on": day, "consent_signed_by": "person", "non_disclosure_receipt_signed": true})
            }
            Step::RequestVerification => json!({"occurred_on": day, "to": "national_police"}),
            Step::VerificationReply => {
                let rid = view["verification_requests"][0]["request_id"]
                    .as_str()
                    .unwrap_or("vr-1")
                    .to_string();
                json!({"occurred_on": day, "request_id": rid, "outcome": "confirms"})
            }
            Step::SubmitFile => json!({"occurred_on": day, "conclusion": "recommend_grant"}),
            Step::Decision => {
                // A certificate number is unique per issuing authority: one per case.
                let no = format!("NSS-{}", view["register_no"].as_str().unwrap_or("0"));
                json!({"occurred_on": day, "outcome": "granted", "certificate_no": no})
            }
            _ => Value::Null,
        }
    }
}
