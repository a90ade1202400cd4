# Shared by tests/integration/test-cli*.sh (the token commands of `vtoken`). Sourced
# after lib.sh, not run.
# shellcheck shell=bash

# NCA's published test keys (password Qwerty12), shared by the keystore tests too.
NCA=${VT_NCA_VECTORS:-$VT_SOURCE_DIR/../shared/vectors/nca}
AUTH=AUTH_RSA256_b2c70a9ff7a5dc59de0ccc3c0ddde3437cc1f12d
SIGN=RSA256_11c707bd54cbfcccb3815e39c4eb57b1dc7dfea9
PY=/usr/bin/python3

vt_cli_check() {
  [ -x "$VTOKEN" ] || vt_fail "vtoken not built: $VTOKEN"
  [ -e "$VT_MODULE" ] || vt_fail "module not built: $VT_MODULE"
  [ -x "$PY" ] || vt_fail "required: $PY (to read --json output)"
  [ -e "$NCA/$AUTH.p12" ] || vt_fail "NCA test vectors not found in $NCA (set VT_NCA_VECTORS)"
}

# vtoken itself is run directly, also in the sanitised build: it carries the ASan runtime
# (so the module it dlopens works) and keeps leak checking, which vt_host turns off for
# host programs. Programs that are not ours (pkcs11-tool, openssl) go through vt_host.
vt() { "$VTOKEN" "$@"; }
p11() { vt_host pkcs11-tool --module "$VT_MODULE" "$@"; }

# expect_rc N cmd...: run cmd, keep stdout in $OUT and stderr in $ERR, and fail the test
# unless it exits with N.
expect_rc() {
  local want=$1 rc
  shift
  set +e
  "$@" >"$VT_TMP/out" 2>"$VT_TMP/err" </dev/null
  rc=$?
  set -e
  OUT=$(cat "$VT_TMP/out")
  ERR=$(cat "$VT_TMP/err")
  [ "$rc" -eq "$want" ] || vt_fail "'$*' exited $rc, expected $want; stderr: $ERR; stdout: $OUT"
}
# expect_rc_in FILE N cmd...: the same with standard input from FILE.
expect_rc_in() {
  local in=$1 want=$2 rc
  shift 2
  set +e
  "$@" >"$VT_TMP/out" 2>"$VT_TMP/err" <"$in"
  rc=$?
  set -e
  OUT=$(cat "$VT_TMP/out")
  ERR=$(cat "$VT_TMP/err")
  [ "$rc" -eq "$want" ] || vt_fail "'$*' (stdin $in) exited $rc, expected $want; stderr: $ERR"
}
# The last output must (not) mention a string.
out_has() { grep -qF -- "$1" <<<"$OUT" || vt_fail "stdout lacks '$1': $OUT"; }
err_has() { grep -qF -- "$1" <<<"$ERR" || vt_fail "stderr lacks '$1': $ERR"; }
none_has() {
  ! grep -qF -- "$1" <<<"$OUT$ERR" || vt_fail "output shows '$1' (a secret?): $OUT $ERR"
}

# jget EXPR: evaluate a Python expression over the JSON document in $OUT (as d).
jget() {
  "$PY" -c 'import json, sys
d = json.loads(sys.stdin.read())
v = eval(sys.argv[1])
print(json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list, bool)) or v is None else v)' \
    "$1" <<<"$OUT" || vt_fail "cannot evaluate $1 over: $OUT"
}
# jcheck EXPR: the expression must hold over the JSON document in $OUT.
jcheck() {
  "$PY" -c 'import json, sys
d = json.loads(sys.stdin.read())
sys.exit(0 if eval(sys.argv[1]) else 1)' "$1" <<<"$OUT" || vt_fail "JSON check failed: $1 over: $OUT"
}

# The slot of a token name, from `vtoken list --json`.
slot_of() {
  expect_rc 0 vt list --json
  jget "[s['slot'] for s in d['slots'] if s.get('name') == '$1'][0]"
}

# What NCALayer's key entry must be for a certificate file, computed with openssl:
# alg|CN|serial (lower-case hex, no leading zeros)|SKI (lower-case hex).
nca_entry_of() {
  local cer=$1 cn serial ski
  cn=$(openssl x509 -in "$cer" -noout -subject -nameopt multiline,utf8,-esc_msb |
    sed -n 's/^ *commonName *= //p' | head -n1)
  serial=$(openssl x509 -in "$cer" -noout -serial | sed 's/^serial=//; s/^0*//' | tr 'A-F' 'a-f')
  ski=$(openssl x509 -in "$cer" -noout -ext subjectKeyIdentifier | tail -n1 | tr -d ' :' |
    tr 'A-F' 'a-f')
  printf 'RSA|%s|%s|%s' "$cn" "$serial" "$ski"
}
