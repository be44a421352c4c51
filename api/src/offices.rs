//! The office tree and who may see which case.
//!
//! Offices form a tree: national (`UA`) > region (oblast administration) > district
//! administrations; the deciding authorities (`UA-MSP`, `UA-NSS`) are national offices of their
//! own under `UA`. Scope (`api.md`): a district sees its cases, a region its districts' and its
//! own, `UA` everything, and a deciding authority the cases whose file was ever submitted to it.
//! The tree is data: the default ships the Cherkasy region, and an administrator can load another
//! from a TOML file (`offices_file`).
//!
//! Offices change over time (`procedure.md`, "Procedure versions"): an office may have opened on a
//! date, closed on a date, and name its successor. A closed office accepts no new registrations,
//! and whoever sees the successor sees the closed office's cases too. The default tree ships the
//! 20 districts of Cherkasy region that the 2020 reform (resolution 807-IX of 17.07.2020) merged
//! into the current four.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// What an office is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OfficeKind {
    /// The national level: sees every case.
    National,
    /// A deciding authority: sees the cases whose file was submitted to it.
    Authority,
    /// A regional (oblast) administration.
    Region,
    /// A district administration.
    District,
}

/// One office.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Office {
    /// Code (`UA7102`, `UA-NSS`).
    pub code: String,
    /// English name.
    pub name_en: String,
    /// Ukrainian name.
    pub name_uk: String,
    /// Parent office; `None` only for the root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Kind.
    pub kind: OfficeKind,
    /// The first day it existed, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opened_on: Option<NaiveDate>,
    /// The day it closed: from that day it accepts no new registrations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_on: Option<NaiveDate>,
    /// The office that took over its cases when it closed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub successor: Option<String>,
}

impl Office {
    /// Whether the office accepts a registration received on `on`.
    #[must_use]
    pub fn open_on(&self, on: NaiveDate) -> bool {
        self.opened_on.is_none_or(|d| d <= on) && self.closed_on.is_none_or(|d| on < d)
    }
}

/// A tree that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OfficeError {
    /// The file could not be read.
    #[error("cannot read the offices file {path}: {message}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        message: String,
    },
    /// The file is not valid TOML of the expected shape.
    #[error("the offices file is not valid: {0}")]
    Parse(String),
    /// A malformed code.
    #[error("`{0}` is not an office code (2 to 32 capital letters, digits or `-`)")]
    BadCode(String),
    /// Two offices with one code.
    #[error("the office `{0}` is defined twice")]
    Duplicate(String),
    /// A parent that is not defined.
    #[error("the office `{code}` names the unknown parent `{parent}`")]
    UnknownParent {
        /// The child.
        code: String,
        /// Its missing parent.
        parent: String,
    },
    /// The tree needs exactly one root.
    #[error("the offices must have exactly one root (an office without parent); found {0}")]
    Roots(usize),
    /// A parent chain that loops.
    #[error("the office `{0}` is its own ancestor")]
    Cycle(String),
    /// A successor that is not defined, or one given without a closing date.
    #[error("the office `{code}` names the successor `{successor}`, which is not a known office, or has no `closed_on`")]
    BadSuccessor {
        /// The closed office.
        code: String,
        /// Its successor.
        successor: String,
    },
    /// A successor chain that loops.
    #[error("the office `{0}` is its own successor")]
    SuccessorCycle(String),
    /// Closed before it opened.
    #[error("the office `{0}` closes before it opens")]
    ClosedBeforeOpened(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OfficesFile {
    office: Vec<Office>,
}

/// The offices, indexed by code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfficeTree {
    offices: BTreeMap<String, Office>,
}

fn office(
    code: &str,
    name_en: &str,
    name_uk: &str,
    parent: Option<&str>,
    kind: OfficeKind,
) -> Office {
    Office {
        code: code.into(),
        name_en: name_en.into(),
        name_uk: name_uk.into(),
        parent: parent.map(Into::into),
        kind,
        opened_on: None,
        closed_on: None,
        successor: None,
    }
}

