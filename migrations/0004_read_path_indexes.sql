-- Indexes for the incident brief's read path.

-- The brief lists the incidents merged into this one; without this index that is a scan of
-- every incident.
create index incident_merged_into on incident (merged_into) where merged_into is not null;
