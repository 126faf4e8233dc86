//! Database URLs naming several hosts, as libpq reads them:
//! `postgres://user:secret@h1:5432,h2:5433/firebreak?target_session_attrs=read-write`.
//!
//! sqlx connects to one host only, so Firebreak splits such a URL into one set of connect
//! options per host (everything but the host and port is shared, as in libpq) and probes the
//! hosts in order for one whose session fits `target_session_attrs` (libpq's names: `any`,
//! `read-write`, `read-only`, `primary`, `standby`, `prefer-standby`). A failover is then a
//! new probe (see [`super::failover`]).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};

/// The query parameter naming which kind of server a session must reach.
const SESSION_ATTRS_PARAM: &str = "target_session_attrs";
/// libpq's default port, for a host written without one.
const DEFAULT_PORT: u16 = 5432;

/// Which server of a multi-host URL a session must reach (libpq's `target_session_attrs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionAttrs {
    /// The first host that accepts a connection.
    Any,
    /// A host whose sessions may write (`transaction_read_only` is off).
    ReadWrite,
    /// A host whose sessions are read-only.
    ReadOnly,
    /// A host that is not in recovery.
    Primary,
    /// A host in recovery (a standby).
    Standby,
    /// A standby if one answers, else any host.
    PreferStandby,
}

impl SessionAttrs {
    const NAMES: &'static str = "any, read-write, read-only, primary, standby, prefer-standby";

    fn parse(value: &str) -> Option<SessionAttrs> {
        Some(match value {
            "any" => SessionAttrs::Any,
            "read-write" => SessionAttrs::ReadWrite,
            "read-only" => SessionAttrs::ReadOnly,
            "primary" => SessionAttrs::Primary,
            "standby" => SessionAttrs::Standby,
            "prefer-standby" => SessionAttrs::PreferStandby,
            _ => return None,
        })
    }

    /// Whether a server in this state fits.
    fn accepts(self, state: ServerState) -> bool {
        match self {
            SessionAttrs::Any | SessionAttrs::PreferStandby => true,
            SessionAttrs::ReadWrite => !state.read_only,
            SessionAttrs::ReadOnly => state.read_only,
            SessionAttrs::Primary => !state.in_recovery,
            SessionAttrs::Standby => state.in_recovery,
        }
    }
}

/// What a probe learned of one server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerState {
    /// `pg_is_in_recovery()`: a standby replaying the primary's WAL.
    pub in_recovery: bool,
    /// `transaction_read_only` of a new session.
    pub read_only: bool,
}

/// One host of the URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// The name or address, as written (IPv6 without brackets).
    pub name: String,
    /// The port.
    pub port: u16,
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.name.contains(':') {
            write!(f, "[{}]:{}", self.name, self.port)
        } else {
            write!(f, "{}:{}", self.name, self.port)
        }
    }
}

/// A database URL's hosts, shared options and the kind of server sessions must reach.
#[derive(Debug, Clone)]
pub struct DatabaseTargets {
    /// Options with the first host; [`DatabaseTargets::options_for`] swaps the host.
    options: PgConnectOptions,
    hosts: Vec<Host>,
    attrs: SessionAttrs,
}

/// Why a database URL was refused; the message never contains the URL (it holds a password).
#[derive(Debug, thiserror::Error)]
pub enum UrlError {
    /// The URL's shape is wrong.
    #[error("{0}")]
    Invalid(String),
    /// sqlx refused a host's URL.
    #[error("{0}")]
    Driver(sqlx::Error),
}

/// No host fits: what each one answered.
#[derive(Debug, thiserror::Error)]
#[error("no host of the database URL is {wanted}: {}", .tried.join("; "))]
pub struct NoTarget {
    wanted: &'static str,
    tried: Vec<String>,
}

