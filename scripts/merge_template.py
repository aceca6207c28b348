"""The merge template `chalice package` gets for a stage (scripts/package.sh runs this, the fast tests in
tests/integration/test_package.py import it):

    python scripts/merge_template.py STAGE OUT.json [--snapstart]

.chalice/merge-template.json (with --snapstart, .chalice/merge-template-snapstart.json deep-merged into it), and
the CORS headers of the stage's configured origin (CORS_ALLOWED_ORIGINS of the stage's api_handler, or of the
stage, in .chalice/config.json) added to each of API Gateway's own answers that the template gives headers
(x-amazon-apigateway-gateway-responses: its 4xx and 5xx, its throttling): those never reach the Lambda, whose
middleware puts the same headers on everything else (chalicelib/core/edge.py). A gateway answer's header is
fixed, so it can name one origin: the stage's first. With no origin configured they carry no CORS header.

The operators' alert topic is a resource of the stack (`AlertTopic`), named as the stage's functions name it
(BACKUP_ALERT_TOPIC_ARN in .chalice/config.json, which their policies grant sns:Publish on): every function that
names a topic must name the same one.

Plan simulations are queued on the stack's own SQS queue (`PlanRunsQueue`, named STACK-plan-runs: the name app.py
gives the plan-runs function's event source, which chalice writes inside an Fn::Sub), with a dead-letter queue
after five receives; the API function gets its URL (PLAN_RUNS_QUEUE_URL).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CHALICE = ROOT / ".chalice"
GATEWAY_RESPONSES = "x-amazon-apigateway-gateway-responses"


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """`extra` over `base`, dictionaries merged key by key (as chalice merges a template into its own)."""
    return {**base, **{k: deep_merge(base[k], v) if isinstance(base.get(k), dict) and isinstance(v, dict) else v
                       for k, v in extra.items()}}


def stage_origins(stage: str, root: Path = ROOT) -> list[str]:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from chalicelib.core.edge import parse_origins

    config = json.loads((root / ".chalice" / "config.json").read_text())
    cfg = config["stages"][stage]
    env = {**cfg.get("environment_variables", {}),
           **cfg.get("lambda_functions", {}).get("api_handler", {}).get("environment_variables", {})}
    return parse_origins(env.get("CORS_ALLOWED_ORIGINS", ""))


def cors_parameters(origins: list[str]) -> dict[str, str]:
    """The gateway answer's CORS headers for a stage's origins (none without one)."""
    if not origins:
        return {}
    from chalicelib.core.edge import EXPOSED_HEADERS

    return {"gatewayresponse.header.Access-Control-Allow-Origin": f"'{origins[0]}'",
            "gatewayresponse.header.Access-Control-Expose-Headers": f"'{', '.join(EXPOSED_HEADERS)}'",
            "gatewayresponse.header.Vary": "'Origin'"}


def alert_topic_name(stage: str, root: Path = ROOT) -> str:
    """The topic the stage's functions publish alerts to (the last part of its ARN); they must agree."""
    config = json.loads((root / ".chalice" / "config.json").read_text())
    cfg = config["stages"][stage]
    arns = {fcfg.get("environment_variables", {}).get("BACKUP_ALERT_TOPIC_ARN")
            for fcfg in cfg.get("lambda_functions", {}).values()} - {None}
    arns |= {cfg.get("environment_variables", {}).get("BACKUP_ALERT_TOPIC_ARN")} - {None}
    if len(arns) != 1:
        raise SystemExit(f"merge_template.py: stage {stage} names {len(arns)} alert topics ({sorted(arns)}), not one")
    return arns.pop().rsplit(":", 1)[-1]


def merged(stage: str, *, snapstart: bool = False, root: Path = ROOT) -> dict[str, Any]:
    template = json.loads((root / ".chalice" / "merge-template.json").read_text())
    if snapstart:
        template = deep_merge(template, json.loads((root / ".chalice" / "merge-template-snapstart.json").read_text()))
    topic = template.get("Resources", {}).get("AlertTopic")
    if topic is not None:
        topic.setdefault("Properties", {})["TopicName"] = alert_topic_name(stage, root)
    cors = cors_parameters(stage_origins(stage, root))
    body = template.get("Resources", {}).get("RestAPI", {}).get("Properties", {}).get("DefinitionBody", {})
    for response in body.get(GATEWAY_RESPONSES, {}).values():
        response["responseParameters"] = {**response.get("responseParameters", {}), **cors}
    return template


def main(argv: list[str]) -> int:
    args = [a for a in argv if a != "--snapstart"]
    if len(args) != 2:
        sys.stderr.write(__doc__ or "")
        return 2
    stage, out = args
    Path(out).write_text(json.dumps(merged(stage, snapstart="--snapstart" in argv), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
