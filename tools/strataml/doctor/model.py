from __future__ import annotations

import enum
from dataclasses import dataclass


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 0, "warning": 1, "info": 2}[self.value]


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: str
    severity: Severity
    path: str
    line: int | None
    message: str
    hint: str | None = None

    def sort_key(self) -> tuple[str, int, str, str]:
        return (self.path, self.line or 0, self.code, self.message)


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    name: str
    severity: Severity
    tfc: str
    summary: str

    @property
    def group(self) -> str:
        return self.code[:3]

    def at(
        self, path: str, message: str, *, line: int | None = None, hint: str | None = None
    ) -> Diagnostic:
        return Diagnostic(self.code, self.severity, path, line, message, hint)
