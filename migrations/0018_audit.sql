-- The audit trail: one record per MCP call (tool, resource, prompt), `firebreak tool` run and
-- ingestion request. A write's record is inserted in the write's own transaction; reads and
-- refusals arrive in batches from the in-process queue (`app::audit::AuditLog`). Records older
-- than the retention (default 180 days) are pruned in the background.
create table audit_record (
    id              bigserial primary key,  -- insertion order; the keyset of `before_id`
    at              timestamptz not null,   -- when the call began
    principal       text not null,          -- a token's name, the local user, a source's name, or `unauthenticated`
    auth_method     text not null,          -- `AuthMethod`: static_token, database_token, oauth, local, anonymous, source_secret
    client          text,                   -- the MCP client's name and version, or a sender's User-Agent
    channel         text not null,          -- `Channel`: mcp, http, cli, webhook
    kind            text not null
                    constraint audit_record_kind check (kind in ('tool', 'resource', 'prompt', 'ingest')),
    name            text not null,          -- the tool, the resource URI, the prompt, or `POST /hooks/…`
    incident_number bigint,                 -- the INC-n the call touched, when it touched one
    outcome         text not null,          -- `ok` or the error code answered (`invalid_argument`, `unauthorized` …)
    duration_us     bigint not null,        -- how long the call took, in microseconds
    args_digest     text not null,          -- SHA-256 (hex) of the canonical arguments (or of an ingestion body)
    args_preview    jsonb not null          -- the arguments redacted and cut to at most 2 KB
);

-- Every index costs on the write path (a write inserts its record in its own transaction), so
-- there are only these, all newest first by time. A BRIN on `at` would be cheaper to maintain
-- but cannot return rows in order, and the common question (`firebreak audit` with no filter,
-- or one principal's latest calls) wants the newest rows first; `at` only grows, so the b-tree
-- inserts into its rightmost page. The outcome filter has no index: it narrows one of these.
create index audit_record_at on audit_record (at);
create index audit_record_principal_at on audit_record (principal, at);
create index audit_record_name_at on audit_record (name, at);
-- Most calls touch no incident; a partial index leaves them out.
create index audit_record_incident_at on audit_record (incident_number, at)
    where incident_number is not null;