impl DatabaseTargets {
    /// Parses a libpq-style URL with one or more comma-separated hosts.
    pub fn parse(url: &str) -> Result<DatabaseTargets, UrlError> {
        let split = SplitUrl::new(url)?;
        let hosts = split.hosts()?;
        let (query, attrs) = split.query_without_attrs()?;
        let first = split.rebuild(&hosts[0], &query);
        let mut options = PgConnectOptions::from_str(&first).map_err(UrlError::Driver)?;
        let mut hosts = hosts;
        if hosts[0].name.is_empty() {
            // No host in the authority: the one sqlx settled on (`?host=`, its defaults).
            hosts[0] = Host {
                name: options.get_host().to_owned(),
                port: options.get_port(),
            };
        } else {
            // sqlx keeps an IPv6 address's brackets in the host name: set it as parsed here.
            options = Self::options_for(&options, &hosts[0]);
        }
        Ok(DatabaseTargets {
            options,
            hosts,
            attrs,
        })
    }

    /// Wraps options for one host (the embedded cluster, tests): any session fits.
    pub fn single(options: PgConnectOptions) -> DatabaseTargets {
        let host = Host {
            name: options.get_host().to_owned(),
            port: options.get_port(),
        };
        DatabaseTargets {
            options,
            hosts: vec![host],
            attrs: SessionAttrs::Any,
        }
    }

    /// True when there is only one host and any session fits: nothing to fail over to.
    pub fn is_single(&self) -> bool {
        self.hosts.len() == 1 && self.attrs == SessionAttrs::Any
    }

    /// The hosts, in the URL's order.
    pub fn hosts(&self) -> &[Host] {
        &self.hosts
    }

    /// The kind of server sessions must reach.
    pub fn attrs(&self) -> SessionAttrs {
        self.attrs
    }

    /// Whether a server in this state fits the URL's `target_session_attrs`.
    pub fn attrs_accept(&self, state: ServerState) -> bool {
        self.attrs.accepts(state)
    }

    /// The options of the first host.
    pub fn first_options(&self) -> PgConnectOptions {
        self.options.clone()
    }

    /// `options` pointed at `host` (the shared part is the caller's: user, database, TLS,
    /// application name, per-session settings).
    pub fn options_for(options: &PgConnectOptions, host: &Host) -> PgConnectOptions {
        options.clone().host(&host.name).port(host.port)
    }

    /// Probes the hosts in order and answers the first that fits, with its options derived
    /// from `base`. Each probe gets `patience` to connect and answer.
    pub async fn find(
        &self,
        base: &PgConnectOptions,
        patience: Duration,
    ) -> Result<(Host, PgConnectOptions), NoTarget> {
        let mut tried = Vec::new();
        let mut fallback = None;
        for host in &self.hosts {
            let options = Self::options_for(base, host);
            match probe(&options, patience).await {
                Ok(state) if self.attrs.accepts(state) => {
                    if self.attrs != SessionAttrs::PreferStandby || state.in_recovery {
                        return Ok((host.clone(), options));
                    }
                    fallback.get_or_insert((host.clone(), options));
                    tried.push(format!("{host} is not a standby"));
                }
                Ok(state) => tried.push(format!("{host} is {}", describe(state))),
                Err(reason) => tried.push(format!("{host}: {reason}")),
            }
        }
        fallback.ok_or(NoTarget {
            wanted: self.wanted(),
            tried,
        })
    }

    fn wanted(&self) -> &'static str {
        match self.attrs {
            SessionAttrs::Any | SessionAttrs::PreferStandby => "reachable",
            SessionAttrs::ReadWrite => "writable",
            SessionAttrs::ReadOnly => "read-only",
            SessionAttrs::Primary => "a primary",
            SessionAttrs::Standby => "a standby",
        }
    }
}

fn describe(state: ServerState) -> &'static str {
    match (state.in_recovery, state.read_only) {
        (true, _) => "a standby (in recovery)",
        (false, true) => "read-only",
        (false, false) => "a writable primary",
    }
}

/// Connects to one host and asks what it is.
pub async fn probe(options: &PgConnectOptions, patience: Duration) -> Result<ServerState, String> {
    let asked = async {
        let mut conn = PgConnection::connect_with(options).await?;
        let state = server_state(&mut conn).await;
        let _ = conn.close().await;
        state
    };
    match tokio::time::timeout(patience, asked).await {
        Ok(Ok(state)) => Ok(state),
        Ok(Err(err)) => Err(short_reason(&err)),
        Err(_) => Err(format!("no answer within {patience:?}")),
    }
}

