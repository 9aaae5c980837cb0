#!/bin/bash
# Claude Code through qcc-run (issue 16): `qccc run -- COMMAND` starts
# qcc-run when needed and hands the command ANTHROPIC_BASE_URL and
# ANTHROPIC_AUTH_TOKEN (the client token) without ANTHROPIC_API_KEY, passing
# its exit status through; `qccc env`; `qccc claude-settings --write/--undo`
# on a fixture HOME; `qccc service install` into a temp root; and the real
# `claude -p` through `qccc run`.
. "$(dirname "$0")/lib.sh"
require_bins "$MOCK_BIN" "$QCCC_BIN" "$QCC_RUN_BIN"

it_keys up1
start_mock up1 --key-env QCC_IT_KEY_UP1
QCC_PORT=$(free_port)
export QCC_IT_CLIENT_TOKEN=$(make_secret qcc-tok)
QCC_IT_TOKEN_ENV=QCC_IT_CLIENT_TOKEN std_config "$T/qcc.yaml" up1 || bail_out "config"
export QCC_STATE_DIR=$T/state
STATE=$QCC_STATE_DIR
cd "$T" || bail_out "cd"
Q() { "$QCCC_BIN" "$@"; }
URL=http://127.0.0.1:$QCC_PORT

# ---- run ---------------------------------------------------------------------
out=$(ANTHROPIC_API_KEY=sk-must-not-pass Q run -- env 2>"$T/run.err")
rc=$?
[ -s "$STATE/qcc-run.pid" ] && track_pid "$(cat "$STATE/qcc-run.pid")"
assert_eq "run -- env: exit 0" 0 "$rc"
assert_contains "run: started qcc-run first" "$(cat "$T/run.err")" "started qcc-run"
assert_contains "run -- env: ANTHROPIC_BASE_URL" "$out" "ANTHROPIC_BASE_URL=$URL"
assert_contains "run -- env: ANTHROPIC_AUTH_TOKEN is the client token" "$out" \
	"ANTHROPIC_AUTH_TOKEN=$QCC_IT_CLIENT_TOKEN"
assert_not_contains "run -- env: no ANTHROPIC_API_KEY" "$out" "ANTHROPIC_API_KEY"
assert_eq "qcc-run serves after run" 1 "$(healthz_generation)"
pid=$(cat "$STATE/qcc-run.pid")
Q run -- sh -c 'exit 7' 2>/dev/null
assert_eq "run: the command's exit status passes through" 7 "$?"
assert_eq "run: the same qcc-run (started once)" "$pid" "$(cat "$STATE/qcc-run.pid")"
code=$(Q run -- sh -c 'curl -sS -m 10 -o /dev/null -w "%{http_code}" "$ANTHROPIC_BASE_URL/v1/messages" \
	-H "authorization: Bearer $ANTHROPIC_AUTH_TOKEN" -d "$0"' "$(body_json claude-sonnet-4-5)" 2>/dev/null)
assert_eq "run: the token it hands out is accepted" 200 "$code"
Q run -- no-such-command-qcc 2>/dev/null
assert_eq "run: a missing command exits 127" 127 "$?"

# ---- env ---------------------------------------------------------------------
out=$(Q env --shell bash 2>&1)
assert_contains "env bash: base URL" "$out" "export ANTHROPIC_BASE_URL='$URL'"
assert_contains "env bash: token by reference" "$out" 'export ANTHROPIC_AUTH_TOKEN="$QCC_IT_CLIENT_TOKEN"'
assert_contains "env bash: unsets the API key" "$out" "unset ANTHROPIC_API_KEY"
assert_not_contains "env: the token value is not printed" "$out" "$QCC_IT_CLIENT_TOKEN"
got=$(bash -c 'eval "$('"$QCCC_BIN"' env --shell bash)"; echo "$ANTHROPIC_BASE_URL ${ANTHROPIC_API_KEY-unset} ${#ANTHROPIC_AUTH_TOKEN}"')
assert_eq "env bash: eval sets the variables" "$URL unset ${#QCC_IT_CLIENT_TOKEN}" "$got"
out=$(Q env --shell fish 2>&1)
assert_contains "env fish: set -gx" "$out" "set -gx ANTHROPIC_BASE_URL '$URL'"
assert_contains "env fish: set -e" "$out" "set -e ANTHROPIC_API_KEY"
Q env --shell tcsh >/dev/null 2>&1
assert_eq "env --shell tcsh: usage error" 2 "$?"

