-- Incident metrics stay within their budget at a million incidents.
--
-- The tallies used to compute each incident's three durations from five timestamps on every
-- call, reading them (and `services`) from the wide `incident_history` index. Now the
-- durations are stored, computed once when an incident is written, and the metrics index
-- carries them instead of the timestamps: half as wide, and nothing left to compute per row.

-- Replaced below; dropped first, so that the rewrite for the new columns does not rebuild it.
drop index incident_history;

-- Whole seconds, never negative, capped at `int`, and only once the incident ended (resolved
-- or closed); null without the end stamp. The anchors are those of `domain::durations`: from
-- `detected_at` (else `declared_at`) to acknowledgement; from `impact_started_at` (else
-- `detected_at`, else `declared_at`) to mitigation and resolution. Stored generated columns
-- are recomputed whenever the row changes, so a reopened incident loses them until resolved
-- again. (`date_part` of an interval is immutable, as a generated column requires.)
alter table incident
    add column metric_acknowledge_seconds int generated always as (
        case when status in ('resolved', 'closed') and acknowledged_at is not null then
            least(greatest(0, floor(date_part('epoch',
                acknowledged_at - coalesce(detected_at, declared_at)))), 2147483647)::int
        end) stored,
    add column metric_mitigate_seconds int generated always as (
        case when status in ('resolved', 'closed') and mitigated_at is not null then
            least(greatest(0, floor(date_part('epoch',
                mitigated_at - coalesce(impact_started_at, detected_at, declared_at)))), 2147483647)::int
        end) stored,
    add column metric_resolve_seconds int generated always as (
        case when status in ('resolved', 'closed') then
            least(greatest(0, floor(date_part('epoch',
                resolved_at - coalesce(impact_started_at, detected_at, declared_at)))), 2147483647)::int
        end) stored,
    -- Which anchors the durations started from (the answer counts the fallbacks).
    add column has_detected_at boolean generated always as (detected_at is not null) stored,
    add column has_impact_start boolean generated always as (impact_started_at is not null) stored;

-- Metrics over a period read only this index: one range of it per period, in declaration
-- order, without visiting the table (once VACUUM has marked the pages all-visible: migration
-- 0013). Every column a tally groups on or aggregates, and `services` for the service filter
-- and breakdown and for the busiest services. Like the index it replaces, it also serves the
-- `since`/`until` lists.
create index incident_metrics on incident (declared_at)
    include (status, severity, is_test, has_detected_at, has_impact_start,
             metric_acknowledge_seconds, metric_mitigate_seconds, metric_resolve_seconds, services);
