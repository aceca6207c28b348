"""Currencies: the firm's base currency (a column of firms) and its exchange rates to it (fx_rates)."""
