-- Notifications out: the outbox (`notification_event`), filled by a trigger in the transaction
-- of the timeline entry that caused each event, so an event exists exactly when its change
-- committed; the per-target deliveries the workers fan it out to; and the ledger of every
-- attempt. Events are only written while some target is configured (`notification_target`,
-- registered by each serving process at start; retired when no process configures them).

create table notification_target (
    name            text primary key,
    kind            text not null constraint notification_target_kind_known
                    check (kind in ('slack', 'teams', 'webhook')),
    -- A digest of the kind and URL: a target whose URL changed is re-enabled and starts afresh.
    config_digest   text not null,
    -- Events recorded before a target was first configured are never sent to it.
    first_seen_at   timestamptz not null,
    -- Set when the receiver answered 410 Gone (or Slack 404/410): nothing more is sent.
    disabled_at     timestamptz,
    disabled_reason text,
    -- Set when the receiver asked to slow down (429 with Retry-After): every replica waits.
    paused_until    timestamptz,
    -- Set when no serving process configures it any more.
    retired_at      timestamptz
);

create table notification_event (
    id           uuid primary key,        -- the `webhook-id`, stable across every retry
    seq          bigint generated always as identity constraint notification_event_seq_key unique,
    incident_id  uuid not null constraint notification_event_incident_fkey references incident (id),
    entry_id     uuid,                    -- the timeline entry that caused it (none: overdue items)
    kind         text not null,           -- the entry's kind, or `action_item_overdue`
    body         text not null,
    data         jsonb,
    -- The incident as it was when the event happened.
    incident     jsonb not null,
    occurred_at  timestamptz not null,
    recorded_at  timestamptz not null,
    fanned_out_at timestamptz,
    -- One event per overdue action item and due date.
    dedup_key    text constraint notification_event_dedup_key unique
);
create index notification_event_pending on notification_event (seq) where fanned_out_at is null;
create index notification_event_recorded on notification_event (recorded_at);

create table notification_delivery (
    id              bigint generated always as identity primary key,
    event_id        uuid not null constraint notification_delivery_event_fkey
                    references notification_event (id) on delete cascade,
    target          text not null constraint notification_delivery_target_fkey
                    references notification_target (name),
    incident_id     uuid not null,
    event_type      text not null,            -- e.g. `incident.resolved`
    state           text not null constraint notification_delivery_state_known
                    check (state in ('pending', 'delivered', 'failed', 'gone')),
    attempts        integer not null default 0,
    next_attempt_at timestamptz not null,
    -- A worker holds a claimed delivery until then; a worker that died lets it go by itself.
    leased_until    timestamptz,
    created_at      timestamptz not null,
    delivered_at    timestamptz,
    last_status     integer,
    last_error      text,
    constraint notification_delivery_once unique (event_id, target)
);
create index notification_delivery_due on notification_delivery (next_attempt_at)
    where state = 'pending';
create index notification_delivery_troubled on notification_delivery (incident_id)
    where state <> 'delivered';

create table notification_attempt (
    delivery_id bigint not null constraint notification_attempt_delivery_fkey
                references notification_delivery (id) on delete cascade,
    attempt     integer not null,
    started_at  timestamptz not null,
    latency_ms  integer not null,
    status      integer,                  -- the HTTP status; none when no answer came
    error       text,
    worker      text not null,            -- host and process that sent it
    constraint notification_attempt_pkey primary key (delivery_id, attempt)
);

-- The events: declared, status and severity changes, stakeholder updates, postmortems
-- published. Which of them a target receives is the serving process's business (its
-- subscriptions); the trigger only records them, with the incident as it is at that moment
-- (after-row triggers see the whole statement's changes).
create function notification_event_from_entry() returns trigger
language plpgsql as $$
begin
    if not (new.kind in ('status_change', 'severity_change', 'stakeholder_update')
            or (new.kind = 'field_change' and new.data ->> 'object' = 'postmortem'
                and new.data -> 'status' ->> 'to' = 'published')) then
        return null;
    end if;
    -- A disabled target still counts: its events wait for it to be re-enabled.
    if not exists (select 1 from notification_target where retired_at is null) then
        return null;
    end if;
    insert into notification_event (id, incident_id, entry_id, kind, body, data, incident,
                                    occurred_at, recorded_at)
    select gen_random_uuid(), i.id, new.id, new.kind, new.body, new.data,
           jsonb_build_object(
               'number', i.number, 'title', i.title, 'severity', i.severity,
               'status', i.status, 'services', to_jsonb(i.services),
               'commander', (select r.assignee from role_assignment r
                             where r.incident_id = i.id and r.role = 'commander'
                               and r.unassigned_at is null limit 1)),
           new.occurred_at, new.recorded_at
      from incident i where i.id = new.incident_id;
    perform pg_notify('firebreak_notifications', '');
    return null;
end
$$;

create trigger timeline_entry_notification after insert on timeline_entry
    for each row execute function notification_event_from_entry();
