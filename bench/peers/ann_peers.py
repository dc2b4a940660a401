"""FAISS IndexFlatIP and hnswlib on the benchmark's vectors (float32 files written by bench/retrieval.mjs),
single-threaded.  Prints one JSON line: QPS, recall@10 against the exact top-10, hnswlib build time and memory."""
import json
import sys
import time

import numpy as np

base, queries, truth_path, dim, do_hnsw = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5] == "1"
X = np.fromfile(base, dtype=np.float32).reshape(-1, dim)
Q = np.fromfile(queries, dtype=np.float32).reshape(-1, dim)
truth = np.fromfile(truth_path, dtype=np.int32).reshape(len(Q), 10)
out = {}


def recall(ids):
    return float(np.mean([len(set(ids[i][:10]) & set(truth[i])) / 10 for i in range(len(Q))]))


import faiss  # noqa: E402

faiss.omp_set_num_threads(1)
ix = faiss.IndexFlatIP(dim)
ix.add(X)
t0 = time.perf_counter()
for i in range(len(Q)):
    ix.search(Q[i:i + 1], 10)
dt = time.perf_counter() - t0
out["faiss_flat_qps"] = len(Q) / dt

if do_hnsw:
    import hnswlib

    p = hnswlib.Index(space="ip", dim=dim)
    p.init_index(max_elements=len(X), ef_construction=100, M=16, random_seed=100)
    p.set_num_threads(1)
    t0 = time.perf_counter()
    p.add_items(X, np.arange(len(X)))
    out["hnswlib_build_s"] = time.perf_counter() - t0
    for ef in (32, 64, 128):
        p.set_ef(ef)
        t0 = time.perf_counter()
        ids = [p.knn_query(Q[i:i + 1], k=10)[0][0] for i in range(len(Q))]
        dt = time.perf_counter() - t0
        out[f"hnswlib_ef{ef}"] = {"qps": len(Q) / dt, "recall": recall(ids)}
print(json.dumps(out))
