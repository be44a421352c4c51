//! Order 366's registers, read from the projections' read models: the register of issued
//! certificates and the register of applications, in the caller's scope.

use chrono::NaiveDate;
use ptl_domain::Role;
use ptl_projections::registers::{
    list_applications, list_certificates, ApplicationRow, CertificateRow, RegisterFilter,
};
use ptl_projections::MAX_LIMIT;

use super::lists::Page;
use super::{App, Caller, Error};

/// What part of a register to read.
#[derive(Debug, Clone, Default)]
pub struct RegisterQuery {
    /// Only entries dated on or after this day (received / issued).
    pub from: Option<NaiveDate>,
    /// Only entries dated on or before this day.
    pub to: Option<NaiveDate>,
    /// Page size.
    pub limit: u32,
    /// The previous page's cursor.
    pub cursor: Option<String>,
}

/// Most entries a CSV export holds (a register of this procedure has thousands a year).
const CSV_MAX_ROWS: usize = 100_000;

impl App {
    fn register_filter(&self, caller: &Caller, q: RegisterQuery) -> Result<RegisterFilter, Error> {
        if caller.role == Role::Admin {
            return Err(Error::Forbidden(
                "an administrator does not read the registers of cases".into(),
            ));
        }
        if let (Some(from), Some(to)) = (q.from, q.to) {
            if from > to {
                return Err(Error::parameter("from", "must not be after `to`"));
            }
        }
        let (offices, authority) = self.scope_of(&caller.office);
        Ok(RegisterFilter {
            offices,
            authority,
            from: q.from,
            to: q.to,
            limit: q.limit,
            cursor: q.cursor,
        })
    }

    /// A page of the register of issued certificates in the caller's scope.
    ///
    /// # Errors
    /// An administrator, a period that ends before it starts, a bad cursor, the store.
    pub async fn certificate_register(
        &self,
        caller: &Caller,
        q: RegisterQuery,
    ) -> Result<Page<CertificateRow>, Error> {
        let f = self.register_filter(caller, q)?;
        let (items, next_cursor) = list_certificates(self.engine.db(), &f).await?;
        Ok(Page { items, next_cursor })
    }

    /// A page of the register of applications in the caller's scope.
    ///
    /// # Errors
    /// As [`App::certificate_register`].
    pub async fn application_register(
        &self,
        caller: &Caller,
        q: RegisterQuery,
    ) -> Result<Page<ApplicationRow>, Error> {
        let f = self.register_filter(caller, q)?;
        let (items, next_cursor) = list_applications(self.engine.db(), &f).await?;
        Ok(Page { items, next_cursor })
    }

    /// The whole register of certificates in scope (for the CSV export), page by page.
    ///
    /// # Errors
    /// As [`App::certificate_register`].
    pub async fn all_certificates(
        &self,
        caller: &Caller,
        q: RegisterQuery,
    ) -> Result<Vec<CertificateRow>, Error> {
        let mut f = self.register_filter(caller, q)?;
        f.limit = MAX_LIMIT;
        let mut all = Vec::new();
        loop {
            let (items, next) = list_certificates(self.engine.db(), &f).await?;
            all.extend(items);
            match next {
                Some(c) if all.len() < CSV_MAX_ROWS => f.cursor = Some(c),
                _ => return Ok(all),
            }
        }
    }

    /// The whole register of applications in scope (for the CSV export), page by page.
    ///
    /// # Errors
    /// As [`App::certificate_register`].
    pub async fn all_applications(
        &self,
        caller: &Caller,
        q: RegisterQuery,
    ) -> Result<Vec<ApplicationRow>, Error> {
        let mut f = self.register_filter(caller, q)?;
        f.limit = MAX_LIMIT;
        let mut all = Vec::new();
        loop {
            let (items, next) = list_applications(self.engine.db(), &f).await?;
            all.extend(items);
            match next {
                Some(c) if all.len() < CSV_MAX_ROWS => f.cursor = Some(c),
                _ => return Ok(all),
            }
        }
    }
}
