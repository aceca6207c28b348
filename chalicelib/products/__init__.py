"""Managed products: the firm's catalogue, products with ownership, portfolios, valuations, cash flows, IRR."""