/// The day resolution 807-IX of 17.07.2020 merged Cherkasy region's 20 districts into 4 (the old
/// district administrations accepted nothing new from it) [default].
pub(crate) const CHERKASY_REFORM: NaiveDate = match NaiveDate::from_ymd_opt(2020, 7, 17) {
    Some(d) => d,
    None => panic!("a valid date"),
};

/// The 20 districts of Cherkasy region before the 2020 reform: (code, English stem, Ukrainian stem,
/// successor among the current four). The codes are ours (`procedure.md`).
pub(crate) const CHERKASY_OLD_DISTRICTS: [(&str, &str, &str, &str); 20] = [
    ("UA7121", "Cherkaskyi", "Черкаська", "UA7108"),
    ("UA7122", "Chornobaivskyi", "Чорнобаївська", "UA7104"),
    ("UA7123", "Chyhyrynskyi", "Чигиринська", "UA7108"),
    ("UA7124", "Drabivskyi", "Драбівська", "UA7104"),
    ("UA7125", "Horodyshchenskyi", "Городищенська", "UA7108"),
    ("UA7126", "Kamianskyi", "Кам'янська", "UA7108"),
    ("UA7127", "Kanivskyi", "Канівська", "UA7108"),
    ("UA7128", "Katerynopilskyi", "Катеринопільська", "UA7102"),
    ("UA7129", "Khrystynivskyi", "Христинівська", "UA7106"),
    (
        "UA7130",
        "Korsun-Shevchenkivskyi",
        "Корсунь-Шевченківська",
        "UA7108",
    ),
    ("UA7131", "Lysianskyi", "Лисянська", "UA7102"),
    ("UA7132", "Mankivskyi", "Маньківська", "UA7106"),
    (
        "UA7133",
        "Monastyryshchenskyi",
        "Монастирищенська",
        "UA7106",
    ),
    ("UA7134", "Shpolianskyi", "Шполянська", "UA7102"),
    ("UA7135", "Smilianskyi", "Смілянська", "UA7108"),
    ("UA7136", "Talnivskyi", "Тальнівська", "UA7102"),
    ("UA7137", "Umanskyi", "Уманська", "UA7106"),
    ("UA7138", "Zhashkivskyi", "Жашківська", "UA7106"),
    ("UA7139", "Zolotoniskyi", "Золотоніська", "UA7104"),
    ("UA7140", "Zvenyhorodskyi", "Звенигородська", "UA7102"),
];

impl Default for OfficeTree {
    /// Ukraine, the two deciding authorities, and the Cherkasy region with its four districts and
    /// the 20 districts they succeeded in 2020.
    fn default() -> Self {
        use OfficeKind as K;
        let mut list = vec![
            office("UA", "Ukraine", "Україна", None, K::National),
            office(
                "UA-MSP",
                "Ministry of Social Policy of Ukraine",
                "Міністерство соціальної політики України",
                Some("UA"),
                K::Authority,
            ),
            office(
                "UA-NSS",
                "National Social Service of Ukraine",
                "Національна соціальна служба України",
                Some("UA"),
                K::Authority,
            ),
            office(
                "UA71",
                "Cherkasy Regional State Administration",
                "Черкаська обласна державна адміністрація",
                Some("UA"),
                K::Region,
            ),
            office(
                "UA7102",
                "Zvenyhorodskyi District State Administration",
                "Звенигородська районна державна адміністрація",
                Some("UA71"),
                K::District,
            ),
            office(
                "UA7104",
                "Zolotoniskyi District State Administration",
                "Золотоніська районна державна адміністрація",
                Some("UA71"),
                K::District,
            ),
            office(
                "UA7106",
                "Umanskyi District State Administration",
                "Уманська районна державна адміністрація",
                Some("UA71"),
                K::District,
            ),
            office(
                "UA7108",
                "Cherkaskyi District State Administration",
                "Черкаська районна державна адміністрація",
                Some("UA71"),
                K::District,
            ),
        ];
        for o in &mut list {
            if o.kind == K::District {
                o.opened_on = Some(CHERKASY_REFORM);
            }
        }
        for (code, en, uk, successor) in CHERKASY_OLD_DISTRICTS {
            let mut o = office(
                code,
                &format!("{en} District State Administration (until 2020)"),
                &format!("{uk} районна державна адміністрація (до 2020 року)"),
                Some("UA71"),
                K::District,
            );
            o.closed_on = Some(CHERKASY_REFORM);
            o.successor = Some(successor.to_string());
            list.push(o);
        }
        Self {
            offices: list.into_iter().map(|o| (o.code.clone(), o)).collect(),
        }
    }
}

