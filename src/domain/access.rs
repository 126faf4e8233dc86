//! Who may do what: the scopes a credential carries, how it was presented, and the grant a
//! request runs under. Scopes are few and coarse: reading, writing incidents, administration.
//!
//! `incidents:write` implies `incidents:read` (a responder who writes must read); `admin`
//! (tokens, the audit trail) implies neither, so an auditor's token cannot touch incidents.

use std::fmt;

use crate::domain::vocabulary::{Vocabulary, vocabulary};

vocabulary! {
    /// One permission a credential may carry.
    pub enum Scope ("scope") {
        /// Read incidents, runbooks, postmortems, metrics: every read tool, resource and prompt.
        IncidentsRead = "incidents:read",
        /// Declare, update, change status, add timeline entries, assign roles, record runbook
        /// steps, action items, postmortems, stakeholder updates.
        IncidentsWrite = "incidents:write",
        /// Manage tokens and read the audit trail.
        Admin = "admin",
    }
}

/// A set of scopes (a bit per [`Scope`]), with `incidents:write` implying `incidents:read`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Scopes(u8);

impl Scopes {
    /// No scope at all.
    pub const NONE: Scopes = Scopes(0);
    /// Every scope (the default for a credential that names none, as before scopes existed).
    pub const ALL: Scopes = Scopes(0b111);

    fn bit(scope: Scope) -> u8 {
        match scope {
            Scope::IncidentsRead => 0b001,
            Scope::IncidentsWrite => 0b011, // write carries read
            Scope::Admin => 0b100,
        }
    }

    /// The set holding `scopes` (and what they imply).
    pub fn of(scopes: &[Scope]) -> Scopes {
        Scopes(scopes.iter().fold(0, |bits, s| bits | Self::bit(*s)))
    }

    /// Parses scope names separated by spaces, commas or `+` (`incidents:read admin`). Each
    /// name must be known; the error names it and lists the allowed ones.
    pub fn parse(text: &str) -> Result<Scopes, String> {
        let mut scopes = Vec::new();
        for name in text
            .split(|c: char| c.is_whitespace() || c == ',' || c == '+')
            .filter(|n| !n.is_empty())
        {
            match name.parse::<Scope>() {
                Ok(scope) => scopes.push(scope),
                Err(_) => return Err(Scope::unknown(name)),
            }
        }
        if scopes.is_empty() {
            return Err(format!("name at least one scope: {}", Self::ALL));
        }
        Ok(Scopes::of(&scopes))
    }

    /// True when this set grants `scope`.
    pub fn allows(self, scope: Scope) -> bool {
        let bit = match scope {
            Scope::IncidentsWrite => 0b010,
            other => Self::bit(other),
        };
        self.0 & bit == bit
    }

    /// What both sets grant.
    pub fn intersect(self, other: Scopes) -> Scopes {
        Scopes(self.0 & other.0)
    }

    /// This set without any write: what `--read-only` leaves (reading incidents and the audit
    /// trail).
    pub fn read_only(self) -> Scopes {
        Scopes(self.0 & !0b010)
    }

    /// The scopes held, canonical names, strongest first within incidents.
    pub fn names(self) -> Vec<&'static str> {
        let mut names = Vec::new();
        if self.allows(Scope::IncidentsWrite) {
            names.push(Scope::IncidentsWrite.as_str());
        } else if self.allows(Scope::IncidentsRead) {
            names.push(Scope::IncidentsRead.as_str());
        }
        if self.allows(Scope::Admin) {
            names.push(Scope::Admin.as_str());
        }
        names
    }

    /// Every scope held, implied ones included, as stored and compared (`incidents:read
    /// incidents:write`).
    pub fn expanded(self) -> Vec<Scope> {
        Scope::ALL
            .iter()
            .copied()
            .filter(|s| self.allows(*s))
            .collect()
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = self.names();
        if names.is_empty() {
            return f.write_str("no scope");
        }
        f.write_str(&names.join(" "))
    }
}

impl fmt::Debug for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scopes({self})")
    }
}

