//! A sample incident and postmortem to try an operator's template on.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::actor::{Actor, Channel};
use crate::domain::incident::{Incident, Severity};
use crate::domain::postmortem::Postmortem;
use crate::domain::postmortem::section::SectionName;
use crate::domain::status::Status;

/// A resolved SEV2 incident with a freshly drafted postmortem.
pub(super) fn document() -> (Incident, Postmortem) {
    let at = DateTime::<Utc>::UNIX_EPOCH;
    let actor = Actor {
        principal: "sample".to_owned(),
        client: None,
        channel: Channel::Cli,
    };
    let incident = Incident {
        id: Uuid::nil(),
        number: 1,
        title: "Sample incident".to_owned(),
        summary: "A sample summary.".to_owned(),
        impact: "A sample impact.".to_owned(),
        resolution: Some("A sample resolution.".to_owned()),
        severity: Severity::Sev2,
        status: Status::Resolved,
        services: vec!["sample-api".to_owned()],
        labels: BTreeMap::new(),
        dedup_key: None,
        merged_into: None,
        version: 1,
        created_by: actor.clone(),
        impact_started_at: Some(at),
        detected_at: Some(at),
        declared_at: at,
        acknowledged_at: Some(at),
        identified_at: Some(at),
        mitigated_at: Some(at),
        resolved_at: Some(at),
        closed_at: None,
        updated_at: at,
    };
    let sections = SectionName::ALL
        .into_iter()
        .map(|name| (name, format!("Sample {name} text.\n")))
        .collect();
    let postmortem = Postmortem::draft(&incident, sections, &actor, at);
    (incident, postmortem)
}
