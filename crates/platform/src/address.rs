//! Postal addresses of API.md's common rules: the address book (users)
//! and an order's shipping address (orders) validate them alike.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::FieldError;

/// A validated postal address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// Recipient.
    pub name: String,
    /// Street and number.
    pub line1: String,
    /// Flat, floor, company.
    pub line2: Option<String>,
    /// City or town.
    pub city: String,
    /// State, province or county.
    pub region: Option<String>,
    /// Postal or ZIP code.
    pub postal_code: String,
    /// ISO 3166-1 alpha-2 code, upper case.
    pub country: String,
    /// Phone for the carrier, as given.
    pub phone: Option<String>,
}

/// The raw fields of an address, before validation.
#[derive(Debug, Clone, Default)]
pub struct AddressInput<'a> {
    /// See [`Address::name`].
    pub name: &'a str,
    /// See [`Address::line1`].
    pub line1: &'a str,
    /// See [`Address::line2`].
    pub line2: Option<&'a str>,
    /// See [`Address::city`].
    pub city: &'a str,
    /// See [`Address::region`].
    pub region: Option<&'a str>,
    /// See [`Address::postal_code`].
    pub postal_code: &'a str,
    /// See [`Address::country`].
    pub country: &'a str,
    /// See [`Address::phone`].
    pub phone: Option<&'a str>,
}

impl Address {
    /// Validates every field and reports all problems at once.
    pub fn parse(input: &AddressInput<'_>) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        // Lengths count what was sent, as the OpenAPI document's maxLength
        // does; the stored value is trimmed.
        let mut required = |field: &str, value: &str, max: usize| -> String {
            if crate::http::schema::is_blank(value) {
                errors.push(FieldError::new(field, "is required"));
            } else if value.chars().count() > max {
                errors.push(FieldError::new(
                    field,
                    format!("must be at most {max} characters"),
                ));
            }
            value.trim().to_owned()
        };
        let name = required("name", input.name, 200);
        let line1 = required("line1", input.line1, 200);
        let city = required("city", input.city, 200);
        let postal_code = required("postal_code", input.postal_code, 20);
        let mut optional = |field: &str, value: Option<&str>, max: usize| -> Option<String> {
            let value = value?;
            if value.chars().count() > max {
                errors.push(FieldError::new(
                    field,
                    format!("must be at most {max} characters"),
                ));
            }
            Some(value.trim().to_owned()).filter(|v| !v.is_empty())
        };
        let line2 = optional("line2", input.line2, 200);
        let region = optional("region", input.region, 200);
        let phone = optional("phone", input.phone, 32);
        // Exactly two letters of a code, in any case: what the OpenAPI
        // document's pattern says (crate::http::schema::country).
        let country = input.country.to_ascii_uppercase();
        if !is_country_code(&country) {
            errors.push(FieldError::new(
                "country",
                "must be an ISO 3166-1 alpha-2 code such as DE or US",
            ));
        }
        if errors.is_empty() {
            Ok(Self {
                name,
                line1,
                line2,
                city,
                region,
                postal_code,
                country,
                phone,
            })
        } else {
            Err(errors)
        }
    }
}

/// An address on the wire (`{name, line1, line2?, city, region?,
/// postal_code, country, phone?}`), as a request body before validation
/// and as a response body after it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressFields {
    /// Recipient.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"[^\t\n\x0B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\uFEFF]"
    )]
    pub name: String,
    /// Street and number.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"[^\t\n\x0B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\uFEFF]"
    )]
    pub line1: String,
    /// Flat, floor, company.
    #[serde(default)]
    #[schema(max_length = 200)]
    pub line2: Option<String>,
    /// City or town.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"[^\t\n\x0B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\uFEFF]"
    )]
    pub city: String,
    /// State, province or county.
    #[serde(default)]
    #[schema(max_length = 200)]
    pub region: Option<String>,
    /// Postal or ZIP code.
    #[schema(
        min_length = 1,
        max_length = 20,
        pattern = r"[^\t\n\x0B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\uFEFF]"
    )]
    pub postal_code: String,
    /// ISO 3166-1 alpha-2 code.
    #[schema(schema_with = crate::http::schema::country)]
    pub country: String,
    /// Phone for the carrier.
    #[serde(default)]
    #[schema(max_length = 32)]
    pub phone: Option<String>,
}

impl AddressFields {
    /// The fields for [`Address::parse`].
    pub fn input(&self) -> AddressInput<'_> {
        AddressInput {
            name: &self.name,
            line1: &self.line1,
            line2: self.line2.as_deref(),
            city: &self.city,
            region: self.region.as_deref(),
            postal_code: &self.postal_code,
            country: &self.country,
            phone: self.phone.as_deref(),
        }
    }
}