# ---- claude-settings ---------------------------------------------------------
H=$T/home
mkdir -p "$H/.claude"
cat >"$H/.claude/settings.json" <<'J'
{
  "model": "opus",
  "env": {
    "FOO": "bar",
    "ANTHROPIC_BASE_URL": "https://relay.example"
  },
  "permissions": {
    "allow": [
      "Bash(ls)"
    ]
  },
  "enabledPlugins": {
    "x@y": true
  }
}
J
chmod 644 "$H/.claude/settings.json"
cp "$H/.claude/settings.json" "$T/orig.json"
S=$H/.claude/settings.json
out=$(HOME=$H Q claude-settings 2>&1)
assert_contains "claude-settings: shows the file" "$out" "$S"
assert_eq "claude-settings (show): file untouched" "$(cat "$T/orig.json")" "$(cat "$S")"
out=$(HOME=$H Q claude-settings --write 2>&1)
assert_eq "claude-settings --write: exit 0" 0 "$?"
assert_eq "--write: base URL set" "$URL" "$(jq -r .env.ANTHROPIC_BASE_URL "$S")"
assert_eq "--write: the client token set" "$QCC_IT_CLIENT_TOKEN" "$(jq -r .env.ANTHROPIC_AUTH_TOKEN "$S")"
assert_eq "--write: never also ANTHROPIC_API_KEY" "null" "$(jq -r .env.ANTHROPIC_API_KEY "$S")"
assert_eq "--write: other settings and env vars kept" \
	"$(jq -c 'del(.env.ANTHROPIC_BASE_URL)' "$T/orig.json")" \
	"$(jq -c 'del(.env.ANTHROPIC_BASE_URL, .env.ANTHROPIC_AUTH_TOKEN)' "$S")"
assert_eq "--write: key order kept" "model env permissions enabledPlugins" "$(jq -r 'keys_unsorted | join(" ")' "$S")"
assert_eq "--write: a file holding the client token is owner-only" 600 "$(stat -c %a "$S")"
assert_eq "--write: backup of the file as it was" "$(cat "$T/orig.json")" "$(cat "$S.qcc.bak")"
assert_not_contains "--write: prints no token" "$out" "$QCC_IT_CLIENT_TOKEN"
assert_eq "undo record: the fields docs/lifecycle.md shows" "version vars created_env" \
	"$(jq -r 'keys_unsorted | join(" ")' "$S.qcc-undo")"
assert_eq "undo record: had and wrote per key" '{"had":"https://relay.example"}|{}' \
	"$(jq -c '.vars.ANTHROPIC_BASE_URL | del(.wrote)' "$S.qcc-undo")|$(jq -c '.vars.ANTHROPIC_AUTH_TOKEN | del(.wrote)' "$S.qcc-undo")"
cp "$S" "$T/after1.json"
touch -d '2001-01-01' "$S.qcc.bak"
out=$(HOME=$H Q claude-settings --write 2>&1)
assert_contains "--write twice: nothing to change" "$out" "already points at qcc"
assert_eq "--write twice: file identical (idempotent)" "$(cat "$T/after1.json")" "$(cat "$S")"
assert_eq "--write twice: no new backup" "2001" "$(date -r "$S.qcc.bak" +%Y)"
jq '.theme = "dark"' "$S" >"$T/s.json" && cp "$T/s.json" "$S"
out=$(HOME=$H Q claude-settings --undo 2>&1)
assert_eq "--undo: exit 0" 0 "$?"
assert_eq "--undo: takes out just its own (value restored, later edit kept)" \
	"$(jq -c '.theme = "dark"' "$T/orig.json")" "$(jq -c . "$S")"
out=$(HOME=$H Q claude-settings --undo 2>&1)
assert_contains "--undo twice: nothing to undo" "$out" "nothing to undo"