/// What the server of `conn` is (one round trip, a simple query: no prepared statement is left
/// behind, which matters behind a transaction pooler).
pub async fn server_state(conn: &mut PgConnection) -> Result<ServerState, sqlx::Error> {
    use sqlx::Row;
    let row = sqlx::raw_sql(
        "select pg_is_in_recovery(), current_setting('transaction_read_only') = 'on'",
    )
    .fetch_one(conn)
    .await?;
    Ok(ServerState {
        in_recovery: row.try_get(0)?,
        read_only: row.try_get(1)?,
    })
}

fn short_reason(err: &sqlx::Error) -> String {
    match err {
        sqlx::Error::Io(io) => io.to_string(),
        sqlx::Error::Database(db) => db.message().to_owned(),
        other => other.to_string(),
    }
}

/// A URL cut into the parts that matter here, without decoding them (sqlx decodes).
struct SplitUrl<'a> {
    scheme: &'a str,
    userinfo: Option<&'a str>,
    hosts: &'a str,
    path: &'a str,
    query: Option<&'a str>,
}

impl<'a> SplitUrl<'a> {
    fn new(url: &'a str) -> Result<SplitUrl<'a>, UrlError> {
        let url = url.trim();
        let (scheme, rest) = url
            .split_once("://")
            .filter(|(scheme, _)| matches!(*scheme, "postgres" | "postgresql"))
            .ok_or_else(|| invalid("it must start with postgres:// or postgresql://"))?;
        let (rest, query) = match rest.split_once('?') {
            Some((rest, query)) => (rest, Some(query)),
            None => (rest, None),
        };
        // The authority ends at the first `/` after the user part (a password holding `/`
        // must be percent-encoded, as in any URL).
        let at = rest.rfind('@');
        let after_user = at.map_or(0, |at| at + 1);
        let path_start = rest[after_user..]
            .find('/')
            .map_or(rest.len(), |i| after_user + i);
        Ok(SplitUrl {
            scheme,
            userinfo: at.map(|at| &rest[..at]),
            hosts: &rest[after_user..path_start],
            path: &rest[path_start..],
            query,
        })
    }

    fn hosts(&self) -> Result<Vec<Host>, UrlError> {
        if self.hosts.is_empty() {
            // No host: sqlx's defaults (or `?host=`) apply, as for a one-host URL.
            return Ok(vec![Host {
                name: String::new(),
                port: 0,
            }]);
        }
        self.hosts.split(',').map(parse_host).collect()
    }

    /// The query without `target_session_attrs`, and what it said.
    fn query_without_attrs(&self) -> Result<(String, SessionAttrs), UrlError> {
        let mut attrs = SessionAttrs::Any;
        let mut kept = Vec::new();
        for pair in self
            .query
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
        {
            match pair.split_once('=') {
                Some((SESSION_ATTRS_PARAM, value)) => {
                    attrs = SessionAttrs::parse(value).ok_or_else(|| {
                        invalid(&format!(
                            "{SESSION_ATTRS_PARAM} `{value}` is not one of: {}",
                            SessionAttrs::NAMES
                        ))
                    })?;
                }
                _ => kept.push(pair),
            }
        }
        Ok((kept.join("&"), attrs))
    }

    /// The one-host URL sqlx reads.
    fn rebuild(&self, host: &Host, query: &str) -> String {
        let mut url = format!("{}://", self.scheme);
        if let Some(userinfo) = self.userinfo {
            url.push_str(userinfo);
            url.push('@');
        }
        if !host.name.is_empty() {
            url.push_str(&host.to_string());
        }
        url.push_str(self.path);
        if !query.is_empty() {
            url.push('?');
            url.push_str(query);
        }
        url
    }
}

fn parse_host(entry: &str) -> Result<Host, UrlError> {
    let (name, port) = if let Some(rest) = entry.strip_prefix('[') {
        let (v6, after) = rest
            .split_once(']')
            .ok_or_else(|| invalid(&format!("host `{entry}` opens `[` without closing it")))?;
        (v6, after.strip_prefix(':'))
    } else {
        match entry.split_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (entry, None),
        }
    };
    if name.is_empty() {
        return Err(invalid(
            "a host in the list is empty (write host:port,host:port)",
        ));
    }
    let port =
        match port {
            None => DEFAULT_PORT,
            Some(port) => port.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
                invalid(&format!("port `{port}` of host `{name}` is not 1–65535"))
            })?,
        };
    Ok(Host {
        name: name.to_owned(),
        port,
    })
}

