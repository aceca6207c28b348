-- Back to the schema before financial planning: no plans, portfolio models or capital market assumptions (roll the
-- code back with the schema). DROP TABLE is not refused by the plans' triggers (they guard rows, not the table).
DROP TABLE plans;
DROP TABLE portfolio_model_allocations;
DROP TABLE portfolio_models;
DROP TABLE cma_asset_classes;
DROP TABLE cma_sets;
DROP FUNCTION plans_check_cma();
DROP FUNCTION plans_immutable();
DROP FUNCTION portfolio_models_check_weights();
DROP FUNCTION portfolio_models_check_set();
DROP FUNCTION cma_sets_check_shape();
DROP FUNCTION cma_asset_classes_refuse_approved();
DROP FUNCTION cma_sets_refuse_approved();
DROP FUNCTION cma_correlations_valid(numeric[]);
