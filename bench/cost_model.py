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
ARGON2_MS = 14.7        # argon2id hash or verify, m=19 MiB t=2 p=1 (14.5 to 14.9 measured)
OWN_CPU_MS = 0.5        # parsing, token signing or verification, JSON (0.3 to 0.7 measured)
DYNAMODB_CALL_MS = 4.0  # one call from Lambda to DynamoDB in-region (allowance)

# name: (memory MB, CPU ms at 1 vCPU, DynamoDB round trips in sequence, RRU, WRU)
# Strongly consistent reads cost 1 RRU, eventually consistent ones 0.5; writes
# of items under 1 KB 1 WRU, twice that inside a transaction.
OPERATIONS = {
    # Another team's API calls it, and pays its own API Gateway requests: the
    # session and the user read at once, as get-user reads them.
    "authorize": (256, OWN_CPU_MS, 1, 2.0, 0.0),
    # The key set, from the function's environment: no DynamoDB call.
    "jwks": (256, 0.1, 0, 0.0, 0.0),
    # The sign-up counted per address (UpdateItem), then a TransactWriteItems of two items,
    # then the sign-up's event (1 WRU).
    "create-user": (1024, ARGON2_MS + OWN_CPU_MS, 3, 0.0, 1.0 + 4.0 + 1.0),
    # The session, the caller's user and the profile asked for, at once (strong reads).
    "get-user": (256, OWN_CPU_MS, 1, 3.0, 0.0),
    # Three strong reads at once (the address's and the name's lockout items, the credentials);
    # the attempt claimed (1 WRU from a known address, 2 from a new one, one after the other);
    # argon2id; the success recorded (1 WRU, 2 from a new address); the session put in a
    # transaction with a ConditionCheck of the credentials (2 + 2 WRU). From a known address.
    # The attempt's event, written beside the claim and again beside the session (2 x 1 WRU):
    # no call of its own on the way.
    "login": (1769, ARGON2_MS + OWN_CPU_MS, 4, 3.0, 6.0 + 2.0),
    # One conditional UpdateItem (the rotation) and the user read (strong) at once; a
    # session's first refresh writes its event after (1 WRU, one call): a quarter of the
    # refreshes at the use below (30 logins, 120 refreshes).
    "refresh": (256, OWN_CPU_MS, 1.25, 1.0, 1.25),
    # The session and the user at once, then the session deleted beside the event.
    "logout": (256, OWN_CPU_MS, 2, 2.0, 2.0),
    # One strong Query of the user's sessions and the user at once.
    "list-sessions": (256, OWN_CPU_MS, 1, 2.0, 0.0),
    # The session and the user at once, then the other session deleted, then the event.
    "revoke-session": (256, OWN_CPU_MS, 3, 2.0, 2.0),
    # The token checked (2), the password checked under the lockout as login (3 RRU, 2 WRU),
    # a Query of the sessions (1), then a transaction: the hash updated and one other session
    # deleted (2 + 2 WRU), the event beside the deletion. Two argon2id runs: verify and hash.
    "change-password": (1769, 2 * ARGON2_MS + OWN_CPU_MS, 6, 6.0, 7.0),
    # The token and the password checked as above, a Query, a transaction deleting the user,
    # the claim and two sessions (4 x 2 WRU), the Query that sweeps for stragglers, then
    # the event.
    "delete-user": (1769, ARGON2_MS + OWN_CPU_MS, 8, 7.0, 11.0),
}

# Assumed use per active user and month (sign-ups: 10 % of the users).
MONTHLY_PER_USER = {
    "login": 30,
    "logout": 30,
    "get-user": 300,
    "refresh": 120,
    "list-sessions": 1,
    "revoke-session": 0.2,
    "change-password": 0.05,
    "delete-user": 0.01,
}
SIGN_UPS_PER_USER = 0.1

# Reserved concurrency per function, as template.yaml sets it by default.
RESERVED_CONCURRENCY = {
    "authorize": 70,
    "jwks": 70,
    "create-user": 20,
    "get-user": 70,
    "login": 100,
    "refresh": 70,
    "logout": 70,
    "list-sessions": 70,
    "revoke-session": 70,
    "change-password": 20,
    "delete-user": 20,
}
# The other functions' caps, which the model does not price: verify-email,
# change-email, start-recovery, confirm-recovery, enrol-totp, confirm-totp,
# remove-totp, new-recovery-codes and verify-mfa, at 20 each, and
# list-activity, at 70.
UNMODELLED_RESERVED_CONCURRENCY = 9 * 20 + 70
UNMODELLED_CAPS_IN_WORDS = "the other nine functions' 20 each and list-activity's 70"


# --- A burst of new environments ---
# Lambda starts up to 1,000 new environments per function every 10 seconds.
# Median init (process start to the first poll of the Runtime API) and first
# invocation, in ms, at each function's default memory and CPU share, with
# DynamoDB over TLS: the "DynamoDB over TLS" section of bench/RESULTS.md
# (scripts/bench --tls; login's and refresh's from its Secrets Manager table).
# Lambda bills the init phase and the invocation.
BURST_ENVIRONMENTS = 1_000
COLD_START_MS = {
    # name: (init, first invocation); login and refresh with their signing
    # key read from Secrets Manager during init, as deployed.
    "authorize": (20.1, 17.3),
    "jwks": (17.3, 0.2),
    "create-user": (17.0, 57.1),
    "get-user": (16.0, 9.7),
    "login": (22.4, 40.9),
    "refresh": (34.2, 18.5),
    "logout": (16.5, 9.5),
    "list-sessions": (15.6, 20.3),
    "revoke-session": (19.2, 16.1),
    "change-password": (18.7, 64.0),
    "delete-user": (18.1, 43.7),
}