vocabulary! {
    /// How the caller proved who it is.
    pub enum AuthMethod ("authentication method") {
        /// A token from `FIREBREAK_TOKENS` or `--tokens-file`.
        StaticToken = "static_token",
        /// A token made with `firebreak tokens create`.
        DatabaseToken = "database_token",
        /// An OAuth 2.1 access token (a JWT from the identity provider).
        OAuth = "oauth",
        /// The local user of stdio or the command line, trusted by the operating system.
        Local = "local",
        /// No authentication: an HTTP server on loopback without tokens.
        Anonymous = "anonymous",
        /// An ingestion source's own secret or signature.
        SourceSecret = "source_secret",
    }
}

/// What a request may do and on whose behalf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// Who: a token's name, a JWT's principal claim, the local user.
    pub principal: String,
    /// What it may do (already narrowed by `--read-only`).
    pub scopes: Scopes,
    /// How it authenticated.
    pub method: AuthMethod,
}

impl Grant {
    /// A grant narrowed to reads when `read_only` is set.
    pub fn limited(mut self, read_only: bool) -> Grant {
        if read_only {
            self.scopes = self.scopes.read_only();
        }
        self
    }

    /// `Ok` when the grant holds `scope`; otherwise the refusal, naming the scope missing and
    /// the ones held.
    pub fn require(&self, scope: Scope, what: &str) -> Result<(), MissingScope> {
        if self.scopes.allows(scope) {
            return Ok(());
        }
        Err(MissingScope {
            needed: scope,
            held: self.scopes,
            what: what.to_owned(),
        })
    }
}

/// A call refused for want of a scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingScope {
    /// The scope the call needs.
    pub needed: Scope,
    /// The scopes the caller holds.
    pub held: Scopes,
    /// What was asked for, e.g. `` tool `declare_incident` ``.
    pub what: String,
}

impl fmt::Display for MissingScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} needs scope `{}`; this credential has {}. Ask an administrator for a token with `{}` \
             (or, if this server runs --read-only, use a server that accepts writes)",
            self.what, self.needed, self.held, self.needed
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_implies_read_and_admin_stands_alone() {
        let write = Scopes::of(&[Scope::IncidentsWrite]);
        assert!(write.allows(Scope::IncidentsRead));
        assert!(!write.allows(Scope::Admin));
        let admin = Scopes::of(&[Scope::Admin]);
        assert!(!admin.allows(Scope::IncidentsRead));
        assert!(!Scopes::of(&[Scope::IncidentsRead]).allows(Scope::IncidentsWrite));
    }

    #[test]
    fn read_only_removes_writes_only() {
        let narrowed = Scopes::ALL.read_only();
        assert!(narrowed.allows(Scope::IncidentsRead));
        assert!(narrowed.allows(Scope::Admin));
        assert!(!narrowed.allows(Scope::IncidentsWrite));
    }

    #[test]
    fn scopes_parse_in_any_separator_and_name_unknown_ones() {
        assert_eq!(
            Scopes::parse("incidents:read+admin").unwrap(),
            Scopes::of(&[Scope::IncidentsRead, Scope::Admin])
        );
        assert_eq!(
            Scopes::parse("incidents:write, admin").unwrap(),
            Scopes::ALL
        );
        let err = Scopes::parse("incidents:read root").unwrap_err();
        assert!(
            err.contains("`root`") && err.contains("incidents:write"),
            "{err}"
        );
        assert!(Scopes::parse("  ").is_err());
    }

    #[test]
    fn a_refusal_names_the_scope_missing() {
        let grant = Grant {
            principal: "reader".into(),
            scopes: Scopes::of(&[Scope::IncidentsRead]),
            method: AuthMethod::DatabaseToken,
        };
        let refusal = grant
            .require(Scope::IncidentsWrite, "tool `declare_incident`")
            .unwrap_err();
        let text = refusal.to_string();
        assert!(
            text.contains("`incidents:write`") && text.contains("incidents:read"),
            "{text}"
        );
    }
}
