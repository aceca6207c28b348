"""Financial planning: capital market assumptions, portfolio models and a household's versioned plans
(docs/domain.md, "Financial plans"), in sub-packages with the same four files each (routes, models, service,
store):

- assumptions: capital market assumption (CMA) sets (asset classes, their correlation matrix, inflation; draft ->
  approved by an administrator, then never changed; new versions made from any set) and portfolio models (a risk
  level and an allocation across an approved set's classes, with the expected return and volatility derived from
  it);
- plans: a household's plans, each a line of immutable versions whose inputs are stored whole, checked against the
  household and filled in with what was derived (starting values through networth.service.networth_in, the
  models' allocations, the random seed).

Beside them, pure modules that read no database: engine.py (the Monte Carlo simulation of a plan's inputs) and
charts.py (the fan chart of its results). plans reads assumptions through its service (approved_set, models_in);
assumptions depends on nothing of plans.
"""
