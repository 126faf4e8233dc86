//! The options for a transaction pooler in front of PostgreSQL (`--db-pooler`,
//! `--direct-database-url`): how connections, transactions and migrations are made of them.
//! See [`crate::store::pooler`] for why each is needed.

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool};

use super::Error;
use crate::config::{DatabaseArgs, DbPooler};
use crate::store::{self, pooler::Pooler, pooler::Pooling};

/// What to tell someone whose pooler setup lacks the direct URL.
const NEEDS_DIRECT: &str = "set FIREBREAK_DIRECT_DATABASE_URL (--direct-database-url) to a URL \
     straight to PostgreSQL, or run `firebreak migrate` with DATABASE_URL pointing at PostgreSQL \
     itself and FIREBREAK_DB_POOLER=none";

/// The pooler the options name.
pub(super) fn pooler(args: &DatabaseArgs) -> Pooler {
    match args.db_pooler {
        DbPooler::None => Pooler::None,
        DbPooler::Transaction => Pooler::Transaction,
    }
}

/// How transactions start and where listeners connect, with `call_timeout`'s limits set in
/// each transaction behind a pooler.
pub(super) fn pooling(
    args: &DatabaseArgs,
    call_timeout: Option<Duration>,
) -> Result<Pooling, Error> {
    Ok(match pooler(args) {
        Pooler::None => Pooling::direct(),
        Pooler::Transaction => Pooling::transaction(call_timeout, direct_options(args)?),
    })
}

/// Fails when the pooler setting cannot work: a pooler needs `DATABASE_URL` (its address).
pub(super) fn check(args: &DatabaseArgs, has_database_url: bool) -> Result<(), Error> {
    if pooler(args) == Pooler::Transaction && !has_database_url {
        return Err(Error::Config(
            "FIREBREAK_DB_POOLER=transaction needs DATABASE_URL: the pooler's address (the \
             embedded cluster has no pooler in front of it); allowed values of \
             FIREBREAK_DB_POOLER are none and transaction"
                .into(),
        ));
    }
    Ok(())
}

/// `firebreak migrate` behind a pooler needs the direct URL: refuses without it.
pub(super) fn check_can_migrate(args: &DatabaseArgs) -> Result<(), Error> {
    if pooler(args) == Pooler::Transaction && direct_options(args)?.is_none() {
        return Err(Error::Config(format!(
            "migrations cannot run through a transaction pooler (FIREBREAK_DB_POOLER=transaction): \
             they hold a session-level advisory lock; {NEEDS_DIRECT}"
        )));
    }
    Ok(())
}

/// Applies pending migrations: at `options` when direct, at the direct URL behind a pooler.
/// Behind a pooler without a direct URL nothing can be applied, so it only checks through
/// `pool` that nothing is pending (a server may start on a schema migrated beforehand).
pub(super) async fn migrate(
    args: &DatabaseArgs,
    options: &PgConnectOptions,
    pool: &PgPool,
) -> Result<(), Error> {
    if pooler(args) == Pooler::None {
        return Ok(store::migrate(options).await?);
    }
    if let Some(direct) = direct_options(args)? {
        return Ok(store::migrate(&direct).await?);
    }
    let pending = store::pooler::pending_migrations(pool, &Pooling::transaction(None, None))
        .await
        .map_err(|err| {
            Error::Config(format!(
                "cannot read which migrations the database has, through the pooler: {err}"
            ))
        })?;
    if pending.is_empty() {
        return Ok(());
    }
    Err(Error::Config(format!(
        "the database lacks {} migration(s) (first: {}), which cannot run through a transaction \
         pooler (FIREBREAK_DB_POOLER=transaction); {NEEDS_DIRECT}",
        pending.len(),
        pending[0]
    )))
}

/// The direct URL's options, if one is set (an empty value counts as unset).
fn direct_options(args: &DatabaseArgs) -> Result<Option<PgConnectOptions>, Error> {
    let Some(url) = args
        .direct_database_url
        .as_ref()
        .filter(|url| !url.expose().trim().is_empty())
    else {
        return Ok(None);
    };
    url.expose()
        .parse::<PgConnectOptions>()
        .map(Some)
        .map_err(|err| {
            Error::Config(format!(
                "FIREBREAK_DIRECT_DATABASE_URL is not a valid PostgreSQL connection string: {err}"
            ))
        })
}
