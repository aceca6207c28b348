"""Households (client groups) and the people in them (product owners)."""
