//! The command line and environment, parsed once into typed values. Every option is a flag
//! with an environment variable; `firebreak --help` documents both. Imports nothing from the crate.

pub mod yaml;

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

/// Firebreak: incident response for LLM agents over the Model Context Protocol.
#[derive(Debug, Parser)]
#[command(name = "firebreak", version, about, long_about = None)]
pub struct Cli {
    /// Where the data lives.
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Database options, shared by every command.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// PostgreSQL connection string, e.g. `postgres://firebreak:secret@db.internal/firebreak`.
    /// Without it, Firebreak runs (and shares) a private PostgreSQL cluster of its own.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<Secret>,
    /// Data directory of the embedded cluster [default: the user data dir + /firebreak/postgres;
    /// as root: /var/lib/firebreak/postgres].
    #[arg(long, env = "FIREBREAK_DATA_DIR", global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Most database connections this process opens for calls (directly connected, its
    /// `LISTEN` sessions get up to 3 more).
    #[arg(
        long,
        env = "FIREBREAK_DB_POOL_SIZE",
        global = true,
        default_value_t = 10
    )]
    pub db_pool_size: u32,
    /// What sits between Firebreak and PostgreSQL at `DATABASE_URL`: `none`, or `transaction`
    /// for a pooler in transaction mode (PgBouncer `pool_mode = transaction`). Then every
    /// statement runs in a transaction that starts with `DEALLOCATE ALL`, the call's limits are
    /// set per transaction, and migrations and `LISTEN` need --direct-database-url.
    #[arg(
        long,
        env = "FIREBREAK_DB_POOLER",
        global = true,
        value_enum,
        default_value_t = DbPooler::None
    )]
    pub db_pooler: DbPooler,
    /// With --db-pooler transaction: a URL straight to PostgreSQL (bypassing the pooler), for
    /// migrations and for `LISTEN` (change notices). Without it, migrations refuse and change
    /// notices are polled for.
    #[arg(
        long,
        env = "FIREBREAK_DIRECT_DATABASE_URL",
        global = true,
        hide_env_values = true
    )]
    pub direct_database_url: Option<Secret>,
    /// A read replica (streaming standby) for searches, similar incidents and metrics, e.g.
    /// `postgres://firebreak@replica.internal/firebreak`; several hosts as in `DATABASE_URL`.
    /// Used only while its data is at most --read-max-lag old; otherwise the primary answers.
    #[arg(
        long,
        env = "FIREBREAK_READ_DATABASE_URL",
        global = true,
        hide_env_values = true
    )]
    pub read_database_url: Option<Secret>,
    /// How old the read replica's data may be for reads to go to it (e.g. `5s`, `500ms`).
    #[arg(
        long,
        env = "FIREBREAK_READ_MAX_LAG",
        global = true,
        value_name = "DURATION",
        default_value = "5s",
        value_parser = parse_duration
    )]
    pub read_max_lag: Duration,
}

/// What sits between Firebreak and PostgreSQL (`--db-pooler`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DbPooler {
    /// Nothing: connections are sessions of their own.
    None,
    /// A pooler in transaction mode, such as PgBouncer with `pool_mode = transaction`.
    Transaction,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve MCP over stdio (default) or Streamable HTTP (--http ADDR).
    Serve(Box<ServeArgs>),
    /// Call one tool, as an MCP client would, and print its answer as JSON (for scripts).
    Tool(Box<ToolArgs>),
    /// Print incident metrics for a period as markdown (what the `incident_metrics` tool
    /// answers): counts, time to acknowledge, mitigate and resolve, the trend, follow-up owed.
    Report(Box<ReportArgs>),
    /// Apply database migrations and exit (serve also applies them at start).
    Migrate,
    /// Manage runbooks (markdown files with front matter).
    Runbooks {
        /// What to do with them.
        #[command(subcommand)]
        command: RunbookCommand,
    },
    /// Manage the embedded PostgreSQL cluster.
    Db {
        /// What to do with it.
        #[command(subcommand)]
        command: DbCommand,
    },
    /// Print the audit trail, newest first: every MCP call, `firebreak tool` run and
    /// ingestion request (who, how authenticated, what, the incident, outcome, duration).
    Audit(Box<AuditArgs>),
    /// See and act on notifications: how targets stand, a test message, a resend.
    Notifications {
        /// What to do.
        #[command(subcommand)]
        command: NotificationCommand,
    },
    /// Check the alerting file, or show what a payload would do.
    Alerting {
        /// What to do.
        #[command(subcommand)]
        command: AlertingCommand,
    },
    /// Manage the API tokens `serve --http` accepts (kept in the database, so every replica
    /// accepts the same ones): create, list, revoke, rotate.
    Tokens {
        /// What to do.
        #[command(subcommand)]
        command: TokenCommand,
    },
}

