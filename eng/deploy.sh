# Used by deploy-test.sh: a private Docker engine, the base images nothing can pull here, and a loopback registry that
# serves them to the SDK's PublishContainer. Facts behind each choice: shared CONTAINERS.md.
# shellcheck shell=bash

# Root, or this script again through sudo (which asks for a password on a terminal); a message when neither can be had.
# Under sudo, HOME is root's (its NuGet and deployment caches, never root-owned files in the user's), and what the run
# writes into the checkout (bin/, obj/, artifacts/) is given back to the user who ran it when it ends (cleanup).
ensure_root() { # SCRIPT [ARGS...]
  [ "$(id -u)" -eq 0 ] && return
  command -v sudo >/dev/null 2>&1 \
    || die "The deployment test starts a Docker engine and builds images, which needs root, and there is no sudo here: run it as root."
  log "Root is needed (dockerd, debootstrap, chroot): running $1 again through sudo"
  exec sudo --preserve-env=PATH,DOTNET_ROOT,CHATBACKEND_DEPLOY_CACHE bash "$@"
}

# Gives the checkout's files that this run under sudo made or changed (root's, newer than MARKER) back to the user who
# ran it; files root had before are left as they were.
give_back_checkout() { # MARKER
  [ -n "${SUDO_UID:-}" ] && [ "$(id -u)" -eq 0 ] && [ -e "$1" ] || return 0
  find . -xdev -user 0 -newer "$1" -not -path ./.git -exec chown -h "$SUDO_UID:${SUDO_GID:-$SUDO_UID}" {} + 2>/dev/null || true
}

# Root, and the Debian packages a deployment test needs, installed when missing (common.sh's install_packages, else a
# message naming them). Installing docker.io or docker-registry must not start their services (that would put a Docker
# on the default socket for everyone): policy-rc.d forbids it while apt runs.
ensure_deploy_tools() {
  local missing=() tool package
  for tool in dockerd:docker.io docker-compose:docker-compose debootstrap:debootstrap docker-registry:docker-registry \
      openssl:openssl curl:curl; do
    package=${tool#*:}
    command -v "${tool%%:*}" >/dev/null 2>&1 || [ -x "/usr/sbin/${tool%%:*}" ] || missing+=("$package")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
      chmod +x /usr/sbin/policy-rc.d
      (install_packages "${missing[@]}") || { rm -f /usr/sbin/policy-rc.d; exit 1; }
      rm -f /usr/sbin/policy-rc.d
    else
      install_packages "${missing[@]}"
    fi
  fi
  command -v kubectl >/dev/null 2>&1 && kubectl kustomize --help >/dev/null 2>&1 \
    || die "kubectl with kustomize (1.21 or later) is needed to render the Kubernetes output: install kubectl (https://kubernetes.io/docs/tasks/tools/) and run this again."
}

# A loopback TCP port nobody listens on.
free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 20000))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
  done
}

# Starts dockerd on its own socket, data root, exec root, pid file and bridge, with no iptables rules, NAT or
# forwarding of its own, so that a Docker the machine already runs is not disturbed: containers reach each other on
# their networks, and the host reaches them through ports published on 127.0.0.1. Should it find a containerd the
# machine runs, it keeps to namespaces of its own there. Sets DOCKER_HOST.
# Globals for stop_private_dockerd: DOCKERD_PID, DEPLOY_BRIDGE.
start_private_dockerd() { # DATA_ROOT RUN_DIR BRIDGE SUBNET_PREFIX
  local data=$1 run=$2 bridge=$3 prefix=$4
  mkdir -p "$data" "$run/exec"
  if ! ip link show "$bridge" >/dev/null 2>&1; then
    ip link add "$bridge" type bridge
    ip addr add "$prefix.0.1/24" dev "$bridge"
  fi
  ip link set "$bridge" up
  DEPLOY_BRIDGE=$bridge
  dockerd --host "unix://$run/docker.sock" --data-root "$data" --exec-root "$run/exec" --pidfile "$run/docker.pid" \
    --bridge "$bridge" --iptables=false --ip-masq=false --ip-forward=false \
    --containerd-namespace chatbackend-deploy --containerd-plugins-namespace chatbackend-deploy-plugins \
    --default-address-pool "base=$prefix.0.0/16,size=24" >"$run/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  export DOCKER_HOST="unix://$run/docker.sock"
  local i
  for i in $(seq 60); do
    docker version >/dev/null 2>&1 && return 0
    kill -0 "$DOCKERD_PID" 2>/dev/null || { tail -20 "$run/dockerd.log" >&2; die "dockerd exited at start (log above)."; }
    sleep 0.5
  done
  tail -20 "$run/dockerd.log" >&2
  die "dockerd did not answer on $DOCKER_HOST within 30 s (log above)."
}

