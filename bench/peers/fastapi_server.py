"""Runs fastapi_app under uvicorn (workers, uvloop, httptools) on 127.0.0.1:<port>.
Stops when its stdin closes (the bench ended or died) or after --max-seconds."""

import argparse
import os
import signal
import sys
import threading

import uvicorn


def watchdog(max_seconds: float) -> None:
    def on_eof():
        sys.stdin.read()
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=on_eof, daemon=True).start()
    timer = threading.Timer(max_seconds, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.daemon = True
    timer.start()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--max-seconds", type=float, default=1800)
    args = ap.parse_args()
    watchdog(args.max_seconds)
    uvicorn.run(
        "fastapi_app:app",
        host="127.0.0.1",
        port=args.port,
        workers=args.workers,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
        app_dir=os.path.dirname(os.path.abspath(__file__)),
    )
