#!/bin/sh
# The editing commands through the real qccc binary on the files the seed
# plan's users write: Chinese text and emoji in comments and values, and the
# plan's own JSON config (tests/configs/good/plan-example.json). Each edit
# must change exactly what was asked (checked byte for byte against the
# expected text), keep the file valid JSON where it was JSON, and a refused
# edit must leave the file byte-identical. TAP output.
set -u
QCCC="${QCC_BUILD_ROOT:?}/compiler/qccc"
SRC="${QCC_SOURCE_ROOT:?}"
DIR=$(mktemp -d /tmp/qcc-edit-cli-XXXXXX)
trap 'rm -rf "$DIR"' EXIT INT TERM
cd "$DIR" || exit 1
fails=0
n=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); echo "not ok $n - $1"; fails=$((fails + 1)); }
# expect WANT_RC DESCRIPTION -- COMMAND...   (stdout+stderr in $DIR/out)
expect() {
  want=$1; desc=$2; shift 3
  "$@" >"$DIR/out" 2>&1
  rc=$?
  if [ "$rc" -ne "$want" ]; then
    notok "$desc: exit $rc, want $want"; sed 's/^/    /' "$DIR/out"
  else
    ok "$desc"
  fi
}
contains() {
  if grep -qF -- "$1" "$DIR/out"; then ok "$2"; else
    notok "$2: no '$1' in:"; sed 's/^/    /' "$DIR/out"; fi
}
# same FILE EXPECTED DESCRIPTION: byte-identical
same() {
  if cmp -s "$1" "$2"; then ok "$3"; else notok "$3"; diff "$2" "$1" | sed 's/^/    /'; fi
}
json_ok() {
  if python3 -c 'import json,sys; json.load(open(sys.argv[1], encoding="utf-8"))' "$1" 2>"$DIR/jerr"
  then ok "$2"; else notok "$2"; sed 's/^/    /' "$DIR/jerr"; fi
}

# --- issue 13, first report: a Chinese description, then endpoint add ---
cat >qcc.yaml <<'YAML'
# 主配置：生产环境 🚀
version: 1
profiles:
  - name: only   # 唯一的配置
    endpoints:
      - id: e
        base_url: https://api.anthropic.com/
        api_key_env: ANTHROPIC_API_KEY
YAML
expect 0 "profile add with a Chinese description" -- \
  "$QCCC" profile add backup --description "备份配置" -y
expect 0 "endpoint add after it (was: internal: the edited text does not parse: 14:27)" -- \
  "$QCCC" endpoint add backup --base-url https://backup.example.com --key-env BACKUP_KEY -y
cat >want.yaml <<'YAML'
# 主配置：生产环境 🚀
version: 1
profiles:
  - name: only   # 唯一的配置
    endpoints:
      - id: e
        base_url: https://api.anthropic.com/
        api_key_env: ANTHROPIC_API_KEY
  - name: backup
    description: 备份配置
    priority: primary
    endpoints:
      - id: backup-1
        base_url: https://backup.example.com
        api_key_env: BACKUP_KEY
YAML
same qcc.yaml want.yaml "exactly the two edits, comments and Chinese text kept"
expect 0 "the result validates" -- "$QCCC" validate -c qcc.yaml

# --- a Chinese comment on line 2, then config set proxy.port ---
cat >cn.yaml <<'YAML'
version: 1
# 代理设置（本机）😀 — 端口见下
proxy:
  host: 127.0.0.1   # 只监听本机
  port: 7860        # 默认端口
profiles:
  - name: 主
    description: "测试 𝄞"
    endpoints:
      - id: e1
        base_url: https://api.anthropic.com
        api_key_env: K
YAML
sed 's/port: 7860 /port: 7861 /' cn.yaml >cn-want.yaml
expect 0 "config set proxy.port after a Chinese comment" -- "$QCCC" config set proxy.port 7861 -c cn.yaml
same cn.yaml cn-want.yaml "only the port changed"
expect 0 "config get reads it back" -- "$QCCC" config get proxy.port -c cn.yaml
contains "7861" "the new port"
cp cn.yaml cn-before.yaml
expect 0 "set a CJK description through a CJK profile name" -- \
  "$QCCC" config set profiles.主.description "新的描述 🎉" -c cn.yaml
