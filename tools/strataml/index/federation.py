"""Other sites a built dashboard shows beside its own (TFC-0007 R12): each named, its index.json
fetched by the browser at view time, and nothing else: the page's Content-Security-Policy
lets it connect to exactly these addresses."""

from __future__ import annotations

import re
from dataclasses import dataclass

from strataml.errors import UsageError

_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,31}")
# An absolute http(s) address, or a path on the site's own server; no whitespace, quote, comma
# or semicolon, which would end a source in the Content-Security-Policy or start another.
_ABSOLUTE = re.compile(
    r"https?://(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?"
    r"(?:/[A-Za-z0-9._~%/-]*)?"
)
_RELATIVE = re.compile(r"(?:\.\./|\./)*[A-Za-z0-9._~%-]+(?:/[A-Za-z0-9._~%-]+)*")
HINT = "hint: --federate NAME=URL, e.g. --federate team-b=https://ml.example.org/b/index.json"


@dataclass(frozen=True, slots=True)
class Source:
    name: str
    url: str  # as given: absolute, or relative to the page's own address

    @property
    def absolute(self) -> bool:
        return self.url.startswith(("http://", "https://"))

    def document(self) -> dict[str, str]:
        return {"name": self.name, "url": self.url}


def parse_sources(values: list[str]) -> tuple[Source, ...]:
    """`NAME=URL` each; refused whole, with the first wrong value, before anything is built."""
    found: dict[str, Source] = {}
    for value in values:
        name, equals, url = value.partition("=")
        if not equals or _NAME.fullmatch(name) is None:
            raise UsageError(
                f"[federate-name] --federate {value!r}: NAME must be 1-32 of a-z 0-9 . _ - "
                f"starting with a letter or digit ({HINT})"
            )
        if name in found:
            raise UsageError(f"[federate-name] --federate {name}: named twice ({HINT})")
        absolute = _ABSOLUTE.fullmatch(url) is not None
        if not absolute and (_RELATIVE.fullmatch(url) is None or "://" in url):
            raise UsageError(
                f"[federate-url] --federate {name}={url!r}: not an http(s) address or a plain "
                f"relative path (no spaces, quotes, commas, semicolons or query) ({HINT})"
            )
        if absolute and _port_out_of_range(url):
            raise UsageError(
                f"[federate-url] --federate {name}={url!r}: port out of range ({HINT})"
            )
        found[name] = Source(name, url)
    return tuple(found.values())


def _port_out_of_range(url: str) -> bool:
    host = url.split("://", 1)[1].split("/", 1)[0]
    port = host.rsplit(":", 1)[1] if ":" in host and not host.endswith("]") else None
    return port is not None and not 0 < int(port) <= 65535


def connect_src(sources: tuple[Source, ...]) -> str:
    """The CSP's connect-src: each absolute address exactly, 'self' for relative ones (the
    page's own server); 'none' without sources."""
    listed = sorted({s.url for s in sources if s.absolute})
    if any(not s.absolute for s in sources):
        listed.insert(0, "'self'")
    return " ".join(listed) or "'none'"
