//! Proof that nothing was lost: every acknowledged write is read back from every db node
//! directly (over SSH, through the node's own socket, with `wsrep_sync_wait`), and the run's
//! rows are removed afterwards. The SQL and the comparison are pure.

use chrono::NaiveDate;
use std::collections::{BTreeMap, HashMap};

/// SQL that lists the rows a run wrote, as `YYYY-MM-DD<TAB>name` lines.
pub fn rows_sql(database: &str, run: &str) -> String {
    format!(
        "SET SESSION wsrep_sync_wait = 1;\nSELECT DATE_FORMAT(day, '%Y-%m-%d'), name FROM `{database}`.roster_entries WHERE name LIKE '{run}-%';\n"
    )
}

/// SQL that removes a run's rows (Galera replicates it to every node).
pub fn cleanup_sql(database: &str, run: &str) -> String {
    format!("DELETE FROM `{database}`.roster_entries WHERE name LIKE '{run}-%';\n")
}

/// Parse `mariadb -N -B` output of [`rows_sql`].
pub fn parse_rows(output: &str) -> HashMap<NaiveDate, String> {
    output
        .lines()
        .filter_map(|line| {
            let (day, name) = line.split_once('\t')?;
            Some((day.parse().ok()?, name.to_string()))
        })
        .collect()
}

/// The acknowledged writes a node does not have as acknowledged, as `day (what it has)`.
pub fn missing(
    acked: &BTreeMap<NaiveDate, String>,
    on_node: &HashMap<NaiveDate, String>,
) -> Vec<String> {
    acked
        .iter()
        .filter_map(|(day, name)| match on_node.get(day) {
            Some(found) if found == name => None,
            Some(found) => Some(format!("{day} (has {found:?}, acknowledged {name:?})")),
            None => Some(format!("{day} (absent)")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn a_row_deleted_or_changed_behind_our_back_is_missing() {
        let acked: BTreeMap<NaiveDate, String> = [
            (day("2400-01-01"), "drill-a-0".to_string()),
            (day("2400-01-02"), "drill-a-1".to_string()),
            (day("2400-01-03"), "drill-a-2".to_string()),
        ]
        .into();
        let node = parse_rows("2400-01-01\tdrill-a-0\n2400-01-03\tsomeone else\nnot a row\n");
        assert_eq!(
            missing(&acked, &node),
            [
                "2400-01-02 (absent)",
                "2400-01-03 (has \"someone else\", acknowledged \"drill-a-2\")"
            ]
        );
        let whole =
            parse_rows("2400-01-01\tdrill-a-0\n2400-01-02\tdrill-a-1\n2400-01-03\tdrill-a-2\n");
        assert!(missing(&acked, &whole).is_empty());
    }

    #[test]
    fn the_sql_reads_with_sync_wait_and_only_the_runs_rows() {
        let sql = rows_sql("roster", "drill-1a2b");
        assert!(sql.starts_with("SET SESSION wsrep_sync_wait = 1;"));
        assert!(sql.contains("FROM `roster`.roster_entries WHERE name LIKE 'drill-1a2b-%'"));
        assert_eq!(
            cleanup_sql("roster", "drill-1a2b"),
            "DELETE FROM `roster`.roster_entries WHERE name LIKE 'drill-1a2b-%';\n"
        );
    }
}