sed 's/description: "测试 𝄞"/description: "新的描述 🎉"/' cn-before.yaml >cn-want.yaml
same cn.yaml cn-want.yaml "the quoted description replaced, still quoted"

# --- the plan's own JSON example ---
cp "$SRC/tests/configs/good/plan-example.json" plan.json
expect 0 "config set proxy.port on the plan's JSON (was: \"host\": \"127.78611\")" -- \
  "$QCCC" config set proxy.port 7861 -c plan.json
sed 's/"port": 7860,/"port": 7861,/' "$SRC/tests/configs/good/plan-example.json" >plan-want.json
same plan.json plan-want.json "exactly the port changed"
expect 0 "config get proxy.host is untouched" -- "$QCCC" config get proxy.host -c plan.json
contains "127.0.0.1" "host still 127.0.0.1"
expect 0 "config set a duration in JSON" -- "$QCCC" config set health.timeout 5s -c plan.json
contains "health.timeout set" "set reported"
if grep -qF '"timeout": "5s",' plan.json; then ok "a non-number is written as a JSON string"; else
  notok "a non-number is written as a JSON string"; grep -n timeout plan.json | sed 's/^/    /'; fi
cp plan.json plan-before.json
expect 2 "a profile name must be letters and digits" -- "$QCCC" profile add 额外 -y -c plan.json
same plan.json plan-before.json "refused: the file is byte-identical"
expect 0 "profile add extra into JSON" -- "$QCCC" profile add extra --description "额外配置 🚀" -y -c plan.json
expect 0 "endpoint add into the new JSON profile" -- \
  "$QCCC" endpoint add extra --base-url https://extra.example.com --key-env EXTRA_KEY --weight 5 -y -c plan.json
expect 0 "endpoint add --from into an existing JSON list" -- \
  "$QCCC" endpoint add production --from prod-1 --id prod-3 -y -c plan.json
expect 0 "endpoint remove in JSON" -- "$QCCC" endpoint remove prod-2 -c plan.json
expect 0 "a missing section is created in JSON" -- "$QCCC" config set loadbalancer.strategy failover -c plan.json
expect 0 "config reset in JSON" -- "$QCCC" config reset proxy.port -c plan.json
expect 0 "priority set in JSON" -- "$QCCC" priority set backup fallback -c plan.json
expect 0 "policy in JSON" -- "$QCCC" policy --no-auto-failover --cooldown 10m -c plan.json
json_ok plan.json "after ten edits the file is still JSON"
expect 0 "and still a valid config" -- "$QCCC" validate -c plan.json
if grep -qF '"description": "生产环境配置",' plan.json && grep -qF '"description": "额外配置 🚀",' plan.json
then ok "Chinese descriptions and the emoji kept"; else notok "Chinese descriptions and the emoji kept"; fi
if grep -q '^    {$' plan.json && grep -q '^          "id": "extra-1",$' plan.json; then
  ok "new items laid out like their neighbours"; else notok "new items laid out like their neighbours"
  sed 's/^/    /' plan.json; fi

expect 0 "config export of a JSON config" -- "$QCCC" config export out.json -c plan.json
json_ok out.json "the export is JSON too"
expect 0 "and valid" -- "$QCCC" validate -c out.json
expect 0 "config reset --yes on JSON" -- "$QCCC" config reset --yes -c plan.json
json_ok plan.json "reset leaves JSON"
expect 0 "and a valid config" -- "$QCCC" validate -c plan.json

