"""The image's HEALTHCHECK: GET /healthz on the service's port answers 200.

The port is the service's own (``crm-<service> serve`` listens on it unless given ``--port``);
``HEALTHCHECK_PORT`` overrides it. Standard library only, so it costs one short Python start.
"""

import os
import sys
import urllib.request

PORTS = {
    "gateway": 8000,
    "customers": 8001,
    "engagement": 8002,
    "service-desk": 8003,
    "notifier": 8004,
}

port = os.environ.get("HEALTHCHECK_PORT") or PORTS[os.environ["IMAGE_SERVICE"]]
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=4) as response:
        sys.exit(0 if response.status == 200 else 1)
except OSError as exc:
    print(f"healthz on port {port}: {exc}", file=sys.stderr)
    sys.exit(1)
