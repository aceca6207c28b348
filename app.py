"""wealthdesk: wiring only. Routes live in chalicelib/<domain>/routes.py, jobs in chalicelib/ops.

Nothing here does I/O: the database pool, secrets and boto3 are created on first use.
"""
import gc

from chalice import Chalice

from chalicelib.core.http import configure_logging
from chalicelib.routes import BLUEPRINTS

app = Chalice(app_name="wealthdesk")
configure_logging()

for blueprint in BLUEPRINTS:
    app.register_blueprint(blueprint, url_prefix="/v1")


@app.lambda_function(name="migrate")
def migrate(event, context):
    """Applies pending migrations (invoked by ops after each deploy)."""
    from chalicelib.core import migrations

    applied = migrations.apply()
    return {"applied": applied, "status": migrations.status().__dict__}


@app.schedule("cron(0 3 * * ? *)")
def audit_partitions(event):
    """Creates the audit trail's partitions for the next three months."""
    from chalicelib.ops.jobs import run_job

    return run_job("audit-partitions").summary()


@app.schedule("cron(0 1 * * ? *)")
def irr_history(event):
    """Rewrites stored IRR histories found out of step with their valuation dates, nightly."""
    from chalicelib.ops.jobs import run_job

    return run_job("irr-history").summary()


@app.schedule("cron(30 1 * * ? *)")
def refresh_views(event):
    """Refreshes the summary and dashboard materialized views, nightly."""
    from chalicelib.ops.jobs import run_job

    return run_job("refresh-views").summary()


# Everything imported so far lives as long as the container: keep it out of the garbage collector's full
# collections, which otherwise walk it again and again and make the slow tail of requests (see BENCHMARKS.md).
gc.freeze()
