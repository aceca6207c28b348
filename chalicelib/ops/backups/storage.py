"""The backup store: where dumps and their manifests live. `file://DIR` (a directory, locally) or
`s3://bucket/prefix` (AWS: server-side encryption, multipart uploads through boto3's managed transfer).

Objects are flat names under the store's root: `<name>.dump`, `<name>.manifest.json` beside it and, once verified,
`<name>.verdict.json`. A dump is streamed in (never held whole in memory) through a HashingReader, which counts and
hashes what passes; a fetched dump goes to a local file (the file store's own file needs no copy).
"""
from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

CHUNK = 1024 * 1024
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

Progress = Callable[[int], None]  # bytes so far


class MissingObject(Exception):
    """The store has no object of that name."""


class StoreError(RuntimeError):
    """The store's URL is not usable."""


class HashingReader:
    """A readable stream that hashes (SHA-256) and counts the bytes read through it."""

    def __init__(self, raw: BinaryIO, progress: Progress | None = None) -> None:
        self.raw = raw
        self.sha256 = hashlib.sha256()
        self.size = 0
        self.progress = progress

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size if size is not None and size >= 0 else CHUNK)
        if data:
            self.sha256.update(data)
            self.size += len(data)
            if self.progress is not None:
                self.progress(self.size)
        return data

    def readable(self) -> bool:
        return True

    def hexdigest(self) -> str:
        return self.sha256.hexdigest()


def file_digest(path: Path, progress: Progress | None = None) -> tuple[str, int]:
    """(sha256, size) of a local file, read in chunks."""
    with open(path, "rb") as f:
        reader = HashingReader(f, progress)
        while reader.read(CHUNK):
            pass
    return reader.hexdigest(), reader.size


def _checked(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"not a store object name: {name!r}")
    return name


