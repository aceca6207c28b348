-- Back to 0014: no table of households' money, no triggers keeping it. The code of the previous
-- release has no money on the household list (roll the code back with the schema).
DROP TRIGGER portfolio_valuations_fum_delete ON portfolio_valuations;
DROP TRIGGER portfolio_valuations_fum_update ON portfolio_valuations;
DROP TRIGGER portfolio_valuations_fum_insert ON portfolio_valuations;
DROP TRIGGER products_fum_delete ON products;
DROP TRIGGER products_fum_update ON products;
DROP TRIGGER products_fum_insert ON products;
DROP TRIGGER client_groups_fum_insert ON client_groups;
DROP FUNCTION portfolio_valuations_fum();
DROP FUNCTION products_fum();
DROP FUNCTION client_groups_fum_insert();
DROP FUNCTION client_group_fum_refresh(uuid[]);
DROP FUNCTION client_group_fum_of(uuid[]);
DROP TABLE client_group_fum;