/// API token commands. A secret is shown once, by `create` or `rotate`: only its digest is kept.
#[derive(Debug, Clone, Subcommand)]
pub enum TokenCommand {
    /// Make a token and print its secret (once).
    Create {
        /// Its name, the principal recorded on its writes: 1–64 of `a-z 0-9 . _ -`, starting
        /// with a letter or digit (e.g. `ci-bot`).
        name: String,
        /// What it may do: `incidents:read`, `incidents:write` (implies read), `admin`;
        /// several joined by `,` or `+`.
        #[arg(long, value_name = "SCOPES", value_parser = crate::domain::Scopes::parse)]
        scopes: crate::domain::Scopes,
        /// How long it is valid (e.g. `90d`, `12h`, `30m`) [default: until revoked].
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        expires: Option<Duration>,
    },
    /// List the tokens: name, scopes, when made, last used and expiring, state. Never secrets.
    List {
        /// Include revoked tokens.
        #[arg(long)]
        all: bool,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token: every serving process refuses it within about a second.
    Revoke {
        /// The token's name.
        name: String,
    },
    /// Give a token a new secret (printed once); the old one keeps working for the grace.
    Rotate {
        /// The token's name.
        name: String,
        /// How long the old secret is still accepted (`0`: not at all; at most 30d).
        #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = parse_grace)]
        grace: Duration,
    },
}

/// Alerting commands.
#[derive(Debug, Clone, Subcommand)]
pub enum AlertingCommand {
    /// Check an alerting file (sources, routes) and exit non-zero naming the line at fault.
    Check {
        /// The YAML file.
        file: PathBuf,
    },
    /// Print what a payload would do and why (route, group, declare/attach/dedup/record),
    /// read against the database, writing nothing.
    Test {
        /// The alerting file.
        #[arg(long, env = "FIREBREAK_ALERTING", value_name = "FILE")]
        alerting: PathBuf,
        /// The source (by name) the payload comes from.
        #[arg(long)]
        source: String,
        /// GitHub's event name (`X-GitHub-Event`), for github sources.
        #[arg(long)]
        github_event: Option<String>,
        /// The payload, as the sender would post it.
        payload: PathBuf,
    },
}

/// Notification commands.
#[derive(Debug, Clone, Subcommand)]
pub enum NotificationCommand {
    /// How each target stands (deliveries pending, retrying, delivered, failed; disabled or
    /// paused) and the newest failures, with the numbers `redeliver` takes.
    Status,
    /// Check the notifications file and exit non-zero naming the line at fault.
    Check {
        /// The YAML file.
        file: PathBuf,
    },
    /// Send a test message to one target now and say how it answered.
    Test {
        /// The notifications file.
        #[arg(long, env = "FIREBREAK_NOTIFICATIONS", value_name = "FILE")]
        notifications: PathBuf,
        /// The target's name.
        target: String,
    },
    /// Send a delivery again (re-enabling its target if a 410 disabled it).
    Redeliver {
        /// The delivery's number, as `status` lists it.
        id: i64,
    },
}

/// Runbook commands.
#[derive(Debug, Clone, Subcommand)]
pub enum RunbookCommand {
    /// Load a folder of runbooks into the database: new files are added, changed ones
    /// updated, removed ones archived. Invalid files are reported and skipped.
    Sync {
        /// The folder of `*.md` runbooks.
        dir: PathBuf,
    },
}

/// Embedded cluster commands.
#[derive(Debug, Clone, Copy, Subcommand)]
pub enum DbCommand {
    /// Show where the embedded cluster lives and whether it is running.
    Status,
    /// Stop the embedded cluster (Firebreak starts it again on demand).
    Stop,
}

/// Options of `firebreak serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// What every call needs, whoever makes it.
    #[command(flatten)]
    pub calls: CallArgs,
    /// Serve Streamable HTTP at this address instead of stdio; `--http` alone binds
    /// 127.0.0.1:8787. Binding a non-loopback address requires bearer tokens.
    #[arg(
        long,
        env = "FIREBREAK_HTTP",
        value_name = "ADDR",
        num_args = 0..=1,
        default_missing_value = "127.0.0.1:8787"
    )]
    pub http: Option<SocketAddr>,
    /// Host header values accepted over HTTP, comma-separated (`host` or `host:port`)
    /// [default: localhost, 127.0.0.1, `::1` and the bound address].
    #[arg(
        long,
        env = "FIREBREAK_ALLOWED_HOSTS",
        value_delimiter = ',',
        value_name = "HOSTS"
    )]
    pub allowed_hosts: Vec<String>,
    /// Browser Origin values accepted over HTTP, comma-separated with scheme and port
    /// (e.g. `https://ops.example.com:443`, or `:*` for any port) [default: pages served from
    /// an allowed host]; requests without Origin (non-browser clients) always pass.
    #[arg(
        long,
        env = "FIREBREAK_ALLOWED_ORIGINS",
        value_delimiter = ',',
        value_name = "ORIGINS"
    )]
    pub allowed_origins: Vec<String>,
    /// Bearer tokens for HTTP as name:secret pairs, comma-separated; the name becomes the
    /// principal recorded on every write. `name[incidents:read]:secret` limits a token's
    /// scopes (`incidents:read`, `incidents:write`, `admin`, joined by `+`).
    #[arg(
        long,
        env = "FIREBREAK_TOKENS",
        hide_env_values = true,
        value_name = "NAME:SECRET,..."
    )]
    pub tokens: Option<Secret>,
    /// A file of bearer tokens, one name:secret per line (# starts a comment).
    #[arg(long, env = "FIREBREAK_TOKENS_FILE", value_name = "FILE")]
    pub tokens_file: Option<PathBuf>,
    /// Expose and permit reads only, whatever the credentials allow: write tools are hidden
    /// from every client and refused if called.
    #[arg(long, env = "FIREBREAK_READ_ONLY")]
    pub read_only: bool,
    /// Keep MCP sessions over HTTP (`Mcp-Session-Id`), so clients can subscribe to
    /// `incident://INC-n` and hear of its changes made through any replica. Behind a load
    /// balancer a session must stay on one replica, from its `initialize` on (nginx: hash on
    /// the token, as `deploy/nginx.conf` does with `$firebreak_sessions on`). Off: stateless,
    /// any replica answers any request, no subscriptions.
    #[arg(long, env = "FIREBREAK_HTTP_SESSIONS")]
    pub http_sessions: bool,
    /// Load this folder of runbooks at start (like `firebreak runbooks sync DIR`).
    #[arg(long, env = "FIREBREAK_RUNBOOKS_DIR", value_name = "DIR")]
    pub runbooks_dir: Option<PathBuf>,
    /// The alerting file: ingestion sources and routes (see `firebreak alerting check`).
    /// Reloaded on SIGHUP; a file that does not check keeps the one in force.
    #[arg(long, env = "FIREBREAK_ALERTING", value_name = "FILE")]
    pub alerting: Option<PathBuf>,
    /// Most HTTP connections served at once; when all are taken, the longest-idle one is
    /// closed for a newcomer, and 16 more may only ask for /healthz. Lowered at start to fit
    /// the open-files limit.
    #[arg(
        long,
        env = "FIREBREAK_MAX_CONNECTIONS",
        value_name = "N",
        default_value_t = 1024
    )]
    pub max_connections: usize,
    /// Time an HTTP client has to send a request's head, counted from the connection's start or
    /// its previous response (so idle keep-alive connections close after it too).
    #[arg(
        long,
        env = "FIREBREAK_HEADER_TIMEOUT",
        value_name = "DURATION",
        default_value = "10s",
        value_parser = parse_duration
    )]
    pub header_timeout: Duration,
    /// Time an HTTP client has to send a request's body once its head has arrived.
    #[arg(
        long,
        env = "FIREBREAK_BODY_TIMEOUT",
        value_name = "DURATION",
        default_value = "10s",
        value_parser = parse_duration
    )]
    pub body_timeout: Duration,
    /// How long audit records are kept (e.g. `180d`, `720h`); older ones are deleted in the
    /// background.
    #[arg(
        long,
        env = "FIREBREAK_AUDIT_RETENTION",
        value_name = "DURATION",
        default_value = "180d",
        value_parser = parse_duration
    )]
    pub audit_retention: Duration,
    /// OAuth access tokens from an identity provider.
    #[command(flatten)]
    pub oauth: OAuthArgs,
}

