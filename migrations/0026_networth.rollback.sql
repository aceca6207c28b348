-- Back to the schema before net worth: no statements, no daily snapshots (roll the code back with the schema).
-- DROP TABLE is not refused by the statements' triggers (they guard rows, not the table).
DROP TABLE networth_firm_totals;
DROP TABLE networth_snapshots;
DROP TABLE networth_statements;
DROP FUNCTION networth_statements_immutable();
DROP FUNCTION ownership_household_share(jsonb);
