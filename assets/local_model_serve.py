"""letta's offline model: llama.cpp's HTTP server (from the xllamacpp wheel) on 127.0.0.1.

Started and stopped by letta. Prints "READY <url>" once the model is loaded.
"""
import argparse
import signal
import sys
import time

import xllamacpp

args = argparse.ArgumentParser()
args.add_argument("--model", required=True)
args.add_argument("--port", type=int, required=True)
args.add_argument("--threads", type=int, default=1)
args.add_argument("--ctx", type=int, default=8192)
opts = args.parse_args()

params = xllamacpp.CommonParams()
params.model.path = opts.model
params.hostnames = ["127.0.0.1"]
params.port = opts.port
params.n_ctx = opts.ctx
params.n_parallel = 1
params.cpuparams.n_threads = opts.threads
params.cpuparams_batch.n_threads = opts.threads
params.use_jinja = True
params.offline = True
params.model_alias = {"smollm2"}
server = xllamacpp.Server(params)
print(f"READY http://127.0.0.1:{opts.port}", flush=True)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
while True:
    time.sleep(3600)
