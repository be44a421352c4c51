//! What an operator asks of a running instance.

use super::App;

/// Whether this instance can serve, and what an operator should know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    /// The store is reachable.
    pub ready: bool,
    /// Warnings, such as a working-day calendar about to end.
    pub warnings: Vec<String>,
}

impl App {
    /// Pings the store and looks at what will soon need an operator.
    pub async fn readiness(&self) -> Readiness {
        let ready = self.engine.ping().await;
        let today = self.today();
        let mut warnings = Vec::new();
        if let Some(last) = self.engine.rules().calendar().last_day() {
            if (last - today).num_days() < 90 {
                warnings.push(format!(
                    "the working-day calendar ends on {last}: add the next year's file"
                ));
            }
        }
        Readiness { ready, warnings }
    }
}
