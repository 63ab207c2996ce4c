//! Bounds on a YAML file before it is parsed: its size and how deeply it nests.
//!
//! The YAML parser takes time that grows with the square of the nesting depth of flow
//! collections (`[[[[...]]]]`: 40,000 levels in 80 KB took 9 s), and nothing bounded the size
//! of an inventory or a secrets file. Real files are a few KB and a handful of levels deep, so
//! both are refused at once, before the parser sees them, with where the limit was passed.

use std::io::Read;
use std::path::Path;

/// Largest inventory or secrets file read: real ones are a few KB.
pub const MAX_BYTES: u64 = 1024 * 1024;

/// Deepest nesting accepted (block indentation levels plus flow brackets); an inventory needs
/// about five.
pub const MAX_DEPTH: usize = 32;

/// Where a file first nests deeper than [`MAX_DEPTH`] (1-based, like the parser's positions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooDeep {
    pub line: usize,
    pub column: usize,
}

/// Read a text file of at most [`MAX_BYTES`]; a larger one (or a device that never ends) is
/// refused without reading it all.
pub fn read_text(path: &Path) -> std::io::Result<String> {
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(MAX_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(std::io::Error::other(format!(
            "larger than {} KiB, the most an inventory or secrets file may be",
            MAX_BYTES / 1024
        )));
    }
    String::from_utf8(bytes)
        .map_err(|_| std::io::Error::other("not UTF-8 text (YAML files are UTF-8)"))
}

/// Check that `text` nests at most [`MAX_DEPTH`] levels. A scan of the text, not a parse: it
/// counts block indentation levels, `- ` sequence markers that open a nested list on one line,
/// and flow brackets outside quotes and comments. It can over-count odd files by a level or two,
/// far below the limit.
pub fn check_nesting(text: &str) -> Result<(), TooDeep> {
    let mut indents: Vec<usize> = Vec::new();
    let mut flow = 0usize;
    let mut quote: Option<char> = None;
    for (line_index, line) in text.lines().enumerate() {
        let too_deep = |column: usize| TooDeep {
            line: line_index + 1,
            column: column + 1,
        };
        let content = line.trim_start_matches(' ');
        let indent = line.len() - content.len();
        let mut block = indents.len();
        if flow == 0 && quote.is_none() && !content.is_empty() && !content.starts_with('#') {
            while indents.last().is_some_and(|&top| top > indent) {
                indents.pop();
            }
            if indents.last().is_none_or(|&top| top < indent) {
                indents.push(indent);
            }
            // `- - - x` opens a list inside a list on one line.
            let mut rest = content;
            let mut dashes = 0usize;
            while let Some(after) = rest.strip_prefix("- ") {
                dashes += 1;
                rest = after.trim_start_matches(' ');
            }
            block = indents.len() + dashes.saturating_sub(1);
            if block > MAX_DEPTH {
                return Err(too_deep(indent));
            }
        }
        let mut previous = ' ';
        for (column, c) in line.char_indices() {
            match quote {
                Some(open) => {
                    if c == open {
                        quote = None;
                    }
                }
                None => match c {
                    '#' if previous == ' ' || previous == '\t' => break,
                    '"' | '\'' if "[{,: \t".contains(previous) => quote = Some(c),
                    '[' | '{' => {
                        flow += 1;
                        if block + flow > MAX_DEPTH {
                            return Err(too_deep(column));
                        }
                    }
                    ']' | '}' => flow = flow.saturating_sub(1),
                    _ => {}
                },
            }
            previous = c;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_inventories_pass() {
        for file in [
            "inventory/example.yml",
            "examples/default.yml",
            "examples/mini-cloud.yml",
            "examples/oncall-roster.yml",
        ] {
            let text = std::fs::read_to_string(file).unwrap();
            assert_eq!(check_nesting(&text), Ok(()), "{file}");
        }
    }

    #[test]
    fn deep_flow_nesting_is_refused_where_it_passes_the_limit() {
        let text = format!("name: {}1{}\n", "[".repeat(40_000), "]".repeat(40_000));
        let started = std::time::Instant::now();
        assert_eq!(
            check_nesting(&text),
            Err(TooDeep {
                line: 1,
                column: 6 + MAX_DEPTH
            })
        );
        // The scan is linear: 80 KB take microseconds, where the parser took seconds.
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        let text = format!(
            "a: {}1{}\n",
            "[".repeat(MAX_DEPTH - 1),
            "]".repeat(MAX_DEPTH - 1)
        );
        assert_eq!(check_nesting(&text), Ok(()));
    }

    #[test]
    fn deep_block_nesting_and_dash_chains_are_refused() {
        let mut text = String::new();
        for level in 0..40 {
            text.push_str(&format!("{}k{level}:\n", "  ".repeat(level)));
        }
        assert_eq!(check_nesting(&text).unwrap_err().line, MAX_DEPTH + 1);
        let dashes = format!("a:\n  {}x\n", "- ".repeat(40));
        assert_eq!(check_nesting(&dashes).unwrap_err().line, 2);
    }

    #[test]
    fn brackets_in_quotes_and_comments_do_not_count() {
        let text = format!(
            "a: '{}'\nb: \"{}\" # {}\n",
            "[".repeat(100),
            "{".repeat(100),
            "[".repeat(100)
        );
        assert_eq!(check_nesting(&text), Ok(()));
    }

    #[test]
    fn large_files_are_refused_unread() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.yml");
        std::fs::write(&big, vec![b'#'; MAX_BYTES as usize + 1]).unwrap();
        let err = read_text(&big).unwrap_err().to_string();
        assert!(err.contains("larger than 1024 KiB"), "{err}");
        let fine = dir.path().join("fine.yml");
        std::fs::write(&fine, "name: a\n").unwrap();
        assert_eq!(read_text(&fine).unwrap(), "name: a\n");
    }
}
