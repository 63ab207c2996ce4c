//! State words as enums: what a daemon prints about its state (systemd's `ActiveState`,
//! MariaDB's `wsrep_cluster_status`, ...) is parsed once, where it is read, compared as a
//! variant everywhere else, and printed back as the very word the daemon used.

/// Define an enum of the words a daemon is known to print, plus `Other(String)` for any word
/// it may print that minicloud does not know (a newer release, a rare state): parsing never
/// fails and never loses the word.
///
/// Each `Variant = "word"` line maps one word; the enum gets `from_word` (and
/// `From<&str>`), `as_str`, `Display` and `Serialize`, which print the word as the daemon
/// printed it (so JSON and tables read as before). Words are matched exactly, case included:
/// they are a program's output, not a person's.
macro_rules! word_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$variant_meta:meta])* $variant:ident = $word:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$variant_meta])* $variant, )*
            /// A word minicloud does not know, kept as it was printed (never one of the words
            /// above: `from_word` maps those to their variants).
            Other(String),
        }

        impl $name {
            /// Every known variant, in declaration order.
            pub const KNOWN: &'static [$name] = &[$($name::$variant),*];

            /// Read a word as the daemon prints it; an unknown one becomes `Other`.
            pub fn from_word(word: &str) -> $name {
                match word {
                    $( $word => $name::$variant, )*
                    other => $name::Other(other.to_string()),
                }
            }

            /// The word as the daemon prints it.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $word, )*
                    $name::Other(word) => word,
                }
            }
        }

        impl From<&str> for $name {
            fn from(word: &str) -> $name {
                $name::from_word(word)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }
    };
}

pub(crate) use word_enum;

#[cfg(test)]
mod tests {
    word_enum! {
        /// A test enum.
        pub enum Light {
            /// Go.
            Green = "green",
            /// Stop.
            Red = "red",
            /// No light at all.
            Off = "",
        }
    }

    #[test]
    fn known_words_become_variants_and_others_are_kept() {
        assert_eq!(Light::from_word("green"), Light::Green);
        assert_eq!(Light::from(""), Light::Off);
        assert_eq!(Light::from_word("Green"), Light::Other("Green".into()));
        assert_eq!(Light::Other("amber".into()).to_string(), "amber");
        assert_eq!(Light::Red.as_str(), "red");
        assert_eq!(
            serde_json::to_value([Light::Green, Light::Off]).unwrap(),
            serde_json::json!(["green", ""])
        );
        assert_eq!(Light::KNOWN, [Light::Green, Light::Red, Light::Off]);
    }
}
