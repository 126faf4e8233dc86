-- no-transaction
-- Migration 0012 rewrote `incident` (as 0009 did), and a rewritten table has no page marked
-- all-visible until VACUUM runs: until then every "index-only" scan reads the table too, and
-- PostgreSQL plans bitmap heap scans instead (at 1M incidents the metrics call took 10× its
-- budget). Autovacuum would not come soon: a rewrite leaves no dead rows or inserts to count.
-- VACUUM cannot run in a transaction nor beside another statement, hence a file of its own.
vacuum (analyze) incident;
