-- The Kingston monthly IRR now counts a valuation in the month after its date's month (one dated the 1st in its
-- own month), as the firm computes it (docs/domain.md, "The Kingston monthly method"). Every stored Kingston
-- figure was made under the earlier rule (a valuation in its own month), so they go: the job irr-history finds
-- every valuation date without both methods and rewrites the product's history from the earliest one, under the
-- rule of the code deployed. Run it right after this migration (docs/deploy.md); until it has run, Kingston rows
-- are missing from the IRR history rather than wrong. XIRR rows are unchanged.
-- depends: 0013_portfolio_valuations_by_trigger
DELETE FROM irr_values WHERE method = 'kingston_monthly';