/// OAuth 2.1 options of `firebreak serve --http`: accept access tokens (JWTs, RS256 or ES256)
/// that an authorization server issued for this server, checked against its published keys.
#[derive(Debug, Clone, Default, Args)]
pub struct OAuthArgs {
    /// The authorization server's issuer identifier, exactly as its tokens' `iss` spells it
    /// (e.g. `https://login.example.com/realms/ops`); setting it turns OAuth on.
    #[arg(long, env = "FIREBREAK_OAUTH_ISSUER", value_name = "URL")]
    pub oauth_issuer: Option<String>,
    /// This server's public URL for `/mcp` (e.g. `https://firebreak.example.com/mcp`): the
    /// audience tokens must be issued for, and where the resource metadata is announced.
    #[arg(long, env = "FIREBREAK_OAUTH_RESOURCE", value_name = "URL")]
    pub oauth_resource: Option<String>,
    /// Where the issuer publishes its signing keys [default: the `jwks_uri` of its metadata].
    #[arg(long, env = "FIREBREAK_OAUTH_JWKS_URL", value_name = "URL")]
    pub oauth_jwks_url: Option<String>,
    /// The token claim recorded as the principal on writes, e.g. `email` or
    /// `preferred_username` [default: sub]; a token without it is refused.
    #[arg(long, env = "FIREBREAK_OAUTH_PRINCIPAL_CLAIM", value_name = "CLAIM")]
    pub oauth_principal_claim: Option<String>,
    /// Identity provider scopes that grant Firebreak scopes, as `idp-scope=firebreak-scope`
    /// pairs, comma-separated (e.g. `firebreak.read=incidents:read`); a token scope that is a
    /// Firebreak scope name (`incidents:read`, `incidents:write`, `admin`) always counts.
    #[arg(
        long,
        env = "FIREBREAK_OAUTH_SCOPE_MAP",
        value_delimiter = ',',
        value_name = "IDP=SCOPE,..."
    )]
    pub oauth_scope_map: Vec<String>,
}

