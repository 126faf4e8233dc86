//! SQL for the `api_token` table: tokens made with `firebreak tokens create`, kept as digests of
//! their secrets. Every change but a recorded use notifies [`CHANNEL`] (a statement trigger), so
//! serving processes reload their cache.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgConnection};

use crate::domain::{Scope, Scopes};
use crate::store::{Error, Lock, Result};

/// The channel the `api_token` trigger notifies on every change.
pub const CHANNEL: &str = "firebreak_tokens";

/// The unique index that keeps one live token per name.
pub const LIVE_NAME_INDEX: &str = "api_token_live_name";

/// A token to store.
#[derive(Debug, Clone, Copy)]
pub struct NewToken<'a> {
    /// Its name (already checked).
    pub name: &'a str,
    /// What it may do; stored expanded (implied scopes included).
    pub scopes: Scopes,
    /// SHA-256 of its secret.
    pub secret_digest: &'a [u8; 32],
    /// Who made it.
    pub created_by: &'a str,
    /// When.
    pub created_at: DateTime<Utc>,
    /// When it stops being accepted (`None`: until revoked).
    pub expires_at: Option<DateTime<Utc>>,
}

/// A stored token as people see it: everything but its digests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// Its row id.
    pub id: i64,
    /// Its name, the principal it stands for.
    pub name: String,
    /// What it may do.
    pub scopes: Scopes,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// Who made it.
    pub created_by: String,
    /// When it stops being accepted.
    pub expires_at: Option<DateTime<Utc>>,
    /// When a serving process last recorded a use (up to 30 s late).
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Until when the secret it had before its last rotation is still accepted.
    pub previous_valid_until: Option<DateTime<Utc>>,
}

/// A token that may be accepted, with its digests: what serving processes cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveToken {
    /// Its row id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// What it may do.
    pub scopes: Scopes,
    /// SHA-256 of its secret.
    pub secret_digest: [u8; 32],
    /// SHA-256 of the secret before its last rotation, and until when that one is accepted.
    pub previous: Option<([u8; 32], DateTime<Utc>)>,
    /// When it stops being accepted.
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(FromRow)]
struct TokenRow {
    id: i64,
    name: String,
    scopes: Vec<String>,
    created_at: DateTime<Utc>,
    created_by: String,
    expires_at: Option<DateTime<Utc>>,
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
    previous_valid_until: Option<DateTime<Utc>>,
}

impl TryFrom<TokenRow> for Token {
    type Error = Error;

    fn try_from(row: TokenRow) -> Result<Token> {
        Ok(Token {
            id: row.id,
            scopes: scopes(&row.scopes)?,
            name: row.name,
            created_at: row.created_at,
            created_by: row.created_by,
            expires_at: row.expires_at,
            last_used_at: row.last_used_at,
            revoked_at: row.revoked_at,
            previous_valid_until: row.previous_valid_until,
        })
    }
}

#[derive(FromRow)]
struct LiveRow {
    id: i64,
    name: String,
    scopes: Vec<String>,
    secret_digest: Vec<u8>,
    previous_digest: Option<Vec<u8>>,
    previous_valid_until: Option<DateTime<Utc>>,
    expires_at: Option<DateTime<Utc>>,
}

impl TryFrom<LiveRow> for LiveToken {
    type Error = Error;

    fn try_from(row: LiveRow) -> Result<LiveToken> {
        let previous = match (row.previous_digest, row.previous_valid_until) {
            (Some(digest), Some(until)) => Some((digest_of(digest)?, until)),
            _ => None,
        };
        Ok(LiveToken {
            id: row.id,
            scopes: scopes(&row.scopes)?,
            name: row.name,
            secret_digest: digest_of(row.secret_digest)?,
            previous,
            expires_at: row.expires_at,
        })
    }
}

fn scopes(names: &[String]) -> Result<Scopes> {
    let scopes = names
        .iter()
        .map(|name| name.parse::<Scope>().map_err(Error::Corrupt))
        .collect::<Result<Vec<Scope>>>()?;
    Ok(Scopes::of(&scopes))
}

fn digest_of(bytes: Vec<u8>) -> Result<[u8; 32]> {
    <[u8; 32]>::try_from(bytes)
        .map_err(|bytes| Error::Corrupt(format!("a token digest of {} bytes", bytes.len())))
}

fn scope_names(scopes: Scopes) -> Vec<&'static str> {
    scopes.expanded().into_iter().map(Scope::as_str).collect()
}

/// Stores a token. A live token with the same name refuses it with
/// `Conflict { constraint: LIVE_NAME_INDEX }`.
pub async fn insert(conn: &mut PgConnection, new: NewToken<'_>) -> Result<Token> {
    let row: TokenRow = sqlx::query_as(
        "insert into api_token (name, scopes, secret_digest, created_by, created_at, expires_at) \
         values ($1, $2, $3, $4, $5, $6) \
         returning id, name, scopes, created_at, created_by, expires_at, last_used_at, \
           revoked_at, previous_valid_until",
    )
    .bind(new.name)
    .bind(scope_names(new.scopes))
    .bind(new.secret_digest.as_slice())
    .bind(new.created_by)
    .bind(new.created_at)
    .bind(new.expires_at)
    .fetch_one(conn)
    .await?;
    row.try_into()
}

