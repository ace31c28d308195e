"""argon2id in the C reference implementation (libargon2, through
argon2-cffi), at the service's parameters: the floor the benchmark holds
our argon2 to. Prints one JSON object: the milliseconds of each hash and
of each verification, in order."""

import json
import sys
import time

from argon2 import PasswordHasher, Type

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 30
PASSWORD = "correct horse battery staple"

hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, hash_len=32, salt_len=16, type=Type.ID)


def timed(call):
    samples = []
    for _ in range(RUNS):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


stored = hasher.hash(PASSWORD)
print(json.dumps({"hash_ms": timed(lambda: hasher.hash(PASSWORD)), "verify_ms": timed(lambda: hasher.verify(stored, PASSWORD))}))