# A file that uses ANTHROPIC_API_KEY keeps using that one (never both).
C=$T/ccdir
mkdir -p "$C"
printf '{"env":{"ANTHROPIC_API_KEY":"sk-old"},"x":1}\n' >"$C/settings.json"
CLAUDE_CONFIG_DIR=$C HOME=$H Q claude-settings --write >/dev/null 2>&1
assert_eq "CLAUDE_CONFIG_DIR honoured, API key var reused" "$QCC_IT_CLIENT_TOKEN null" \
	"$(jq -r '"\(.env.ANTHROPIC_API_KEY) \(.env.ANTHROPIC_AUTH_TOKEN)"' "$C/settings.json")"
CLAUDE_CONFIG_DIR=$C HOME=$H Q claude-settings --undo >/dev/null 2>&1
assert_eq "--undo restores the replaced API key" '{"env":{"ANTHROPIC_API_KEY":"sk-old"},"x":1}' \
	"$(jq -c . "$C/settings.json")"
# A file already pointing at qcc (written by hand) gets no backup.
D=$T/ccdir2
mkdir -p "$D"
printf '{"env":{"ANTHROPIC_BASE_URL":"%s"}}\n' "$URL" >"$D/settings.json"
CLAUDE_CONFIG_DIR=$D Q claude-settings --write >/dev/null 2>&1
check "no backup of a file already pointing at qcc" test ! -e "$D/settings.json.qcc.bak"
# No file yet: created (0600), and --undo leaves no env block behind.
E=$T/ccdir3
CLAUDE_CONFIG_DIR=$E Q claude-settings --write >/dev/null 2>&1
assert_eq "missing settings.json: created 0600" 600 "$(stat -c %a "$E/settings.json" 2>/dev/null)"
CLAUDE_CONFIG_DIR=$E Q claude-settings --undo -y >/dev/null 2>&1
assert_eq "missing settings.json: --undo leaves {}" '{}' "$(jq -c . "$E/settings.json")"
printf '{"env": [1,2]' >"$E/settings.json"
cp "$E/settings.json" "$T/bad.json"
CLAUDE_CONFIG_DIR=$E Q claude-settings --write >/dev/null 2>&1
assert_eq "invalid settings.json: exit 1" 1 "$?"
assert_eq "invalid settings.json: untouched" "$(cat "$T/bad.json")" "$(cat "$E/settings.json")"

# ---- service install into a temporary root ----------------------------------
R=$T/root
out=$(HOME=$H XDG_CONFIG_HOME= Q service install --root "$R" 2>&1)
assert_eq "service install --root: exit 0" 0 "$?"
U=$R$H/.config/systemd/user/qcc-run.service
check "service install: user unit by default" test -f "$U"
unit=$(cat "$U" 2>/dev/null)
assert_contains "unit: ExecStart runs qcc-run on the table" "$unit" \
	"ExecStart=$(readlink -f "$QCC_RUN_BIN") --state-dir $STATE --pidfile $STATE/qcc-run.pid --log $STATE/qcc-run.log $T/table.bin"
assert_contains "unit: checks the table first" "$unit" "ExecStartPre=$(readlink -f "$QCC_RUN_BIN") --check $T/table.bin"
for h in NoNewPrivileges=yes ProtectSystem=strict ProtectHome=read-only "ReadWritePaths=$STATE" UMask=0077 \
	"ExecReload=/bin/kill -HUP \$MAINPID" Restart=on-failure WantedBy=default.target; do
	assert_contains "unit: $h" "$unit" "$h"
done
assert_not_contains "unit: no User= in a user unit" "$unit" "User="
assert_contains "service install --root: says what to run" "$out" "systemctl --user enable --now qcc-run"
out=$(HOME=$H Q service status --root "$R" 2>&1)
assert_contains "service status: installed" "$out" "(installed)"
out=$(Q service install --system --run-as nobody --root "$R" 2>&1)
assert_eq "service install --system: exit 0" 0 "$?"
sunit=$(cat "$R/etc/systemd/system/qcc-run.service" 2>/dev/null)
for h in User=nobody CapabilityBoundingSet= PrivateDevices=yes ProtectKernelTunables=yes \
	WantedBy=multi-user.target; do
	assert_contains "system unit: $h" "$sunit" "$h"
