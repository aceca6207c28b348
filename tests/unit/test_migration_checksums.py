"""Landed migrations are never edited: migrations/CHECKSUMS pins the sha256 of every file in migrations/.

A database that applied a migration keeps what its text did then; editing the file changes nothing there and makes
every new database differ from the old ones. A change to the schema is a new migration (fix forward).
"""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def problems(directory: Path) -> list[str]:
    """What is wrong with `directory`'s files against its CHECKSUMS (lines as `sha256sum` prints them)."""
    checksums = directory / "CHECKSUMS"
    pinned: dict[str, str] = {}
    found = []
    for number, line in enumerate(checksums.read_text().splitlines(), 1):
        digest, sep, name = line.partition("  ")
        if not (sep and len(digest) == 64 and name) or name in pinned:
            found.append(f"migrations/CHECKSUMS line {number} is not '<sha256>  <file>' or names a file twice")
        pinned[name] = digest
    files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
             for p in sorted(directory.iterdir()) if p.is_file() and p != checksums}
    edited = sorted(name for name, digest in pinned.items() if name in files and files[name] != digest)
    if edited:
        found.append(f"landed migration(s) edited: {', '.join(edited)}. Databases that applied them keep the old "
                     "text, so an edit changes only new databases. Restore them (`git checkout main -- "
                     "migrations/<file>`) and fix forward: a new migration NNNN_name.sql with its "
                     "NNNN_name.rollback.sql.")
    removed = sorted(set(pinned) - set(files))
    if removed:
        found.append(f"landed migration(s) removed: {', '.join(removed)}. Restore them; undo their effect with a "
                     "new migration instead.")
    missing = sorted(set(files) - set(pinned))
    if missing:
        found.append(f"migration file(s) without a checksum: {', '.join(missing)}. Once the migration is final, "
                     f"pin it: `cd migrations && sha256sum {' '.join(missing)} >> CHECKSUMS`, which adds:\n"
                     + "\n".join(f"{files[name]}  {name}" for name in missing))
    return found


def test_every_migration_file_matches_its_pinned_checksum() -> None:
    assert (MIGRATIONS / "CHECKSUMS").read_text().strip(), "migrations/CHECKSUMS is empty"
    found = problems(MIGRATIONS)
    assert not found, "\n".join(found)


def test_an_edited_migration_fails_and_says_to_fix_forward(tmp_path: Path) -> None:
    copy = shutil.copytree(MIGRATIONS, tmp_path / "migrations")
    landed = copy / "0001_foundation.sql"
    landed.write_bytes(landed.read_bytes() + b"\n-- one more line\n")
    (found,) = problems(copy)
    assert "edited: 0001_foundation.sql" in found and "fix forward" in found and "new migration" in found


def test_a_removed_migration_fails(tmp_path: Path) -> None:
    copy = shutil.copytree(MIGRATIONS, tmp_path / "migrations")
    (copy / "0002_session_check.rollback.sql").unlink()
    (found,) = problems(copy)
    assert "removed: 0002_session_check.rollback.sql" in found


def test_a_new_migration_without_its_checksum_fails_and_says_how_to_add_it(tmp_path: Path) -> None:
    copy = shutil.copytree(MIGRATIONS, tmp_path / "migrations")
    (copy / "0999_next.sql").write_bytes(b"SELECT 1;\n")
    (found,) = problems(copy)
    assert "0999_next.sql" in found and "sha256sum 0999_next.sql >> CHECKSUMS" in found
    # sha256 of b"SELECT 1;\n", as `printf 'SELECT 1;\n' | sha256sum` prints it
    assert found.endswith("\n" + "b4e0497804e46e0a0b0b8c31975b062152d551bac49c3c2e80932567b4085dcd  0999_next.sql")