fn invalid(reason: &str) -> UrlError {
    UrlError::Invalid(reason.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(url: &str) -> DatabaseTargets {
        DatabaseTargets::parse(url).unwrap()
    }

    #[test]
    fn one_host_urls_keep_their_meaning() {
        let t = parsed("postgres://fb:s%40cret@db.internal:6432/firebreak?sslmode=disable");
        assert!(t.is_single());
        assert_eq!(t.hosts()[0].to_string(), "db.internal:6432");
        let o = t.first_options();
        assert_eq!(o.get_host(), "db.internal");
        assert_eq!(o.get_port(), 6432);
        assert_eq!(o.get_username(), "fb");
        assert_eq!(o.get_database(), Some("firebreak"));
    }

    #[test]
    fn several_hosts_and_the_session_kind_are_read() {
        let t = parsed(
            "postgresql://fb:pw@h1:5433,[::1]:5434,h3/fb?target_session_attrs=read-write&sslmode=disable",
        );
        assert!(!t.is_single());
        assert_eq!(t.attrs(), SessionAttrs::ReadWrite);
        let names: Vec<String> = t.hosts().iter().map(Host::to_string).collect();
        assert_eq!(names, ["h1:5433", "[::1]:5434", "h3:5432"]);
        let second = DatabaseTargets::options_for(&t.first_options(), &t.hosts()[1]);
        assert_eq!(second.get_host(), "::1");
        assert_eq!(second.get_port(), 5434);
        assert_eq!(second.get_database(), Some("fb"));
    }

    #[test]
    fn an_ipv6_first_host_loses_its_brackets() {
        let t = parsed("postgres://fb@[::1]:5433/db");
        assert!(t.is_single());
        assert_eq!(t.first_options().get_host(), "::1");
        assert_eq!(t.first_options().get_port(), 5433);
    }

    #[test]
    fn a_password_with_an_at_sign_stays_the_password() {
        let t = parsed("postgres://fb:p@ss@h1:1,h2:2/db");
        assert_eq!(t.hosts().len(), 2);
        assert_eq!(t.first_options().get_username(), "fb");
    }

    #[test]
    fn one_host_with_attrs_still_probes() {
        let t = parsed("postgres://fb@h1/db?target_session_attrs=primary");
        assert!(!t.is_single());
        assert_eq!(t.attrs(), SessionAttrs::Primary);
    }

    #[test]
    fn bad_urls_name_what_is_wrong() {
        for (url, needle) in [
            ("mysql://h/db", "postgres://"),
            ("postgres://fb@h1:1,,h2:2/db", "empty"),
            ("postgres://fb@h1:0/db", "1–65535"),
            ("postgres://fb@h1:99999/db", "1–65535"),
            ("postgres://fb@[::1:5/db", "`[`"),
            (
                "postgres://fb@h1/db?target_session_attrs=leader",
                "prefer-standby",
            ),
        ] {
            let err = DatabaseTargets::parse(url).unwrap_err().to_string();
            assert!(err.contains(needle), "{url}: {err}");
        }
    }

    #[test]
    fn session_kinds_accept_what_libpq_accepts() {
        let primary = ServerState {
            in_recovery: false,
            read_only: false,
        };
        let standby = ServerState {
            in_recovery: true,
            read_only: true,
        };
        assert!(SessionAttrs::ReadWrite.accepts(primary));
        assert!(!SessionAttrs::ReadWrite.accepts(standby));
        assert!(SessionAttrs::Standby.accepts(standby));
        assert!(!SessionAttrs::Primary.accepts(standby));
        assert!(SessionAttrs::ReadOnly.accepts(standby));
        assert!(SessionAttrs::Any.accepts(standby));
    }
}
