#!/bin/bash
# qccc's command table, walked: every command answers --help with its usage
# and every option it accepts, a typo of it gets "did you mean", an unknown
# option is refused with a suggestion, every group lists its commands, the
# seed plan's spellings lead somewhere, completion knows every command; and
# `qccc migrate` converts the seed plan's config.json (issue 16).
# A command added to the table without help fails here.
set -u
QCCC="${QCC_BUILD_ROOT:?}/compiler/qccc"
QCC_RUN="${QCC_BUILD_ROOT:?}/runtime/qcc-run"
SRC="${QCC_SOURCE_ROOT:?}"
DIR=$(mktemp -d /tmp/qcc-clihelp-XXXXXX)
trap 'rm -rf "$DIR"' EXIT INT TERM
cd "$DIR" || exit 1
fails=0
n=0
unset QCC_CONFIG
export QCC_STATE_DIR="$DIR/state" # never a qcc-run of this machine's ~/.qcc

ok() { n=$((n + 1)); echo "ok $n - $1"; }
bad() {
  n=$((n + 1)); echo "not ok $n - $1"; fails=$((fails + 1))
  [ -f "$DIR/out" ] && sed 's/^/    /' "$DIR/out" | head -20
}
# run WANT_RC DESC CMD...: output (stdout+stderr) in $DIR/out, stdout alone in $DIR/stdout
run() {
  want=$1; desc=$2; shift 2
  "$@" >"$DIR/stdout" 2>"$DIR/stderr"
  rc=$?
  cat "$DIR/stdout" "$DIR/stderr" >"$DIR/out"
  if [ "$rc" -eq "$want" ]; then ok "$desc"; else bad "$desc: exit $rc, want $want"; fi
}
has() { if grep -qF -- "$1" "$DIR/out"; then ok "$2"; else bad "$2: no '$1'"; fi; }
lacks() { if grep -qF -- "$1" "$DIR/out"; then bad "$2: '$1' present"; else ok "$2"; fi; }

"$QCCC" help --commands >"$DIR/commands" || bad "help --commands"
count=$(wc -l <"$DIR/commands")
if [ "$count" -ge 30 ]; then ok "the table lists $count commands"; else bad "only $count commands"; fi

