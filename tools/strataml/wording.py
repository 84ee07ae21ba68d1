"""Small pieces of the words the tools print, so that every command says them the same way."""

from __future__ import annotations


def counted(n: int, noun: str) -> str:
    """`1 file`, `2 files`, `0 files`."""
    return f"{n} {noun}{'' if n == 1 else 's'}"