/// Options of `firebreak audit`; every filter narrows the listing.
#[derive(Debug, Clone, Args)]
pub struct AuditArgs {
    /// Only this principal's records (a token's name, the local user, a source's name).
    #[arg(long, value_name = "NAME")]
    pub principal: Option<String>,
    /// Only calls of this tool, prompt, resource URI or endpoint (`POST /hooks/…`).
    #[arg(long, value_name = "NAME")]
    pub tool: Option<String>,
    /// Only records of calls that touched this incident (`INC-42`, `42` or its UUID).
    #[arg(long, value_name = "INC-N")]
    pub incident: Option<String>,
    /// Only this outcome: `ok` or an error code (`invalid_argument`, `unauthorized` …).
    #[arg(long, value_name = "CODE")]
    pub outcome: Option<String>,
    /// Only records at or after this time: RFC 3339, or how long ago (`24h`, `7d`, `-30m`).
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub since: Option<String>,
    /// Only records before this time: RFC 3339, or how long ago.
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub until: Option<String>,
    /// How many records (1 to 500).
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub limit: i64,
    /// Only records listed after this one: the `id` of the last record of the previous page.
    #[arg(long, value_name = "ID")]
    pub before: Option<i64>,
    /// Print one JSON object per line instead of one line of text per record.
    #[arg(long)]
    pub json: bool,
}

