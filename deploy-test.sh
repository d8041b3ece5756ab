#!/usr/bin/env bash
# Proves the deployment for real, apart from ./test.sh: installs what it needs (Debian's docker.io, docker-compose,
# debootstrap, docker-registry), starts a private Docker engine (its own socket, data and exec roots, pid file and
# bridge; a Docker the machine runs is not touched), builds the base images nothing can pull here (cached), builds the
# two images with the SDK's PublishContainer, brings the Docker Compose deployment up with the steps docs/deploy.md
# gives a deployer, then runs the tests of Category=Deployment against it: the Compose deployment used over HTTP and
# taken down, the AppHost's container mode, an image that cannot be had, the Kubernetes output against the API's
# schemas. Stops everything it started, whatever happens. Root is needed (dockerd, debootstrap): run by another user,
# it runs itself again through sudo.
set -euo pipefail
cd "$(dirname "$0")"
source eng/common.sh
source eng/deploy.sh
ensure_root "$0" "$@"

started=$SECONDS
ensure_dotnet
ensure_deploy_tools

cache=${CHATBACKEND_DEPLOY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/chatbackend-deploy}
mkdir -p "$cache"
# One run at a time on a machine: the engine's bridge and addresses are fixed.
exec 9>/tmp/chatbackend-deploy.lock
flock -n 9 || die "Another deploy-test.sh is running on this machine."
run=$(mktemp -d /tmp/chatbackend-deploy.XXXXXX)
touch "$run/started"
# The base images are rebuilt when what builds them changes.
DEPLOY_RECIPE=$({ declare -f ensure_debian_rootfs needs_build trim_rootfs import_rootfs build_dotnet_base build_mariadb_image
  cat eng/mariadb-entrypoint.sh; } | sha256sum | cut -c1-12)
MYSQL_TEST_IMAGE=localhost/chatbackend-mariadb:10.11
compose_dir=deploy/compose

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  set +e
  if [ -n "${DOCKERD_PID:-}" ] && [ -f "$compose_dir/docker-compose.yaml" ]; then
    (cd "$compose_dir" && docker-compose down -v --remove-orphans >/dev/null 2>&1)
  fi
  stop_registry
  stop_private_dockerd
  # The build servers this run started (MSBuild's nodes, the compiler server) hold the lock's descriptor: without
  # this, a second run within their idle time would find the machine "busy".
  dotnet build-server shutdown >/dev/null 2>&1
  give_back_checkout "$run/started"
  rm -rf "$run" "$cache/build"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log "Private Docker engine (socket $run/docker.sock, data root $cache/docker)"
start_private_dockerd "$cache/docker" "$run" cbdeploy0 10.213
ids=$(docker ps -aq)
[ -z "$ids" ] || docker rm -f $ids >/dev/null
docker volume prune -f >/dev/null

images_started=$SECONDS
build_dotnet_base "$cache" localhost/chatbackend-dotnet-aspnet:10.0
build_mariadb_image "$cache" "$MYSQL_TEST_IMAGE"
registry_port=$(free_port)
start_registry "$cache/registry" "$run" "$registry_port"
base=localhost:$registry_port/dotnet/aspnet:10.0
docker tag localhost/chatbackend-dotnet-aspnet:10.0 "$base"
docker push "$base" >/dev/null
docker rmi "$base" >/dev/null
base_seconds=$((SECONDS - images_started))

# The deployer's steps, as docs/deploy.md gives them (the block between its deploy-test markers), run as they are.
# Here the .NET base comes from the loopback registry (the SDK reads ContainerBaseImage from the environment), and the
# shell's MYSQL_IMAGE and APISERVICE_PORT win over .env's (Compose's rule): the local MariaDB image, and the API on a
# free loopback port.
api_port=$(free_port)
export ContainerBaseImage=$base MYSQL_IMAGE=$MYSQL_TEST_IMAGE APISERVICE_PORT=127.0.0.1:$api_port
steps=$(awk '/<!-- deploy-test: compose -->/ { on = 1; next } /<!-- \/deploy-test -->/ { on = 0 } on && !/^```/' docs/deploy.md)
[ -n "$steps" ] || die "docs/deploy.md has no block between <!-- deploy-test: compose --> and <!-- /deploy-test -->."
rm -rf deploy
log "The deployer's steps (docs/deploy.md):"
printf '%s\n' "$steps" | sed 's/^/    /' >&2
steps_started=$SECONDS
up_at=
( set -euo pipefail; eval "${steps%docker-compose up -d*}" ) || die "A step before docker-compose up failed."
publish_seconds=$((SECONDS - steps_started))
up_at=$(date +%s.%N)
( set -euo pipefail; cd "$compose_dir"; docker-compose up -d ) || die "docker-compose up -d failed."
until curl -fsS "http://127.0.0.1:$api_port/health" >/dev/null 2>&1; do
  awk -v s="$up_at" -v n="$(date +%s.%N)" 'BEGIN { exit !(n - s > 180) }' \
    && { (cd "$compose_dir" && docker-compose ps && docker-compose logs --tail=30) >&2; die "The API was not healthy 180 s after docker-compose up -d."; }
  sleep 0.2
done
healthy_seconds=$(awk -v s="$up_at" -v n="$(date +%s.%N)" 'BEGIN { printf "%.1f", n - s }')
log "API healthy ${healthy_seconds} s after docker-compose up -d (mysql healthy, migrator completed, apiservice started)"

log "The deployment tests (Category=Deployment)"
results=$run/results
set +e
DEPLOY_TEST_COMPOSE_DIR=$PWD/$compose_dir DEPLOY_TEST_API_URL=http://127.0.0.1:$api_port \
DEPLOY_TEST_MYSQL_IMAGE=$MYSQL_TEST_IMAGE DEPLOY_TEST_DOCKER_HOST=$DOCKER_HOST \
  dotnet test ChatBackend.Tests -c Release --filter "Category=Deployment" --logger "console;verbosity=normal" \
  --results-directory "$results" 2>&1 | tee "$run/tests.txt"
status=${PIPESTATUS[0]}
set -e

size() { megabytes "$(docker image inspect -f '{{.Size}}' "$1")"; }
log "Summary"
cat >&2 <<EOF
    total time:                          $((SECONDS - started)) s
    base images (debootstrap, .NET, MariaDB, registry push): ${base_seconds} s
    images and Compose files (the deployer's steps before up): ${publish_seconds} s
    docker-compose up -d to a healthy API: ${healthy_seconds} s
    chatbackend-apiservice:latest        $(size chatbackend-apiservice:latest)
    chatbackend-migrator:latest          $(size chatbackend-migrator:latest)
    .NET base (Debian 12 + ASP.NET Core) $(size localhost/chatbackend-dotnet-aspnet:10.0)
    $MYSQL_TEST_IMAGE  $(size "$MYSQL_TEST_IMAGE")
EOF
closing_line "$run/tests.txt" "$status"
