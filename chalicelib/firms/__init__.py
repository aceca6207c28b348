"""Firms (tenants), their users, sessions and API keys: who may call the API and as whom."""
