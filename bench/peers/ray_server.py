"""Ray Serve with @serve.batch on 127.0.0.1:<port>: a local Ray cluster (no dashboard, no usage
stats), one replica; each request is decoded in the replica, then waits for a batch.
Prints READY when the application answers; stops when stdin closes or after --max-seconds."""

import argparse
import os
import sys
import threading
import time

import numpy as np
import ray
from ray import serve
from starlette.requests import Request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import from_env  # noqa: E402

MAX_BATCH = int(os.environ.get("PEER_RAY_MAX_BATCH", "32"))
WAIT_S = float(os.environ.get("PEER_RAY_WAIT_S", "0.004"))


@serve.deployment(
    num_replicas=1,
    max_ongoing_requests=2 * MAX_BATCH,
    ray_actor_options={"num_cpus": 1},
)
class Classifier:
    def __init__(self):
        self.model = from_env()

    @serve.batch(max_batch_size=MAX_BATCH, batch_wait_timeout_s=WAIT_S)
    async def infer(self, images: list) -> list:
        return self.model.predict(np.stack(images))

    async def __call__(self, request: Request):
        if request.method == "GET":
            return {"status": "ok", "pid": os.getpid()}
        form = await request.form()
        data = await form["file"].read()
        return await self.infer(self.model.preprocess(data))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--max-seconds", type=float, default=1800)
    ap.add_argument("--temp-dir", required=True)
    args = ap.parse_args()
    started = time.time()
    ray.init(
        num_cpus=4,
        include_dashboard=False,
        _temp_dir=args.temp_dir,
        log_to_driver=False,
        configure_logging=False,
    )
    serve.start(http_options={"host": "127.0.0.1", "port": args.port})
    serve.run(Classifier.bind(), name="classifier", route_prefix="/predict")
    print(f"READY {time.time() - started:.1f}s", flush=True)
    done = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    done.wait(max(1.0, args.max_seconds - (time.time() - started)))
    serve.shutdown()
    ray.shutdown()
