//! Commands for a remote shell, built as argument lists and quoted in one place.
//!
//! Everything minicloud runs on a host goes through `sh -c` (SSH gives a command line, and a
//! non-root user needs `sudo -n sh -c`). A value that reaches such a line must never be able to
//! end its word: [`Argv`] holds a program and its arguments as data and renders each word
//! quoted, so an inventory value, however hostile, stays one argument. The fixed glue around
//! commands (`2>/dev/null`, `;`, `echo`) is written by the callers as literals, never with values.

use std::fmt;

/// Quote `text` as one shell word: single quotes, with each `'` written as `'\''`.
pub fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// A word that needs no quotes: nothing a shell treats specially (kept bare so that logs and
/// plans stay readable).
fn is_bare(word: &str) -> bool {
    !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./:=@%+,-".contains(c))
}

/// A program and its arguments, rendered for `sh -c` with every word quoted as needed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Argv(Vec<String>);

impl Argv {
    /// Start a command with its program.
    pub fn new(program: impl Into<String>) -> Argv {
        Argv(vec![program.into()])
    }

    /// Add one argument.
    pub fn arg(mut self, arg: impl Into<String>) -> Argv {
        self.0.push(arg.into());
        self
    }

    /// Add several arguments.
    pub fn args<I, S>(mut self, args: I) -> Argv
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.0.extend(args.into_iter().map(Into::into));
        self
    }

    /// The words as given, unquoted.
    pub fn words(&self) -> &[String] {
        &self.0
    }
}

impl fmt::Display for Argv {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        for (index, word) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str(" ")?;
            }
            if is_bare(word) {
                f.write_str(word)?;
            } else {
                f.write_str(&quote(word))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Run `printf '%s\0' WORDS` through a real `sh -c` and read the words back.
    fn through_sh(argv: &Argv) -> Vec<String> {
        let line = format!("printf '%s\\0' {}", Argv(argv.0[1..].to_vec()));
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&line)
            .output()
            .unwrap();
        assert!(out.status.success(), "{line}: {out:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        text.split_terminator('\0').map(str::to_string).collect()
    }

    #[test]
    fn plain_words_stay_bare_and_others_are_quoted() {
        let argv = Argv::new("asinfo")
            .args(["-h", "10.0.2.41", "-v"])
            .arg("namespace/roster;touch${IFS}/tmp/x;#");
        assert_eq!(
            argv.to_string(),
            "asinfo -h 10.0.2.41 -v 'namespace/roster;touch${IFS}/tmp/x;#'"
        );
        assert_eq!(
            Argv::new("echo").arg("").arg("it's").to_string(),
            r"echo '' 'it'\''s'"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Whatever the words hold (quotes, `$(...)`, newlines, globs, unicode), the shell sees
        /// exactly those words: nothing is run, split, expanded or joined.
        #[test]
        fn every_word_reaches_the_program_unchanged(
            words in proptest::collection::vec("[^\0]{0,24}", 1..6)
        ) {
            let argv = Argv::new("printf").args(words.clone());
            prop_assert_eq!(through_sh(&argv), words);
        }
    }
}
