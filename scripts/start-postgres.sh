#!/usr/bin/env bash
# Makes sure a PostgreSQL server is reachable for the tests and prints, for `eval`, the
# PGHOST/PGPORT/PGUSER that reach it (user: PGUSER, default postgres, logging in without a password).
#
# - PGHOST or PGPORT set: that server must answer; nothing is started.
# - Else a server on 127.0.0.1:5432 or the local socket that lets the user in is used as it is.
# - Else postgresql is installed with apt-get when missing, and a cluster of the tests' own,
#   "poto" (trust authentication, local connections only), is created once and started with
#   pg_ctlcluster on its own port. Other clusters are never stopped or reconfigured.
set -euo pipefail
user="${PGUSER:-postgres}"
cluster=poto

can_login() { # host port
  command -v psql >/dev/null 2>&1 &&
    PGCONNECT_TIMEOUT=5 psql -w -X -q -h "$1" -p "$2" -U "$user" -d postgres -Atc 'select 1' >/dev/null 2>&1
}

use() { # host port
  printf 'export PGHOST=%q PGPORT=%q PGUSER=%q\n' "$1" "$2" "$user"
  exit 0
}

try_default() {
  for host in 127.0.0.1 /var/run/postgresql; do
    if can_login "$host" 5432; then use "$host" 5432; fi
  done
}

if [ -n "${PGHOST:-}" ] || [ -n "${PGPORT:-}" ]; then
  host="${PGHOST:-127.0.0.1}"
  port="${PGPORT:-5432}"
  if can_login "$host" "$port"; then use "$host" "$port"; fi
  echo "start-postgres: no PostgreSQL at PGHOST=$host PGPORT=$port lets user $user in without a password" \
    "(unset PGHOST and PGPORT to let this script start a local one)" >&2
  exit 1
fi

try_default

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
if ! command -v pg_createcluster >/dev/null 2>&1 || ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  echo "start-postgres: installing postgresql" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >/dev/null
  try_default # the package may have started its own cluster, usable if it lets us in
fi

cluster_field() { # column of pg_lsclusters (1 version, 3 port, 4 status) for our cluster
  pg_lsclusters -h | awk -v name="$cluster" -v col="$1" '$2 == name { print $col; exit }'
}

version="$(cluster_field 1)"
if [ -z "$version" ]; then
  version="$(basename "$(ls -d /usr/lib/postgresql/*/ | sort -V | tail -n 1)")"
  echo "start-postgres: creating cluster $version/$cluster" >&2
  $sudo pg_createcluster "$version" "$cluster" -- --auth=trust --encoding=UTF8 >&2
fi
$sudo install -d -o postgres -g postgres -m 2775 /var/run/postgresql
case "$(cluster_field 4)" in
  online*) ;;
  *) $sudo pg_ctlcluster "$version" "$cluster" start >&2 ;;
esac
port="$(cluster_field 3)"
for _ in $(seq 1 60); do
  if can_login 127.0.0.1 "$port"; then use 127.0.0.1 "$port"; fi
  sleep 0.5
done
echo "start-postgres: cluster $version/$cluster on port $port does not accept connections" >&2
exit 1
