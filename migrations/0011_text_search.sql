-- Text search ranks the newest matches, not every match (store::incident_list::text_search).
-- GIN finds all matches but returns them in no useful order, and each one costs a heap visit,
-- so a word in 0.5% of a million incidents cost ~5,000 visits. This index adds the incident's
-- number in buckets of 1,024 and 16,384 as two more keys: a search restricted to the buckets of
-- a recent window intersects the posting lists inside the index and visits only the matches of
-- that window. `btree_gin` (contrib, trusted like pg_trgm) gives GIN its integer keys.
create extension if not exists btree_gin;

-- The expressions must stay exactly as the store writes them (`number >> 10`, `number >> 14`).
-- Every other full-text query uses the `search` column of this index as it used the old one.
create index incident_search_recent on incident using gin ((number >> 10), (number >> 14), search);
drop index incident_search;
