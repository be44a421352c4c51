//! Register numbers: `{office}-{year}-{n:06}`, counted per office and year.
//!
//! [`Engine::register`] draws a number only after the rules accepted the registration with a
//! placeholder, so a refused registration uses none. The counter is bumped in a short write
//! transaction of its own, before the command: a registration that fails later leaves a gap in
//! the numbering, never a number given twice.

use chrono::{Datelike, NaiveDate};

use super::{Engine, EngineError};
use crate::fetch_optional;

impl Engine {
    /// The next register number of `office` for the year of `on`.
    pub(super) async fn next_register_no(
        &self,
        office: &str,
        on: NaiveDate,
    ) -> Result<String, EngineError> {
        let year = on.year();
        let mut tx = self.begin_write().await?;
        let row: Option<(i64,)> = fetch_optional!(
            tx.conn(),
            (i64,),
            "INSERT INTO register_counters (office, year, last) VALUES ($1, $2, 1) \
             ON CONFLICT (office, year) DO UPDATE SET last = register_counters.last + 1 \
             RETURNING last",
            office.to_string(),
            year
        )?;
        tx.commit().await?;
        let n = row.map_or(1, |r| r.0);
        Ok(format!("{office}-{year}-{n:06}"))
    }
}