impl OfficeTree {
    /// Builds and checks a tree: codes well formed and unique, parents defined, one root, no
    /// cycles.
    ///
    /// # Errors
    ///
    /// The first [`OfficeError`] found.
    pub fn from_offices(list: Vec<Office>) -> Result<Self, OfficeError> {
        let mut offices = BTreeMap::new();
        for o in list {
            if !ptl_domain::types::is_valid_office_code(&o.code) {
                return Err(OfficeError::BadCode(o.code));
            }
            if offices.contains_key(&o.code) {
                return Err(OfficeError::Duplicate(o.code));
            }
            offices.insert(o.code.clone(), o);
        }
        for o in offices.values() {
            if let Some(p) = &o.parent {
                if !offices.contains_key(p) {
                    return Err(OfficeError::UnknownParent {
                        code: o.code.clone(),
                        parent: p.clone(),
                    });
                }
            }
        }
        let roots = offices.values().filter(|o| o.parent.is_none()).count();
        if roots != 1 {
            return Err(OfficeError::Roots(roots));
        }
        for o in offices.values() {
            if let Some(s) = &o.successor {
                if !offices.contains_key(s) || o.closed_on.is_none() {
                    return Err(OfficeError::BadSuccessor {
                        code: o.code.clone(),
                        successor: s.clone(),
                    });
                }
            }
            if let (Some(open), Some(close)) = (o.opened_on, o.closed_on) {
                if close < open {
                    return Err(OfficeError::ClosedBeforeOpened(o.code.clone()));
                }
            }
        }
        let tree = Self { offices };
        for code in tree.offices.keys() {
            if tree.ancestors(code).is_none() {
                return Err(OfficeError::Cycle(code.clone()));
            }
            if tree.successors(code).is_none() {
                return Err(OfficeError::SuccessorCycle(code.clone()));
            }
        }
        Ok(tree)
    }

    /// Closes `code` on `on` with `successor` taking over (`ptl offices close`).
    ///
    /// # Errors
    /// An unknown office or successor, a successor that is closed itself or not a district or
    /// region, an office that is already closed, or a tree that would no longer be valid.
    pub fn close(&self, code: &str, on: NaiveDate, successor: &str) -> Result<Self, OfficeError> {
        let bad = || OfficeError::BadSuccessor {
            code: code.to_string(),
            successor: successor.to_string(),
        };
        let office = self.get(code).ok_or_else(bad)?;
        let next = self.get(successor).ok_or_else(bad)?;
        let closable = |k: OfficeKind| matches!(k, OfficeKind::District | OfficeKind::Region);
        if code == successor
            || office.closed_on.is_some()
            || next.closed_on.is_some()
            || !closable(office.kind)
            || !closable(next.kind)
        {
            return Err(bad());
        }
        let mut list: Vec<Office> = self.offices.values().cloned().collect();
        for o in &mut list {
            if o.code == code {
                o.closed_on = Some(on);
                o.successor = Some(successor.to_string());
            }
        }
        Self::from_offices(list)
    }