/// Options of the use cases behind every tool call, shared by `serve` and `tool`.
#[derive(Debug, Clone, Args)]
pub struct CallArgs {
    /// The principal recorded for writes over stdio and from `firebreak tool` [default: the OS
    /// user name].
    #[arg(long, env = "FIREBREAK_PRINCIPAL", value_name = "NAME")]
    pub principal: Option<String>,
    /// Hosts remote runbooks may be fetched from, comma-separated (e.g. `wiki.example.com`);
    /// no other host is ever contacted.
    #[arg(
        long,
        env = "FIREBREAK_RUNBOOK_HOSTS",
        value_delimiter = ',',
        value_name = "HOSTS"
    )]
    pub runbook_hosts: Vec<String>,
    /// A postmortem template (minijinja) that replaces the default blameless one.
    #[arg(long, env = "FIREBREAK_POSTMORTEM_TEMPLATE", value_name = "FILE")]
    pub postmortem_template: Option<PathBuf>,
    /// How long one call may take (e.g. `10s`, `500ms`, `2m`) before it is answered
    /// `unavailable`. PostgreSQL is told the same (statement and idle-in-transaction timeouts),
    /// and a write that reaches it after the deadline is refused there.
    #[arg(
        long,
        env = "FIREBREAK_CALL_TIMEOUT",
        value_name = "DURATION",
        default_value = "10s",
        value_parser = parse_duration
    )]
    pub call_timeout: Duration,
    /// The notifications file: the status page's components (which services a public update
    /// may name) and, for `serve`, the targets (Slack, Teams, signed webhooks) that events are
    /// delivered to (see `firebreak notifications check`).
    #[arg(long, env = "FIREBREAK_NOTIFICATIONS", value_name = "FILE")]
    pub notifications: Option<PathBuf>,
}

/// Options of `firebreak tool`.
#[derive(Debug, Clone, Args)]
pub struct ToolArgs {
    /// The tool to call (`--list` names them all).
    #[arg(required_unless_present = "list", value_name = "NAME")]
    pub name: Option<String>,
    /// The tool's arguments as one JSON object, or `-` to read them from stdin [default: {}].
    #[arg(value_name = "JSON", conflicts_with = "args_file")]
    pub arguments: Option<String>,
    /// Read the arguments (a JSON object) from this file (`-` for stdin).
    #[arg(long, value_name = "FILE")]
    pub args_file: Option<PathBuf>,
    /// Print every tool's name and one-line description, and exit.
    #[arg(long, conflicts_with_all = ["name", "arguments", "args_file"])]
    pub list: bool,
    /// Permit reads only: a write tool is refused with `insufficient_scope`.
    #[arg(long, env = "FIREBREAK_READ_ONLY")]
    pub read_only: bool,
    /// Call as this token (made with `firebreak tokens create`): its name is the principal and
    /// its scopes bound the call, as on HTTP [default: the local user, with every scope].
    #[arg(
        long,
        env = "FIREBREAK_TOKEN",
        hide_env_values = true,
        value_name = "SECRET"
    )]
    pub token: Option<Secret>,
    /// What every call needs.
    #[command(flatten)]
    pub calls: CallArgs,
}

