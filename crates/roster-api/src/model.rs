//! The roster's domain: who is on call on a given day, and what makes an entry valid.
//! Pure: no I/O, so every rule is tested without a database, and a client can check its input
//! by the same rules the app answers 422 with.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Longest `name`, in characters.
pub const MAX_NAME: usize = 100;
/// Longest `team`, in characters.
pub const MAX_TEAM: usize = 100;
/// Longest `contact`, in characters.
pub const MAX_CONTACT: usize = 100;
/// Longest `note`, in characters.
pub const MAX_NOTE: usize = 500;
/// Longest range one list request may ask for.
pub const MAX_RANGE_DAYS: i64 = 366;

/// One day's on-call entry: what every read answers (the JSON of `GET /api/v1/roster/{date}`,
/// one element of a list, the body of a 201), always valid by the rules of [`EntryInput`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The day, `YYYY-MM-DD` in JSON.
    pub date: NaiveDate,
    /// Who is on call: trimmed, not empty, at most [`MAX_NAME`] characters.
    pub name: String,
    /// Their team, if given (at most [`MAX_TEAM`] characters).
    pub team: Option<String>,
    /// How to reach them, if given (at most [`MAX_CONTACT`] characters).
    pub contact: Option<String>,
    /// Anything else, if given (at most [`MAX_NOTE`] characters).
    pub note: Option<String>,
}

/// What a client sends to create (`POST`, `date` required) or update (`PUT`, `date` from the
/// path) an entry. Every field is text as the client wrote it, checked by
/// [`EntryInput::into_entry`]; a field left `None` is not sent.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryInput {
    /// `YYYY-MM-DD`; with a PUT it may be left out (the path says it) or must match the path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// Who is on call (required).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Their team.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// How to reach them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    /// Anything else.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A rule the input broke: which field and why (answered with 422, as an
/// [`ErrorBody`](crate::ErrorBody) naming the field).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Invalid {
    /// The input that broke it: `date`, `from`, `to`, `query`, `name`, ...
    pub field: &'static str,
    /// Why, in words.
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

/// First day the roster accepts: nobody plans on-call shifts before the Unix epoch.
pub const MIN_DATE: NaiveDate = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
/// Last day the roster accepts: the last with a 4-digit year, so ISO dates sort as strings (the
/// Aerospike store filters on that) and fit MariaDB's DATE (which ends here too).
pub const MAX_DATE: NaiveDate = NaiveDate::from_ymd_opt(9999, 12, 31).expect("valid date");

/// Parse a date written exactly `YYYY-MM-DD` (4-digit year, no sign, no spaces), between
/// [`MIN_DATE`] and [`MAX_DATE`]. Checked by shape first: chrono alone takes signed and longer
/// years (`+262143-12-31`), which the database refuses and date arithmetic overflows on.
pub fn parse_date(field: &'static str, text: &str) -> Result<NaiveDate, Invalid> {
    let bytes = text.as_bytes();
    let shaped = bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes
            .iter()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
    let shown = shown(text);
    let date = shaped
        .then(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
        .flatten()
        .ok_or_else(|| {
            Invalid::new(
                field,
                format!("\"{shown}\" is not a date; use YYYY-MM-DD, e.g. 2026-12-24"),
            )
        })?;
    if !(MIN_DATE..=MAX_DATE).contains(&date) {
        return Err(Invalid::new(
            field,
            format!("{date} is out of range; the roster keeps {MIN_DATE} to {MAX_DATE}"),
        ));
    }
    Ok(date)
}

/// At most 40 characters of a client's text, for an error message (a huge input is not echoed).
fn shown(text: &str) -> String {
    const MAX: usize = 40;
    if text.chars().count() <= MAX {
        text.to_string()
    } else {
        format!("{}...", text.chars().take(MAX).collect::<String>())
    }
}

/// The last day of a list that gives only `from`: `days` days long, never past [`MAX_DATE`].
pub fn default_to(from: NaiveDate, days: u64) -> NaiveDate {
    from.checked_add_days(chrono::Days::new(days.saturating_sub(1)))
        .unwrap_or(MAX_DATE)
        .min(MAX_DATE)
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
    // Both are within MIN_DATE..=MAX_DATE (parse_date), so this cannot overflow.
    if to.signed_duration_since(from).num_days() >= MAX_RANGE_DAYS {
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
    fn dates_are_strictly_four_digit_years_in_range() {
        assert_eq!(
            parse_date("date", "2026-12-24"),
            Ok(NaiveDate::from_ymd_opt(2026, 12, 24).unwrap())
        );
        assert!(parse_date("date", "1970-01-01").is_ok());
        assert!(parse_date("date", "9999-12-31").is_ok());
        for bad in [
            "+262143-12-31",
            "+2026-12-24",
            "-2026-12-24",
            "202612-24",
            "12026-12-24",
            "2026-1-24",
            "2026-12-4",
            " 2026-12-24",
            "2026-12-24 ",
            "2026-12-24T00:00",
            "1969-12-31",
            "0000-01-01",
            "2026-02-29",
            "２０２６-12-24",
            "",
        ] {
            let err = parse_date("from", bad).unwrap_err();
            assert_eq!(err.field, "from", "{bad}");
        }
        let long = "9".repeat(10_000);
        let err = parse_date("to", &long).unwrap_err();
        assert!(err.error.len() < 120, "a long input is not echoed whole");
    }

    #[test]
    fn the_default_range_end_never_passes_the_last_day() {
        assert_eq!(default_to(MAX_DATE, 28), MAX_DATE);
        let d = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        assert_eq!(
            default_to(d, 28),
            NaiveDate::from_ymd_opt(2026, 1, 28).unwrap()
        );
        assert_eq!(default_to(d, 0), d);
    }

    #[test]
    fn ranges_are_bounded() {
        let d = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert!(check_range(d("2026-01-01"), d("2026-01-31")).is_ok());
        assert!(check_range(d("2026-02-01"), d("2026-01-31")).is_err());
        assert!(check_range(d("2026-01-01"), d("2027-06-01")).is_err());
    }
}
