-- Undoes 0027: no objectives, goal links or contributions (their rows go with them). Roll the code back with the
-- schema.
DROP TABLE objective_contributions;
DROP TABLE objective_unmanaged_products;
DROP TABLE objective_products;
DROP TABLE objectives;
DROP TRIGGER unmanaged_products_linked_kind ON unmanaged_products;
DROP FUNCTION unmanaged_products_linked_kind_check();
DROP FUNCTION objective_contributions_refuse_future();
DROP FUNCTION objective_links_check();
