//! ISO 3166-1 country codes: the officially assigned alpha-2 codes with their alpha-3 codes and
//! their UN M49 sub-region.
//!
//! The registration stores alpha-2 codes (`api.md`: `exploitation.country`,
//! `applicant.citizenship_country`); the CTDC and HTCDS exports write alpha-3 ([`alpha3`]) and,
//! where a country would identify someone, its sub-region ([`region`]). The codes are the Debian
//! `iso-codes` list of ISO 3166-1 (249 codes), the sub-regions those of the UN Statistics
//! Division's M49 standard (as tabulated by the `country_converter` package), sorted by alpha-2
//! so that a look-up is a binary search.

/// `(alpha-2, alpha-3, M49 sub-region)` of every officially assigned ISO 3166-1 code, sorted by
/// alpha-2.
pub const ISO_3166_1: &[(&str, &str, &str)] = &[
    ("AD", "AND", "Southern Europe"),
    ("AE", "ARE", "Western Asia"),
    ("AF", "AFG", "Southern Asia"),
    ("AG", "ATG", "Caribbean"),
    ("AI", "AIA", "Caribbean"),
    ("AL", "ALB", "Southern Europe"),
    ("AM", "ARM", "Western Asia"),
    ("AO", "AGO", "Middle Africa"),
    ("AQ", "ATA", "Antarctica"),
    ("AR", "ARG", "South America"),
    ("AS", "ASM", "Polynesia"),
    ("AT", "AUT", "Western Europe"),
    ("AU", "AUS", "Australia and New Zealand"),
    ("AW", "ABW", "Caribbean"),
    ("AX", "ALA", "Northern Europe"),
    ("AZ", "AZE", "Western Asia"),
    ("BA", "BIH", "Southern Europe"),
    ("BB", "BRB", "Caribbean"),
    ("BD", "BGD", "Southern Asia"),
    ("BE", "BEL", "Western Europe"),
    ("BF", "BFA", "Western Africa"),
    ("BG", "BGR", "Eastern Europe"),
    ("BH", "BHR", "Western Asia"),
    ("BI", "BDI", "Eastern Africa"),
    ("BJ", "BEN", "Western Africa"),
    ("BL", "BLM", "Caribbean"),
    ("BM", "BMU", "Northern America"),
    ("BN", "BRN", "South-eastern Asia"),
    ("BO", "BOL", "South America"),
    ("BQ", "BES", "Caribbean"),
    ("BR", "BRA", "South America"),
    ("BS", "BHS", "Caribbean"),
    ("BT", "BTN", "Southern Asia"),
    ("BV", "BVT", "South America"),
    ("BW", "BWA", "Southern Africa"),
    ("BY", "BLR", "Eastern Europe"),
    ("BZ", "BLZ", "Central America"),
    ("CA", "CAN", "Northern America"),
    ("CC", "CCK", "Australia and New Zealand"),
    ("CD", "COD", "Middle Africa"),
    ("CF", "CAF", "Middle Africa"),
    ("CG", "COG", "Middle Africa"),
    ("CH", "CHE", "Western Europe"),
    ("CI", "CIV", "Western Africa"),
    ("CK", "COK", "Polynesia"),
    ("CL", "CHL", "South America"),
    ("CM", "CMR", "Middle Africa"),
    ("CN", "CHN", "Eastern Asia"),
    ("CO", "COL", "South America"),
    ("CR", "CRI", "Central America"),
    ("CU", "CUB", "Caribbean"),
    ("CV", "CPV", "Western Africa"),
    ("CW", "CUW", "Caribbean"),
    ("CX", "CXR", "Australia and New Zealand"),
    ("CY", "CYP", "Western Asia"),
    ("CZ", "CZE", "Eastern Europe"),
    ("DE", "DEU", "Western Europe"),
    ("DJ", "DJI", "Eastern Africa"),
    ("DK", "DNK", "Northern Europe"),
    ("DM", "DMA", "Caribbean"),
    ("DO", "DOM", "Caribbean"),
    ("DZ", "DZA", "Northern Africa"),
    ("EC", "ECU", "South America"),
    ("EE", "EST", "Northern Europe"),
    ("EG", "EGY", "Northern Africa"),
    ("EH", "ESH", "Northern Africa"),
    ("ER", "ERI", "Eastern Africa"),
    ("ES", "ESP", "Southern Europe"),
    ("ET", "ETH", "Eastern Africa"),
    ("FI", "FIN", "Northern Europe"),
    ("FJ", "FJI", "Melanesia"),
    ("FK", "FLK", "South America"),
    ("FM", "FSM", "Micronesia"),
    ("FO", "FRO", "Northern Europe"),
    ("FR", "FRA", "Western Europe"),
    ("GA", "GAB", "Middle Africa"),
    ("GB", "GBR", "Northern Europe"),
    ("GD", "GRD", "Caribbean"),
    ("GE", "GEO", "Western Asia"),
    ("GF", "GUF", "South America"),
    ("GG", "GGY", "Northern Europe"),
    ("GH", "GHA", "Western Africa"),
    ("GI", "GIB", "Southern Europe"),
    ("GL", "GRL", "Northern America"),
    ("GM", "GMB", "Western Africa"),
    ("GN", "GIN", "Western Africa"),
    ("GP", "GLP", "Caribbean"),
    ("GQ", "GNQ", "Middle Africa"),
    ("GR", "GRC", "Southern Europe"),
    ("GS", "SGS", "South America"),
    ("GT", "GTM", "Central America"),
    ("GU", "GUM", "Micronesia"),
    ("GW", "GNB", "Western Africa"),
    ("GY", "GUY", "South America"),
    ("HK", "HKG", "Eastern Asia"),
    ("HM", "HMD", "Australia and New Zealand"),
    ("HN", "HND", "Central America"),
    ("HR", "HRV", "Southern Europe"),
    ("HT", "HTI", "Caribbean"),
    ("HU", "HUN", "Eastern Europe"),
    ("ID", "IDN", "South-eastern Asia"),
    ("IE", "IRL", "Northern Europe"),
    ("IL", "ISR", "Western Asia"),
    ("IM", "IMN", "Northern Europe"),
    ("IN", "IND", "Southern Asia"),
    ("IO", "IOT", "Eastern Africa"),
    ("IQ", "IRQ", "Western Asia"),
    ("IR", "IRN", "Southern Asia"),
    ("IS", "ISL", "Northern Europe"),
    ("IT", "ITA", "Southern Europe"),
    ("JE", "JEY", "Northern Europe"),
    ("JM", "JAM", "Caribbean"),
    ("JO", "JOR", "Western Asia"),
    ("JP", "JPN", "Eastern Asia"),
    ("KE", "KEN", "Eastern Africa"),
    ("KG", "KGZ", "Central Asia"),
    ("KH", "KHM", "South-eastern Asia"),
    ("KI", "KIR", "Micronesia"),
    ("KM", "COM", "Eastern Africa"),
    ("KN", "KNA", "Caribbean"),
    ("KP", "PRK", "Eastern Asia"),
    ("KR", "KOR", "Eastern Asia"),
    ("KW", "KWT", "Western Asia"),
    ("KY", "CYM", "Caribbean"),
    ("KZ", "KAZ", "Central Asia"),
    ("LA", "LAO", "South-eastern Asia"),
    ("LB", "LBN", "Western Asia"),
    ("LC", "LCA", "Caribbean"),
    ("LI", "LIE", "Western Europe"),
    ("LK", "LKA", "Southern Asia"),
    ("LR", "LBR", "Western Africa"),
    ("LS", "LSO", "Southern Africa"),
    ("LT", "LTU", "Northern Europe"),
    ("LU", "LUX", "Western Europe"),
    ("LV", "LVA", "Northern Europe"),
    ("LY", "LBY", "Northern Africa"),
    ("MA", "MAR", "Northern Africa"),
    ("MC", "MCO", "Western Europe"),
    ("MD", "MDA", "Eastern Europe"),
    ("ME", "MNE", "Southern Europe"),
    ("MF", "MAF", "Caribbean"),
    ("MG", "MDG", "Eastern Africa"),
    ("MH", "MHL", "Micronesia"),
    ("MK", "MKD", "Southern Europe"),
    ("ML", "MLI", "Western Africa"),
    ("MM", "MMR", "South-eastern Asia"),
    ("MN", "MNG", "Eastern Asia"),
    ("MO", "MAC", "Eastern Asia"),
    ("MP", "MNP", "Micronesia"),
    ("MQ", "MTQ", "Caribbean"),
    ("MR", "MRT", "Western Africa"),
    ("MS", "MSR", "Caribbean"),
    ("MT", "MLT", "Southern Europe"),
    ("MU", "MUS", "Eastern Africa"),
    ("MV", "MDV", "Southern Asia"),
    ("MW", "MWI", "Eastern Africa"),
    ("MX", "MEX", "Central America"),
    ("MY", "MYS", "South-eastern Asia"),
    ("MZ", "MOZ", "Eastern Africa"),
    ("NA", "NAM", "Southern Africa"),
    ("NC", "NCL", "Melanesia"),
    ("NE", "NER", "Western Africa"),
    ("NF", "NFK", "Australia and New Zealand"),
    ("NG", "NGA", "Western Africa"),
    ("NI", "NIC", "Central America"),
    ("NL", "NLD", "Western Europe"),
    ("NO", "NOR", "Northern Europe"),
    ("NP", "NPL", "Southern Asia"),
    ("NR", "NRU", "Polynesia"),
    ("NU", "NIU", "Polynesia"),
    ("NZ", "NZL", "Australia and New Zealand"),
    ("OM", "OMN", "Western Asia"),
    ("PA", "PAN", "Central America"),
    ("PE", "PER", "South America"),
    ("PF", "PYF", "Polynesia"),
    ("PG", "PNG", "Melanesia"),
    ("PH", "PHL", "South-eastern Asia"),
    ("PK", "PAK", "Southern Asia"),
    ("PL", "POL", "Eastern Europe"),
    ("PM", "SPM", "Northern America"),
    ("PN", "PCN", "Polynesia"),
    ("PR", "PRI", "Caribbean"),
    ("PS", "PSE", "Western Asia"),
    ("PT", "PRT", "Southern Europe"),
    ("PW", "PLW", "Micronesia"),
    ("PY", "PRY", "South America"),
    ("QA", "QAT", "Western Asia"),
    ("RE", "REU", "Eastern Africa"),
    ("RO", "ROU", "Eastern Europe"),
    ("RS", "SRB", "Southern Europe"),
    ("RU", "RUS", "Eastern Europe"),
    ("RW", "RWA", "Eastern Africa"),
    ("SA", "SAU", "Western Asia"),
    ("SB", "SLB", "Melanesia"),
    ("SC", "SYC", "Eastern Africa"),
    ("SD", "SDN", "Northern Africa"),
    ("SE", "SWE", "Northern Europe"),
    ("SG", "SGP", "South-eastern Asia"),
    ("SH", "SHN", "Western Africa"),
    ("SI", "SVN", "Southern Europe"),
    ("SJ", "SJM", "Northern Europe"),
    ("SK", "SVK", "Eastern Europe"),
    ("SL", "SLE", "Western Africa"),
    ("SM", "SMR", "Southern Europe"),
    ("SN", "SEN", "Western Africa"),
    ("SO", "SOM", "Eastern Africa"),
    ("SR", "SUR", "South America"),
    ("SS", "SSD", "Eastern Africa"),
    ("ST", "STP", "Middle Africa"),
    ("SV", "SLV", "Central America"),
    ("SX", "SXM", "Caribbean"),
    ("SY", "SYR", "Western Asia"),
    ("SZ", "SWZ", "Southern Africa"),
    ("TC", "TCA", "Caribbean"),
    ("TD", "TCD", "Middle Africa"),
    ("TF", "ATF", "Eastern Africa"),
    ("TG", "TGO", "Western Africa"),
    ("TH", "THA", "South-eastern Asia"),
    ("TJ", "TJK", "Central Asia"),
    ("TK", "TKL", "Polynesia"),
    ("TL", "TLS", "South-eastern Asia"),
    ("TM", "TKM", "Central Asia"),
    ("TN", "TUN", "Northern Africa"),
    ("TO", "TON", "Polynesia"),
    ("TR", "TUR", "Western Asia"),
    ("TT", "TTO", "Caribbean"),
    ("TV", "TUV", "Polynesia"),
    ("TW", "TWN", "Eastern Asia"),
    ("TZ", "TZA", "Eastern Africa"),
    ("UA", "UKR", "Eastern Europe"),
    ("UG", "UGA", "Eastern Africa"),
    ("UM", "UMI", "Micronesia"),
    ("US", "USA", "Northern America"),
    ("UY", "URY", "South America"),
    ("UZ", "UZB", "Central Asia"),
    ("VA", "VAT", "Southern Europe"),
    ("VC", "VCT", "Caribbean"),
    ("VE", "VEN", "South America"),
    ("VG", "VGB", "Caribbean"),
    ("VI", "VIR", "Caribbean"),
    ("VN", "VNM", "South-eastern Asia"),
    ("VU", "VUT", "Melanesia"),
    ("WF", "WLF", "Polynesia"),
    ("WS", "WSM", "Polynesia"),
    ("YE", "YEM", "Western Asia"),
    ("YT", "MYT", "Eastern Africa"),
    ("ZA", "ZAF", "Southern Africa"),
    ("ZM", "ZMB", "Eastern Africa"),
    ("ZW", "ZWE", "Eastern Africa"),
];

