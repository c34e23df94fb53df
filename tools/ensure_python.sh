# Sourced by the benchmark scripts: ensure_python TOOL "import a, b" PACKAGE... makes sure
# /usr/bin/python3 can run the check (and /usr/bin/time exists, with which they measure a run's
# peak memory), installing the Debian packages when we are root; else it says what to install.
ensure_python() {
  local tool=$1 check=$2
  shift 2
  local pkgs=("$@" time)
  [ -x /usr/bin/python3 ] && /usr/bin/python3 -c "$check" 2>/dev/null && [ -x /usr/bin/time ] &&
    return
  if [ "$(id -u)" -ne 0 ]; then
    echo "$tool: error: /usr/bin/python3 cannot '$check', or /usr/bin/time is missing; install" \
      "them with 'sudo apt-get install -y ${pkgs[*]}' and rerun" >&2
    exit 1
  fi
  echo "$tool: installing ${pkgs[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null; } || {
    echo "$tool: error: apt-get install ${pkgs[*]} failed; install them and rerun" >&2
    exit 1
  }
  /usr/bin/python3 -c "$check" || {
    echo "$tool: error: /usr/bin/python3 still cannot '$check'" >&2
    exit 1
  }
}