    /// Parses a TOML document of `[[office]]` tables (`code`, `name_en`, `name_uk`, `parent`,
    /// `kind`).
    ///
    /// # Errors
    ///
    /// [`OfficeError::Parse`] for bad TOML, else as [`Self::from_offices`].
    pub fn from_toml_str(text: &str) -> Result<Self, OfficeError> {
        let file: OfficesFile =
            toml::from_str(text).map_err(|e| OfficeError::Parse(e.message().to_string()))?;
        Self::from_offices(file.office)
    }

    /// Loads a TOML file as [`Self::from_toml_str`].
    ///
    /// # Errors
    ///
    /// [`OfficeError::Read`] when the file cannot be read, else as [`Self::from_toml_str`].
    pub fn load(path: &Path) -> Result<Self, OfficeError> {
        let text = std::fs::read_to_string(path).map_err(|e| OfficeError::Read {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Self::from_toml_str(&text)
    }

    /// The tree as TOML (the format [`Self::from_toml_str`] reads).
    #[must_use]
    pub fn to_toml(&self) -> String {
        #[derive(Serialize)]
        struct Out<'a> {
            office: Vec<&'a Office>,
        }
        toml::to_string(&Out {
            office: self.offices.values().collect(),
        })
        .unwrap_or_default()
    }

    /// One office.
    #[must_use]
    pub fn get(&self, code: &str) -> Option<&Office> {
        self.offices.get(code)
    }

    /// Every office, by code.
    pub fn iter(&self) -> impl Iterator<Item = &Office> {
        self.offices.values()
    }

    /// Whether `code` is a deciding authority.
    #[must_use]
    pub fn is_authority(&self, code: &str) -> bool {
        self.get(code)
            .is_some_and(|o| o.kind == OfficeKind::Authority)
    }

    /// Whether `role` belongs to the kind of `office` (`api.md`, Scope): caseworkers,
    /// supervisors and social workers at district and region offices, decision officers at a
    /// deciding authority, auditors anywhere, admins at the national office. An office the tree
    /// does not know fits no role.
    #[must_use]
    pub fn role_fits(&self, role: ptl_domain::Role, office: &str) -> bool {
        use ptl_domain::Role as R;
        use OfficeKind as K;
        let Some(kind) = self.get(office).map(|o| o.kind) else {
            return false;
        };
        match role {
            R::Caseworker | R::Supervisor | R::SocialWorker => {
                matches!(kind, K::District | K::Region)
            }
            R::DecisionOfficer => kind == K::Authority,
            R::Auditor => true,
            R::Admin => kind == K::National,
            R::System => false,
        }
    }

    /// `code` and its ancestors up to the root; `None` on a cycle or an unknown code.
    fn ancestors(&self, code: &str) -> Option<Vec<&str>> {
        let mut chain = Vec::new();
        let mut current = self.offices.get(code)?;
        loop {
            chain.push(current.code.as_str());
            if chain.len() > self.offices.len() {
                return None;
            }
            match &current.parent {
                None => return Some(chain),
                Some(p) => current = self.offices.get(p)?,
            }
        }
    }

    /// `code` and the offices that succeeded it, in order; `None` on a loop or an unknown code.
    fn successors(&self, code: &str) -> Option<Vec<&str>> {
        let mut chain = Vec::new();
        let mut current = self.offices.get(code)?;
        loop {
            chain.push(current.code.as_str());
            if chain.len() > self.offices.len() {
                return None;
            }
            match &current.successor {
                None => return Some(chain),
                Some(s) => current = self.offices.get(s)?,
            }
        }
    }

    /// The office that holds `code`'s cases today: the last of its successors (itself when it is
    /// open), for statistics grouped by today's offices.
    #[must_use]
    pub fn current_successor<'a>(&'a self, code: &'a str) -> &'a str {
        self.successors(code)
            .and_then(|chain| chain.last().copied())
            .unwrap_or(code)
    }

    /// Every closed office with the office that holds its cases today.
    #[must_use]
    pub fn successor_map(&self) -> BTreeMap<String, String> {
        self.offices
            .values()
            .filter(|o| o.successor.is_some())
            .map(|o| (o.code.clone(), self.current_successor(&o.code).to_string()))
            .collect()
    }

    /// Whether a user of `user_office` sees the cases of `case_office` through the tree: its own
    /// office, any office below it, the offices that these succeeded, and everything for a
    /// national office. Unknown user offices see nothing.
    #[must_use]
    pub fn covers(&self, user_office: &str, case_office: &str) -> bool {
        let Some(user) = self.get(user_office) else {
            return false;
        };
        if user.kind == OfficeKind::National || user_office == case_office {
            return true;
        }
        self.successors(case_office).is_some_and(|offices| {
            offices.iter().any(|o| {
                self.ancestors(o)
                    .is_some_and(|chain| chain.contains(&user_office))
            })
        })
    }

    /// `code`, every office below it, and the closed offices that these succeeded (sorted), for
    /// `office IN (...)` filters. Empty for an unknown code.
    #[must_use]
    pub fn descendants(&self, code: &str) -> Vec<&str> {
        if !self.offices.contains_key(code) {
            return Vec::new();
        }
        let below: BTreeSet<&str> = self
            .offices
            .keys()
            .filter(|c| self.ancestors(c).is_some_and(|chain| chain.contains(&code)))
            .map(String::as_str)
            .collect();
        self.offices
            .keys()
            .map(String::as_str)
            .filter(|c| {
                self.successors(c)
                    .is_some_and(|chain| chain.iter().any(|o| below.contains(o)))
            })
            .collect()
    }

    /// Whether a case is in a user's scope: the tree covers it, or the user's office is a
    /// deciding authority to which the case's file was ever submitted or handed (a court ruling
    /// that sent it there, or the hand-over to a successor: `ever_submitted_to` lists all).
    #[must_use]
    pub fn case_in_scope(
        &self,
        user_office: &str,
        case_office: &str,
        ever_submitted_to: &[String],
    ) -> bool {
        self.covers(user_office, case_office)
            || (self.is_authority(user_office)
                && ever_submitted_to.iter().any(|o| o == user_office))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> OfficeTree {
        OfficeTree::default()
    }

    #[test]
    fn a_role_fits_only_the_office_kinds_that_have_it() {
        use ptl_domain::Role as R;
        let t = tree();
        for (role, office, fits) in [
            (R::Caseworker, "UA7102", true),
            (R::Caseworker, "UA71", true),
            (R::Caseworker, "UA", false),
            (R::Caseworker, "UA-NSS", false),
            (R::Supervisor, "UA", false),
            (R::SocialWorker, "UA-MSP", false),
            (R::DecisionOfficer, "UA-NSS", true),
            (R::DecisionOfficer, "UA7102", false),
            (R::DecisionOfficer, "UA", false),
            (R::Auditor, "UA", true),
            (R::Auditor, "UA7104", true),
            (R::Admin, "UA", true),
            (R::Admin, "UA71", false),
            (R::System, "UA", false),
            (R::Auditor, "UA99", false),
        ] {
            assert_eq!(t.role_fits(role, office), fits, "{role} at {office}");
        }
    }

    #[test]
    fn the_default_tree_is_valid_and_ships_cherkasy() {
        let t = tree();
        let again = OfficeTree::from_offices(t.iter().cloned().collect()).unwrap();
        assert_eq!(again, t);
        assert_eq!(t.get("UA71").unwrap().kind, OfficeKind::Region);
        assert_eq!(t.get("UA7106").unwrap().parent.as_deref(), Some("UA71"));
        assert_eq!(
            t.get("UA7108").unwrap().name_en,
            "Cherkaskyi District State Administration"
        );
        assert_eq!(t.iter().count(), 28);
    }

    #[test]
    fn the_default_tree_ships_the_twenty_districts_merged_in_2020_with_their_successors() {
        let t = tree();
        let old: Vec<&Office> = t.iter().filter(|o| o.closed_on.is_some()).collect();
        assert_eq!(old.len(), 20);
        let reform = NaiveDate::from_ymd_opt(2020, 7, 17).unwrap();
        let mut by_successor: BTreeMap<&str, usize> = BTreeMap::new();
        for o in &old {
            assert_eq!(o.closed_on, Some(reform), "{}", o.code);
            assert_eq!(o.parent.as_deref(), Some("UA71"));
            *by_successor
                .entry(o.successor.as_deref().unwrap())
                .or_default() += 1;
        }
        // procedure.md: Zvenyhorodskyi <- 5, Zolotoniskyi <- 3, Umanskyi <- 5, Cherkaskyi <- 7.
        assert_eq!(
            by_successor.into_iter().collect::<Vec<_>>(),
            [("UA7102", 5), ("UA7104", 3), ("UA7106", 5), ("UA7108", 7)]
        );
        let day_before = reform.pred_opt().unwrap();
        let drabiv = t.get("UA7124").unwrap();
        assert!(drabiv.open_on(day_before) && !drabiv.open_on(reform));
        let zolotonosha = t.get("UA7104").unwrap();
        assert!(!zolotonosha.open_on(day_before) && zolotonosha.open_on(reform));
        assert_eq!(t.current_successor("UA7124"), "UA7104");
        assert_eq!(t.current_successor("UA7104"), "UA7104");
    }

    #[test]
    fn a_successor_sees_the_cases_of_the_offices_it_succeeded_and_no_others() {
        let t = tree();
        assert!(t.covers("UA7104", "UA7124"));
        assert!(!t.covers("UA7104", "UA7137"));
        assert!(
            !t.covers("UA7124", "UA7104"),
            "a closed office does not see its successor's"
        );
        assert!(t.covers("UA71", "UA7124"));
        assert_eq!(
            t.descendants("UA7104"),
            ["UA7104", "UA7122", "UA7124", "UA7139"]
        );
    }

    #[test]
    fn closing_an_office_names_its_successor_and_checks_it() {
        let t = tree();
        let on = NaiveDate::from_ymd_opt(2027, 1, 1).unwrap();
        let closed = t.close("UA7104", on, "UA7108").unwrap();
        assert_eq!(closed.current_successor("UA7124"), "UA7108");
        assert!(closed.covers("UA7108", "UA7124"));
        assert!(!closed.get("UA7104").unwrap().open_on(on));
        for (code, successor) in [
            ("UA7104", "UA7104"),
            ("UA7124", "UA7108"),
            ("UA7104", "UA7124"),
            ("UA7104", "UA99"),
            ("UA71", "UA-NSS"),
        ] {
            assert!(
                matches!(
                    t.close(code, on, successor),
                    Err(OfficeError::BadSuccessor { .. })
                ),
                "{code} -> {successor}"
            );
        }
        let back = OfficeTree::from_toml_str(&closed.to_toml()).unwrap();
        assert_eq!(back, closed);
    }

    #[test]
    fn a_district_sees_only_its_own_cases() {
        let t = tree();
        assert!(t.covers("UA7102", "UA7102"));
        assert!(!t.covers("UA7102", "UA7104"));
        assert!(!t.covers("UA7102", "UA71"));
    }

    #[test]
    fn a_region_sees_its_districts_and_itself() {
        let t = tree();
        for d in ["UA71", "UA7102", "UA7104", "UA7106", "UA7108"] {
            assert!(t.covers("UA71", d), "{d}");
        }
        assert!(!t.covers("UA71", "UA-NSS"));
    }

    #[test]
    fn the_national_office_sees_everything_even_unknown_offices() {
        let t = tree();
        assert!(t.covers("UA", "UA7104"));
        assert!(t.covers("UA", "UA05"));
    }

    #[test]
    fn an_unknown_user_office_sees_nothing() {
        assert!(!tree().covers("UA99", "UA99"));
        assert!(!tree().covers("UA99", "UA7102"));
    }

    #[test]
    fn an_authority_sees_the_cases_submitted_to_it() {
        let t = tree();
        assert!(t.is_authority("UA-NSS") && t.is_authority("UA-MSP"));
        assert!(!t.is_authority("UA71"));
        assert!(!t.case_in_scope("UA-NSS", "UA7102", &[]));
        assert!(t.case_in_scope("UA-NSS", "UA7102", &["UA-NSS".into()]));
        assert!(!t.case_in_scope("UA-MSP", "UA7102", &["UA-NSS".into()]));
        // submission does not widen a non-authority's scope
        assert!(!t.case_in_scope("UA7104", "UA7102", &["UA7104".into()]));
        assert!(t.case_in_scope("UA71", "UA7102", &[]));
    }

    #[test]
    fn descendants_include_the_office_itself() {
        let t = tree();
        let region = t.descendants("UA71");
        assert_eq!(region.len(), 25);
        assert_eq!(
            region[..5],
            ["UA71", "UA7102", "UA7104", "UA7106", "UA7108"]
        );
        assert_eq!(t.descendants("UA7121"), ["UA7121"]);
        assert_eq!(t.descendants("UA").len(), 28);
        assert!(t.descendants("UA99").is_empty());
    }

    #[test]
    fn a_tree_loads_from_toml() {
        let t = OfficeTree::from_toml_str(&tree().to_toml()).unwrap();
        assert_eq!(t, tree());
        let t = OfficeTree::from_toml_str(
            r#"
            [[office]]
            code = "UA"
            name_en = "Ukraine"
            name_uk = "Україна"
            kind = "national"

            [[office]]
            code = "UA05"
            name_en = "Vinnytsia"
            name_uk = "Вінниця"
            parent = "UA"
            kind = "region"
            "#,
        )
        .unwrap();
        assert!(t.covers("UA05", "UA05"));
    }

    #[test]
    fn a_broken_tree_is_refused() {
        let base = tree().iter().cloned().collect::<Vec<_>>();
        let mut dup = base.clone();
        dup.push(base[0].clone());
        assert!(matches!(
            OfficeTree::from_offices(dup),
            Err(OfficeError::Duplicate(_))
        ));

        let mut orphan = base.clone();
        orphan.push(office("UA72", "x", "x", Some("UA9"), OfficeKind::Region));
        assert!(matches!(
            OfficeTree::from_offices(orphan),
            Err(OfficeError::UnknownParent { .. })
        ));

        let mut bad = base.clone();
        bad.push(office("ua72", "x", "x", Some("UA"), OfficeKind::Region));
        assert!(matches!(
            OfficeTree::from_offices(bad),
            Err(OfficeError::BadCode(_))
        ));

        let mut no_date = base.clone();
        no_date[0].successor = Some("UA71".into());
        assert!(matches!(
            OfficeTree::from_offices(no_date),
            Err(OfficeError::BadSuccessor { .. })
        ));

        let mut looped = vec![
            office("UA", "x", "x", None, OfficeKind::National),
            office("UA1", "x", "x", Some("UA"), OfficeKind::Region),
            office("UA2", "x", "x", Some("UA"), OfficeKind::Region),
        ];
        let day = NaiveDate::from_ymd_opt(2020, 1, 1);
        looped[1].closed_on = day;
        looped[1].successor = Some("UA2".into());
        looped[2].closed_on = day;
        looped[2].successor = Some("UA1".into());
        assert!(matches!(
            OfficeTree::from_offices(looped),
            Err(OfficeError::SuccessorCycle(_))
        ));

        let cycle = vec![
            office("UA", "x", "x", None, OfficeKind::National),
            office("UA1", "x", "x", Some("UA2"), OfficeKind::Region),
            office("UA2", "x", "x", Some("UA1"), OfficeKind::Region),
        ];
        assert!(matches!(
            OfficeTree::from_offices(cycle),
            Err(OfficeError::Cycle(_))
        ));

        assert!(matches!(
            OfficeTree::from_toml_str("[[office]]\ncode = 1"),
            Err(OfficeError::Parse(_))
        ));
    }
}
