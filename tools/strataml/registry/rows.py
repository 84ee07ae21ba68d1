"""Row counts where they are cheap: CSV/TSV, JSON Lines, and Parquet (from its footer alone);
and the typed columns of a CSV file."""

from __future__ import annotations

import contextlib
import csv
import io
import struct
from pathlib import Path

# Counting reads the whole file for text formats; past this size it is not "cheap".
MAX_TEXT_BYTES = 1 << 30
_CHUNK = 1 << 20


def count_rows(path: Path) -> int | None:
    """Data rows in one file (a CSV header row is not counted), or None when unknown."""
    suffix = path.name.lower().removesuffix(".gz")
    try:
        if suffix.endswith((".csv", ".tsv")):
            return _csv_rows(path, "\t" if suffix.endswith(".tsv") else ",")
        if suffix.endswith((".jsonl", ".ndjson")):
            return _jsonl_rows(path)
        if suffix.endswith(".parquet"):
            return parquet_rows(path)
    except (OSError, ValueError, UnicodeDecodeError, csv.Error, struct.error):
        return None
    return None


def _csv_rows(path: Path, delimiter: str) -> int | None:
    if path.name.endswith(".gz") or path.stat().st_size > MAX_TEXT_BYTES:
        return None
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        records = sum(1 for row in reader if row)  # quoted newlines stay in one record
    return max(records - 1, 0)


def _jsonl_rows(path: Path) -> int | None:
    if path.name.endswith(".gz") or path.stat().st_size > MAX_TEXT_BYTES:
        return None
    rows = 0
    with path.open("rb") as handle:
        for line in handle:
            rows += bool(line.strip())
    return rows


# --- Parquet: FileMetaData.num_rows (field 3) in the Thrift compact footer ----------------------


def parquet_rows(path: Path) -> int | None:
    with path.open("rb") as handle:
        handle.seek(0, io.SEEK_END)
        size = handle.tell()
        if size < 12:
            return None
        handle.seek(size - 8)
        length, magic = struct.unpack("<I4s", handle.read(8))
        if magic != b"PAR1" or length > size - 12 or length > 256 * _CHUNK:
            return None
        handle.seek(size - 8 - length)
        footer = handle.read(length)
    return _Compact(footer).num_rows()


class _Compact:
    """Just enough of the Thrift compact protocol to skip to one i64 field of a struct."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def _byte(self) -> int:
        if self.at >= len(self.data):
            raise ValueError("truncated footer")
        value = self.data[self.at]
        self.at += 1
        return value

    def _varint(self) -> int:
        shift = result = 0
        while True:
            byte = self._byte()
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result
            shift += 7
            if shift > 70:
                raise ValueError("varint too long")

    def _zigzag(self) -> int:
        value = self._varint()
        return (value >> 1) ^ -(value & 1)

    def num_rows(self) -> int | None:
        field_id = 0
        while True:
            header = self._byte()
            if header == 0:  # stop
                return None
            kind = header & 0x0F
            delta = header >> 4
            field_id = field_id + delta if delta else self._zigzag()
            if field_id == 3 and kind == 6:  # i64
                rows = self._zigzag()
                return rows if rows >= 0 else None
            self._skip(kind, depth=0)

    def _skip(self, kind: int, depth: int) -> None:
        if depth > 64:
            raise ValueError("footer nests too deep")
        if kind in (1, 2):  # bool true/false, value in the type
            return
        if kind == 3:  # byte
            self._byte()
        elif kind in (4, 5, 6):  # i16, i32, i64
            self._varint()
        elif kind == 7:  # double
            self.at += 8
        elif kind == 8:  # binary
            length = self._varint()  # read first: `self.at += …` would add to the old offset
            self.at += length
        elif kind in (9, 10):  # list, set
            header = self._byte()
            count = header >> 4
            if count == 15:
                count = self._varint()
            element = header & 0x0F
            for _ in range(count):
                self._skip_element(element, depth + 1)
        elif kind == 11:  # map
            count = self._varint()
            if count:
                types = self._byte()
                for _ in range(count):
                    self._skip_element(types >> 4, depth + 1)
                    self._skip_element(types & 0x0F, depth + 1)
        elif kind == 12:  # struct
            while True:
                header = self._byte()
                if header == 0:
                    break
                if not header >> 4:
                    self._zigzag()
                self._skip(header & 0x0F, depth + 1)
        else:
            raise ValueError(f"unknown compact type {kind}")
        if self.at > len(self.data):
            raise ValueError("truncated footer")

    def _skip_element(self, kind: int, depth: int) -> None:
        if kind in (1, 2):  # in collections a bool takes a byte
            self._byte()
        else:
            self._skip(kind, depth)


def csv_columns(csv_file: Path) -> list[dict[str, str]] | None:
    """The header's columns, each typed by the narrowest type all its non-empty cells fit."""
    try:
        with csv_file.open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if not header or len(set(header)) != len(header) or not all(h.strip() for h in header):
                return None
            kinds = ["integer"] * len(header)
            for row in reader:
                for index, cell in enumerate(row[: len(header)]):
                    kinds[index] = _widen(kinds[index], cell.strip())
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    return [{"name": h, "type": k} for h, k in zip(header, kinds, strict=True)]


COLUMN_TYPES = ("integer", "float", "string")  # narrowest first


def _widen(kind: str, cell: str) -> str:
    """The narrowest of integer < float < string that holds both `kind` and `cell`."""
    if not cell or kind == "string":
        return kind
    fits = "string"
    if "_" not in cell:  # Python reads 1_000 as a number; CSV readers elsewhere do not
        with contextlib.suppress(ValueError):
            float(cell)
            fits = "float"
            int(cell)
            fits = "integer"
    return max(kind, fits, key=COLUMN_TYPES.index)