fn entry(alpha2: &str) -> Option<&'static (&'static str, &'static str, &'static str)> {
    ISO_3166_1
        .binary_search_by(|(a2, _, _)| (*a2).cmp(alpha2))
        .ok()
        .map(|i| &ISO_3166_1[i])
}

/// The alpha-3 code of an officially assigned alpha-2 code (`UA` -> `UKR`); `None` for anything
/// else (`XX`, a reserved or unassigned code, lower case).
#[must_use]
pub fn alpha3(alpha2: &str) -> Option<&'static str> {
    entry(alpha2).map(|e| e.1)
}

/// The UN M49 sub-region of an officially assigned alpha-2 code (`UA` -> `Eastern Europe`).
#[must_use]
pub fn region(alpha2: &str) -> Option<&'static str> {
    entry(alpha2).map(|e| e.2)
}

/// Whether `s` is an officially assigned ISO 3166-1 alpha-2 code.
#[must_use]
pub fn is_assigned(s: &str) -> bool {
    entry(s).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_and_maps_the_codes_the_exports_meet() {
        assert!(ISO_3166_1.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(ISO_3166_1.len(), 249);
        assert!(ISO_3166_1
            .iter()
            .all(|(a2, a3, r)| a2.len() == 2 && a3.len() == 3 && !r.is_empty()));
        assert_eq!(alpha3("UA"), Some("UKR"));
        assert_eq!(alpha3("PL"), Some("POL"));
        assert_eq!(alpha3("MD"), Some("MDA"));
        assert_eq!(region("UA"), Some("Eastern Europe"));
        assert_eq!(region("GB"), Some("Northern Europe"));
        assert_eq!(region("VN"), Some("South-eastern Asia"));
        for bad in ["XX", "ua", "U", "UKR", "", "ZZ"] {
            assert_eq!(alpha3(bad), None, "{bad}");
            assert!(!is_assigned(bad), "{bad}");
        }
    }
}
