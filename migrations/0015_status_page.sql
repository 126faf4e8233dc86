-- The public status page reads only public stakeholder updates: a partial index keeps that read
-- proportional to the (few) public updates rather than to the whole timeline. The page groups
-- them by incident and takes each incident's latest, hence the key order.
create index timeline_entry_public_updates
    on timeline_entry (incident_id, recorded_at desc, seq desc)
    where kind = 'stakeholder_update' and visibility = 'public';