# ---- every command: --help, -h, options documented, typo, unknown option ----
while IFS=$'\t' read -r path opts; do
  # shellcheck disable=SC2086
  set -- $path
  run 0 "qccc $path --help" "$QCCC" "$@" --help
  if head -1 "$DIR/stdout" | grep -qF "usage: qccc $path"; then ok "$path: help starts with its usage line"
  else bad "$path: help does not start with 'usage: qccc $path'"; fi
  [ -s "$DIR/stderr" ] && bad "$path --help wrote to stderr"
  awk 'length($0) > 100 { exit 1 }' "$DIR/stdout" || bad "$path --help has a line over 100 columns"
  run 0 "qccc $path -h" "$QCCC" "$@" -h
  for o in $opts; do
    [ "$o" = "--help" ] && continue
    if grep -qE -- "(^|[^a-z-])$o([^a-z-]|$)" "$DIR/stdout"; then :; else bad "$path: option $o not in its help"; fi
  done
  run 2 "qccc $path --no-such-option is refused" "$QCCC" "$@" --no-such-option
  has "unknown option --no-such-option" "$path: says which option"
  # a long option with one letter missing is recognised
  first=$(printf '%s\n' $opts | grep -E '^--..' | grep -v '^--help$' | head -1)
  if [ -n "$first" ]; then
    typo="${first%?}"
    run 2 "qccc $path $typo" "$QCCC" "$@" "$typo"
    has "did you mean $first" "$path: $typo suggests $first"
  fi
  # the last word with its last letter dropped suggests the command
  last="${!#}"
  if [ "${#last}" -ge 4 ]; then
    if [ $# -eq 2 ]; then run 2 "qccc $1 ${last%?}" "$QCCC" "$1" "${last%?}"
    else run 2 "qccc ${last%?}" "$QCCC" "${last%?}"; fi
    has "did you mean \`qccc $path\`" "typo of $path suggests it"
  fi
done <"$DIR/commands"

# ---- groups: bare and --help list their commands ----
for g in $(cut -f1 "$DIR/commands" | awk 'NF == 2 {print $1}' | sort -u); do
  run 0 "qccc $g (bare)" "$QCCC" "$g"
  for sub in $(cut -f1 "$DIR/commands" | awk -v g="$g" '$1 == g {print $2}'); do
    grep -qE "^  $g $sub +[a-z]" "$DIR/stdout" || bad "qccc $g does not list $sub with a summary"
  done
  ok "qccc $g lists its commands"
  run 0 "qccc $g --help" "$QCCC" "$g" --help
  run 0 "qccc help $g" "$QCCC" help "$g"
done
run 0 "qccc --help" "$QCCC" --help
awk 'length($0) > 100 { exit 1 }' "$DIR/stdout" && ok "qccc --help fits 100 columns" || bad "qccc --help too wide"
for g in health endpoint priority config queue profile journal service; do has "  $g " "--help lists group $g"; done
run 2 "qccc with no command" "$QCCC"
run 2 "unknown command" "$QCCC" frobnicate
has "unknown command 'frobnicate'" "unknown command named"
run 2 "qccc endpont (typo of a group)" "$QCCC" endpont add
has 'did you mean `qccc endpoint`' "group typo suggests the group"

# ---- the seed plan's spellings ----
run 0 "priority policy --help is policy's help" "$QCCC" priority policy --help
has "usage: qccc policy" "priority policy runs policy"
run 0 "proxy status --help" "$QCCC" proxy status --help
has "usage: qccc status" "proxy status is status"
run 0 "proxy logs --help" "$QCCC" proxy logs --help
has "usage: qccc logs" "proxy logs is logs"
run 0 "add --help (qcc add)" "$QCCC" add --help
has "usage: qccc profile add" "qcc add is profile add"
run 2 "health config points to config set" "$QCCC" health config
has "qccc config set health." "health config names the command"
run 2 "queue config" "$QCCC" queue config
has "qccc config set queue." "queue config names the command"
run 0 "endpoint stats --help" "$QCCC" endpoint stats --help
has "usage: qccc usage" "endpoint stats is usage"
run 0 "stats --help" "$QCCC" stats --help
has "usage: qccc usage" "stats is usage"
run 0 "proxy start --help" "$QCCC" proxy start --help
has "usage: qccc start" "proxy start is start"
run 2 "use" "$QCCC" use production
has "qccc run" "use points to qccc run"
run 2 "import" "$QCCC" import x.json
has "qccc migrate: x.json: cannot open" "import is migrate (issue 16's spelling)"
printf "version: 1\n" >"$DIR/q.yaml"
run 1 "import of a YAML file" "$QCCC" import "$DIR/q.yaml"
has "qccc config import FILE" "import of YAML points to config import"
has "qccc config import" "and tells config import apart"

# ---- versions ----
run 0 "qccc --version" "$QCCC" --version
has "table format 1." "qccc --version names the table format"
run 0 "qcc-run --version" "$QCC_RUN" --version
has "table format 1." "qcc-run --version names the table format"
grep -q "qcc-run [0-9]" "$DIR/out" && ok "qcc-run --version has a version" || bad "qcc-run version"

# ---- completion ----
run 0 "completion bash" "$QCCC" completion bash
cp "$DIR/stdout" "$DIR/qccc.bash"
bash -n "$DIR/qccc.bash" && ok "the bash completion parses" || bad "bash completion syntax"
complete_words() { # WORDS... (the last one is being completed)
  bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _qccc; printf "%s\n" "${COMPREPLY[@]}"' \
    _ "$DIR/qccc.bash" "$@"
}
for w in $(cut -f1 "$DIR/commands" | awk '{print $1}' | sort -u); do
  complete_words qccc "" | grep -qx "$w" || bad "bash completion lacks $w"
done
ok "bash completion offers every first word"
complete_words qccc endpoint "" | grep -qx add && ok "bash completes 'endpoint <TAB>' with add" || bad "endpoint completion"
complete_words qccc build --con | grep -qx -- --config && ok "bash completes build --con" || bad "option completion"
complete_words qccc endpoint add P --ke | grep -qx -- --key-env && ok "bash completes endpoint add --ke" || bad "leaf option completion"
run 0 "completion zsh" "$QCCC" completion zsh
has "bashcompinit" "zsh completion loads through bashcompinit"
if command -v zsh >/dev/null; then zsh -n "$DIR/stdout" && ok "zsh completion parses" || bad "zsh syntax"; fi
run 0 "completion fish" "$QCCC" completion fish
has "__fish_seen_subcommand_from endpoint" "fish completion knows the groups"
if command -v fish >/dev/null; then fish -n "$DIR/stdout" && ok "fish completion parses" || bad "fish syntax"; fi
run 2 "completion tcsh" "$QCCC" completion tcsh

# ---- edits say what happens next ----
"$QCCC" init >/dev/null 2>&1
run 0 "config set (a change)" "$QCCC" config set health.check_interval 30s
has "not live until \`qccc build" "an edit says it is not live yet"
run 0 "config set (the same value again)" "$QCCC" config set health.check_interval 30s
lacks "not live until" "an edit that changes nothing says nothing about building"
run 0 "config get does not talk about building" "$QCCC" config get health.check_interval
lacks "not live" "a read says nothing about building"
QCC_STATE_DIR="$DIR/state" run 0 "config set --build (qcc-run not running)" "$QCCC" config set health.check_interval 45s --build
has "generation" "--build builds"
has "qcc-run is not running" "--build says qcc-run is not running"

# ---- qccc migrate: the seed plan's config.json ----
mkdir -p "$DIR/home/.qcc"
cp "$SRC/tests/configs/python-qcc-0.4.0.json" "$DIR/home/.qcc/config.json"
mkdir -p "$DIR/m" && cd "$DIR/m" || exit 1
HOME="$DIR/home" run 0 "migrate the seed's example (default path)" "$QCCC" migrate
has "2 profiles, 3 endpoints" "migrate counts what it converted"
has "3 literal keys moved" "migrate moved the keys"
has "user_id: dropped" "migrate reports user_id"
has "queue.persistence_path: dropped" "migrate reports queue.persistence_path"
lacks "sk-" "no key in migrate's output"
if grep -q "sk-" qcc.yaml; then bad "a key is in qcc.yaml"; else ok "no key in qcc.yaml"; fi
grep -q "api_key_file: \"$DIR/home/.qcc/keys/prod-1.key\"" qcc.yaml && ok "api_key_file is absolute" || bad "api_key_file path"
[ "$(stat -c %a "$DIR/home/.qcc/keys/prod-1.key")" = 600 ] && ok "key file is 0600" || bad "key file mode"
[ "$(cat "$DIR/home/.qcc/keys/prod-2.key")" = "sk-cp-xxxxx" ] && ok "key file holds the key" || bad "key file content"
run 0 "the converted config validates --strict --check-secrets" "$QCCC" validate --strict --check-secrets
run 0 "and builds" "$QCCC" build
cp qcc.yaml before.yaml
HOME="$DIR/home" run 1 "a second migrate does not overwrite qcc.yaml" "$QCCC" migrate
cmp -s qcc.yaml before.yaml && ok "qcc.yaml untouched" || bad "qcc.yaml changed"
HOME="$DIR/home" run 0 "migrate -o other.yaml reuses the same key files" "$QCCC" migrate -o other.yaml
has "already there" "identical key files are reused"
echo "sk-different" >"$DIR/home/.qcc/keys/prod-1.key"
HOME="$DIR/home" run 1 "a key file with another key is not overwritten" "$QCCC" migrate -o third.yaml
[ -e third.yaml ] && bad "third.yaml written after a refusal" || ok "nothing written after a refusal"
echo '{"version": "0.4.0", "profiles": [{"name": "p", "endpoints": [{"id": "e", "base_url": "ftp://x"}]}]}' >bad.json
run 1 "a config that does not convert into a valid qcc.yaml" "$QCCC" migrate bad.json -o bad.yaml --key-dir "$DIR/k2"
[ -e bad.yaml ] && bad "bad.yaml written" || ok "nothing written for an invalid result"
printf '{"version":"0.4.0","proxy":{"auth_tokens":[{"name":"laptop","value":"tok-secret-1234"}]},"profiles":[{"name":"p","endpoints":[{"id":"e","base_url":"https://x.example","api_key":"sk-e-5678"}]}]}' >tok.json
run 0 "a client token moves to a file too" "$QCCC" migrate tok.json -o tok.yaml --key-dir "$DIR/k3"
grep -q "file: \"$DIR/k3/token-laptop.key\"" tok.yaml && ok "auth token referenced by file" || bad "auth token file"
grep -q "tok-secret" tok.yaml && bad "the token is in the YAML" || ok "the token is not in the YAML"
lacks "tok-secret" "the token is not in the output"
echo '[1,2]' >notqcc.json
run 1 "not the Python qcc's format" "$QCCC" migrate notqcc.json -o n.yaml --key-dir "$DIR/k2"
has "expected a JSON object" "says what it expected"

# ---- docs/cli.md lists every command and every spelling ----
while IFS=$'\t' read -r path opts; do
  grep -qF "\`qccc $path\`" "$SRC/docs/cli.md" || bad "docs/cli.md does not list qccc $path"
done <"$DIR/commands"
ok "docs/cli.md lists every command"
"$QCCC" help --spellings >"$DIR/spellings" || bad "help --spellings"
[ "$(wc -l <"$DIR/spellings")" -ge 10 ] || bad "too few spellings"
while IFS=$'\t' read -r w target; do
  grep -qF "\`qccc $w\`" "$SRC/docs/cli.md" || bad "docs/cli.md lacks the spelling qccc $w"
  # shellcheck disable=SC2086
  if [ "$target" != "-" ]; then
    "$QCCC" $w --help >"$DIR/out" 2>&1 || bad "qccc $w --help fails"
    grep -qF "usage: qccc $target" "$DIR/out" || bad "qccc $w does not run qccc $target"
  else
    run_rc=0; "$QCCC" $w >"$DIR/out" 2>&1 || run_rc=$?
    [ "$run_rc" -eq 2 ] && grep -qF "here: " "$DIR/out" || bad "qccc $w does not say where the job is done"
  fi
done <"$DIR/spellings"
ok "docs/cli.md lists the seed plan's spellings"

echo "1..$n"
[ "$fails" -eq 0 ]
