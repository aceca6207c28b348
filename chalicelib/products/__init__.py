"""Managed products, in three sub-packages with the same files (routes, models, service, store):

- catalogue: the firm's providers, funds and portfolio templates;
- holdings: products with their ownership, portfolio funds, fund valuations and cash flows;
- performance: IRR (irr.py holds the arithmetic), the stored IRR history, revenue, summaries and the dashboard.

Each store holds the SQL of its sub-package's tables; a sub-package reads another's rows through that one's store
(holdings checks providers, funds and generations through catalogue.store; performance reads and locks products
through holdings.store). holdings' writes call performance.service.recompute_irr_history; catalogue depends on
neither. Each models.py holds the field types it uses (the bounded date `Day` and the product and activity types
are holdings'; `IrrMethod` is performance's): no type is shared between them, so none lives in a common module.
"""
