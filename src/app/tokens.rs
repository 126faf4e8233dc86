//! API tokens that live in the database: made, listed, revoked and rotated with `firebreak
//! tokens`, and accepted by every serving process through its [`TokenRegistry`]. A secret is
//! `fbk_` and 32 random bytes (base64url); only its SHA-256 digest is stored, so it is shown
//! once, when it is made.

mod registry;

pub use registry::{FLUSH_INTERVAL, RELOAD_INTERVAL, TokenRegistry};

use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest as _, Sha256};

use crate::app::{App, Error, Result, commit};
use crate::domain::{Scopes, ValidationError};
use crate::store::{self, Lock};

/// How every secret begins, so a leaked one is recognisable (secret scanners, logs).
pub const SECRET_PREFIX: &str = "fbk_";
/// How long a rotated token's old secret stays valid unless told otherwise.
pub const DEFAULT_GRACE: Duration = Duration::hours(24);
/// The longest grace a rotation may give the old secret: a longer overlap defeats rotating.
pub const MAX_GRACE: Duration = Duration::days(30);
/// The longest token name.
const NAME_MAX: usize = 64;
/// Random bytes in a secret: 256 bits, beyond guessing.
const SECRET_BYTES: usize = 32;

/// A token as people see it: never its secret or digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    /// Its name: the principal recorded on its writes.
    pub name: String,
    /// What it may do.
    pub scopes: Scopes,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// Who made it.
    pub created_by: String,
    /// When it stops being accepted (`None`: until revoked).
    pub expires_at: Option<DateTime<Utc>>,
    /// When a serving process last accepted it (recorded up to 30 s late).
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Until when its secret from before the last rotation is still accepted.
    pub previous_valid_until: Option<DateTime<Utc>>,
}

/// Where a token stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenState {
    /// Accepted.
    Live,
    /// Accepted, and so is its secret from before the last rotation, until the grace ends.
    Rotating,
    /// Past its expiry: refused (revoke it to free the name).
    Expired,
    /// Revoked: refused, kept for the record.
    Revoked,
}

impl TokenState {
    /// The state's name, as `firebreak tokens list` shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenState::Live => "live",
            TokenState::Rotating => "rotating",
            TokenState::Expired => "expired",
            TokenState::Revoked => "revoked",
        }
    }
}

impl std::fmt::Display for TokenState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TokenInfo {
    /// Where the token stands at `now`.
    pub fn state(&self, now: DateTime<Utc>) -> TokenState {
        if self.revoked_at.is_some() {
            TokenState::Revoked
        } else if self.expires_at.is_some_and(|at| at <= now) {
            TokenState::Expired
        } else if self.previous_valid_until.is_some_and(|until| until > now) {
            TokenState::Rotating
        } else {
            TokenState::Live
        }
    }
}

impl From<store::tokens::Token> for TokenInfo {
    fn from(token: store::tokens::Token) -> Self {
        TokenInfo {
            name: token.name,
            scopes: token.scopes,
            created_at: token.created_at,
            created_by: token.created_by,
            expires_at: token.expires_at,
            last_used_at: token.last_used_at,
            revoked_at: token.revoked_at,
            previous_valid_until: token.previous_valid_until,
        }
    }
}

