//! The JSON body the roster answers every failed request with.

use crate::model::Entry;
use serde::{Deserialize, Serialize};

/// `{"error": "...", "field": "...", "existing": {...}}`: what went wrong in words, the input
/// that broke a rule (422 only), and the entry already there (409 only). Fields that do not
/// apply are left out of the JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong, for a person to read.
    pub error: String,
    /// With 422: the input that broke a rule (`date`, `from`, `to`, `query`, `name`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// With 409: the entry the day already has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub existing: Option<Entry>,
}

impl ErrorBody {
    /// A body with only the message.
    pub fn new(error: impl Into<String>) -> ErrorBody {
        ErrorBody {
            error: error.into(),
            field: None,
            existing: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn fields_that_do_not_apply_are_left_out() {
        assert_eq!(
            serde_json::to_string(&ErrorBody::new("no such endpoint")).unwrap(),
            r#"{"error":"no such endpoint"}"#
        );
        let conflict = ErrorBody {
            existing: Some(Entry {
                date: NaiveDate::from_ymd_opt(2026, 12, 24).unwrap(),
                name: "Ada".into(),
                team: None,
                contact: None,
                note: None,
            }),
            ..ErrorBody::new("taken")
        };
        let text = serde_json::to_string(&conflict).unwrap();
        assert_eq!(
            text,
            r#"{"error":"taken","existing":{"date":"2026-12-24","name":"Ada","team":null,"contact":null,"note":null}}"#
        );
        assert_eq!(serde_json::from_str::<ErrorBody>(&text).unwrap(), conflict);
    }
}