/// Every token by name (newest first within a name), revoked ones only when asked.
pub async fn list(conn: &mut PgConnection, include_revoked: bool) -> Result<Vec<Token>> {
    let rows: Vec<TokenRow> = sqlx::query_as(
        "select id, name, scopes, created_at, created_by, expires_at, last_used_at, \
           revoked_at, previous_valid_until \
         from api_token where $1 or revoked_at is null \
         order by name, created_at desc, id desc",
    )
    .bind(include_revoked)
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(Token::try_from).collect()
}

/// The live (not revoked) token called `name`, if there is one.
pub async fn live_by_name(
    conn: &mut PgConnection,
    name: &str,
    lock: Lock,
) -> Result<Option<Token>> {
    let query = match lock {
        Lock::None => {
            "select id, name, scopes, created_at, created_by, expires_at, last_used_at, \
               revoked_at, previous_valid_until \
             from api_token where name = $1 and revoked_at is null"
        }
        Lock::ForUpdate => {
            "select id, name, scopes, created_at, created_by, expires_at, last_used_at, \
               revoked_at, previous_valid_until \
             from api_token where name = $1 and revoked_at is null for update"
        }
    };
    let row: Option<TokenRow> = sqlx::query_as(query)
        .bind(name)
        .fetch_optional(conn)
        .await?;
    row.map(Token::try_from).transpose()
}

/// Revokes the live token called `name` at `now`; `None` when there is none. Its previous
/// secret (during a rotation's grace) goes with it.
pub async fn revoke(
    conn: &mut PgConnection,
    name: &str,
    now: DateTime<Utc>,
) -> Result<Option<Token>> {
    let row: Option<TokenRow> = sqlx::query_as(
        "update api_token set revoked_at = $2, previous_digest = null, \
           previous_valid_until = null \
         where name = $1 and revoked_at is null \
         returning id, name, scopes, created_at, created_by, expires_at, last_used_at, \
           revoked_at, previous_valid_until",
    )
    .bind(name)
    .bind(now)
    .fetch_optional(conn)
    .await?;
    row.map(Token::try_from).transpose()
}

/// Gives the live token called `name` a new secret digest; the current one becomes its
/// previous, accepted until `previous_valid_until` (`None`: dropped at once; so is a previous
/// secret from an earlier rotation). `None` when there is no such token.
pub async fn rotate(
    conn: &mut PgConnection,
    name: &str,
    secret_digest: &[u8; 32],
    previous_valid_until: Option<DateTime<Utc>>,
) -> Result<Option<Token>> {
    let row: Option<TokenRow> = sqlx::query_as(
        "update api_token set \
           previous_digest = case when $3::timestamptz is null then null else secret_digest end, \
           previous_valid_until = $3, secret_digest = $2 \
         where name = $1 and revoked_at is null \
         returning id, name, scopes, created_at, created_by, expires_at, last_used_at, \
           revoked_at, previous_valid_until",
    )
    .bind(name)
    .bind(secret_digest.as_slice())
    .bind(previous_valid_until)
    .fetch_optional(conn)
    .await?;
    row.map(Token::try_from).transpose()
}

/// True when any token was ever made here (revoked and expired ones count).
pub async fn any_made(conn: &mut PgConnection) -> Result<bool> {
    let made: bool = sqlx::query_scalar("select exists (select 1 from api_token)")
        .fetch_one(conn)
        .await?;
    Ok(made)
}

/// Every token that may be accepted at `now`: not revoked, not expired. One small query, run by
/// every serving process about once a second.
pub async fn live(conn: &mut PgConnection, now: DateTime<Utc>) -> Result<Vec<LiveToken>> {
    let rows: Vec<LiveRow> = sqlx::query_as(
        "select id, name, scopes, secret_digest, previous_digest, previous_valid_until, \
           expires_at \
         from api_token \
         where revoked_at is null and (expires_at is null or expires_at > $1)",
    )
    .bind(now)
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(LiveToken::try_from).collect()
}

/// Records when each token in `ids` was last used (`used_at[i]` for `ids[i]`), in one
/// statement; a time older than the stored one is ignored. Returns how many rows changed.
pub async fn touch(conn: &mut PgConnection, ids: &[i64], used_at: &[DateTime<Utc>]) -> Result<u64> {
    let done = sqlx::query(
        "update api_token t set last_used_at = greatest(t.last_used_at, u.used_at) \
         from unnest($1::bigint[], $2::timestamptz[]) as u (id, used_at) \
         where t.id = u.id",
    )
    .bind(ids)
    .bind(used_at)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_stored_expanded_and_read_back() {
        let write = Scopes::of(&[Scope::IncidentsWrite]);
        assert_eq!(scope_names(write), ["incidents:read", "incidents:write"]);
        let stored: Vec<String> = scope_names(write).into_iter().map(String::from).collect();
        assert_eq!(scopes(&stored).unwrap(), write);
        assert!(scopes(&["root".to_owned()]).is_err());
    }

    #[test]
    fn a_digest_must_have_32_bytes() {
        assert!(digest_of(vec![0; 32]).is_ok());
        assert!(digest_of(vec![0; 31]).is_err());
    }
}
