"""Process B of figure 6: an app on the shared database, serving one request
per line of its standard input.

``python -m benchmarks.peer <database-url>`` prints ``ready`` once its app is
built; then for each line it reads it runs one request through its test
client to ``/names`` and prints the JSON answer on one line: the names of
the enabled configurations it sees through ``get_configs()``.
"""

from __future__ import annotations

import sys

from flask import jsonify
from flask.typing import ResponseReturnValue

from .apps import make_app
from .fig_sync import WATCHED_ID, Watched


def main(database_url: str) -> None:
    bench = make_app(database_url, integrations=[Watched], name="peer")

    @bench.app.get("/names")
    def names() -> ResponseReturnValue:
        integration = bench.integration(WATCHED_ID)
        return jsonify(sorted(c.name for c in integration.get_configs()))

    client = bench.app.test_client()
    print("ready", flush=True)
    for _ in sys.stdin:
        response = client.get("/names")
        sys.stdout.write(response.get_data(as_text=True).strip() + "\n")
        sys.stdout.flush()
    bench.close()


if __name__ == "__main__":
    main(sys.argv[1])
