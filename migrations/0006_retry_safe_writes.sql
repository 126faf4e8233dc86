-- Retry-safe writes: every write tool takes an idempotency key, and a write that reaches the
-- database after its call's deadline does not commit.

-- The first answer of each keyed write, kept for a day. A retry with the same principal, key
-- and request gets it back without writing again; another request with the key is a conflict.
-- The row is claimed at the start of the write's transaction and the answer stored before it
-- commits, so a concurrent retry waits on the primary key and then replays; a write that rolls
-- back leaves no row.
create table idempotency_key (
    principal      text not null,          -- keys are scoped by caller: tokens cannot collide
    key            text not null
                   constraint idempotency_key_length check (char_length(key) between 1 and 200),
    tool           text not null,          -- the write it was used for, for the conflict message
    request_digest text not null,          -- SHA-256 of the tool name and canonical arguments
    answer         jsonb,                  -- the first answer; null only inside the claiming transaction
    created_at     timestamptz not null,   -- expiry runs from here (24 hours)
    constraint idempotency_key_pkey primary key (principal, key)
);
-- Expired keys are pruned oldest first.
create index idempotency_key_created_at on idempotency_key (created_at);

-- The declare-only records this replaces remember incidents, not answers; they expire within a
-- day anyway, so they are dropped rather than converted.
drop table idempotency_record;

-- The deadline guard. Firebreak's serving connections set `firebreak.write_deadline` (the
-- per-call deadline, e.g. '10 s'). When a database is frozen or cut off, the statements of a
-- call that already gave up wait in socket buffers and run when it comes back; a call answered
-- `unavailable` must not then take effect. Every write appends a timeline entry, stamped with
-- Firebreak's clock when the call began (`recorded_at`), so this check, deferred to commit,
-- refuses to commit any write whose deadline has passed. Connections without the setting (the
-- command line, migrations, tools run by hand) are not checked.
create function timeline_entry_within_deadline() returns trigger language plpgsql as $$
declare
    allowance text := current_setting('firebreak.write_deadline', true);
begin
    if clock_timestamp() > new.recorded_at + allowance::interval then
        raise exception 'the call''s deadline (%) passed before this write could commit', allowance
            using errcode = '57014'; -- query_canceled: the caller was told `unavailable`
    end if;
    return null;
end;
$$;
-- The condition is evaluated at insert time, so bulk loads on connections without the setting
-- queue no deferred events at all.
create constraint trigger timeline_entry_within_deadline
    after insert on timeline_entry
    deferrable initially deferred
    for each row
    when (current_setting('firebreak.write_deadline', true) <> '')
    execute function timeline_entry_within_deadline();
