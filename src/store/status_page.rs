//! SQL for the public status page: the public stakeholder updates of the incidents it shows
//! (index `timeline_entry_public_updates`, migration 0015). Reads the incident's number and
//! nothing else of it.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{FromRow, PgConnection};
use uuid::Uuid;

use crate::domain::status_page::PublishedUpdate;
use crate::domain::status_update::StakeholderUpdate;
use crate::store::Result;

#[derive(FromRow)]
struct PublishedRow {
    id: Uuid,
    number: i64,
    body: String,
    recorded_at: DateTime<Utc>,
    data: Option<Json<serde_json::Value>>,
}

/// The public updates (audience `public`, visibility `public`) of every incident whose latest
/// public update is not `resolved` or was published since `since`, newest first, at most
/// `limit`. Rows whose data this version cannot read are skipped.
pub async fn published(
    conn: &mut PgConnection,
    since: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<PublishedUpdate>> {
    let rows: Vec<PublishedRow> = sqlx::query_as(
        "with published as ( \
             select id, seq, incident_id, body, recorded_at, data from timeline_entry \
             where kind = 'stakeholder_update' and visibility = 'public' \
               and data->>'audience' = 'public'), \
         latest as ( \
             select distinct on (incident_id) incident_id, recorded_at, data->>'status' as status \
             from published order by incident_id, recorded_at desc, seq desc), \
         shown as ( \
             select incident_id from latest where status <> 'resolved' or recorded_at >= $1) \
         select p.id, i.number, p.body, p.recorded_at, p.data \
         from published p \
         join shown s on s.incident_id = p.incident_id \
         join incident i on i.id = p.incident_id \
         order by p.recorded_at desc, p.seq desc \
         limit $2",
    )
    .bind(since)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().filter_map(published_update).collect())
}

fn published_update(row: PublishedRow) -> Option<PublishedUpdate> {
    let Json(value) = row.data?;
    match serde_json::from_value::<StakeholderUpdate>(value) {
        Ok(update) => Some(PublishedUpdate {
            id: row.id,
            incident_number: row.number,
            message: row.body,
            published_at: row.recorded_at,
            update,
        }),
        Err(err) => {
            tracing::warn!(entry = %row.id, error = %err, "a public update of an unknown shape");
            None
        }
    }
}
