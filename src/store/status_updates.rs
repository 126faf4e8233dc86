//! What posting a stakeholder update reads: who is working the incident (a public update may
//! not name them) and the public name its last public update gave it.

use sqlx::PgConnection;
use uuid::Uuid;

use crate::store::Result;

/// The names on an incident: every role holder it has had and every principal that wrote on
/// its timeline (writers such as alert sources included; the caller ignores short ones).
pub async fn people(conn: &mut PgConnection, incident_id: Uuid) -> Result<Vec<String>> {
    let names: Vec<String> = sqlx::query_scalar(
        "select assignee from role_assignment where incident_id = $1 \
         union select actor_principal from timeline_entry where incident_id = $1 \
         union select created_by_principal from incident where id = $1",
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
