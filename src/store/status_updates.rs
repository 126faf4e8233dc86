//! What posting a stakeholder update reads: who is working the incident (a public update may
//! not name them) and the public name its last public update gave it.

use sqlx::PgConnection;
use uuid::Uuid;

use crate::store::Result;

/// The names on an incident: every role holder it has had, and the principal of every person
/// that wrote on it (over MCP, HTTP or the command line: not webhook writers such as alert and
/// change sources), except principals named like one of the incident's services. The caller
/// also ignores short and generic names.
pub async fn people(conn: &mut PgConnection, incident_id: Uuid) -> Result<Vec<String>> {
    let names: Vec<String> = sqlx::query_scalar(
        "select assignee from role_assignment where incident_id = $1 \
         union \
         select principal from ( \
             select actor_principal as principal from timeline_entry \
             where incident_id = $1 and actor_channel in ('mcp', 'http', 'cli') \
             union \
             select created_by_principal from incident \
             where id = $1 and created_by_channel in ('mcp', 'http', 'cli') \
         ) writers \
         where principal <> all (select unnest(services) from incident where id = $1)",
    )
    .bind(incident_id)
    .fetch_all(conn)
    .await?;
    Ok(names)
}

/// The `public_title` of the incident's newest public update, if it has one.
pub async fn last_public_title(
    conn: &mut PgConnection,
    incident_id: Uuid,
) -> Result<Option<String>> {
    let title: Option<Option<String>> = sqlx::query_scalar(
        "select data ->> 'public_title' from timeline_entry \
         where incident_id = $1 and kind = 'stakeholder_update' and visibility = 'public' \
         order by seq desc limit 1",
    )
    .bind(incident_id)
    .fetch_optional(conn)
    .await?;
    Ok(title.flatten())
}