impl From<Address> for AddressFields {
    fn from(a: Address) -> Self {
        Self {
            name: a.name,
            line1: a.line1,
            line2: a.line2,
            city: a.city,
            region: a.region,
            postal_code: a.postal_code,
            country: a.country,
            phone: a.phone,
        }
    }
}

/// A partial update: `None` keeps a field, `Some(None)` clears an optional one.
#[derive(Debug, Clone, Default)]
pub struct AddressPatch {
    /// New recipient.
    pub name: Option<String>,
    /// New street line.
    pub line1: Option<String>,
    /// New or cleared second line.
    pub line2: Option<Option<String>>,
    /// New city.
    pub city: Option<String>,
    /// New or cleared region.
    pub region: Option<Option<String>>,
    /// New postal code.
    pub postal_code: Option<String>,
    /// New country.
    pub country: Option<String>,
    /// New or cleared phone.
    pub phone: Option<Option<String>>,
}

impl Address {
    /// The address with the patch applied, validated as a whole.
    pub fn patched(&self, patch: &AddressPatch) -> Result<Self, Vec<FieldError>> {
        let pick = |new: &Option<String>, old: &str| new.clone().unwrap_or_else(|| old.to_owned());
        let pick_opt = |new: &Option<Option<String>>, old: &Option<String>| match new {
            Some(value) => value.clone(),
            None => old.clone(),
        };
        let name = pick(&patch.name, &self.name);
        let line1 = pick(&patch.line1, &self.line1);
        let line2 = pick_opt(&patch.line2, &self.line2);
        let city = pick(&patch.city, &self.city);
        let region = pick_opt(&patch.region, &self.region);
        let postal_code = pick(&patch.postal_code, &self.postal_code);
        let country = pick(&patch.country, &self.country);
        let phone = pick_opt(&patch.phone, &self.phone);
        Self::parse(&AddressInput {
            name: &name,
            line1: &line1,
            line2: line2.as_deref(),
            city: &city,
            region: region.as_deref(),
            postal_code: &postal_code,
            country: &country,
            phone: phone.as_deref(),
        })
    }
}

/// Every officially assigned ISO 3166-1 alpha-2 code.
const COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ \
BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ \
DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT \
GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY \
KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX \
MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS \
RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN \
TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// Every ISO 3166-1 alpha-2 code, upper case.
pub fn country_codes() -> impl Iterator<Item = &'static str> {
    COUNTRIES.split_ascii_whitespace()
}

/// Is `code` an ISO 3166-1 alpha-2 country code (upper case)?
pub fn is_country_code(code: &str) -> bool {
    code.len() == 2 && COUNTRIES.split_ascii_whitespace().any(|c| c == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> AddressInput<'static> {
        AddressInput {
            name: "Ada Lovelace",
            line1: "12 St James's Square",
            city: "London",
            postal_code: "SW1Y 4JH",
            country: "gb",
            ..AddressInput::default()
        }
    }

    #[test]
    fn the_country_is_upper_cased_and_checked() {
        assert_eq!(Address::parse(&input()).unwrap().country, "GB");
        let bad = AddressInput {
            country: "XX",
            ..input()
        };
        assert_eq!(Address::parse(&bad).unwrap_err()[0].field, "country");
    }

    #[test]
    fn all_missing_fields_are_reported_together() {
        let errors = Address::parse(&AddressInput::default()).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "line1", "city", "postal_code", "country"]);
    }

    #[test]
    fn blank_optional_fields_become_none() {
        let parsed = Address::parse(&AddressInput {
            line2: Some("  "),
            ..input()
        })
        .unwrap();
        assert_eq!(parsed.line2, None);
    }

    #[test]
    fn a_patch_changes_only_what_it_names_and_revalidates() {
        let address = Address::parse(&AddressInput {
            line2: Some("Flat 2"),
            ..input()
        })
        .unwrap();
        let patch = AddressPatch {
            city: Some("Bath".into()),
            line2: Some(None),
            ..AddressPatch::default()
        };
        let patched = address.patched(&patch).unwrap();
        assert_eq!((patched.city.as_str(), patched.line2), ("Bath", None));
        assert_eq!(patched.name, "Ada Lovelace");
        let bad = AddressPatch {
            country: Some("ZZ".into()),
            ..AddressPatch::default()
        };
        assert!(address.patched(&bad).is_err());
    }

    #[test]
    fn there_are_249_country_codes() {
        assert_eq!(COUNTRIES.split_ascii_whitespace().count(), 249);
    }
}
