#!/usr/bin/env bash
# Crash consistency under SIGKILL, through the module, on every token family: a worker
# (tests/integration/torture.c) generates key pairs, writes certificates, removes
# objects, changes the user PIN and enters wrong PINs on an embedded Kaztoken, eToken,
# JaCarta and on a PKCS#12 file, and is killed at a random moment of each iteration.
# After every kill the image loads in the card engine, the PIN is the old or the new
# one, no PIN try was given back, and every object is whole or absent (see torture.c).
#
#   VT_TORTURE_ITERATIONS      iterations per card family (default 100: 300 in all)
#   VT_TORTURE_P12_ITERATIONS  iterations on the PKCS#12 file (default 40)
#   VT_TORTURE_SEED            repeat a run (the seed is printed)
# A long run: VT_TORTURE_ITERATIONS=5000 VT_TORTURE_P12_ITERATIONS=2000 ctest -R integ_torture
# (about 10 minutes per 1000 iterations in the normal build).
. "$VT_SOURCE_DIR/tests/integration/lib.sh"
vt_setup

TORTURE=$VT_BUILD_DIR/tests/integration/torture
[ -x "$TORTURE" ] || vt_fail "torture not built ($TORTURE)"
N=${VT_TORTURE_ITERATIONS:-100}
N12=${VT_TORTURE_P12_ITERATIONS:-40}
SEED=${VT_TORTURE_SEED:-$(( (RANDOM << 15) | RANDOM ))}
vt_note "seed $SEED (VT_TORTURE_SEED=$SEED repeats this run)"

# a factory home: the three cards with their default PINs
"$VTOKEN" list >/dev/null || vt_fail "vtoken list on a fresh home"
for fam in kaztoken etoken jacarta; do
  "$TORTURE" "$VT_MODULE" "$fam" "$VTOKEN_HOME" "$N" "$SEED" ||
    vt_fail "torture $fam (VT_TORTURE_SEED=$SEED)"
done
# what the kills left, read the way a user would
"$VTOKEN" list >"$VT_TMP/list.out" 2>&1 || { cat "$VT_TMP/list.out" >&2; vt_fail "vtoken list after the kills"; }

# NCA's test file as the PKCS#12 token
P12=$VT_TMP/p12
mkdir -p "$P12" "$VT_TMP/p12home"
cp "$VT_SOURCE_DIR/../shared/vectors/nca/AUTH_RSA256_b2c70a9ff7a5dc59de0ccc3c0ddde3437cc1f12d.p12" "$P12/"
chmod 600 "$P12"/*.p12
"$TORTURE" "$VT_MODULE" pkcs12 "$VT_TMP/p12home" "$N12" "$SEED" "$P12" ||
  vt_fail "torture pkcs12 (VT_TORTURE_SEED=$SEED)"
vt_note "ok"
