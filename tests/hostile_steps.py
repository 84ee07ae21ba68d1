"""The damage a hostile-corpus step does to a copy of tests/examples/base (see tests/hostile.py).

A step is (kind, repo-relative target, argument), plain strings, so that a case is data. A
`field` step's argument is a FieldEdit in its text form: JSON, never split on a delimiter, since
the values it carries may hold any character.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))

import yaml  # noqa: E402

BASE = REPO / "tests" / "examples" / "base"
DATASET = "datasets/toy/v1"
MODEL = "models/toy-model/v1"
RUN = next(p.name for p in (BASE / "runs").iterdir() if p.name.startswith("run-"))
RUN_DIR = f"runs/{RUN}"
STAGES = "models/toy-model/stages.yaml"
ARTIFACTS = (DATASET, MODEL, RUN_DIR)
SCHEMAS = {
    f"{DATASET}/metadata.yaml": "dataset-metadata",
    f"{MODEL}/metadata.yaml": "model-metadata",
    f"{MODEL}/metrics.yaml": "model-metrics",
    f"{RUN_DIR}/config.yaml": "run-config",
    f"{RUN_DIR}/system.json": "run-system",
    f"{RUN_DIR}/metrics.json": "run-metrics",
    STAGES: "stages",
}
CARD = f"{MODEL}/card.md"
HUGE = 50 * 10**6  # bytes in a "huge single-line file"

Step = tuple[str, str, str]  # (kind, repo-relative target, argument)


# -- what the steps do ---------------------------------------------------------------------------

WRONG_VALUES: dict[str, Any] = {
    "null": None,
    "true": True,
    "zero": 0,
    "negative": -1,
    "huge-int": 10**30,
    "empty-string": "",
    "string": "x",
    "long-string": "x" * 100_000,
    "list": [],
    "mapping": {},
}
TRAVERSALS: dict[str, str] = {
    "dotdot": "..",
    "up": "../../pyproject.toml",
    "inner-up": "train/../../../x",
    "absolute": "/etc/passwd",
    "home": "~/x",
    "backslash": "..\\..\\x",
    "drive": "C:\\x",
    "nul": "train\x00x",
    "dot": ".",
    "newline": "a\nb",
}


def load_document(path: Path) -> Any:
    return yaml.load(path.read_bytes(), Loader=yaml.CSafeLoader)


def _dump(path: Path, data: Any) -> None:
    if path.suffix == ".json":
        path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    else:
        path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), "utf-8")


def card_split(text: str) -> tuple[Any, str]:
    _, front, body = text.split("---\n", 2)
    return yaml.safe_load(front), body


def set_at(data: Any, where: list[str | int], value: Any, *, delete: bool = False) -> Any:
    if not where:
        return value
    node = data
    for key in where[:-1]:
        node = node[key]
    if delete:
        del node[where[-1]]
    else:
        node[where[-1]] = value
    return data


def _edit_document(
    repo: Path, target: str, where: list[str | int], value: Any, delete: bool
) -> None:
    path = repo / target
    raw = path.read_bytes()
    # Only documents a composed case has not already blown up: re-dumping anchors expands every
    # alias (gigabytes), and PyYAML's own loader crashes on 10^5 levels of nesting.
    if b"&" in raw or len(raw) > 1 << 16:
        raise ValueError(f"{target} is a hostile document already; the harness does not edit it")
    if target == CARD:
        front, body = card_split(path.read_text(encoding="utf-8"))
        front = set_at(front, where, value, delete=delete)
        path.write_text("---\n" + yaml.safe_dump(front) + "---\n" + body, encoding="utf-8")
    else:
        _dump(path, set_at(load_document(path), where, value, delete=delete))


def artifact_of(target: str) -> str | None:
    """The artifact directory holding `target` (a file or directory inside it), if any."""
    return next((a for a in ARTIFACTS if target.startswith(a + "/")), None)


def _restamp(repo: Path, target: str, *, keep_content_hash: bool) -> None:
    """What `strata checksum` would write; a plain listing where it refuses (broken metadata)."""
    from strataml.errors import StrataError
    from strataml.integrity.checksums import CHECKSUMS, EXCLUDED, format_checksums
    from strataml.integrity.hashing import hash_bytes
    from strataml.integrity.stamp import stamp_directory

    artifact = artifact_of(target)
    if artifact is None:
        return
    directory = repo / artifact
    try:
        if not keep_content_hash:
            stamp_directory(directory)
            return
    except StrataError:
        pass
    listing = directory / CHECKSUMS
    if listing.is_symlink() or (listing.exists() and not listing.is_file()):
        # An earlier step put a FIFO (or a link) there: writing the listing would block on it.
        raise StepNotApplicableError(f"{artifact}/{CHECKSUMS} is no longer a regular file")
    if True:
        files = [p for p in directory.rglob("*") if p.is_file() and not p.is_symlink()]
        digests = {
            p.relative_to(directory).as_posix(): hash_bytes(p.read_bytes())
            for p in files
            if p.name not in EXCLUDED or p.parent != directory
        }
        (directory / CHECKSUMS).write_text(format_checksums(digests), encoding="utf-8")


@dataclass(frozen=True, slots=True)
class FieldEdit:
    """What a `field` step does to one node of a document: set it, or delete it."""

    where: tuple[str | int, ...]  # keys and indexes from the document's root
    change: str  # "delete", a WRONG_VALUES name, "../" + a TRAVERSALS name, or "value"
    value: Any = None  # the JSON value set, for "value" only

    def __str__(self) -> str:
        fields = [list(self.where), self.change]
        return json.dumps([*fields, self.value] if self.change == "value" else fields)

    @classmethod
    def parse(cls, text: str) -> FieldEdit:
        where, change, *value = json.loads(text)
        if change == "value":
            (literal,) = value
            return cls(tuple(where), change, literal)
        if value:
            raise ValueError(f"only a 'value' edit carries a value: {text}")
        return cls(tuple(where), change)

    def new_value(self) -> Any:
        if self.change == "value":
            return self.value
        if self.change.startswith("../"):
            return TRAVERSALS[self.change[3:]]
        return WRONG_VALUES[self.change]


def _field(repo: Path, target: str, arg: str, *, restamp: bool) -> None:
    edit = FieldEdit.parse(arg)
    where = list(edit.where)
    if edit.change == "delete":
        _edit_document(repo, target, where, None, True)
    else:
        _edit_document(repo, target, where, edit.new_value(), False)
    if restamp:  # an edited content_hash must stay as edited
        _restamp(repo, target, keep_content_hash=where == ["content_hash"])


def _flip(path: Path, at: str) -> None:
    data = bytearray(path.read_bytes())
    index = {"first": 0, "middle": len(data) // 2, "last": len(data) - 1}[at]
    data[index] ^= 0x01
    path.write_bytes(bytes(data))


def _truncate(path: Path, how: str) -> None:
    data = path.read_bytes()
    path.write_bytes({"empty": b"", "half": data[: len(data) // 2], "one": data[:-1]}[how])


def _replace_symlink(path: Path, how: str) -> None:
    path.unlink()
    target = {
        "loop": path.name,  # points at itself
        "escape": "/etc/hostname",
        "escape-up": "../" * 8 + "etc/hostname",
        "dangling": "nowhere",
        "inside": "../" * (len(path.parts) - 1),
    }[how]
    path.symlink_to(target)


def _hard_link(repo: Path, path: Path, where: str) -> None:
    """Replace a file by a hard link to a file outside its artifact, or outside the repository."""
    if where == "outside-repo":
        source = repo.parent / "outside" / "secret.txt"
        source.parent.mkdir(exist_ok=True)
        source.write_bytes(b"not part of the repository\n")
    else:
        source = repo / "pyproject.toml"
    path.unlink()
    os.link(source, path)


def _rename(path: Path, to: str) -> None:
    names = {
        "sibling": "renamed.bin",
        "case": path.name.upper() if path.name.upper() != path.name else path.name.lower(),
        "not-utf8": os.fsdecode(b"\xff\xfe" + path.name.encode()),
        "long": "n" * (255 - len(path.suffix)) + path.suffix,
        "backslash": "a\\" + path.name,
        "newline": "a\n" + path.name,
    }
    path.rename(path.with_name(names[to]))


def _write_file(path: Path, how: str) -> None:
    original = path.read_bytes()
    contents = {
        "not-utf8": b"\xff\xfe\x00garbage\x80\n",
        "nul": b"\x00" * 64,
        "bom": b"\xef\xbb\xbf" + original,
        "crlf": original.replace(b"\n", b"\r\n"),
        "cr": original.replace(b"\n", b"\r"),
        "append-newline": original + b"\n",
        "append-nul": original + b"\x00",
        "binary": bytes(range(256)) * 4,
        "yaml-bomb": _bomb(),
        "merge-bomb": _merge_bomb(),
        "quadratic": _quadratic(),
        "deep-flow": b"[" * 100_000 + b"]" * 100_000,
        "deep-json": b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
        "deep-block": "".join(f"{' ' * n}a:\n" for n in range(1000)).encode()
        + b" " * 1000
        + b"1\n",
        "python-tag": b"!!python/object/apply:os.system ['echo pwned']\n",
        "many-documents": b"a: 1\n---\nb: 2\n" * 1000,
    }
    if how == "huge-line":  # built only when asked for: 50 MB
        path.write_bytes(b"x" * HUGE)
    else:
        path.write_bytes(contents[how])


def _bomb() -> bytes:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for n in range(1, 10):
        aliases = ",".join([f"*a{n - 1}"] * 9)
        lines.append(f"a{n}: &a{n} [{aliases}]")
    return ("\n".join(lines) + "\n").encode()


def _merge_bomb() -> bytes:
    lines = ["m0: &m0 {k0: 1}"]
    for n in range(1, 20):
        lines.append(f"m{n}: &m{n} {{<<: [*m{n - 1}, *m{n - 1}], k{n}: 1}}")
    return ("\n".join(lines) + "\n").encode()


def _quadratic() -> bytes:
    # One 100 kB anchor, repeated 50,000 times: few nodes, 5 GB if expanded as text.
    return b"s: &s " + b"x" * 100_000 + b"\nl: [" + b"*s," * 50_000 + b"*s]\n"


def _add(repo: Path, directory: Path, what: str) -> None:
    if what == "file":
        (directory / "extra.bin").write_bytes(b"extra")
    elif what == "empty-dir":
        (directory / "empty").mkdir()
    elif what == "fifo":
        os.mkfifo(directory / "pipe")
    elif what == "socket":
        import socket

        with socket.socket(socket.AF_UNIX) as sock:
            sock.bind(str(directory / "sock"))
    elif what == "symlink-loop":
        (directory / "loop-a").symlink_to("loop-b")
        (directory / "loop-b").symlink_to("loop-a")
    elif what == "symlink-dir-loop":
        (directory / "loop").symlink_to(".")
    elif what == "symlink-escape":
        (directory / "escape").symlink_to("/")
    elif what == "hard-link-outside-artifact":
        os.link(repo / "pyproject.toml", directory / "linked.toml")
    elif what == "hard-link-outside-repo":
        source = repo.parent / "outside" / "secret.txt"
        source.parent.mkdir(exist_ok=True)
        source.write_bytes(b"secret\n")
        os.link(source, directory / "secret.txt")
    elif what == "case-collision":
        first = next((p for p in sorted(directory.iterdir()) if p.is_file()), None)
        if first is None:
            first = directory / "data.csv"
            first.write_bytes(b"x")
        shutil.copy2(first, first.with_name(first.name.swapcase()))
    elif what == "not-utf8-name":
        (directory / os.fsdecode(b"bad-\xff\xfe.csv")).write_bytes(b"x")
    elif what == "long-name":
        (directory / ("n" * 255)).write_bytes(b"x")
    elif what == "deep-path":
        _deep_path(directory, b"d" * 250, 20)  # 5,000 bytes: past PATH_MAX (4,096)
    elif what == "temp-file":
        (directory / ".metadata.yaml.tmp123").write_bytes(b"half")
    elif what == "control-name":
        (directory / "tab\tname").write_bytes(b"x")
    else:
        raise ValueError(what)


def _deep_path(directory: Path, name: bytes, depth: int) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(depth):
            os.mkdir(name, dir_fd=fd)
            inner = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = inner
        leaf = os.open(b"leaf.csv", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(leaf, b"x")
        os.close(leaf)
    finally:
        os.close(fd)


def _listing(repo: Path, target: str, how: str) -> None:
    path = repo / target
    raw = path.read_bytes()
    lines = raw.splitlines(keepends=True)
    digest = lines[0][:64]
    entries = {
        "crlf": raw.replace(b"\n", b"\r\n"),
        "bom": b"\xef\xbb\xbf" + raw,
        "duplicate": raw + lines[0],
        "duplicate-other-digest": raw + b"0" * 64 + lines[0][64:],
        "unsorted": b"".join(reversed(lines)),
        "uppercase": lines[0][:64].upper() + lines[0][64:] + b"".join(lines[1:]),
        "one-space": lines[0].replace(b"  ", b" ", 1) + b"".join(lines[1:]),
        "tab": lines[0].replace(b"  ", b"\t", 1) + b"".join(lines[1:]),
        "binary-mode": lines[0].replace(b"  ", b" *", 1) + b"".join(lines[1:]),
        "no-final-newline": raw.rstrip(b"\n"),
        "trailing-space": raw.replace(b"\n", b" \n"),
        "blank-line": raw + b"\n",
        "comment": b"# listing\n" + raw,
        "lists-itself": raw + digest + b"  CHECKSUMS.txt\n",
        "lists-missing": raw + digest + b"  zzz-missing\n",
        "dropped-line": b"".join(lines[1:]),
        "escaped-name": raw + b"\\" + digest + b"  a\\nb\n",
    }
    for name, value in TRAVERSALS.items():
        entries[f"../{name}"] = raw + digest + b"  " + value.encode() + b"\n"
    huge = {"huge-line": HUGE, "over-limit": 70 << 20}  # built only when asked for
    path.write_bytes(b"0" * huge[how] if how in huge else entries[how])


class StepNotApplicableError(Exception):
    """An earlier step left something else than a regular file where this one would read bytes."""


def apply_step(repo: Path, step: Step) -> None:
    kind, target, arg = step
    path = repo / target
    if (
        kind in ("flip", "truncate", "content", "listing", "field", "field-unstamped")
        and not path.is_file()
    ):
        raise StepNotApplicableError(f"{target} is no longer a regular file")  # a FIFO would block
    if kind == "flip":
        _flip(path, arg)
    elif kind == "truncate":
        _truncate(path, arg)
    elif kind == "delete":
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    elif kind == "rename":
        _rename(path, arg)
    elif kind == "symlink":
        _replace_symlink(path, arg)
    elif kind == "hard-link":
        _hard_link(repo, path, arg)
    elif kind == "fifo":
        path.unlink()
        os.mkfifo(path)
    elif kind == "directory":
        path.unlink()
        path.mkdir()
        (path / "inside").write_bytes(b"x")
    elif kind == "content":
        _write_file(path, arg)
    elif kind == "add":
        _add(repo, path, arg)
    elif kind == "listing":
        _listing(repo, target, arg)
    elif kind == "selftest":
        pass  # acts in place of doctor, in the child
    elif kind in ("field", "field-unstamped"):
        _field(repo, target, arg, restamp=kind == "field")
    else:
        raise ValueError(f"unknown step kind {kind!r}")
