"""Firm-wide search: households, people, products and plan numbers, funds (name, ISIN) and providers."""
