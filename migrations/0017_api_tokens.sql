-- API tokens made with `firebreak tokens create`: bearer credentials for `serve --http` that
-- live in the database, so every replica accepts the same ones and a revocation reaches all of
-- them. Only a SHA-256 digest of each secret is kept: the secret is shown once, at creation.
create table api_token (
    id bigserial primary key,
    -- The principal recorded on the token's writes. Checked in Rust too, with a message.
    name text not null
        constraint api_token_name_format check (name ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
    -- Canonical scope names, implied ones included (`incidents:write` brings
    -- `incidents:read`), so a query can ask `'incidents:read' = any(scopes)`.
    scopes text[] not null
        constraint api_token_scopes_known
            check (cardinality(scopes) > 0
                   and scopes <@ array['incidents:read', 'incidents:write', 'admin']),
    -- SHA-256 of the secret: a 256-bit random secret needs no salt or slow hash.
    secret_digest bytea not null constraint api_token_secret_digest_key unique,
    -- After a rotation, the digest of the secret it replaced, accepted until
    -- `previous_valid_until` so clients can move to the new one without an outage.
    previous_digest bytea,
    previous_valid_until timestamptz,
    created_at timestamptz not null default now(),
    -- Who made it (the OS user that ran `firebreak tokens create`).
    created_by text not null,
    -- Null: valid until revoked.
    expires_at timestamptz,
    -- Written in batches (at most every 30 s per process), never once per request.
    last_used_at timestamptz,
    -- Revoked tokens stay, for the record of who held what.
    revoked_at timestamptz,
    constraint api_token_previous_pair
        check ((previous_digest is null) = (previous_valid_until is null))
);

-- One live token per name, so a name means one principal; revoked ones keep theirs.
create unique index api_token_live_name on api_token (name) where revoked_at is null;

-- Every serving process caches the live tokens and reloads them when told. Recording uses
-- (`last_used_at` only) changes nothing they cache, so it does not wake them.
create function api_token_changed() returns trigger language plpgsql as $$
begin
    perform pg_notify('firebreak_tokens', '');
    return null;
end
$$;

create trigger api_token_changed
    after insert or delete or truncate
              or update of name, scopes, secret_digest, previous_digest, previous_valid_until,
                           expires_at, revoked_at
    on api_token
    for each statement execute function api_token_changed();
