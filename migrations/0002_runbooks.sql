-- Runbooks as code: the head row per slug, every version's markdown, and the cache of remote
-- runbooks fetched from allow-listed hosts.

create table runbook (
    slug          text primary key
                  constraint runbook_slug_format check (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    -- The newest version's metadata, copied here so search needs no join.
    title         text not null
                  constraint runbook_title_length check (char_length(title) between 1 and 200),
    services      text[] not null default '{}',
    alerts        text[] not null default '{}',
    tags          text[] not null default '{}',
    severity_hint smallint constraint runbook_severity_hint_range check (severity_hint between 1 and 5),
    version       bigint not null constraint runbook_version_positive check (version > 0),
    content_hash  text not null,
    -- The file it came from, relative to the synced folder: a file that is invalid for a while
    -- keeps its runbook active instead of archiving it.
    source_path   text not null,
    -- Weighted words of title, alerts, services, tags (A/B) and body (C); written by the sync.
    search        tsvector not null,
    created_at    timestamptz not null,
    updated_at    timestamptz not null,
    -- Set when the file left the folder. Never deleted: incidents keep pointing at it.
    archived_at   timestamptz
);
create index runbook_search on runbook using gin (search);
create index runbook_services on runbook using gin (services);

-- Every content a slug has had, so an incident's recorded step resolves to the exact text used.
create table runbook_version (
    slug          text not null constraint runbook_version_runbook_fkey references runbook (slug),
    version       bigint not null constraint runbook_version_number_positive check (version > 0),
    content_hash  text not null,                -- SHA-256 of markdown, hex
    markdown      text not null
                  constraint runbook_version_markdown_size check (octet_length(markdown) <= 1048576),
    source_path   text not null,
    loaded_at     timestamptz not null,
    constraint runbook_version_pkey primary key (slug, version)
);

-- Versions are history: once written, a version is neither changed nor removed.
create function runbook_version_is_append_only() returns trigger language plpgsql as $$
begin
    raise exception 'runbook versions are append-only (% refused)', tg_op;
end;
$$;
create trigger runbook_version_append_only before update or delete on runbook_version
    for each row execute function runbook_version_is_append_only();

-- Remote runbooks by URL, with the validators the host gave, for conditional requests.
create table runbook_cache (
    url           text primary key,
    markdown      text not null
                  constraint runbook_cache_markdown_size check (octet_length(markdown) <= 1048576),
    content_hash  text not null,
    etag          text,
    last_modified text,                         -- as the host sent it (an HTTP date)
    fetched_at    timestamptz not null,         -- last time the host confirmed this content
    changed_at    timestamptz not null          -- last time the content itself changed
);
