# Shared by the install-*.sh scripts: argument parsing, the mesh settings to
# write, and a jq edit of a JSON file that keeps a .bak of the original and
# writes atomically.
# The scripts do what `ipcmesh install CLIENT` does; use either.

# A script whose client has one scope sets scopes=user before it sources
# this file, so that its usage offers no --scope.
name= scope=user
usage="usage: $0 [--name NAME]"
[ "${scopes:-}" = user ] || usage+=" [--scope user|project]"
while [ $# -gt 0 ]; do
  case $1 in
    --name) name=${2:?--name needs a value}; shift 2 ;;
    --scope) scope=${2:?--scope needs a value}; shift 2 ;;
    *) echo "$1: not an option; $usage" >&2; exit 2 ;;
  esac
done
case $scope in user | project) ;; *) echo "--scope: user or project" >&2; exit 2 ;; esac
if [ -n "$name" ] && ! [[ $name =~ ^[A-Za-z0-9_-]{1,32}$ ]]; then
  echo "--name: 1-32 letters, digits, '_' or '-'" >&2; exit 2
fi
bin=$(command -v ipcmesh) || { echo "ipcmesh is not on PATH (go install ./cmd/...)" >&2; exit 1; }
command -v jq >/dev/null || { echo "jq is not on PATH: install it (apt install jq, brew install jq), or use ipcmesh install, which needs none" >&2; exit 1; }
qbin=$(printf '%q' "$bin")
as=${name:+ --as $name}

# data_dir DIR: IPC_DATA_DIR as the ipcmesh commands take it, which no
# shell may have expanded (it was quoted, or set in a file): $NAME,
# ${NAME} and $env:NAME are the variable's value, a leading ~ is the home folder, and a
# relative path is taken from this folder. Written as it is, it named
# another data folder for the assistant than for these commands.
data_dir() {
  local s=$1 out= name
  while [ -n "$s" ]; do
    if [[ $s =~ ^\$\{([A-Za-z_][A-Za-z0-9_]*)\}(.*)$ || $s =~ ^\$[Ee][Nn][Vv]:([A-Za-z_][A-Za-z0-9_]*)(.*)$ || $s =~ ^\$([A-Za-z_][A-Za-z0-9_]*)(.*)$ ]]; then
      name=${BASH_REMATCH[1]} s=${BASH_REMATCH[2]}
      [ -n "${!name:-}" ] || { echo "IPC_DATA_DIR=$1: $name is not set in this environment, so it cannot be expanded: set $name, or give the whole path" >&2; exit 1; }
      out+=${!name}
    else
      out+=${s:0:1} s=${s:1}
    fi
  done
  case $out in "~") out=$HOME ;; "~/"*) out=$HOME/${out#"~/"} ;; esac
  case $out in /*) ;; *) out=$PWD/$out ;; esac
  printf '%s\n' "$out"
}

# The mesh settings of this shell go into the config, as install writes
# them: a client started from a launcher has none of them. Never the secret.
env_args=() env_prefix= env_json='{}'
for var in IPC_HOST IPC_PORT IPC_DATA_DIR; do
  val=${!var:-}
  [ -n "$val" ] || continue
  [ "$var" = IPC_DATA_DIR ] && val=$(data_dir "$val")
  env_args+=(-e "$var=$val")
  env_prefix+="$var=$(printf '%q' "$val") "
  env_json=$(jq -c --arg k "$var" --arg v "$val" '. + {($k): $v}' <<<"$env_json")
  echo "writing $var=$val from this environment"
done
[ -n "${IPC_SHARED_SECRET:-}" ] && echo "IPC_SHARED_SECRET is set here but is not written: a secret never goes into a config file in clear"
qbin=$env_prefix$qbin
base=$HOME
[ "$scope" = project ] && base=$PWD

# jq_check FILE: exit, saying why, unless jq_edit can change FILE: a link
# that leads somewhere, a file its owner may write, plain JSON. A script
# that changes the client's config with the client's own command asks
# this first of the file it edits with jq, so that a file jq cannot edit
# stops it before anything is changed, and "nothing was changed" is true.
jq_check() {
  local file=$1 target=$1 why
  if [ -L "$file" ]; then
    target=$(readlink -f "$file") || { echo "$file: a link that leads nowhere: nothing was changed" >&2; exit 1; }
  fi
  # The owner's write bit, as install reads it: -w is true of any file
  # for root.
  if [ -e "$target" ] && [ -z "$(find "$target" -prune -perm -u=w)" ]; then
    echo "$file is read-only: nothing was changed; make it writable (chmod u+w) and run this again, or edit it by hand" >&2; exit 1
  fi
  if [ -s "$target" ] && ! why=$(jq empty "$target" 2>&1); then
    echo "$file is not plain JSON, which jq needs (${why:-jq cannot read it}): nothing was changed; fix it (ipcmesh install says where it is wrong, and reads the comments Gemini CLI allows)" >&2; exit 1
  fi
}

# jq_edit FILE FILTER [jq args...]: apply FILTER to FILE ({} if absent).
# A FILE that is a link (into a dotfiles folder, say) is changed where it
# points and stays a link; a read-only FILE is left alone.
jq_edit() {
  local file=$1 filter=$2 target tmp
  shift 2
  jq_check "$file"
  target=$file
  [ -L "$file" ] && target=$(readlink -f "$file")
  mkdir -p "$(dirname "$target")"
  tmp=$(mktemp "$target.XXXXXX")
  if ! { if [ -s "$target" ]; then cat "$target"; else echo '{}'; fi; } | jq "$@" "$filter" >"$tmp"; then
    rm -f "$tmp"; echo "$file: not plain JSON? nothing was changed" >&2; exit 1
  fi
  if [ -f "$target" ]; then
    cmp -s "$tmp" "$target" && { rm -f "$tmp"; echo "$file: already up to date"; return; }
    # FILE.bak is the original, kept; later runs keep the last in FILE.last.bak.
    if [ -e "$file.bak" ]; then cp -p "$target" "$file.last.bak"; else cp -p "$target" "$file.bak"; fi
    chmod --reference="$target" "$tmp" 2>/dev/null || true
  fi
  mv "$tmp" "$target"
  echo "updated $file"
}

# Drops ipcmesh's hook handlers from a list of hook groups, so that adding
# them again is idempotent.
jq_strip='def strip: map(.hooks |= map(select((.command // "") | test("ipcmesh(\\.exe)?[\"'"'"']?\\s+hook\\s+(check|wait)") | not))) | map(select(.hooks | length > 0));'
