"""A Kafka-protocol broker for local runs that keeps acknowledged events across its restarts.

    python -m bench.durable_broker [--port 19092] [--s3-port 19000]

Runs moto's S3 server and Tansu with S3 storage against it, in the foreground, and prints the
``RECOMIND_EVENT_BUS_URL`` to use. Kill the broker (``kill -9 PID``, the PID it prints) to test
a broker crash: it is started again on the same port with everything acknowledged before.
Ctrl-C stops both; the data lives in this process's memory (moto), so it ends with it.
Development only: RecoMind itself knows nothing of this (see docs/streaming.md).
"""

from __future__ import annotations

import argparse
import logging
import signal
import time
from types import FrameType

from tests.utils.durable_broker import durable_tansu


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=19092, help="Kafka port (127.0.0.1)")
    parser.add_argument("--s3-port", type=int, default=19000, help="moto S3 port (127.0.0.1)")
    args = parser.parse_args(argv)

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    with durable_tansu(port=args.port, s3_port=args.s3_port, bucket="tansu") as broker:
        print(f"RECOMIND_EVENT_BUS_URL={broker.url}")
        print(f"S3 (moto): http://127.0.0.1:{args.s3_port}/tansu; broker log: {broker.log_path}")
        print(f"broker pid {broker.pid}; Ctrl-C stops", flush=True)
        try:
            while True:
                time.sleep(0.2)
                if not broker.running:
                    seconds = broker.start()
                    print(f"broker exited; restarted in {seconds:.2f} s, pid {broker.pid}")
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
