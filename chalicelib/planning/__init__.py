"""Financial plans: capital market assumptions, portfolio models, plans and their Monte Carlo simulation."""
