"""Managed products, in three sub-packages with the same files (routes, models, service, store):

- catalogue: the firm's providers, funds and portfolio templates;
- holdings: products with their ownership, portfolio funds, fund valuations and cash flows;
- performance: IRR (irr.py holds the arithmetic), the stored IRR history, revenue, summaries and the dashboard.

holdings depends on performance (a write recomputes the stored IRR history); catalogue depends on neither.
"""