# --- every editing command on a CRLF file with a byte order mark ---
printf '\357\273\277# 配置 🚀\r\nversion: 1\r\nprofile_groups:\r\n  primary: [生产]   # 主\r\nprofiles:\r\n  - name: 生产\r\n    description: "生产环境 😀"\r\n    endpoints:\r\n      - id: e1   # 第一个\r\n        base_url: https://api.anthropic.com\r\n        api_key_env: K\r\n' >crlf.yaml
while read -r line; do
  # shellcheck disable=SC2086 # the words of each command
  expect 0 "CRLF+BOM: $line" -- "$QCCC" $line -c crlf.yaml
done <<'CMDS'
profile add backup --description 备份 --priority secondary -y
endpoint add backup --from e1 --id b1
endpoint add 生产 --base-url https://x.example.com --key-env X --id e2 --weight 7
priority set backup fallback
policy --no-auto-failover --failure-threshold 5
config set proxy.port 7861
config set profiles.生产.endpoints.e1.metadata.区域 华东
endpoint remove e2
config reset switching_policy.switch_threshold
profile remove backup
CMDS
printf '\357\273\277# 配置 🚀\r\nversion: 1\r\nprofile_groups:\r\n  primary: [生产]   # 主\r\n  secondary: []\r\n  fallback: []\r\nprofiles:\r\n  - name: 生产\r\n    description: "生产环境 😀"\r\n    endpoints:\r\n      - id: e1   # 第一个\r\n        base_url: https://api.anthropic.com\r\n        api_key_env: K\r\n        metadata:\r\n          区域: 华东\r\nswitching_policy:\r\n  auto_switch: false\r\nproxy:\r\n  port: 7861\r\n' >crlf-want.yaml
same crlf.yaml crlf-want.yaml "ten commands later: exactly their changes, CRLF and BOM kept"

# --- refusals: clear, positioned, file untouched ---
cat >anchor.yaml <<'YAML'
version: 1
# 共享的设置
proxy: &base
  port: 7860
health: *base
profiles:
  - name: p
    endpoints:
      - id: e1
        base_url: https://api.anthropic.com
        api_key_env: K
YAML
cp anchor.yaml anchor-before.yaml
expect 2 "an edit inside an anchored value is refused" -- "$QCCC" config set proxy.port 7861 -c anchor.yaml
msg="port is inside the anchored value &base (aliases share it); edit it by hand"
contains "anchor.yaml:3:8: $msg" "the refusal names FILE:LINE:COL and why"
if grep -qF "qcc.yaml:3:8: $msg" "$SRC/docs/editing.md"; then ok "docs/editing.md shows that message"
else notok "docs/editing.md shows that message"; fi
same anchor.yaml anchor-before.yaml "refused: the file is byte-identical"
printf 'version: 1\nprofiles:\n  - name: p\n    description: |\n      第一行\n      第二行\n    endpoints:\n      - id: e1\n        base_url: https://api.anthropic.com\n        api_key_env: K\n' >block.yaml
cp block.yaml block-before.yaml
expect 0 "a block scalar is replaced by the new value" -- \
  "$QCCC" config set profiles.p.description "新的 描述" -c block.yaml
printf 'version: 1\nprofiles:\n  - name: p\n    description: "新的 描述"\n    endpoints:\n      - id: e1\n        base_url: https://api.anthropic.com\n        api_key_env: K\n' >block-want.yaml
same block.yaml block-want.yaml "only the value changed"
sed 's/description: |/description: | # 两行/' block-before.yaml >block.yaml
cp block.yaml block-before.yaml
expect 2 "a block scalar with a comment on its | line is refused" -- \
  "$QCCC" config set profiles.p.description x -c block.yaml
contains "block.yaml:4:18:" "the refusal names FILE:LINE:COL"
same block.yaml block-before.yaml "refused: the file is byte-identical"
expect 2 "an argument that is not UTF-8 is refused" -- \
  "$QCCC" config set profiles.p.endpoints.e1.metadata.x "$(printf 'a\377b')" -c block.yaml
contains "not valid UTF-8" "the refusal says why"
same block.yaml block-before.yaml "refused: the file is byte-identical"

echo "1..$n"
[ "$fails" -eq 0 ]
