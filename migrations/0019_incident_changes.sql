-- Live updates: every statement that changes what `incident://INC-n` (and its timeline, alerts
-- and postmortem) shows notifies `firebreak_incident_changes` with the numbers it touched, so
-- each serving process (`app::live::LiveUpdates`, one LISTEN per process) can tell the MCP
-- sessions subscribed to those incidents to read them again, whichever replica wrote.
--
-- Statement-level triggers with transition tables: a statement touching many rows notifies
-- once. PostgreSQL also folds identical notices within one transaction, so a declare that
-- writes the incident, its timeline and its roles sends one notice, at commit (a rolled-back
-- write sends none). The payload is the comma-separated numbers, or `*` when a statement
-- touched more than 200 incidents (a notice holds at most 8000 bytes): listeners then treat
-- every incident as changed.

-- For `incident` itself: its rows carry the numbers.
create function incident_rows_changed() returns trigger language plpgsql as $$
declare
    touched bigint;
    numbers text;
begin
    select count(*), string_agg(number::text, ',' order by number)
      into touched, numbers
      from (select distinct number from changed_rows) n;
    if touched > 200 then
        perform pg_notify('firebreak_incident_changes', '*');
    elsif touched > 0 then
        perform pg_notify('firebreak_incident_changes', numbers);
    end if;
    return null;
end
$$;

-- For the tables that belong to an incident through `incident_id`.
create function incident_part_rows_changed() returns trigger language plpgsql as $$
declare
    touched bigint;
    numbers text;
begin
    select count(*), string_agg(i.number::text, ',' order by i.number)
      into touched, numbers
      from incident i
     where i.id in (select incident_id from changed_rows where incident_id is not null);
    if touched > 200 then
        perform pg_notify('firebreak_incident_changes', '*');
    elsif touched > 0 then
        perform pg_notify('firebreak_incident_changes', numbers);
    end if;
    return null;
end
$$;

-- A transition table may serve only one event per trigger, hence three triggers per table.
-- An update that moves a row to another incident (an alert attached elsewhere) notifies the
-- new one; the old one's own row changes too (a merge updates both incidents).
do $$
declare
    target record;
begin
    for target in
        select * from (values
            ('incident', 'incident_rows_changed'),
            ('timeline_entry', 'incident_part_rows_changed'),
            ('role_assignment', 'incident_part_rows_changed'),
            ('action_item', 'incident_part_rows_changed'),
            ('postmortem', 'incident_part_rows_changed'),
            ('postmortem_section', 'incident_part_rows_changed'),
            ('alert', 'incident_part_rows_changed'),
            ('alert_decision', 'incident_part_rows_changed'),
            ('incident_change', 'incident_part_rows_changed'),
            ('notification_delivery', 'incident_part_rows_changed')
        ) as t (tab, fn)
    loop
        execute format(
            'create trigger %1$s_live_insert after insert on %1$I
                 referencing new table as changed_rows
                 for each statement execute function %2$I()',
            target.tab, target.fn);
        execute format(
            'create trigger %1$s_live_update after update on %1$I
                 referencing new table as changed_rows
                 for each statement execute function %2$I()',
            target.tab, target.fn);
        execute format(
            'create trigger %1$s_live_delete after delete on %1$I
                 referencing old table as changed_rows
                 for each statement execute function %2$I()',
            target.tab, target.fn);
    end loop;
end
$$;
