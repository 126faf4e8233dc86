-- An alert group's current incident, kept by every delivery. Finding it through the `alert`
-- table made the planner merge-join every alert of the source once a source had some 60k
-- alerts (100k buffers read per lookup); this table keeps the lookup a primary-key read.

-- The index it replaces had the table's name (nothing reads alerts by group any more).
drop index alert_group;

create table alert_group (
    source        text not null,
    route         text not null,
    group_key     text not null,
    incident_id   uuid not null constraint alert_group_incident_fkey references incident (id),
    last_seen     timestamptz not null,  -- the group's latest alert, for the group window
    constraint alert_group_pkey primary key (source, route, group_key)
);
create index alert_group_incident on alert_group (incident_id);

insert into alert_group (source, route, group_key, incident_id, last_seen)
select distinct on (source, route, group_key) source, route, group_key, incident_id, last_seen
from alert
where incident_id is not null and route is not null
order by source, route, group_key, last_seen desc;
