//! The office tree and who may see which case.
//!
//! Offices form a tree: national (`UA`) > region (oblast administration) > district
//! administrations; the deciding authorities (`UA-MSP`, `UA-NSS`) are national offices of their
//! own under `UA`. Scope (`api.md`): a district sees its cases, a region its districts' and its
//! own, `UA` everything, and a deciding authority the cases whose file was ever submitted to it.
//! The tree is data: the default ships the Cherkasy region, and an administrator can load another
//! from a TOML file (`offices_file`).

use std::collections::BTreeMap;
use std::path::Path;

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
    }
}

impl Default for OfficeTree {
    /// Ukraine, the two deciding authorities, and the Cherkasy region with its four districts.
    fn default() -> Self {
        use OfficeKind as K;
        let list = vec![
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
        let tree = Self { offices };
        for code in tree.offices.keys() {
            if tree.ancestors(code).is_none() {
                return Err(OfficeError::Cycle(code.clone()));
            }
        }
        Ok(tree)
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

    /// Whether a user of `user_office` sees the cases of `case_office` through the tree: its own
    /// office, any office below it, and everything for a national office. Unknown user offices
    /// see nothing.
    #[must_use]
    pub fn covers(&self, user_office: &str, case_office: &str) -> bool {
        let Some(user) = self.get(user_office) else {
            return false;
        };
        if user.kind == OfficeKind::National || user_office == case_office {
            return true;
        }
        self.ancestors(case_office)
            .is_some_and(|chain| chain.contains(&user_office))
    }

    /// `code` and every office below it (sorted), for `office IN (...)` filters. Empty for an
    /// unknown code.
    #[must_use]
    pub fn descendants(&self, code: &str) -> Vec<&str> {
        if !self.offices.contains_key(code) {
            return Vec::new();
        }
        self.offices
            .keys()
            .filter(|c| self.ancestors(c).is_some_and(|chain| chain.contains(&code)))
            .map(String::as_str)
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
        assert_eq!(t.iter().count(), 8);
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
        assert_eq!(
            t.descendants("UA71"),
            ["UA71", "UA7102", "UA7104", "UA7106", "UA7108"]
        );
        assert_eq!(t.descendants("UA7104"), ["UA7104"]);
        assert_eq!(t.descendants("UA").len(), 8);
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