done
# systemd's own parser knows every directive the units use.
if command -v systemd-analyze >/dev/null 2>&1; then
	for u in "$U" "$R/etc/systemd/system/qcc-run.service"; do
		v=$(timeout 60 systemd-analyze verify --man=no "$u" 2>&1)
		assert_not_contains "systemd-analyze verify ${u##"$R"}: no unknown key" "$v" "Unknown"
		assert_not_contains "systemd-analyze verify ${u##"$R"}: nothing it cannot parse" "$v" "parse"
	done
fi
if [ "$(id -u)" = 0 ]; then
	out=$(env -u SUDO_USER "$QCCC_BIN" service install --system --root "$T/root-r" 2>&1)
	assert_eq "service install --system as root without --run-as: exit 1" 1 "$?"
	assert_contains "service install --system: never runs as root" "$out" "--run-as USER"
fi
HOME=$H XDG_CONFIG_HOME= Q service uninstall --root "$R" -y >/dev/null 2>&1
check "service uninstall: unit removed" test ! -e "$U"
HOME=$H XDG_CONFIG_HOME= Q service status --root "$R" >/dev/null 2>&1
assert_eq "service status after uninstall: exit 1" 1 "$?"

# ---- claude -p through qccc run ---------------------------------------------
CLIENTS=$QCC_SOURCE_ROOT/tests/clients
if ! command -v node >/dev/null 2>&1; then
	diag "node is not installed: claude -p through qccc run not tried"
else
	if [ ! -x "$CLIENTS/node_modules/.bin/claude" ]; then
		(cd "$CLIENTS" && timeout 400 npm ci --no-audit --no-fund >"$T/npm.log" 2>&1) ||
			not_ok "npm ci in tests/clients" "$(tail -c 400 "$T/npm.log")"
	fi
	CH=$T/cc-home
	mkdir -p "$CH"
	mock_reset up1
	out=$(cd "$CH" && HOME=$CH TMPDIR=$CH ANTHROPIC_API_KEY=sk-wrong-must-not-pass \
		PATH="$CLIENTS/node_modules/.bin:$PATH" CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 \
		DISABLE_AUTOUPDATER=1 DISABLE_TELEMETRY=1 DISABLE_ERROR_REPORTING=1 \
		timeout 90 "$QCCC_BIN" run -- claude -p "say hi" 2>"$T/claude.err")
	rc=$?
	assert_eq "claude -p through qccc run: exit 0" 0 "$rc"
	assert_contains "claude -p through qccc run: the mock answered" "$out" "Hello from up1."
	n=$(mock_requests up1 'select(.path | startswith("/v1/messages")) | select(.key_match == true)' | wc -l)
	assert_le "claude -p: the mock saw its own key" 1 "$n"
	# The IDE path: no variables, only what claude-settings --write put in
	# the settings file; Claude Code reads it and goes through qcc-run.
	CH2=$T/cc-home2
	mkdir -p "$CH2/.claude"
	printf '{"theme":"dark"}\n' >"$CH2/.claude/settings.json"
	HOME=$CH2 Q claude-settings --write >/dev/null 2>&1
	mock_reset up1
	out=$(cd "$CH2" && env -u ANTHROPIC_BASE_URL -u ANTHROPIC_API_KEY -u ANTHROPIC_AUTH_TOKEN HOME=$CH2 \
		TMPDIR=$CH2 CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 DISABLE_AUTOUPDATER=1 DISABLE_TELEMETRY=1 \
		DISABLE_ERROR_REPORTING=1 timeout 90 "$CLIENTS/node_modules/.bin/claude" -p "say hi" 2>"$T/claude2.err")
	assert_contains "claude -p with only settings.json (claude-settings --write): through qcc-run" "$out" \
		"Hello from up1."
fi
assert_not_contains "client token not in qcc-run's logs" "$(cat "$STATE"/*.log 2>/dev/null)" "$QCC_IT_CLIENT_TOKEN"

out=$(Q stop 2>&1)
assert_contains "stop after the tests" "$out" "stopped after"
done_testing
