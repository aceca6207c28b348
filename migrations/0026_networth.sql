-- Net worth (docs/domain.md, "Net worth"):
--   * ownership_household_share: the household's share of a holding in percent, from its ownership in any of the
--     three forms; a row's household part (`total`) is its value x that share / 100, to the penny;
--   * networth_statements: a household's net worth as shown on one day, stored whole and never changed. The
--     database refuses UPDATE, DELETE and TRUNCATE whoever asks (the owner role too), by trigger; the one
--     exception is a DELETE in a transaction that has set wealthdesk.networth_statement_retention to 'delete',
--     for a retention policy an operator runs by hand. Nothing in the application sets it: by default a
--     statement is kept for ever. The app role may only SELECT and INSERT them;
--   * networth_snapshots: one row per household and day (assets, liabilities, net worth: the household's part),
--     written by the job networth-snapshots for every household of every firm in one statement per day
--     (INSERT ... ON CONFLICT DO NOTHING: a day once taken is kept as it was taken), and beside them each firm's
--     total of the day (networth_firm_totals: what the dashboard shows as net worth under advice). The app role
--     only reads both.
-- depends: 0019_firm_job_runs 0020_rate_limits 0021_unmanaged_products 0022_information_items_and_actions

-- The household's share of a holding, in percent (0-100): all of it for an individual owner, the sum of the shares
-- for tenants in common (the rest belongs to third parties), the collective percentage for joint owners.
CREATE FUNCTION ownership_household_share(o jsonb) RETURNS numeric
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT CASE o ->> 'association_type'
              WHEN 'individual' THEN 100::numeric
              WHEN 'tenants_in_common' THEN (SELECT coalesce(sum(s.value::numeric), 0)
                                             FROM jsonb_each_text(o -> 'shares') AS s)
              WHEN 'joint' THEN (o ->> 'collective_percentage')::numeric
              ELSE 0::numeric END $$;
GRANT EXECUTE ON FUNCTION ownership_household_share(jsonb) TO wealthdesk_app;

CREATE TABLE networth_statements (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- Its firm is its household's (the foreign key below): no key of its own to the firm, whose row every
    -- statement of the firm would otherwise lock as it is written.
    firm_id          uuid NOT NULL,
    client_group_id  uuid NOT NULL,
    name             text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    as_of            date NOT NULL,
    currency         char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    assets           numeric(20, 2) NOT NULL,
    liabilities      numeric(20, 2) NOT NULL,
    net_worth        numeric(20, 2) NOT NULL,
    snapshot         jsonb NOT NULL CHECK (jsonb_typeof(snapshot) = 'object'),
    created_at       timestamptz NOT NULL DEFAULT now(),
    created_by_type  text NOT NULL CHECK (created_by_type IN ('user', 'api_key', 'system')),
    created_by       uuid,
    CHECK (net_worth = assets - liabilities),
    -- A household with statements cannot be deleted: the statements outlive nothing they describe.
    FOREIGN KEY (firm_id, client_group_id) REFERENCES client_groups (firm_id, id) ON DELETE RESTRICT
);
-- The household's statements newest first (the list's order; its filters read the same rows).
CREATE INDEX networth_statements_group_idx ON networth_statements (client_group_id, created_at DESC, id DESC);

-- A statement is never changed, and never deleted except by an explicit retention run (above).
CREATE FUNCTION networth_statements_immutable() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('wealthdesk.networth_statement_retention', true) = 'delete' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'net worth statements are immutable: % refused', TG_OP
        USING ERRCODE = 'restrict_violation', CONSTRAINT = 'networth_statements_immutable',
              HINT = 'A retention run deletes in a transaction that sets wealthdesk.networth_statement_retention '
                     'to ''delete'' (docs/domain.md); nothing changes a statement.';
END $$;
CREATE TRIGGER networth_statements_immutable BEFORE UPDATE OR DELETE ON networth_statements
    FOR EACH ROW EXECUTE FUNCTION networth_statements_immutable();
CREATE TRIGGER networth_statements_no_truncate BEFORE TRUNCATE ON networth_statements
    FOR EACH STATEMENT EXECUTE FUNCTION networth_statements_immutable();

-- One row per household and day, the household's part of its assets and liabilities on that day.
CREATE TABLE networth_snapshots (
    firm_id          uuid NOT NULL,
    client_group_id  uuid NOT NULL,
    snapshot_date    date NOT NULL,
    currency         char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    assets           numeric(20, 2) NOT NULL,
    liabilities      numeric(20, 2) NOT NULL,
    net_worth        numeric(20, 2) NOT NULL,
    unconverted      integer NOT NULL DEFAULT 0 CHECK (unconverted >= 0),
    taken_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_group_id, snapshot_date),
    CHECK (net_worth = assets - liabilities),
    FOREIGN KEY (firm_id, client_group_id) REFERENCES client_groups (firm_id, id) ON DELETE CASCADE
);
-- A day's rows (the job's completeness check and the firms' totals of the day).
CREATE INDEX networth_snapshots_date_idx ON networth_snapshots (snapshot_date);

-- Each firm's households added up, per day: the sums of that day's networth_snapshots rows.
CREATE TABLE networth_firm_totals (
    firm_id        uuid NOT NULL REFERENCES firms (id) ON DELETE RESTRICT,
    snapshot_date  date NOT NULL,
    currency       char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    households     integer NOT NULL CHECK (households >= 0),
    assets         numeric(22, 2) NOT NULL,
    liabilities    numeric(22, 2) NOT NULL,
    net_worth      numeric(22, 2) NOT NULL,
    taken_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (firm_id, snapshot_date),
    CHECK (net_worth = assets - liabilities)
);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['networth_statements', 'networth_snapshots', 'networth_firm_totals'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant ON %I USING (firm_id = (SELECT current_firm_id())) '
                       'WITH CHECK (firm_id = (SELECT current_firm_id()))', t);
        EXECUTE format('CREATE POLICY maintenance ON %I TO CURRENT_USER USING (true) WITH CHECK (true)', t);
    END LOOP;
END $$;
GRANT SELECT, INSERT ON networth_statements TO wealthdesk_app;
GRANT SELECT ON networth_snapshots, networth_firm_totals TO wealthdesk_app;
