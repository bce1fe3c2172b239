"""What the embedding model adds to a gateway process: time from exec to /readyz and RSS
when ready, for a gateway built without and with the `embeddings` feature, the latter with
and without the model loaded. Prints a markdown table (median of 5 starts each).

    cargo build --release -p switchboard-gateway --bin switchboard-gateway
    cp "$CARGO_TARGET_DIR/release/switchboard-gateway" /tmp/gateway-plain
    cargo build --release -p switchboard-gateway --bin switchboard-gateway --features embeddings
    cp "$CARGO_TARGET_DIR/release/switchboard-gateway" /tmp/gateway-embeddings
    python3 tests/search-eval/model_startup.py /tmp/gateway-plain /tmp/gateway-embeddings MODEL_DIR

The gateway serves an empty catalog from a temporary config directory on 127.0.0.1.
"""

import base64
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_once(binary: str, config_dir: str, model_dir: str) -> tuple[float, float]:
    env = {**os.environ, "SWITCHBOARD_EMBEDDING_MODEL_DIR": model_dir}
    admin = free_port()
    argv = [binary, "--config-dir", config_dir, "--listen", f"127.0.0.1:{free_port()}",
            "--admin-listen", f"127.0.0.1:{admin}"]
    started = time.monotonic()
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        while True:
            if process.poll() is not None:
                raise SystemExit(f"{binary} exited with {process.returncode}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{admin}/readyz", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.005)
        ready = time.monotonic() - started
        with open(f"/proc/{process.pid}/status") as status:
            rss_kib = next(int(line.split()[1]) for line in status if line.startswith("VmRSS"))
        return ready, rss_kib / 1024
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> None:
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    plain, embeddings, model_dir = sys.argv[1:]
    with tempfile.TemporaryDirectory() as config_dir:
        with open(os.path.join(config_dir, "config.json"), "w") as f:
            json.dump({"gateway": {"name": "bench", "inboundAuth": {"type": "None"}},
                       "targets": []}, f)
        with open(os.path.join(config_dir, "session-key"), "w") as f:
            f.write(base64.b64encode(os.urandom(32)).decode())
        rows = [("built without `embeddings`", plain, ""),
                ("built with `embeddings`, no model", embeddings, ""),
                ("built with `embeddings`, model loaded", embeddings, model_dir)]
        print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores\n")
        print("| gateway | binary | start to ready (median of 5) | RSS when ready |")
        print("|---|---|---|---|")
        for label, binary, model in rows:
            runs = [start_once(binary, config_dir, model) for _ in range(5)]
            size = os.path.getsize(binary) / 1e6
            print(f"| {label} | {size:.1f} MB | {statistics.median(r[0] for r in runs) * 1000:.0f} ms"
                  f" | {statistics.median(r[1] for r in runs):.1f} MiB |")


if __name__ == "__main__":
    main()
