"""The original platform's stack: FastAPI + uvicorn workers, one model per worker process."""

import os

from fastapi import FastAPI, File, UploadFile

from model import from_env

model = from_env()
app = FastAPI()


@app.get("/health")
async def health():
    return {"status": "ok", "pid": os.getpid()}


@app.post("/predict")
async def predict(file: UploadFile = File(...)):
    data = await file.read()
    return model.predict(model.preprocess(data)[None])[0]
