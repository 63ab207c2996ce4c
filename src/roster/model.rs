//! The roster's domain: who is on call on a given day, and what makes an entry valid.
//! Pure: no I/O, so every rule is tested without a database.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

pub const MAX_NAME: usize = 100;
pub const MAX_TEAM: usize = 100;
pub const MAX_CONTACT: usize = 100;
pub const MAX_NOTE: usize = 500;
/// Longest range one list request may ask for.
pub const MAX_RANGE_DAYS: i64 = 366;

/// One day's on-call entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Entry {
    /// `YYYY-MM-DD`.
    #[sqlx(rename = "day")]
    pub date: NaiveDate,
    pub name: String,
    pub team: Option<String>,
    pub contact: Option<String>,
    pub note: Option<String>,
}

/// What a client sends to create (`date` required) or update (`date` from the path) an entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryInput {
    pub date: Option<String>,
    pub name: Option<String>,
    pub team: Option<String>,
    pub contact: Option<String>,
    pub note: Option<String>,
}

/// A rule the input broke: which field and why (answered with 422).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Invalid {
    pub field: &'static str,
    pub error: String,
}

impl Invalid {
    fn new(field: &'static str, error: impl Into<String>) -> Self {
        Invalid {
            field,
            error: error.into(),
        }
    }
}

/// Parse a `YYYY-MM-DD` date.
pub fn parse_date(field: &'static str, text: &str) -> Result<NaiveDate, Invalid> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
        Invalid::new(
            field,
            format!("\"{text}\" is not a date; use YYYY-MM-DD, e.g. 2026-12-24"),
        )
    })
}

/// Trim; empty becomes None; longer than `max` characters is an error.
fn optional(
    field: &'static str,
    value: Option<String>,
    max: usize,
) -> Result<Option<String>, Invalid> {
    let Some(value) = value else { return Ok(None) };
    let value = value.trim().to_string();
    if value.chars().count() > max {
        return Err(Invalid::new(field, format!("longer than {max} characters")));
    }
    Ok((!value.is_empty()).then_some(value))
}

impl EntryInput {
    /// Validate into an entry. `path_date` is the date from the URL (PUT); a body date, if
    /// given too, must match it.
    pub fn into_entry(self, path_date: Option<NaiveDate>) -> Result<Entry, Invalid> {
        let date = match (path_date, self.date.as_deref()) {
            (Some(path), Some(body)) => {
                let body = parse_date("date", body)?;
                if body != path {
                    return Err(Invalid::new(
                        "date",
                        format!("the body says {body} but the URL says {path}"),
                    ));
                }
                path
            }
            (Some(path), None) => path,
            (None, Some(body)) => parse_date("date", body)?,
            (None, None) => return Err(Invalid::new("date", "required (YYYY-MM-DD)")),
        };
        let name = optional("name", self.name, MAX_NAME)?
            .ok_or_else(|| Invalid::new("name", "required, not empty"))?;
        Ok(Entry {
            date,
            name,
            team: optional("team", self.team, MAX_TEAM)?,
            contact: optional("contact", self.contact, MAX_CONTACT)?,
            note: optional("note", self.note, MAX_NOTE)?,
        })
    }
}

/// Check a list range: `from` ≤ `to`, at most [`MAX_RANGE_DAYS`] days.
pub fn check_range(from: NaiveDate, to: NaiveDate) -> Result<(), Invalid> {
    if to < from {
        return Err(Invalid::new("to", format!("{to} is before from={from}")));
    }
    if (to - from).num_days() >= MAX_RANGE_DAYS {
        return Err(Invalid::new(
            "to",
            format!("at most {MAX_RANGE_DAYS} days per request"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(date: Option<&str>, name: Option<&str>) -> EntryInput {
        EntryInput {
            date: date.map(Into::into),
            name: name.map(Into::into),
            ..Default::default()
        }
    }

    #[test]
    fn valid_entry_is_trimmed_and_empty_optionals_dropped() {
        let mut i = input(Some("2026-12-24"), Some("  Ada  "));
        i.team = Some("  ".into());
        let e = i.into_entry(None).unwrap();
        assert_eq!((e.name.as_str(), e.team), ("Ada", None));
    }

    #[test]
    fn malformed_dates_and_names_are_refused() {
        assert_eq!(
            input(Some("2026-13-01"), Some("A"))
                .into_entry(None)
                .unwrap_err()
                .field,
            "date"
        );
        assert_eq!(
            input(Some("24.12.2026"), Some("A"))
                .into_entry(None)
                .unwrap_err()
                .field,
            "date"
        );
        assert_eq!(
            input(None, Some("A")).into_entry(None).unwrap_err().field,
            "date"
        );
        assert_eq!(
            input(Some("2026-12-24"), Some("   "))
                .into_entry(None)
                .unwrap_err()
                .field,
            "name"
        );
        let long = "x".repeat(MAX_NAME + 1);
        assert_eq!(
            input(Some("2026-12-24"), Some(&long))
                .into_entry(None)
                .unwrap_err()
                .field,
            "name"
        );
    }

    #[test]
    fn body_date_must_match_path_date() {
        let path = NaiveDate::from_ymd_opt(2026, 12, 24);
        assert!(
            input(Some("2026-12-24"), Some("A"))
                .into_entry(path)
                .is_ok()
        );
        assert!(input(None, Some("A")).into_entry(path).is_ok());
        assert_eq!(
            input(Some("2026-12-25"), Some("A"))
                .into_entry(path)
                .unwrap_err()
                .field,
            "date"
        );
    }

    #[test]
    fn ranges_are_bounded() {
        let d = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert!(check_range(d("2026-01-01"), d("2026-01-31")).is_ok());
        assert!(check_range(d("2026-02-01"), d("2026-01-31")).is_err());
        assert!(check_range(d("2026-01-01"), d("2027-06-01")).is_err());
    }
}