# Removes every container, volume and network of the private engine and the images no tag names any more (the last
# run's builds), then stops it by its pid (a clean stop unmounts what it mounted), and removes its bridge. The tagged
# images stay: they are the cache.
stop_private_dockerd() {
  [ -n "${DOCKERD_PID:-}" ] || return 0
  if kill -0 "$DOCKERD_PID" 2>/dev/null; then
    local ids
    ids=$(docker ps -aq 2>/dev/null || true)
    [ -z "$ids" ] || docker rm -f $ids >/dev/null 2>&1 || true
    docker volume prune -f >/dev/null 2>&1 || true
    docker network prune -f >/dev/null 2>&1 || true
    docker image prune -f >/dev/null 2>&1 || true
    kill -TERM "$DOCKERD_PID" 2>/dev/null || true
    local i
    for i in $(seq 40); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$DOCKERD_PID" 2>/dev/null || true
  fi
  wait "$DOCKERD_PID" 2>/dev/null || true
  DOCKERD_PID=
  [ -z "${DEPLOY_BRIDGE:-}" ] || ip link delete "$DEPLOY_BRIDGE" 2>/dev/null || true
}

# The Debian mirror apt uses here (deb822 sources first, then sources.list).
debian_mirror() {
  local uri
  uri=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -1)
  [ -n "$uri" ] || uri=$(grep -hs '^deb ' /etc/apt/sources.list | awk '{print $2}' | grep -v security | head -1)
  echo "${uri:-http://deb.debian.org/debian}"
}

# An image's recipe label: a base image is rebuilt when the recipe (these scripts, the .NET runtime copied in) changes.
image_recipe() { docker image inspect -f '{{index .Config.Labels "chatbackend.recipe"}}' "$1" 2>/dev/null || true; }

# Debian 12 minbase (debootstrap), the root of every base image, made once per cache: sets DEBIAN_ROOTFS.
ensure_debian_rootfs() { # CACHE
  DEBIAN_ROOTFS=$1/rootfs/bookworm
  if [ ! -f "$DEBIAN_ROOTFS/.complete" ]; then
    log "debootstrap: Debian 12 (bookworm, minbase) from $(debian_mirror)"
    rm -rf "$DEBIAN_ROOTFS"
    mkdir -p "$(dirname "$DEBIAN_ROOTFS")"
    debootstrap --variant=minbase --include=ca-certificates,libssl3,zlib1g,tzdata bookworm "$DEBIAN_ROOTFS" "$(debian_mirror)" \
      >"$1/debootstrap.log" 2>&1 || { tail -20 "$1/debootstrap.log" >&2; die "debootstrap failed (log above)."; }
    touch "$DEBIAN_ROOTFS/.complete"
  fi
}

# False when IMAGE was built by RECIPE already; else says what it builds and sets BUILD_ROOT to a fresh copy of the
# Debian rootfs to build it in.
needs_build() { # CACHE IMAGE RECIPE NAME
  [ "$(image_recipe "$2")" != "$3" ] || return 1
  log "Building the image $2"
  ensure_debian_rootfs "$1"
  BUILD_ROOT=$1/build/$4
  rm -rf "$BUILD_ROOT"
  mkdir -p "$(dirname "$BUILD_ROOT")"
  cp -a "$DEBIAN_ROOTFS" "$BUILD_ROOT"
  rm -f "$BUILD_ROOT/.complete"
}