def duration_ms(memory_mb, cpu_ms, calls):
    cpu_share = min(memory_mb / 1769.0, 1.0)
    return cpu_ms / cpu_share + calls * DYNAMODB_CALL_MS


# Operations whose requests come through another team's API, which pays for them.
NOT_OUR_API = {"authorize"}


def cost_per_million(memory_mb, cpu_ms, calls, rru, wru, name=""):
    d = duration_ms(memory_mb, cpu_ms, calls)
    lambda_compute = 1e6 * (memory_mb / 1024.0) * (round(d + 0.5) / 1000.0) * LAMBDA_ARM_GB_SECOND
    return {
        "lambda": lambda_compute + LAMBDA_PER_MILLION_REQUESTS,
        "dynamodb": rru * DYNAMODB_PER_MILLION_RRU + wru * DYNAMODB_PER_MILLION_WRU,
        "api": 0.0 if name in NOT_OUR_API else API_GATEWAY_HTTP_PER_MILLION,
    }


def main():
    print("## Cost per million operations\n")
    print("| operation | memory (MB) | duration (ms) | Lambda | DynamoDB | API Gateway | total (USD) |")
    print("|---|---|---|---|---|---|---|")
    totals = {}
    for name, op in OPERATIONS.items():
        c = cost_per_million(*op, name=name)
        totals[name] = sum(c.values())
        print(f"| {name} | {op[0]} | {duration_ms(*op[:3]):.1f} | {c['lambda']:.2f} | {c['dynamodb']:.2f} "
              f"| {c['api']:.2f} | {totals[name]:.2f} |")

    print("\n## What the default concurrency caps allow\n")
    print("| function | reserved concurrency | duration (ms) | requests/s at the cap |")
    print("|---|---|---|---|")
    for name, cap in RESERVED_CONCURRENCY.items():
        d = duration_ms(*OPERATIONS[name][:3])
        print(f"| {name} | {cap} | {d:.1f} | {cap / (d / 1000.0):,.0f} |")
    together = sum(RESERVED_CONCURRENCY.values()) + UNMODELLED_RESERVED_CONCURRENCY
    print(f"\nWith {UNMODELLED_CAPS_IN_WORDS}, together: "
          f"{together} of the account's {LAMBDA_CONCURRENCY_QUOTA:,}.")

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
        # The login-attempts table takes two of the three strong reads.
        reads = rate * 2
        table = "ok" if reads <= DYNAMODB_TABLE_RRU_PER_SECOND else f"EXCEEDED ({reads:,.0f} RRU/s)"
        print(f"| {rate:,} | {concurrency:,.0f} | {quota} | <= {ramp} s | {api} | {table} |")

    print(f"\n## A burst of {BURST_ENVIRONMENTS:,} new environments in 10 seconds\n")
    print(f"| function | memory (MB) | init at its CPU share (ms) | first invocation, TLS handshake included (ms) "
          f"| billed init and first invocation of {BURST_ENVIRONMENTS:,} environments (USD) "
          "| environments the default cap lets run |")
    print("|---|---|---|---|---|---|")
    for name, cap in RESERVED_CONCURRENCY.items():
        memory = OPERATIONS[name][0]
        init, first = COLD_START_MS[name]
        billed = BURST_ENVIRONMENTS * (memory / 1024.0) * ((init + first) / 1000.0) * LAMBDA_ARM_GB_SECOND
        print(f"| {name} | {memory} | {init:.1f} | {first:.1f} | {billed:.5f} | {min(cap, BURST_ENVIRONMENTS):,} |")

    print("\n## 100,000 monthly active users\n")
    mau = 100_000
    monthly = {name: per_user * mau for name, per_user in MONTHLY_PER_USER.items()}
    monthly["create-user"] = SIGN_UPS_PER_USER * mau
    ours = sum(totals[op] * n / 1e6 for op, n in monthly.items())
    billable = max(mau - COGNITO_FREE_MAU, 0)
    uses = ", ".join(f"{n:g} {name}" for name, n in MONTHLY_PER_USER.items())
    print(f"Assumed use per user and month: {uses}; sign-ups: {SIGN_UPS_PER_USER:.0%} of the users.\n")
    print("| | USD per month |")
    print("|---|---|")
    print(f"| this service (Lambda + DynamoDB + API Gateway) | {ours:,.2f} |")
    print(f"| Amazon Cognito Lite ({billable:,} billable MAU x {COGNITO_LITE_PER_MAU}) | {billable * COGNITO_LITE_PER_MAU:,.2f} |")
    print(f"| Amazon Cognito Essentials ({billable:,} billable MAU x {COGNITO_ESSENTIALS_PER_MAU}) "
          f"| {billable * COGNITO_ESSENTIALS_PER_MAU:,.2f} |")


if __name__ == "__main__":
    main()
