#!/usr/bin/env bash
# A real MLflow tracking server on this machine: PostgreSQL (Debian's package) as the backend
# store, artifacts served by the tracking server itself (--serve-artifacts).
#
#   infra/local/tracking-server.sh install                      # apt-get install postgresql
#   infra/local/tracking-server.sh start DIR [PG_PORT] [MLFLOW_PORT]
#   export MLFLOW_TRACKING_URI=http://127.0.0.1:5000            # then run seqpipe as usual
#   infra/local/tracking-server.sh stop DIR
#
# DIR holds everything (database cluster, artifacts, logs, pid files), so a server is removed
# by stopping it and deleting DIR. The cluster listens on 127.0.0.1 only and trusts local
# connections: a single-machine setup. For a shared server see infra/compose.
set -euo pipefail

postgres_bin() {
    local found
    found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
    if [ -z "$found" ]; then
        echo "PostgreSQL is not installed: run '$0 install' first" >&2
        return 1
    fi
    echo "$found"
}

# PostgreSQL refuses to run as root; as root, its own commands run as the postgres user.
as_db_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

install() {
    if postgres_bin >/dev/null 2>&1; then return 0; fi
    local sudo=""
    if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends postgresql
}

start() {
    local dir=$1 pg_port=${2:-5432} mlflow_port=${3:-5000}
    local bin
    bin=$(postgres_bin)
    mkdir -p "$dir/artifacts" "$dir/run"
    dir=$(cd "$dir" && pwd)
    if [ "$(id -u)" = 0 ]; then
        if ! runuser -u postgres -- test -x "$dir"; then
            echo "the postgres user cannot reach $dir: choose a directory it can traverse" >&2
            return 1
        fi
        chown postgres "$dir" "$dir/run"
    fi
    if [ ! -d "$dir/pgdata" ]; then
        as_db_owner "$bin/initdb" --pgdata "$dir/pgdata" --username mlflow --auth trust \
            --encoding UTF8 --no-instructions >"$dir/run/initdb.log"
    fi
    as_db_owner "$bin/pg_ctl" --pgdata "$dir/pgdata" --log "$dir/run/postgres.log" --wait \
        --options "-c listen_addresses=127.0.0.1 -p $pg_port -k $dir/run" start >/dev/null
    if ! "$bin/psql" -h 127.0.0.1 -p "$pg_port" -U mlflow -d postgres -tAc \
        "select 1 from pg_database where datname = 'mlflow'" | grep -q 1; then
        "$bin/createdb" -h 127.0.0.1 -p "$pg_port" -U mlflow mlflow
    fi
    # The project's environment has MLflow and the PostgreSQL driver (psycopg2).
    local python=${SEQPIPE_PYTHON:-python}
    # MLflow's GenAI job runner is not needed for model training and would add processes.
    MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false nohup "$python" -m mlflow server \
        --backend-store-uri "postgresql+psycopg2://mlflow@127.0.0.1:$pg_port/mlflow" \
        --artifacts-destination "file://$dir/artifacts" --serve-artifacts \
        --host 127.0.0.1 --port "$mlflow_port" --workers 2 \
        >"$dir/run/mlflow.log" 2>&1 &
    echo $! >"$dir/run/mlflow.pid"
    echo "$pg_port" >"$dir/run/pg.port"
    for _ in $(seq 1 180); do
        if "$python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$mlflow_port/health', timeout=2)" 2>/dev/null; then
            echo "MLflow tracking server: http://127.0.0.1:$mlflow_port (PostgreSQL on port $pg_port)"
            return 0
        fi
        if ! kill -0 "$(cat "$dir/run/mlflow.pid")" 2>/dev/null; then break; fi
        sleep 1
    done
    echo "the MLflow server did not start; its log:" >&2
    tail -20 "$dir/run/mlflow.log" >&2
    return 1
}

stop() {
    local dir=$1
    if [ -f "$dir/run/mlflow.pid" ]; then
        local pid
        pid=$(cat "$dir/run/mlflow.pid")
        # The server's workers are its children: stop them with it.
        pkill -TERM -P "$pid" 2>/dev/null || true
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        pkill -KILL -P "$pid" 2>/dev/null || true
        kill -KILL "$pid" 2>/dev/null || true
        rm -f "$dir/run/mlflow.pid"
    fi
    if [ -d "$dir/pgdata" ]; then
        as_db_owner "$(postgres_bin)/pg_ctl" --pgdata "$dir/pgdata" --mode fast --wait stop \
            >/dev/null 2>&1 || true
    fi
}

case "${1:-}" in
    install) install ;;
    start) shift; start "$@" ;;
    stop) shift; stop "$@" ;;
    *) echo "usage: $0 install | start DIR [PG_PORT] [MLFLOW_PORT] | stop DIR" >&2; exit 2 ;;
esac
