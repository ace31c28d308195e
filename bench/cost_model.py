#!/usr/bin/env python3
"""Cost and scale model of the service, from measured durations.

Run: python3 bench/cost_model.py   (prints Markdown; docs/scale-and-cost.md holds a copy)

Every input is a named constant below; change one and re-run. Durations come
from bench/RESULTS.md (warm medians on the benchmark machine) plus an
allowance for DynamoDB's latency in AWS, and are scaled by the CPU share
Lambda gives each memory size (one full vCPU at 1769 MB).
"""

import math

# --- Prices (USD, us-east-1, published prices as of 2026; check before use) ---
LAMBDA_ARM_GB_SECOND = 0.0000133334
LAMBDA_PER_MILLION_REQUESTS = 0.20
API_GATEWAY_HTTP_PER_MILLION = 1.00
DYNAMODB_PER_MILLION_WRU = 0.625
DYNAMODB_PER_MILLION_RRU = 0.125
COGNITO_FREE_MAU = 10_000
COGNITO_LITE_PER_MAU = 0.0055
COGNITO_ESSENTIALS_PER_MAU = 0.015

# --- Quotas (defaults per account and region) ---
LAMBDA_CONCURRENCY_QUOTA = 1_000
LAMBDA_SCALING_PER_10_SECONDS = 1_000  # new environments per function
API_GATEWAY_ACCOUNT_RPS = 10_000
DYNAMODB_TABLE_RRU_PER_SECOND = 40_000  # on-demand table maximum, adjustable
DYNAMODB_TABLE_WRU_PER_SECOND = 40_000

# --- Measured CPU work per operation at one full vCPU (ms), from bench/RESULTS.md ---
ARGON2_MS = 26.0        # argon2id hash or verify, m=19 MiB t=2 p=1 (26 measured)
OWN_CPU_MS = 0.5        # parsing, token signing or verification, JSON (0.3 to 0.7 measured)
DYNAMODB_CALL_MS = 4.0  # one call from Lambda to DynamoDB in-region (allowance)

# name: (memory MB, CPU ms at 1 vCPU, DynamoDB round trips in sequence, RRU, WRU)
OPERATIONS = {
    # TransactWriteItems of two items <= 1 KB: 2 WRU each.
    "create-user": (1024, ARGON2_MS + OWN_CPU_MS, 1, 0.0, 4.0),
    # Eventually consistent GetItem (0.5) and strongly consistent revocation check (1), at once.
    "get-user": (256, OWN_CPU_MS, 1, 1.5, 0.0),
    # Strongly consistent GetItems of the lockout record and of the credentials, at once
    # (a failed login adds an UpdateItem, and a DeleteItem follows a success after failures).
    "login": (1769, ARGON2_MS + OWN_CPU_MS, 1, 2.0, 0.0),
    # Strongly consistent revocation check + PutItem.
    "logout": (256, OWN_CPU_MS, 2, 1.0, 1.0),
}


def duration_ms(memory_mb, cpu_ms, calls):
    cpu_share = min(memory_mb / 1769.0, 1.0)
    return cpu_ms / cpu_share + calls * DYNAMODB_CALL_MS


def cost_per_million(memory_mb, cpu_ms, calls, rru, wru):
    d = duration_ms(memory_mb, cpu_ms, calls)
    lambda_compute = 1e6 * (memory_mb / 1024.0) * (round(d + 0.5) / 1000.0) * LAMBDA_ARM_GB_SECOND
    return {
        "lambda": lambda_compute + LAMBDA_PER_MILLION_REQUESTS,
        "dynamodb": rru * DYNAMODB_PER_MILLION_RRU + wru * DYNAMODB_PER_MILLION_WRU,
        "api": API_GATEWAY_HTTP_PER_MILLION,
    }


def main():
    print("## Cost per million operations\n")
    print("| operation | memory (MB) | duration (ms) | Lambda | DynamoDB | API Gateway | total (USD) |")
    print("|---|---|---|---|---|---|---|")
    totals = {}
    for name, op in OPERATIONS.items():
        c = cost_per_million(*op)
        totals[name] = sum(c.values())
        print(f"| {name} | {op[0]} | {duration_ms(*op[:3]):.1f} | {c['lambda']:.2f} | {c['dynamodb']:.2f} "
              f"| {c['api']:.2f} | {totals[name]:.2f} |")

    print("\n## Logins per second: what breaks first\n")
    print("| logins/s | concurrent login environments | Lambda quota (1,000) | time to scale from 0 | "
          "API Gateway account (10,000 rps) | reads per table (40,000 RRU/s) |")
    print("|---|---|---|---|---|---|")
    login = OPERATIONS["login"]
    d = duration_ms(*login[:3]) / 1000.0
    for rate in (1_000, 10_000, 100_000):
        concurrency = rate * d
        ramp = 10 * math.ceil(concurrency / LAMBDA_SCALING_PER_10_SECONDS)
        quota = "ok" if concurrency <= LAMBDA_CONCURRENCY_QUOTA else f"EXCEEDED ({concurrency / LAMBDA_CONCURRENCY_QUOTA:.1f}x)"
        api = "ok" if rate < API_GATEWAY_ACCOUNT_RPS else "AT OR OVER"
        # One strongly consistent read on each of two tables (usernames, login-attempts).
        reads = rate * login[3] / 2
        table = "ok" if reads <= DYNAMODB_TABLE_RRU_PER_SECOND else f"EXCEEDED ({reads:,.0f} RRU/s)"
        print(f"| {rate:,} | {concurrency:,.0f} | {quota} | <= {ramp} s | {api} | {table} |")

    print("\n## 100,000 monthly active users\n")
    mau = 100_000
    # Assumed monthly use per active user: 30 logins, 30 logouts, 300 profile reads; sign-ups: 10% of MAU.
    monthly = {"create-user": 0.1 * mau, "login": 30 * mau, "logout": 30 * mau, "get-user": 300 * mau}
    ours = sum(totals[op] * n / 1e6 for op, n in monthly.items())
    billable = max(mau - COGNITO_FREE_MAU, 0)
    print(f"Assumed use per user and month: 30 logins, 30 logouts, 300 profile reads; 10,000 sign-ups.\n")
    print("| | USD per month |")
    print("|---|---|")
    print(f"| this service (Lambda + DynamoDB + API Gateway) | {ours:,.2f} |")
    print(f"| Amazon Cognito Lite ({billable:,} billable MAU x {COGNITO_LITE_PER_MAU}) | {billable * COGNITO_LITE_PER_MAU:,.2f} |")
    print(f"| Amazon Cognito Essentials ({billable:,} billable MAU x {COGNITO_ESSENTIALS_PER_MAU}) "
          f"| {billable * COGNITO_ESSENTIALS_PER_MAU:,.2f} |")


if __name__ == "__main__":
    main()
