#!/bin/sh
# The qccc CLI end to end: init, validate, build, show, snapshots, diff,
# rollback, check — exit codes and the lines users read.
set -u
QCCC="${QCC_BUILD_ROOT:?}/compiler/qccc"
DIR=$(mktemp -d /tmp/qcc-cli-XXXXXX)
trap 'rm -rf "$DIR"' EXIT INT TERM
cd "$DIR" || exit 1
fails=0
n=0

# expect WANT_RC DESCRIPTION -- COMMAND...   (stdout+stderr in $DIR/out)
expect() {
  want=$1; desc=$2; shift 3
  n=$((n + 1))
  "$@" >"$DIR/out" 2>&1
  rc=$?
  if [ "$rc" -ne "$want" ]; then
    echo "not ok $n - $desc: exit $rc, want $want"; sed 's/^/    /' "$DIR/out"
    fails=$((fails + 1))
  else
    echo "ok $n - $desc"
  fi
}
# contains TEXT DESCRIPTION: the last output has TEXT
contains() {
  n=$((n + 1))
  if grep -qF -- "$1" "$DIR/out"; then echo "ok $n - $2"; else
    echo "not ok $n - $2: no '$1' in:"; sed 's/^/    /' "$DIR/out"; fails=$((fails + 1)); fi
}
lacks() {
  n=$((n + 1))
  if grep -qF -- "$1" "$DIR/out"; then echo "not ok $n - $2: '$1' present"; fails=$((fails + 1)); else
    echo "ok $n - $2"; fi
}

expect 0 "help" -- "$QCCC" --help
contains "rollback" "help lists the commands"
expect 2 "no command is a usage error" -- "$QCCC"
expect 2 "unknown command" -- "$QCCC" frobnicate
contains "hint" "unknown command gives a hint"
for c in init validate build show diff snapshots rollback check; do
  expect 0 "$c --help" -- "$QCCC" "$c" --help
  contains "usage: qccc $c" "$c --help shows its usage"
done
expect 2 "unknown option" -- "$QCCC" build --bogus
expect 2 "bad --keep" -- "$QCCC" build --keep lots

expect 0 "init" -- "$QCCC" init
expect 1 "init refuses to overwrite" -- "$QCCC" init
expect 0 "starter config is valid" -- "$QCCC" validate
expect 2 "validate a missing file" -- "$QCCC" validate -c missing.yaml

export SOURCE_DATE_EPOCH=1700000000
expect 0 "build" -- "$QCCC" build
contains "table.bin: generation 1, 1 profile, 1 endpoint, digest " "build prints its line"
cp table.bin first-build.bin
expect 0 "rebuild unchanged" -- "$QCCC" build
contains "unchanged, generation 1" "unchanged config makes no generation"
expect 0 "check" -- "$QCCC" check table.bin
contains "ok (format 1.3, generation 1" "check says ok"

# Determinism: same config + generation + SOURCE_DATE_EPOCH -> same bytes.
expect 0 "build elsewhere" -- "$QCCC" build -o other.bin
expect 0 "same bytes" -- cmp table.bin other.bin

sed 's/weight: 100/weight: 40/' qcc.yaml > qcc2.yaml && mv qcc2.yaml qcc.yaml
expect 1 "diff config vs table differs" -- "$QCCC" diff table.bin qcc.yaml
contains "~ endpoint anthropic-1 weight: 100 -> 40" "diff names the field"
expect 0 "build 2" -- "$QCCC" build
contains "generation 2" "new generation"
expect 0 "show" -- "$QCCC" show
contains "generation: 2" "show header"
contains "key: env:ANTHROPIC_API_KEY" "show key reference"
expect 0 "show --json" -- "$QCCC" show --json
expect 0 "show --json parses" -- jq -e '.profiles[0].endpoints[0].weight == 40' "$DIR/out"
expect 0 "snapshots" -- "$QCCC" snapshots
contains "(current)" "snapshots marks current"
expect 1 "diff generations" -- "$QCCC" diff 1 2
expect 0 "diff same" -- "$QCCC" diff 2 table.bin
expect 2 "diff missing generation" -- "$QCCC" diff 1 77
expect 2 "diff usage" -- "$QCCC" diff 1

expect 0 "rollback" -- "$QCCC" rollback
contains "table.bin: now generation 1 (was 2)" "rollback says what became current"
expect 0 "rolled back table is the first build" -- cmp table.bin first-build.bin
expect 1 "rollback to a missing generation" -- "$QCCC" rollback --to 9
expect 0 "rollback --to" -- "$QCCC" rollback --to 2
expect 0 "next build continues after the newest" -- sh -c "sed 's/weight: 40/weight: 41/' qcc.yaml > q && mv q qcc.yaml && '$QCCC' build"
contains "generation 3" "generation 3"
expect 0 "keep prunes" -- sh -c "for w in 1 2 3 4 5; do sed \"s/weight: [0-9]*/weight: \$w/\" qcc.yaml > q && mv q qcc.yaml && '$QCCC' build --keep 2 >/dev/null || exit 1; done; ls table.bin.snapshots | wc -l"
contains "2" "two snapshots kept"

# Damage.
head -c 200 table.bin > cut.bin
expect 1 "check a truncated table" -- "$QCCC" check cut.bin
contains "truncated" "check names the reason"
printf 'hello' > junk.bin
expect 1 "check a foreign file" -- "$QCCC" check junk.bin
contains "not a qcc table" "not a table"
expect 1 "check a missing file" -- "$QCCC" check nope.bin

# A literal key: warned about, stored, file 0600, never printed.
cat > lit.yaml <<'YAML'
version: 1
profiles:
  - name: main
    priority: primary
    endpoints:
      - id: lit-1
        base_url: https://api.anthropic.com
        api_key: sk-ant-TOPSECRET-123
YAML
expect 0 "build with a literal key" -- "$QCCC" build -c lit.yaml -o lit.bin
lacks "sk-ant-TOPSECRET-123" "build output has no secret"
expect 0 "literal table mode" -- sh -c "[ \$(stat -c %a lit.bin) = 600 ]"
expect 0 "show literal" -- "$QCCC" show lit.bin
contains "literal:<redacted>" "literal redacted"
lacks "sk-ant-TOPSECRET-123" "show has no secret"
expect 0 "show --json literal" -- "$QCCC" show --json lit.bin
lacks "sk-ant-TOPSECRET-123" "json has no secret"
expect 1 "strict refuses a literal key" -- "$QCCC" validate --strict -c lit.yaml

echo "1..$n"
[ "$fails" -eq 0 ]
