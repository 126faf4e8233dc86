-- Deliveries follow the target's configuration as it is in the database, not as one process
-- sees it: each target keeps the subscription its newest registration brought (so any process
-- can fan an event out to every configured target, including ones it does not itself send
-- to), and each delivery keeps the digest of the target's URL it was made for (so a target
-- pointed somewhere else never receives what was meant for its old URL).
alter table notification_target add column subscription jsonb not null default '{}';
alter table notification_delivery add column config_digest text not null default '';
-- Claims read one target's due deliveries in order.
create index notification_delivery_pending_by_target on notification_delivery
    (target, next_attempt_at) where state = 'pending';
-- The old claim index is superseded.
drop index notification_delivery_due;
