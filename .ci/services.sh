#!/usr/bin/env bash
# Start throwaway PostgreSQL and Redis servers on loopback for the test suite and
# print the environment that points the tests at them. Source it or eval its output:
#   eval "$(bash .ci/services.sh)"
set -euo pipefail

# Below Linux's ephemeral range (32768-60999): a client connection on loopback
# can hold a port in that range and keep a server from binding it.
PG_PORT=${DEVFLOWFIX_CI_PG_PORT:-25432}
REDIS_PORT=${DEVFLOWFIX_CI_REDIS_PORT:-26379}
STATE=${DEVFLOWFIX_CI_STATE:-/tmp/devflowfix-ci}
PG_DATA=$STATE/pgdata
mkdir -p "$STATE"

pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$pg_bin" ]; then
    echo "PostgreSQL server binaries not found; install the postgresql package" >&2
    exit 1
fi

# PostgreSQL refuses to run as root, so as root it runs as the postgres user.
as_pg() {
    if [ "$(id -u)" = 0 ]; then
        su postgres -s /bin/bash -c "$*"
    else
        bash -c "$*"
    fi
}

if [ "$(id -u)" = 0 ]; then
    chown postgres "$STATE"
fi

if ! "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; then
    if [ ! -f "$PG_DATA/PG_VERSION" ]; then
        as_pg "'$pg_bin/initdb' -D '$PG_DATA' -U postgres --auth=trust -E UTF8 --locale=C.UTF-8" >&2
    fi
    as_pg "'$pg_bin/pg_ctl' -D '$PG_DATA' -l '$STATE/postgres.log' -w -o \"-c listen_addresses=127.0.0.1 -p $PG_PORT -k '$STATE' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 -c shared_buffers=512MB\" start" >&2
fi
for _ in $(seq 1 30); do
    "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" && break
    sleep 1
done
if ! "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; then
    echo "PostgreSQL does not answer on 127.0.0.1:$PG_PORT; $STATE/postgres.log says:" >&2
    tail -n 20 "$STATE/postgres.log" >&2 || true
    exit 1
fi
if ! psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'devflowfix_test'" | grep -q 1; then
    psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc "CREATE DATABASE devflowfix_test" >&2
fi

if ! redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no \
        --daemonize yes --logfile "$STATE/redis.log" >&2
fi
for _ in $(seq 1 30); do
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
    sleep 0.2
done
# Without this check the tests would run against nothing: the rate limiter
# lets requests through when its store is down, and only some tests notice.
if ! redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    echo "Redis does not answer on 127.0.0.1:$REDIS_PORT; $STATE/redis.log says:" >&2
    tail -n 20 "$STATE/redis.log" >&2 || true
    exit 1
fi

echo "export DEVFLOWFIX_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/devflowfix_test"
echo "export DEVFLOWFIX_TEST_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0"
