-- Back to 0013: the same deletion, so that the job irr-history of the previous release (roll the code back with
-- the schema) rewrites the Kingston history under its own rule instead of keeping figures made under this one.
DELETE FROM irr_values WHERE method = 'kingston_monthly';
