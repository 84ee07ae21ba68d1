"""What `strata serve` answers: the built site's files, as they are on disk."""

from __future__ import annotations

import http.server


class SiteHandler(http.server.SimpleHTTPRequestHandler):
    """The site's files; its index.json also readable by the pages of other sites that list it
    (TFC-0007 R14): a catalogue is public to whoever can reach the server anyway."""

    def end_headers(self) -> None:
        if self.path.split("?", 1)[0].split("#", 1)[0].endswith("/index.json"):
            self.send_header("Access-Control-Allow-Origin", "*")
        super().end_headers()
