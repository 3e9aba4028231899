"""The peers' model: the same backbone graph as AquaML (an ONNX file the bench converts) and the
shipped model's linear head, read from its own files (manifest.json + head.bin). What a user of the
original platform's stack would write: Pillow decode + LANCZOS resize, numpy, onnxruntime.
No open-set check, no calibration beyond the temperature, no auth, no database."""

import io
import json
import os

import numpy as np
import onnxruntime as ort
from PIL import Image


class LinearModel:
    def __init__(self, model_dir: str, onnx_path: str, threads: int):
        with open(os.path.join(model_dir, "manifest.json"), encoding="utf8") as f:
            m = json.load(f)
        self.labels = m["labels"]
        self.taps = m["backbone"]["taps"]
        self.size = int(m["preprocessing"]["size"])
        # The model's centre crop, done as AquaML does it: stretch to size/crop, keep the centre.
        crop = float(m["preprocessing"].get("crop", 1))
        self.full = round(self.size / crop) if crop < 1 else self.size
        self.temperature = float(m["calibration"]["temperature"])
        files = m["files"]["head"]
        if files["dtype"] != "float32":
            raise ValueError(f"head dtype {files['dtype']}")
        raw = np.fromfile(os.path.join(model_dir, files["path"]), dtype="<f4")

        def tensor(name):
            t = files["tensors"][name]
            return raw[t["offset"] : t["offset"] + t["length"]].reshape(t["shape"])

        layers = [k for k in files["tensors"] if k.startswith("layer") and k.endswith(".weight")]
        if layers != ["layer0.weight"]:
            raise ValueError(f"the peers serve a linear head; this one has {layers}")
        self.mean = tensor("feature_mean")
        self.std = tensor("feature_std")
        self.weight_t = np.ascontiguousarray(tensor("layer0.weight").T)
        self.bias = tensor("layer0.bias")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(onnx_path, opts, providers=["CPUExecutionProvider"])

    def preprocess(self, data: bytes) -> np.ndarray:
        img = Image.open(io.BytesIO(data)).convert("RGB")
        img = img.resize((self.full, self.full), Image.LANCZOS)
        if self.full != self.size:
            o = (self.full - self.size) // 2
            img = img.crop((o, o, o + self.size, o + self.size))
        return np.asarray(img, dtype=np.float32) / 255.0

    def predict(self, batch: np.ndarray, top_k: int = 5) -> list:
        outs = self.session.run(self.taps, {"input": batch})
        feats = np.concatenate(outs, axis=1)
        z = (feats - self.mean) / self.std
        logits = (z @ self.weight_t + self.bias) / self.temperature
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        answers = []
        for row in p:
            order = np.argsort(-row)[:top_k]
            answers.append(
                {
                    "label": self.labels[int(order[0])],
                    "confidence": float(row[order[0]]),
                    "top_k": [
                        {"label": self.labels[int(j)], "confidence": float(row[j])} for j in order
                    ],
                }
            )
        return answers


def from_env() -> LinearModel:
    return LinearModel(
        os.environ["PEER_MODEL_DIR"],
        os.environ["PEER_ONNX"],
        int(os.environ.get("PEER_ORT_THREADS", "1")),
    )
