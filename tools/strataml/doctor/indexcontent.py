"""What Git's index holds, apart from the stat data Git keeps in it to save itself work.

`git status` rewrites the index when it finds entries whose cached stat data is out of date (after
a checkout or a commit of files just written). The rewrite changes no entry's path, mode, blob or
flags: only the stat data, which tells Git whether it must read a file again, never what Git then
reports. The verdict cache keys the index by this identity rather than by its stat key, so that
the run whose `git status` refreshed the index is found by the next (TFC-0008 R13).

The identity is the BLAKE3 of the index's version and entry count, every entry with its stat
fields (ctime, mtime, device, inode, uid, gid and size) left out, and every extension but the two
that hold stat data and timestamps of their own: the untracked cache (`UNTR`, whose answers the
verdict key covers by the work tree's own stat keys) and the file-system monitor's token (`FSMN`).
Anything the walk does not recognise exactly gives None, and the caller keys by stat instead.
"""

from __future__ import annotations

import struct

from strataml.integrity.hashing import hash_bytes

_VOLATILE_EXTENSIONS = (b"UNTR", b"FSMN")
_EXTENDED = 0x4000  # an entry's flags: two more bytes of flags follow (index version 3 and up)


def index_identity(data: bytes, oid_size: int) -> str | None:
    """The identity of an index file's bytes, or None where they are not an index this reads."""
    try:
        return _identity(data, oid_size)
    except (IndexError, ValueError, struct.error):
        return None


def _identity(data: bytes, oid_size: int) -> str | None:
    if data[:4] != b"DIRC" or len(data) < 12 + oid_size:
        return None
    version, count = struct.unpack_from(">II", data, 4)
    if version not in (2, 3, 4):
        return None
    parts = [data[4:12]]
    flags_at = 40 + oid_size  # ctime 8, mtime 8, dev 4, ino 4, mode 4, uid 4, gid 4, size 4, oid
    position = 12
    for _ in range(count):
        (flags,) = struct.unpack_from(">H", data, position + flags_at)
        name = position + flags_at + 2
        if flags & _EXTENDED:
            if version < 3:
                return None
            name += 2
        if version == 4:  # a varint of bytes to drop from the last path, then the rest of it
            while data[name] & 0x80:
                name += 1
            end = data.index(b"\0", name + 1) + 1
        else:  # the path, then one to eight NULs to the next multiple of eight
            end = position + ((data.index(b"\0", name) - position + 8) & ~7)
        parts += [data[position + 24 : position + 28], data[position + 40 : end]]
        position = end
    trailer = len(data) - oid_size
    while position < trailer:
        signature = data[position : position + 4]
        (size,) = struct.unpack_from(">I", data, position + 4)
        end = position + 8 + size
        if end > trailer:
            return None
        if signature not in _VOLATILE_EXTENSIONS:
            parts.append(data[position:end])
        position = end
    if position != trailer:
        return None
    return hash_bytes(b"".join(parts))
