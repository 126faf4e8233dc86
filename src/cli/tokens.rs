//! `firebreak tokens create|list|revoke|rotate`: the API tokens `serve --http` accepts. A
//! secret is printed once, when it is made; `list` never shows one.

use std::io::Write;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::json;

use crate::app::tokens::TokenInfo;
use crate::cli::{Error, connect_app, local_user};
use crate::config::{DatabaseArgs, TokenCommand};
use crate::domain::Scope;

/// Runs a `tokens` command.
pub(super) async fn run(database: &DatabaseArgs, command: TokenCommand) -> Result<(), Error> {
    let app = connect_app(database).await?;
    match command {
        TokenCommand::Create {
            name,
            scopes,
            expires,
        } => {
            let expires_in = expires
                .map(|after| {
                    chrono::Duration::from_std(after)
                        .map_err(|_| Error::Config("--expires is too long".into()))
                })
                .transpose()?;
            let (token, secret) = app
                .create_token(&name, scopes, expires_in, &local_user())
                .await?;
            let expiry = match token.expires_at {
                Some(at) => format!("expires {}", time(at)),
                None => "valid until revoked".to_owned(),
            };
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "token `{}` created ({}; {expiry}). Its secret:\n",
                token.name, token.scopes
            )?;
            print_secret(&mut out, &secret)?;
        }
        TokenCommand::List { all, json } => {
            let tokens = app.list_tokens(all).await?;
            let mut out = std::io::stdout().lock();
            let now = Utc::now();
            match json {
                true => writeln!(out, "{}", as_json(&tokens, now))?,
                false => print_table(&mut out, &tokens, now)?,
            }
        }
        TokenCommand::Revoke { name } => {
            let token = app.revoke_token(&name).await?;
            writeln!(
                std::io::stdout().lock(),
                "token `{}` revoked; every serving process refuses it within a second or so",
                token.name
            )?;
        }
        TokenCommand::Rotate { name, grace } => {
            let grace = chrono::Duration::from_std(grace)
                .map_err(|_| Error::Config("--grace is too long".into()))?;
            let (token, secret) = app.rotate_token(&name, grace).await?;
            let mut out = std::io::stdout().lock();
            writeln!(out, "token `{}` has a new secret:\n", token.name)?;
            print_secret(&mut out, &secret)?;
            match token.previous_valid_until {
                Some(until) => writeln!(
                    out,
                    "The old secret is still accepted until {}; move clients to the new one before then.",
                    time(until)
                )?,
                None => writeln!(out, "The old secret is refused from now on.")?,
            }
        }
    }
    Ok(())
}

/// Prints a secret on a line of its own, and how to use it.
fn print_secret(out: &mut impl Write, secret: &str) -> std::io::Result<()> {
    writeln!(out, "{secret}\n")?;
    writeln!(
        out,
        "It will not be shown again (Firebreak keeps only its digest): store it now. Clients send \
         it to `firebreak serve --http` in the header `Authorization: Bearer <the secret above>`."
    )
}

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn maybe_time(at: Option<DateTime<Utc>>, none: &str) -> String {
    at.map_or_else(|| none.to_owned(), time)
}

/// The tokens as a table: name, scopes, created, last used, expires, state.
fn print_table(
    out: &mut impl Write,
    tokens: &[TokenInfo],
    now: DateTime<Utc>,
) -> std::io::Result<()> {
    if tokens.is_empty() {
        return writeln!(
            out,
            "no tokens; make one with `firebreak tokens create NAME --scopes incidents:read`"
        );
    }
    let header = ["NAME", "SCOPES", "CREATED", "LAST USED", "EXPIRES", "STATE"].map(String::from);
    let rows: Vec<[String; 6]> = tokens
        .iter()
        .map(|t| {
            [
                t.name.clone(),
                t.scopes.to_string().replace(' ', ","),
                time(t.created_at),
                maybe_time(t.last_used_at, "never"),
                maybe_time(t.expires_at, "never"),
                t.state(now).to_string(),
            ]
        })
        .collect();
    let mut widths = header.clone().map(|h| h.len());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        writeln!(out, "{}", cells.join("  ").trim_end())?;
    }
    Ok(())
}

/// The tokens as a JSON array, for scripts.
fn as_json(tokens: &[TokenInfo], now: DateTime<Utc>) -> serde_json::Value {
    tokens
        .iter()
        .map(|t| {
            json!({
                "name": t.name,
                "scopes": t.scopes.expanded().into_iter().map(Scope::as_str).collect::<Vec<_>>(),
                "created_at": time(t.created_at),
                "created_by": t.created_by,
                "last_used_at": t.last_used_at.map(time),
                "expires_at": t.expires_at.map(time),
                "revoked_at": t.revoked_at.map(time),
                "previous_valid_until": t.previous_valid_until.map(time),
                "state": t.state(now).as_str(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Scopes;

    fn token(name: &str) -> TokenInfo {
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        TokenInfo {
            name: name.into(),
            scopes: Scopes::of(&[Scope::IncidentsWrite, Scope::Admin]),
            created_at: at,
            created_by: "ops".into(),
            expires_at: None,
            last_used_at: Some(at),
            revoked_at: None,
            previous_valid_until: None,
        }
    }

    #[test]
    fn the_table_lines_up_its_columns() {
        let mut out = Vec::new();
        let now = Utc::now();
        print_table(&mut out, &[token("ci"), token("pager-bot")], now).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].starts_with("NAME       SCOPES"), "{text}");
        assert!(
            lines[1].starts_with("ci         incidents:write,admin  2027-01-15T08:00:00Z"),
            "{text}"
        );
        assert!(lines[2].ends_with("never    live"), "{text}");
    }

    #[test]
    fn json_lists_scopes_expanded_and_no_secret() {
        let listed = as_json(&[token("ci")], Utc::now());
        assert_eq!(
            listed[0]["scopes"],
            json!(["incidents:read", "incidents:write", "admin"])
        );
        assert_eq!(listed[0]["state"], "live");
        assert_eq!(listed[0]["expires_at"], serde_json::Value::Null);
    }
}
