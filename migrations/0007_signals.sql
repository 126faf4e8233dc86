-- Signals in: alerts from monitoring (with the ledger of what Firebreak decided for each
-- delivery), and changes (deploys, config, flags) with their links to incidents.

-- One row per alert: an identity (fingerprint or dedup key, namespaced by source) from the
-- first firing event until it resolves. A trigger after the resolve opens a new row.
create table alert (
    id            uuid primary key,
    source        text not null,
    alert_key     text not null
                  constraint alert_key_length check (char_length(alert_key) between 1 and 255),
    status        text not null constraint alert_status_known check (status in ('firing', 'resolved')),
    title         text not null constraint alert_title_length check (char_length(title) between 1 and 1024),
    severity      smallint constraint alert_severity_range check (severity between 1 and 5),
    services      text[] not null default '{}',
    dependencies  text[] not null default '{}', -- services the alerted ones depend on (for change correlation)
    labels        jsonb not null default '{}'
                  constraint alert_labels_object check (jsonb_typeof(labels) = 'object'),
    annotations   jsonb not null default '{}'
                  constraint alert_annotations_object check (jsonb_typeof(annotations) = 'object'),
    description   text constraint alert_description_size check (octet_length(description) <= 16384),
    source_url    text,
    runbook_url   text,
    route         text,                    -- the route that matched (null: none did)
    group_key     text not null,           -- e.g. `alertname=HighErrorRate,service=payments`
    incident_id   uuid constraint alert_incident_fkey references incident (id),
    starts_at     timestamptz not null,
    ends_at       timestamptz,
    first_seen    timestamptz not null,
    last_seen     timestamptz not null,
    seen_count    integer not null default 1,
    acknowledged_at timestamptz,
    constraint alert_resolved_ended check (status = 'firing' or ends_at is not null)
);
-- One firing alert per identity: repeats count on it, and the index is the backstop for races.
create unique index alert_open_key on alert (source, alert_key) where status = 'firing';
create index alert_incident on alert (incident_id, last_seen desc, id) where incident_id is not null;
create index alert_group on alert (source, route, group_key, last_seen desc) where incident_id is not null;
create index alert_last_seen on alert (last_seen desc, id);

-- The alert ledger: every decision with its reason, refusals included.
create table alert_decision (
    seq           bigint generated always as identity constraint alert_decision_pkey primary key,
    received_at   timestamptz not null,
    source        text not null,
    alert_id      uuid constraint alert_decision_alert_fkey references alert (id),
    alert_key     text,
    incident_id   uuid constraint alert_decision_incident_fkey references incident (id),
    decision      text not null constraint alert_decision_known check (decision in (
                      'declared', 'attached', 'deduplicated', 'recorded', 'resolved',
                      'acknowledged', 'ignored', 'refused')),
    reason        text not null
);
create index alert_decision_alert on alert_decision (alert_id, seq) where alert_id is not null;
create index alert_decision_source on alert_decision (source, seq desc);

-- A change somewhere: a deploy, a config or flag change, infrastructure, a push, a release.
create table change (
    id            uuid primary key,
    number        bigint generated always as identity constraint change_number_key unique, -- CHG-<n>
    source        text not null,
    external_id   text not null
                  constraint change_external_id_length check (char_length(external_id) between 1 and 255),
    kind          text not null constraint change_kind_known check (kind in (
                      'deploy', 'config', 'feature_flag', 'infrastructure', 'code', 'release')),
    services      text[] not null default '{}',
    environment   text,
    summary       text not null constraint change_summary_length check (char_length(summary) between 1 and 1024),
    url           text,
    actor         text,
    actor_kind    text constraint change_actor_kind_known check (actor_kind in ('human', 'automation', 'agent')),
    sha           text,
    ref           text,
    status        text,
    failed        boolean not null default false,
    occurred_at   timestamptz not null,
    received_at   timestamptz not null,
    -- A sender's redelivery is the same change.
    constraint change_source_external_id_key unique (source, external_id)
);
create index change_occurred_at on change (occurred_at desc, id);
create index change_services on change using gin (services);

-- What responders decided about a change for an incident.
create table incident_change (
    incident_id   uuid not null constraint incident_change_incident_fkey references incident (id),
    change_id     uuid not null constraint incident_change_change_fkey references change (id),
    relation      text not null constraint incident_change_relation_known check (relation in (
                      'suspected', 'confirmed', 'ruled_out')),
    note          text,
    linked_at     timestamptz not null,
    linked_by_principal text not null,
    constraint incident_change_pkey primary key (incident_id, change_id)
);
create index incident_change_change on incident_change (change_id);