# What no image needs: apt's downloads and lists, documentation, translations.
trim_rootfs() {
  rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/* "$1"/usr/share/doc/* "$1"/usr/share/man/* \
    "$1"/usr/share/info/* "$1"/usr/share/locale/* "$1"/tmp/*
}

import_rootfs() { # DIR IMAGE RECIPE [--change ...]
  local dir=$1 image=$2 recipe=$3
  shift 3
  tar -C "$dir" -c . | docker import --change "LABEL chatbackend.recipe=$recipe" "$@" - "$image" >/dev/null
}

# The .NET base: Debian with the .NET runtime and ASP.NET Core of this machine's SDK install (the projects use
# invariant globalization: no ICU), and the user app (uid 1654), as Microsoft's aspnet images have them.
build_dotnet_base() { # CACHE IMAGE
  local cache=$1 image=$2 root version recipe dir
  root=$(dirname "$(readlink -f "$(command -v dotnet)")")
  version=$(ls "$root/shared/Microsoft.AspNetCore.App" | grep '^10\.' | sort -V | tail -1)
  [ -n "$version" ] || die "No ASP.NET Core 10 runtime in $root/shared/Microsoft.AspNetCore.App."
  recipe="$DEPLOY_RECIPE-dotnet-$version"
  needs_build "$cache" "$image" "$recipe" dotnet || return 0
  dir=$BUILD_ROOT
  mkdir -p "$dir/usr/share/dotnet/host" "$dir/usr/share/dotnet/shared/Microsoft.NETCore.App" \
    "$dir/usr/share/dotnet/shared/Microsoft.AspNetCore.App"
  cp -a "$root/dotnet" "$dir/usr/share/dotnet/"
  cp -a "$root/host/fxr" "$dir/usr/share/dotnet/host/"
  cp -a "$root/shared/Microsoft.NETCore.App/$version" "$dir/usr/share/dotnet/shared/Microsoft.NETCore.App/"
  cp -a "$root/shared/Microsoft.AspNetCore.App/$version" "$dir/usr/share/dotnet/shared/Microsoft.AspNetCore.App/"
  ln -sf /usr/share/dotnet/dotnet "$dir/usr/bin/dotnet"
  chroot "$dir" sh -c 'groupadd --gid 1654 app && useradd --uid 1654 --gid 1654 --create-home --shell /bin/false app'
  trim_rootfs "$dir"
  import_rootfs "$dir" "$image" "$recipe" \
    --change "ENV APP_UID=1654 ASPNETCORE_HTTP_PORTS=8080 DOTNET_RUNNING_IN_CONTAINER=true DOTNET_VERSION=$version ASPNET_VERSION=$version" \
    --change 'WORKDIR /app'
  rm -rf "$dir"
}

# A MySQL-contract server: Debian's mariadb-server with an entrypoint that honours MYSQL_ROOT_PASSWORD and
# MYSQL_DATABASE and keeps its data in /var/lib/mysql (eng/mariadb-entrypoint.sh).
build_mariadb_image() { # CACHE IMAGE
  local cache=$1 image=$2 recipe dir
  recipe="$DEPLOY_RECIPE-mariadb"
  needs_build "$cache" "$image" "$recipe" mariadb || return 0
  dir=$BUILD_ROOT
  cp /etc/resolv.conf "$dir/etc/resolv.conf"
  printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
  chmod +x "$dir/usr/sbin/policy-rc.d"
  mount -t proc proc "$dir/proc"
  chroot "$dir" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mariadb-server mariadb-client \
    >"$cache/mariadb-apt.log" 2>&1 || { umount "$dir/proc"; tail -20 "$cache/mariadb-apt.log" >&2; die "apt-get install mariadb-server in the image's root failed (log above)."; }
  umount "$dir/proc"
  rm -f "$dir/usr/sbin/policy-rc.d" "$dir/etc/resolv.conf"
  rm -rf "$dir/var/lib/mysql"/*
  install -m 755 eng/mariadb-entrypoint.sh "$dir/usr/local/bin/docker-entrypoint.sh"
  trim_rootfs "$dir"
  import_rootfs "$dir" "$image" "$recipe" \
    --change 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' --change 'EXPOSE 3306' --change 'VOLUME /var/lib/mysql'
  rm -rf "$dir"
}

# Debian's docker-registry on a loopback port, its storage in the cache. Global for stop_registry: REGISTRY_PID.
start_registry() { # STORAGE RUN_DIR PORT
  mkdir -p "$1"
  cat >"$2/registry.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $1
http:
  addr: 127.0.0.1:$3
EOF
  docker-registry serve "$2/registry.yml" >"$2/registry.log" 2>&1 &
  REGISTRY_PID=$!
  local i
  for i in $(seq 40); do
    curl -fsS "http://127.0.0.1:$3/v2/" >/dev/null 2>&1 && return 0
    sleep 0.25
  done
  tail -20 "$2/registry.log" >&2
  die "docker-registry did not answer on 127.0.0.1:$3 (log above)."
}

stop_registry() {
  [ -n "${REGISTRY_PID:-}" ] || return 0
  kill -TERM "$REGISTRY_PID" 2>/dev/null || true
  wait "$REGISTRY_PID" 2>/dev/null || true
  REGISTRY_PID=
}

# Bytes to MB, one decimal.
megabytes() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1000000 }'; }
