-- Learning from history: similar past incidents and incident metrics over all of it.

-- Trigram similarity of titles (`similarity()`), a contrib extension PostgreSQL ships with
-- every installation and marks trusted (a database owner may create it).
create extension if not exists pg_trgm;

-- Incidents labelled `test` (any value but false/no/0) are left out of history answers
-- unless asked for. Stored, so the metrics index below can carry it.
alter table incident add column is_test boolean not null
    generated always as (coalesce(lower(labels ->> 'test') not in ('false', 'no', '0'), false)) stored;

-- Metrics over a period read only this index (an index-only scan over the window): every
-- column a duration, an exclusion or a breakdown needs. It also serves `since`/`until` lists
-- (a btree reads backwards as well), so it replaces the plain declared_at index.
create index incident_history on incident (declared_at)
    include (status, severity, is_test, services, detected_at, acknowledged_at,
             impact_started_at, mitigated_at, resolved_at);
drop index incident_declared_at;

-- Similar incidents: those raised by the same alert, newest first.
create index incident_alertname on incident ((labels ->> 'alertname'), number desc)
    where labels ? 'alertname';
