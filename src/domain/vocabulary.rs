//! Closed vocabularies (severities, statuses, roles, kinds …), each defined once by
//! the `vocabulary!` macro: the enum, `ALL`, the canonical spelling (`as_str`, `Display`), an exact
//! `FromStr` for stored values, serde through the canonical spelling, and a lenient parse for
//! what callers send ([`Vocabulary::parse_loose`]): any case, spaces, `-` or `_` between the
//! parts (`sev2`, `SEV-2`, `Sev 2` are `SEV2`), and the aliases people use (`mitigated` for
//! `monitoring`).

/// What every closed vocabulary offers beyond its own methods.
pub trait Vocabulary: Copy + Sized + 'static {
    /// What a value is called in messages, e.g. `severity`.
    const WHAT: &'static str;

    /// Every value, in the vocabulary's order.
    fn all() -> &'static [Self];

    /// The canonical spelling.
    fn canonical(self) -> &'static str;

    /// Other spellings accepted from callers.
    fn aliases(self) -> &'static [&'static str];

    /// The value `text` names, however it is cased or separated, or by an alias.
    fn parse_loose(text: &str) -> Option<Self> {
        let wanted = fold(text);
        Self::all().iter().copied().find(|value| {
            fold(value.canonical()) == wanted || value.aliases().iter().any(|a| fold(a) == wanted)
        })
    }

    /// The refusal for a spelling that names nothing, listing what is allowed.
    fn unknown(text: &str) -> String {
        let allowed: Vec<String> = Self::all()
            .iter()
            .map(|v| format!("`{}`", v.canonical()))
            .collect();
        format!(
            "unknown {} `{text}`: use one of {}",
            Self::WHAT,
            allowed.join(", ")
        )
    }
}

/// Lowercase letters and digits only: how spellings are compared.
fn fold(text: &str) -> String {
    text.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Defines a closed vocabulary; see the module documentation.
///
/// ```text
/// vocabulary! {
///     /// Where an action item stands.
///     pub enum ActionItemStatus ("action item status") {
///         /// Not started.
///         Open = "open",
///         /// Finished.
///         Done = "done" | "completed",
///     }
/// }
/// ```
macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident ($what:literal) {
            $(
                $(#[$variant_meta:meta])*
                $variant:ident = $spelling:literal $(| $alias:literal)*
            ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name {
            $( $(#[$variant_meta])* $variant ),+
        }

        impl $name {
            /// Every value, in order.
            $vis const ALL: [$name; [$(stringify!($variant)),+].len()] = [$($name::$variant),+];

            /// The canonical spelling, as stored and sent.
            $vis fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $spelling),+
                }
            }
        }

        impl $crate::domain::vocabulary::Vocabulary for $name {
            const WHAT: &'static str = $what;

            fn all() -> &'static [Self] {
                &$name::ALL
            }

            fn canonical(self) -> &'static str {
                self.as_str()
            }

            fn aliases(self) -> &'static [&'static str] {
                match self {
                    $($name::$variant => &[$($alias),*]),+
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        /// Exact: the canonical spelling only (how values are stored).
        impl ::std::str::FromStr for $name {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $name::ALL
                    .into_iter()
                    .find(|value| value.as_str() == s)
                    .ok_or_else(|| {
                        <$name as $crate::domain::vocabulary::Vocabulary>::unknown(s)
                    })
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <::std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                text.parse().map_err(::serde::de::Error::custom)
            }
        }
    };
}

pub(crate) use vocabulary;

#[cfg(test)]
mod tests {
    use super::*;

    vocabulary! {
        /// A test vocabulary.
        pub(super) enum Colour ("colour") {
            /// Red.
            Red = "red",
            /// Dark blue.
            DarkBlue = "dark_blue" | "navy",
        }
    }

    #[test]
    fn loose_parsing_ignores_case_and_separators_and_knows_aliases() {
        for text in ["dark_blue", "Dark Blue", "DARK-BLUE", "darkblue", "Navy"] {
            assert_eq!(Colour::parse_loose(text), Some(Colour::DarkBlue), "{text}");
        }
        assert_eq!(Colour::parse_loose("green"), None);
        assert_eq!(
            Colour::unknown("green"),
            "unknown colour `green`: use one of `red`, `dark_blue`"
        );
    }

    #[test]
    fn exact_parsing_and_serde_use_the_canonical_spelling() {
        assert_eq!("dark_blue".parse::<Colour>(), Ok(Colour::DarkBlue));
        assert!("Dark Blue".parse::<Colour>().is_err());
        assert_eq!(Colour::ALL, [Colour::Red, Colour::DarkBlue]);
        assert_eq!(Colour::DarkBlue.to_string(), "dark_blue");
    }
}