/// Options of `firebreak report`; the values are checked as the `incident_metrics` tool checks
/// its arguments.
#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// Declared at or after: RFC 3339 or relative (`-30d`) [default: 90 days before --to].
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub from: Option<String>,
    /// Declared before: RFC 3339 or relative [default: now].
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub to: Option<String>,
    /// Only incidents affecting this service (a slug).
    #[arg(long, value_name = "SLUG")]
    pub service: Option<String>,
    /// Only these severities (repeat or comma-separate: `--severity sev1,sev2`).
    #[arg(long, value_delimiter = ',', value_name = "SEV")]
    pub severity: Vec<String>,
    /// A breakdown: one row per `week`, `month`, `service` or `severity`.
    #[arg(long, value_name = "GROUPING")]
    pub group_by: Option<String>,
    /// Count incidents labelled `test` too.
    #[arg(long)]
    pub include_test: bool,
    /// What every call needs.
    #[command(flatten)]
    pub calls: CallArgs,
}

/// Every environment variable Firebreak reads, from its command line definition, and
/// `RUST_LOG`: what a program starting `firebreak` clears to give it a clean environment.
pub fn environment_variables() -> Vec<String> {
    fn walk(command: &clap::Command, out: &mut Vec<String>) {
        for argument in command.get_arguments() {
            if let Some(name) = argument.get_env() {
                out.push(name.to_string_lossy().into_owned());
            }
        }
        for sub in command.get_subcommands() {
            walk(sub, out);
        }
    }
    let mut names = vec!["RUST_LOG".to_owned()];
    walk(&<Cli as clap::CommandFactory>::command(), &mut names);
    names.sort();
    names.dedup();
    names
}

/// Parses a duration written as a number and a unit: `500ms`, `10s`, `2m`, `1h`, `90d` (a bare
/// number is seconds). Zero is refused.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let duration = parse_grace(text)?;
    if duration.is_zero() {
        return Err("must be longer than zero".into());
    }
    Ok(duration)
}

/// Parses a duration as [`parse_duration`] does, zero included (`0`: none at all).
pub fn parse_grace(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration: write e.g. 500ms, 10s, 2m, 1h or 90d"))?;
    let seconds = |per: u64| {
        number
            .checked_mul(per)
            .map(Duration::from_secs)
            .ok_or_else(|| format!("`{text}` is too long"))
    };
    match unit.trim() {
        "ms" => Ok(Duration::from_millis(number)),
        "" | "s" => seconds(1),
        "m" | "min" => seconds(60),
        "h" => seconds(3600),
        "d" => seconds(86_400),
        other => Err(format!(
            "`{other}` is not a unit of time: use ms, s, m, h or d (e.g. 10s)"
        )),
    }
}

/// A string that never appears in logs or `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The secret value; call only where it is used.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_owned()))
    }
}

/// A named bearer token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedToken {
    /// The principal name the token stands for.
    pub name: String,
    /// The bearer secret.
    pub secret: Secret,
    /// What it may do: every scope unless the entry names some.
    pub scopes: crate::domain::Scopes,
}

