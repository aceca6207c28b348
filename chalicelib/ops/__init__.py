"""Scheduled maintenance jobs and the framework that runs them (locks, job_runs records)."""
