-- Incident metrics: the postmortems still owed for the major incidents of a period.

-- Major (SEV1–SEV2) incidents that are done with, by declaration time, carrying what the owed-
-- postmortem count filters on: the period's majors are one index range, read without the
-- table, and each is checked against the published postmortems below. Through
-- incident_history instead, every major of the period cost a table read (its id is not there).
create index incident_major_done on incident (declared_at)
    include (id, number, severity, is_test, services)
    where severity <= 2 and status in ('resolved', 'closed');

-- The published postmortems: whether an incident has one is a probe of this small index.
create index postmortem_published on postmortem (incident_id) where status = 'published';

-- Outstanding action items by due date: the overdue ones are a range of it, without reading
-- the done ones (most items, once an incident is old).
create index action_item_outstanding on action_item (due_on, number)
    where status in ('open', 'in_progress');