/// Parses `name:secret` pairs separated by commas or newlines; `#` starts a comment line. A
/// name may carry its scopes in brackets, `reader[incidents:read]:secret` (several joined by
/// `+`); without them a token has every scope, as before scopes existed.
pub fn parse_tokens(text: &str) -> Result<Vec<NamedToken>, String> {
    let mut tokens: Vec<NamedToken> = Vec::new();
    let entries = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .flat_map(|line| line.split(','))
        .map(str::trim)
        .filter(|entry| !entry.is_empty());
    for (index, entry) in entries.enumerate() {
        // The name ends at the first `:` after its scopes (which contain colons themselves).
        let opens_scopes = entry
            .find('[')
            .is_some_and(|open| entry.find(':').is_some_and(|colon| open < colon));
        let name_end = entry.find(']').filter(|_| opens_scopes);
        let split = match name_end {
            Some(end) => entry[end..].find(':').map(|at| end + at),
            None => entry.find(':'),
        };
        let Some((name, secret)) = split.map(|at| (&entry[..at], &entry[at + 1..])) else {
            return Err(format!(
                "token #{} is not `name:secret` (expected e.g. `oncall-bot:5f2c…`)",
                index + 1
            ));
        };
        let (name, secret) = (name.trim(), secret.trim());
        let (name, scopes) = match name.split_once('[') {
            None => (name, crate::domain::Scopes::ALL),
            Some((name, listed)) => {
                let Some(listed) = listed.strip_suffix(']') else {
                    return Err(format!(
                        "token `{name}`: close its scopes with `]`, e.g. `{name}[incidents:read]:secret`"
                    ));
                };
                let scopes = crate::domain::Scopes::parse(listed)
                    .map_err(|err| format!("token `{name}`: {err}"))?;
                (name.trim(), scopes)
            }
        };
        if name.is_empty() || secret.len() < 16 {
            return Err(format!(
                "token `{name}` needs a name and a secret of at least 16 characters"
            ));
        }
        if tokens.iter().any(|t| t.name == name) {
            return Err(format!("token name `{name}` appears twice"));
        }
        tokens.push(NamedToken {
            name: name.to_owned(),
            secret: Secret(secret.to_owned()),
            scopes,
        });
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_parse_from_commas_and_lines() {
        let tokens = parse_tokens("# ops\nalice:0123456789abcdef, bob:fedcba9876543210\n").unwrap();
        let names: Vec<&str> = tokens.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["alice", "bob"]);
        assert_eq!(tokens[1].secret.expose(), "fedcba9876543210");
    }

    #[test]
    fn tokens_may_name_their_scopes() {
        use crate::domain::{Scope, Scopes};
        let tokens =
            parse_tokens("reader[incidents:read]:0123456789abcdef,bot:0123456789abcdeg").unwrap();
        assert_eq!(tokens[0].name, "reader");
        assert_eq!(tokens[0].scopes, Scopes::of(&[Scope::IncidentsRead]));
        assert_eq!(tokens[1].scopes, Scopes::ALL);
        let unknown = parse_tokens("r[incidents:delete]:0123456789abcdef").unwrap_err();
        assert!(unknown.contains("`incidents:delete`") && unknown.contains("incidents:read"));
        assert!(parse_tokens("r[admin:0123456789abcdef").is_err());
        // A `]` in a secret is the secret's, not the end of scopes.
        let bracket = parse_tokens("bot:ab]cd:efghijklmnopqrstuv").unwrap();
        assert_eq!(bracket[0].name, "bot");
        assert_eq!(bracket[0].secret.expose(), "ab]cd:efghijklmnopqrstuv");
    }

    #[test]
    fn tokens_reject_short_secrets_duplicates_and_missing_colons() {
        assert!(parse_tokens("alice:short").unwrap_err().contains("16"));
        assert!(parse_tokens("alice").unwrap_err().contains("name:secret"));
        let twice = "a:0123456789abcdef,a:0123456789abcdeg";
        assert!(parse_tokens(twice).unwrap_err().contains("twice"));
    }

    #[test]
    fn durations_parse_with_units_and_refuse_nonsense() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(
            parse_duration("0s")
                .unwrap_err()
                .contains("longer than zero")
        );
        assert!(
            parse_duration("ten")
                .unwrap_err()
                .contains("not a duration")
        );
        assert!(parse_duration("3days").unwrap_err().contains("unit"));
        assert_eq!(parse_duration("90d"), Ok(Duration::from_secs(90 * 86_400)));
        assert_eq!(parse_grace("0"), Ok(Duration::ZERO));
        assert!(
            parse_grace("99999999999999999d")
                .unwrap_err()
                .contains("too long")
        );
    }

    #[test]
    fn the_environment_variables_come_from_the_command_line() {
        let names = environment_variables();
        for name in [
            "DATABASE_URL",
            "FIREBREAK_TOKENS",
            "FIREBREAK_CALL_TIMEOUT",
            "RUST_LOG",
        ] {
            assert!(names.contains(&name.to_owned()), "{name} in {names:?}");
        }
    }

    #[test]
    fn secrets_do_not_print() {
        let secret = Secret("hunter2hunter2hunter2".into());
        assert!(!format!("{secret:?}").contains("hunter2"));
    }
}
