"""A Git LFS server on loopback for the tests: giftless with local storage.

Usage: python tests/lfs_server.py STORAGE_DIR. Prints the port, serves until stdin closes (the test
ends) or MAX_SECONDS pass, then stops by itself.
"""

from __future__ import annotations

import os
import sys
import threading
import warnings
from pathlib import Path

MAX_SECONDS = 900


def main() -> None:
    storage = sys.argv[1]
    os.chdir(storage)  # giftless reads a .env from the working directory: give it an empty one
    warnings.simplefilter("ignore")
    from giftless.app import init_app
    from werkzeug.serving import make_server

    app = init_app(
        additional_config={
            "LEGACY_ENDPOINTS": False,
            "AUTH_PROVIDERS": ["giftless.auth.allow_anon:read_write"],
            "TRANSFER_ADAPTERS": {
                "basic": {"options": {"storage_options": {"path": str(Path(storage) / "objects")}}}
            },
        }
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    print(server.server_port, flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    done = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    done.wait(MAX_SECONDS)
    server.shutdown()


if __name__ == "__main__":
    main()
