"""wealthdesk: wiring only. Routes live in chalicelib/<domain>/routes.py, jobs in chalicelib/ops.

Nothing here touches the network or the database (it reads only the committed route manifest), and nothing
here imports a domain: the routes come from the manifest (chalicelib/routes.json), each route's module is imported
on the route's first call (chalicelib/core/routing.py), and the scheduled functions come from the jobs table
(chalicelib/ops/jobs.py). The database pool, secrets and boto3 are created on first use.
"""
import gc

from chalice import Chalice

from chalicelib import routes
from chalicelib.core.logs import configure_logging
from chalicelib.core.routing import Router
from chalicelib.ops.jobs import JOBS, run_job

app = Chalice(app_name="wealthdesk")
# The one binary media type the API serves (a plan's fan chart as PNG); it takes JSON only. Chalice matches every
# request's and answer's content type against this list, and API Gateway base64-encodes bodies of these types.
app.api.binary_types = ["image/png"]
configure_logging()

router = Router(routes.manifest())
router.register(app)


@app.lambda_function(name="migrate")
def migrate(event, context):
    """Applies pending migrations (invoked by ops after each deploy)."""
    from chalicelib.core import migrations

    applied = migrations.apply()
    return {"applied": applied, "status": migrations.status().__dict__}


# The stack's own queue (.chalice/merge-template.json, PlanRunsQueue): chalice writes the name into an Fn::Sub of the
# queue's ARN, so the stack's name is filled in when it is deployed.
@app.on_sqs_message(queue="${AWS::StackName}-plan-runs", batch_size=1, name="plan_runs")
def plan_runs(event):
    """Runs queued financial-plan simulations, one message per run (chalicelib/planning/runs/worker.py)."""
    from chalicelib.planning.runs.worker import handle_sqs_event

    return handle_sqs_event(event)


def _scheduled(job_name: str, function_name: str, description: str):
    def run(event):
        return run_job(job_name).summary()

    run.__name__ = run.__qualname__ = function_name
    run.__doc__ = description
    return run


# Chalice names a scheduled function's Lambda handler `app.<function name>`, so each must be an attribute here.
for _job in JOBS.values():
    globals()[_job.function_name] = app.schedule(_job.schedule, name=_job.function_name)(
        _scheduled(_job.name, _job.function_name, _job.description))

try:  # Lambda's Python 3.12+ runtime; the hooks run only when SnapStart is on for the function
    from snapshot_restore_py import register_after_restore, register_before_snapshot
except ImportError:
    pass
else:
    def _before_snapshot():
        from chalicelib.system import snapstart

        snapstart.before_snapshot(router)

    def _after_restore():
        from chalicelib.system import snapstart

        snapstart.after_restore()

    register_before_snapshot(_before_snapshot)
    register_after_restore(_after_restore)

# Everything imported so far lives as long as the container: keep it out of the garbage collector's full
# collections, which otherwise walk it again and again and make the slow tail of requests (see BENCHMARKS.md).
gc.freeze()