impl App {
    /// Makes a token called `name` with `scopes`, valid for `expires_in` (`None`: until
    /// revoked). Returns it and its secret, which is not stored and cannot be shown again.
    #[tracing::instrument(skip_all, fields(token = %name))]
    pub async fn create_token(
        &self,
        name: &str,
        scopes: Scopes,
        expires_in: Option<Duration>,
        created_by: &str,
    ) -> Result<(TokenInfo, String)> {
        check_name(name)?;
        if scopes == Scopes::NONE {
            return Err(ValidationError::new(
                "scopes",
                format!("name at least one scope: {}", Scopes::ALL),
            )
            .into());
        }
        let now = Utc::now();
        let expires_at = expires_in.map(|after| expiry(now, after)).transpose()?;
        let secret = new_secret()?;
        let new = store::tokens::NewToken {
            name,
            scopes,
            secret_digest: &digest(&secret),
            created_by,
            created_at: now,
            expires_at,
        };
        let mut conn = self.autocommit().await?;
        match store::tokens::insert(&mut conn, new).await {
            Ok(token) => {
                conn.commit().await?;
                Ok((token.into(), secret))
            }
            Err(store::Error::Conflict { constraint })
                if constraint == store::tokens::LIVE_NAME_INDEX =>
            {
                Err(Error::Conflict(format!(
                    "a token called `{name}` already exists; revoke it first (`firebreak tokens \
                     revoke {name}`) to make a new one, or give it a new secret with `firebreak \
                     tokens rotate {name}`"
                )))
            }
            Err(err) => Err(err.into()),
        }
    }

    /// Every token, revoked ones only when `include_revoked`.
    pub async fn list_tokens(&self, include_revoked: bool) -> Result<Vec<TokenInfo>> {
        let mut conn = self.autocommit().await?;
        let tokens = store::tokens::list(&mut conn, include_revoked).await?;
        Ok(tokens.into_iter().map(TokenInfo::from).collect())
    }

    /// Revokes the token called `name`: every serving process refuses it within about a
    /// second. Its row stays, for the record.
    #[tracing::instrument(skip_all, fields(token = %name))]
    pub async fn revoke_token(&self, name: &str) -> Result<TokenInfo> {
        let mut conn = self.autocommit().await?;
        let revoked = store::tokens::revoke(&mut conn, name, Utc::now()).await?;
        conn.commit().await?;
        revoked.map(TokenInfo::from).ok_or_else(|| not_found(name))
    }

    /// Gives the token called `name` a new secret (returned, shown once). Its old secret is
    /// still accepted for `grace` (zero: refused at once), so clients can move over; a secret
    /// from an earlier rotation still in its grace is refused at once.
    #[tracing::instrument(skip_all, fields(token = %name))]
    pub async fn rotate_token(&self, name: &str, grace: Duration) -> Result<(TokenInfo, String)> {
        if grace < Duration::zero() || grace > MAX_GRACE {
            return Err(ValidationError::new(
                "grace",
                format!(
                    "must be between 0 (refuse the old secret at once) and {} days",
                    MAX_GRACE.num_days()
                ),
            )
            .into());
        }
        let now = Utc::now();
        let secret = new_secret()?;
        let previous_valid_until = (grace > Duration::zero()).then(|| now + grace);
        let mut tx = self.begin().await?;
        let token = store::tokens::live_by_name(&mut tx, name, Lock::ForUpdate)
            .await?
            .ok_or_else(|| not_found(name))?;
        if let Some(at) = token.expires_at.filter(|at| *at <= now) {
            return Err(Error::Conflict(format!(
                "token `{name}` expired at {}; a new secret would not revive it: revoke it \
                 (`firebreak tokens revoke {name}`) and create a new one",
                at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )));
        }
        let rotated =
            store::tokens::rotate(&mut tx, name, &digest(&secret), previous_valid_until).await?;
        commit(tx).await?;
        let rotated = rotated.ok_or_else(|| not_found(name))?;
        Ok((rotated.into(), secret))
    }
}

fn not_found(name: &str) -> Error {
    Error::TokenNotFound(format!(
        "no live token is called `{name}`; `firebreak tokens list` shows their names"
    ))
}

/// Checks a token name: 1–64 characters of `a-z 0-9 . _ -`, starting with a letter or digit
/// (the database checks the same).
fn check_name(name: &str) -> std::result::Result<(), ValidationError> {
    let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let well_formed = name.bytes().next().is_some_and(allowed)
        && name.len() <= NAME_MAX
        && name
            .bytes()
            .all(|b| allowed(b) || matches!(b, b'.' | b'_' | b'-'));
    if well_formed {
        return Ok(());
    }
    let shown: String = name.chars().take(NAME_MAX + 1).collect();
    Err(ValidationError::new(
        "name",
        format!(
            "must be 1–{NAME_MAX} characters of a-z, 0-9, `.`, `_` and `-`, starting with a letter \
             or digit (e.g. `ci-bot`), not {shown:?}"
        ),
    ))
}

