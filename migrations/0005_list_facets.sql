-- Filtered lists stay fast at millions of incidents.
--
-- `list_incidents` filtered by status, severity and service, newest first, used to walk the
-- number index and discard rows that did not match: at 1M incidents a rare service with a
-- common status read tens of thousands of rows (66 ms). Now every (status, severity) pair the
-- filter allows is one range of a btree, read newest first and stopped after a page; the
-- store merges the ranges. A service is an element of an array, which a btree cannot hold, so
-- `incident_facet` keeps one row per (incident, service) with the listed columns, maintained
-- by triggers in the same transaction as the incident row.

create index incident_status_severity_number
    on incident (status, severity, number desc) include (declared_at);
-- Served by the index above (every status or severity filter is expanded into pairs).
drop index incident_status_number;
drop index incident_severity_number;

create table incident_facet (
    incident_id uuid not null references incident (id) on delete cascade,
    service text not null,
    status text not null,
    severity smallint not null,
    number bigint not null,
    declared_at timestamptz not null,
    primary key (incident_id, service)
);

insert into incident_facet (incident_id, service, status, severity, number, declared_at)
select i.id, s.service, i.status, i.severity, i.number, i.declared_at
from incident i, lateral (select distinct unnest(i.services) as service) s;

create index incident_facet_list
    on incident_facet (service, status, severity, number desc) include (declared_at);
create index incident_facet_service
    on incident_facet (service, number desc) include (declared_at);

-- Writes the facet rows of a new incident, or rewrites them when its services, status or
-- severity changed.
create function incident_facet_sync() returns trigger
language plpgsql as $$
begin
    if tg_op = 'UPDATE' then
        delete from incident_facet where incident_id = new.id;
    end if;
    insert into incident_facet (incident_id, service, status, severity, number, declared_at)
    select new.id, s.service, new.status, new.severity, new.number, new.declared_at
    from (select distinct unnest(new.services) as service) s;
    return null;
end
$$;

create trigger incident_facet_insert after insert on incident
    for each row execute function incident_facet_sync();

create trigger incident_facet_update after update on incident
    for each row
    when (old.services is distinct from new.services
          or old.status is distinct from new.status
          or old.severity is distinct from new.severity
          or old.declared_at is distinct from new.declared_at)
    execute function incident_facet_sync();