class FileStore:
    """A directory (created 0700; objects 0600: a dump holds every firm's data). Writes go to a temporary name and
    are renamed into place, so a reader never sees half an object."""

    def __init__(self, url: str) -> None:
        path = url.removeprefix("file://")
        if not path:
            raise StoreError(f"no directory in {url!r}")
        self.root = Path(path).expanduser().resolve()
        self.url = "file://" + str(self.root)

    def _path(self, name: str) -> Path:
        return self.root / _checked(name)

    def _write(self, name: str, write: Callable[[BinaryIO], None]) -> None:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        final = self._path(name)
        partial = final.with_name(final.name + ".partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "wb") as f:
                write(f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(partial, final)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise

    def put_stream(self, name: str, reader: HashingReader) -> None:
        def copy(f: BinaryIO) -> None:
            while chunk := reader.read(CHUNK):
                f.write(chunk)

        self._write(name, copy)

    def put_bytes(self, name: str, data: bytes) -> None:
        self._write(name, lambda f: f.write(data))

    def get_bytes(self, name: str) -> bytes:
        try:
            return self._path(name).read_bytes()
        except FileNotFoundError:
            raise MissingObject(name) from None

    def size(self, name: str) -> int | None:
        try:
            return self._path(name).stat().st_size
        except FileNotFoundError:
            return None

    def local_path(self, name: str) -> Path | None:
        """The object itself, to be read in place (no copy)."""
        path = self._path(name)
        if not path.is_file():
            raise MissingObject(name)
        return path

    def fetch(self, name: str, dest: Path, progress: Progress | None = None) -> None:
        import shutil

        source = self.local_path(name)
        assert source is not None
        shutil.copyfile(source, dest)

    def delete(self, name: str) -> None:
        self._path(name).unlink(missing_ok=True)

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_file() and not p.name.endswith(".partial"))


class S3Store:
    """s3://bucket/prefix. Every object is written with server-side encryption: SSE-KMS with BACKUP_S3_KMS_KEY_ID,
    else SSE-S3 (AES256); a dump goes up in parts of BACKUP_S3_PART_SIZE bytes as pg_dump writes it."""

    def __init__(self, url: str) -> None:
        match = re.fullmatch(r"s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/(.*))?", url)
        if match is None:
            raise StoreError(f"not an S3 location: {url!r} (s3://bucket/prefix)")
        self.bucket = match.group(1)
        self.prefix = (match.group(2) or "").strip("/")
        self.url = f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"
        self._client: Any = None

    def _key(self, name: str) -> str:
        return f"{self.prefix}/{_checked(name)}" if self.prefix else _checked(name)

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("s3")
        return self._client

    def _extra(self) -> dict[str, str]:
        from chalicelib.ops.backups.settings import backup_settings

        key = backup_settings().s3_kms_key_id
        return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": key} if key else {"ServerSideEncryption": "AES256"}

    def _transfer(self) -> Any:
        from boto3.s3.transfer import TransferConfig

        from chalicelib.ops.backups.settings import backup_settings

        part = backup_settings().s3_part_size
        config = TransferConfig(multipart_threshold=part, multipart_chunksize=part, max_concurrency=4)
        # A stream of unknown length is cut into parts held in memory: at most 4 at once (s3transfer's setting,
        # which boto3's constructor does not take).
        config.max_in_memory_upload_chunks = 4
        return config

    def _missing(self, exc: Exception) -> bool:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code")
        return code in ("404", "NoSuchKey", "NotFound")

    def put_stream(self, name: str, reader: HashingReader) -> None:
        self.client.upload_fileobj(reader, self.bucket, self._key(name), ExtraArgs=self._extra(),
                                   Config=self._transfer())

    def put_bytes(self, name: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(name), Body=data, **self._extra())

    def get_bytes(self, name: str) -> bytes:
        from botocore.exceptions import ClientError

        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(name))["Body"].read()
        except ClientError as exc:
            if self._missing(exc):
                raise MissingObject(name) from None
            raise

    def size(self, name: str) -> int | None:
        from botocore.exceptions import ClientError

        try:
            return self.client.head_object(Bucket=self.bucket, Key=self._key(name))["ContentLength"]
        except ClientError as exc:
            if self._missing(exc):
                return None
            raise

    def head(self, name: str) -> dict[str, Any]:
        return self.client.head_object(Bucket=self.bucket, Key=self._key(name))

    def local_path(self, name: str) -> Path | None:
        return None

    def fetch(self, name: str, dest: Path, progress: Progress | None = None) -> None:
        from botocore.exceptions import ClientError

        done = [0]

        def callback(chunk: int) -> None:
            done[0] += chunk
            if progress is not None:
                progress(done[0])

        try:
            self.client.download_file(self.bucket, self._key(name), str(dest), Callback=callback,
                                      Config=self._transfer())
        except ClientError as exc:
            if self._missing(exc):
                raise MissingObject(name) from None
            raise

    def delete(self, name: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(name))

    def names(self) -> list[str]:
        found: list[str] = []
        start = f"{self.prefix}/" if self.prefix else ""
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=start):
            for item in page.get("Contents", []):
                rest = item["Key"][len(start):]
                if "/" not in rest and rest:
                    found.append(rest)
        return sorted(found)


Store = FileStore | S3Store


def open_store(url: str) -> Store:
    if url.startswith("file://"):
        return FileStore(url)
    if url.startswith("s3://"):
        return S3Store(url)
    raise StoreError(f"BACKUP_STORE must be file://DIR or s3://bucket/prefix, not {url!r}")


# --- object names ---

def names_for(backup_id: Any, taken_at: Any) -> dict[str, str]:
    """The objects of one backup: its dump, manifest and verdict, named by time (they list in order) and id."""
    base = f"wealthdesk-{taken_at.strftime('%Y%m%dT%H%M%SZ')}-{backup_id}"
    return {"dump": base + ".dump", "manifest": base + ".manifest.json", "verdict": base + ".verdict.json"}


def sibling(dump_name: str, kind: str) -> str:
    """The manifest or verdict beside a dump."""
    return dump_name.removesuffix(".dump") + f".{kind}.json"


def find_manifest(store: Store, backup_id: Any) -> str | None:
    """The manifest's name of a backup, found by its id (for restores that have no database to ask)."""
    suffix = f"-{backup_id}.manifest.json"
    found = [n for n in store.names() if n.endswith(suffix)]
    return found[0] if found else None
