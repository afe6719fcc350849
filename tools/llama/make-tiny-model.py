#!/usr/bin/env python3
"""Write a tiny random-weight llama2.c checkpoint (pure Python, deterministic).

Usage: make-tiny-model.py OUTPUT.bin [--seed N]

Layout (karpathy/llama2.c "legacy" format, as read by llama.cpp's
llama-convert-llama2c-to-ggml):
  header: 7 x int32 LE  dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len
          (positive vocab_size => classifier shares the token embedding)
  float32 LE tensors:
    token_embedding_table (vocab, dim)
    rms_att_weight        (layers, dim)
    wq                    (layers, dim, dim)
    wk                    (layers, dim, kv_heads*head_size)
    wv                    (layers, dim, kv_heads*head_size)
    wo                    (layers, dim, dim)
    rms_ffn_weight        (layers, dim)
    w1                    (layers, hidden, dim)
    w2                    (layers, dim, hidden)
    w3                    (layers, hidden, dim)
    rms_final_weight      (dim,)
    freq_cis_real/imag    2 x (seq_len, head_size/2)  -- skipped by the converter, zeros
"""
import argparse
import os
import random
import struct
import sys
from array import array

DIM = 64
HIDDEN = 176
LAYERS = 2
HEADS = 4
KV_HEADS = 4
VOCAB = 32000
SEQ_LEN = 2048
STD = 0.02


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("output")
    ap.add_argument("--seed", type=int, default=1234)
    args = ap.parse_args()

    if sys.byteorder != "little":
        print("big-endian host not supported", file=sys.stderr)
        return 1

    rng = random.Random(args.seed)
    head_size = DIM // HEADS
    kv_dim = KV_HEADS * head_size

    def gauss(n: int) -> array:
        g = rng.gauss
        return array("f", [g(0.0, STD) for _ in range(n)])

    def ones(n: int) -> array:
        return array("f", [1.0]) * n

    def zeros(n: int) -> array:
        return array("f", [0.0]) * n

    tensors = [
        ("token_embedding_table", lambda: gauss(VOCAB * DIM)),
        ("rms_att_weight", lambda: ones(LAYERS * DIM)),
        ("wq", lambda: gauss(LAYERS * DIM * DIM)),
        ("wk", lambda: gauss(LAYERS * DIM * kv_dim)),
        ("wv", lambda: gauss(LAYERS * DIM * kv_dim)),
        ("wo", lambda: gauss(LAYERS * DIM * DIM)),
        ("rms_ffn_weight", lambda: ones(LAYERS * DIM)),
        ("w1", lambda: gauss(LAYERS * HIDDEN * DIM)),
        ("w2", lambda: gauss(LAYERS * DIM * HIDDEN)),
        ("w3", lambda: gauss(LAYERS * HIDDEN * DIM)),
        ("rms_final_weight", lambda: ones(DIM)),
        ("freq_cis", lambda: zeros(2 * SEQ_LEN * (head_size // 2))),
    ]

    tmp = args.output + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<7i", DIM, HIDDEN, LAYERS, HEADS, KV_HEADS, VOCAB, SEQ_LEN))
        for _name, make in tensors:
            make().tofile(f)
    os.replace(tmp, args.output)
    print(f"wrote {args.output} ({os.path.getsize(args.output)} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
