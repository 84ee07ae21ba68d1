"""What is wrong with a bundle: stable codes, the member concerned, expected against actual."""

from __future__ import annotations

from dataclasses import dataclass

from strataml.errors import StrataError


@dataclass(frozen=True, slots=True)
class Problem:
    code: str  # bundle-… (TFC-0008 R14)
    member: str  # a member name, a ref, or a repository path
    message: str

    def __str__(self) -> str:
        return f"{self.code}: {self.member}: {self.message}"


class BundleError(StrataError):
    """A bundle that cannot be read or used at all: one line, with its stable code."""

    def __init__(self, code: str, member: str, message: str) -> None:
        self.problem = Problem(code, member, message)
        super().__init__(str(self.problem))