/// When a token made at `now` and valid for `after` expires.
fn expiry(
    now: DateTime<Utc>,
    after: Duration,
) -> std::result::Result<DateTime<Utc>, ValidationError> {
    if after <= Duration::zero() {
        return Err(ValidationError::new(
            "expires",
            "must be longer than zero (e.g. 90d)",
        ));
    }
    now.checked_add_signed(after)
        .ok_or_else(|| ValidationError::new("expires", "is too far in the future (e.g. 90d)"))
}

/// A new secret: the prefix and 32 bytes from the operating system's random source.
fn new_secret() -> Result<String> {
    let mut bytes = [0u8; SECRET_BYTES];
    getrandom::fill(&mut bytes).map_err(|err| {
        Error::Upstream(format!(
            "the operating system's random source failed ({err}); retry"
        ))
    })?;
    Ok(secret_from(&bytes))
}

fn secret_from(bytes: &[u8]) -> String {
    let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    format!("{SECRET_PREFIX}{encoded}")
}

/// The SHA-256 digest of a secret, as stored and looked up.
fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_short_lowercase_words() {
        for good in ["ci-bot", "a", "0", "pager.duty_2", &"x".repeat(64)] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "-bot",
            ".x",
            "CI",
            "ci bot",
            "ci/bot",
            "é",
            &"x".repeat(65),
        ] {
            let err = check_name(bad).unwrap_err();
            assert_eq!(err.field, "name", "{bad}");
            assert!(err.reason.contains("1–64"), "{}", err.reason);
        }
    }

    #[test]
    fn secrets_carry_the_prefix_and_256_random_bits() {
        let secret = new_secret().unwrap();
        assert!(secret.starts_with(SECRET_PREFIX), "{secret}");
        assert_eq!(secret.len(), SECRET_PREFIX.len() + 43, "{secret}");
        assert!(
            secret[SECRET_PREFIX.len()..]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "{secret}"
        );
        assert_ne!(secret, new_secret().unwrap());
        assert_eq!(secret_from(&[0xff; 3]), "fbk_____");
    }

    #[test]
    fn the_digest_is_sha256_of_the_whole_secret() {
        let expected: [u8; 32] = Sha256::digest(b"fbk_abc").into();
        assert_eq!(digest("fbk_abc"), expected);
        assert_ne!(digest("fbk_abc"), digest("fbk_abd"));
    }

    #[test]
    fn an_expiry_must_lie_ahead() {
        let now = Utc::now();
        assert_eq!(
            expiry(now, Duration::days(90)).unwrap(),
            now + Duration::days(90)
        );
        assert_eq!(expiry(now, Duration::zero()).unwrap_err().field, "expires");
        assert_eq!(expiry(now, Duration::MAX).unwrap_err().field, "expires");
    }

    #[test]
    fn a_token_is_revoked_before_expired_before_rotating() {
        let now = Utc::now();
        let mut token = TokenInfo {
            name: "ci".into(),
            scopes: Scopes::ALL,
            created_at: now,
            created_by: "ops".into(),
            expires_at: None,
            last_used_at: None,
            revoked_at: None,
            previous_valid_until: None,
        };
        assert_eq!(token.state(now), TokenState::Live);
        token.previous_valid_until = Some(now + Duration::hours(1));
        assert_eq!(token.state(now), TokenState::Rotating);
        assert_eq!(token.state(now + Duration::hours(2)), TokenState::Live);
        token.expires_at = Some(now);
        assert_eq!(token.state(now), TokenState::Expired);
        token.revoked_at = Some(now);
        assert_eq!(token.state(now).to_string(), "revoked");
    }
}
