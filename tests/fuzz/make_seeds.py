#!/usr/bin/env python3
"""Make the seed corpora of the card, image, PKCS#15 and PKCS#12 fuzz targets in
vectors/fuzz/<target>/ from the project's own vectors (run from anywhere; needs a fuzz
build for the image seeds, and openssl for the generated PKCS#12 seeds):

    tests/fuzz/make_seeds.py BUILD_DIR

- fuzz_card_<family>: every golden transcript of the family (vectors/transcripts/), as a
  session: a flags byte (0: factory card, 1: card with the keys transcript's keys), then
  2-byte length + command; "! reset" is FFFF and "! power" FFFE.
- fuzz_image: vectors/keystore/image-v1-sample.der and each family's factory image and
  image with keys, as fuzz_card_<family> builds them (FUZZ_SAVE_TEMPLATES).
- fuzz_pkcs15: the OpenSC-written PKCS#15 files of vectors/pkcs15/, each behind the
  selector byte of its decoder.
- fuzz_p12: NCA's test files (../shared/vectors/nca/) and small files made with openssl
  (no encryption, no MAC, PBES2), behind a flags byte of 1 (recompute the MAC).
Existing files are overwritten; files named regress-* (inputs that once crashed) stay."""
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VEC = os.path.join(ROOT, "vectors")
OUT = os.path.join(VEC, "fuzz")


def parse_hex(s):
    """HH pairs, blanks between them optional, HH*N for N times HH (as the transcripts)."""
    out = bytearray()
    pos = 0
    tok = re.compile(r"\s*([0-9A-Fa-f]{2})(?:\*(\d+))?")
    s = s.rstrip()
    while pos < len(s):
        m = tok.match(s, pos)
        if m is None:
            raise ValueError("bad hex at %r" % s[pos:])
        out += bytes([int(m.group(1), 16)]) * (int(m.group(2)) if m.group(2) else 1)
        pos = m.end()
    return bytes(out)


def transcript_session(path):
    rec = bytearray()
    for line in open(path):
        if line.startswith("! reset"):
            rec += b"\xff\xff"
        elif line.startswith("! power"):
            rec += b"\xff\xfe"
        elif line.startswith(">"):
            apdu = parse_hex(line[1:].strip())
            rec += len(apdu).to_bytes(2, "big") + apdu
    return bytes(rec)


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def card_seeds():
    for fam in ("kaztoken", "etoken", "jacarta"):
        tdir = os.path.join(VEC, "transcripts", fam)
        for name in sorted(os.listdir(tdir)):
            if not name.endswith(".apdu"):
                continue
            sess = transcript_session(os.path.join(tdir, name))
            stem = name[:-5]
            put("fuzz_card_" + fam, "factory-" + stem, b"\x00" + sess)
            put("fuzz_card_" + fam, "keys-" + stem, b"\x01" + sess)


def image_seeds(build):
    with open(os.path.join(VEC, "keystore", "image-v1-sample.der"), "rb") as f:
        put("fuzz_image", "image-v1-sample", f.read())
    with tempfile.TemporaryDirectory() as tmp:
        for fam in ("kaztoken", "etoken", "jacarta"):
            exe = os.path.join(build, "tests", "fuzz", "fuzz_card_" + fam)
            env = dict(os.environ, FUZZ_SAVE_TEMPLATES=tmp)
            subprocess.run([exe, "-runs=0"], env=env, check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            for kind in ("factory", "keys"):
                with open(os.path.join(tmp, "%s-%s.img" % (fam, kind)), "rb") as f:
                    put("fuzz_image", "%s-%s" % (fam, kind), f.read())


P15_SELECTOR = {"prkdf": 0, "pukdf": 1, "cdf": 4, "dodf": 7, "aodf": 8, "odf": 9,
                "tokeninfo": 10, "dir": 11, "pubkey": 12}


def pkcs15_seeds():
    base = os.path.join(VEC, "pkcs15", "opensc-0.23")
    for stage in sorted(os.listdir(base)):
        sdir = os.path.join(base, stage)
        if not os.path.isdir(sdir):
            continue
        for name in sorted(os.listdir(sdir)):
            kind = name[:-4].split("-")[0]
            if kind not in P15_SELECTOR:
                continue
            with open(os.path.join(sdir, name), "rb") as f:
                data = f.read()
            put("fuzz_pkcs15", "%s-%s" % (stage, name[:-4]), bytes([P15_SELECTOR[kind]]) + data)


def openssl(*args, **kw):
    subprocess.run(["openssl"] + list(args), check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, **kw)


def p12_seeds():
    nca = os.path.join(ROOT, "..", "shared", "vectors", "nca")
    for name in sorted(os.listdir(nca)):
        if name.endswith(".p12"):
            with open(os.path.join(nca, name), "rb") as f:
                put("fuzz_p12", "nca-" + name[:-4], b"\x01" + f.read())
    with tempfile.TemporaryDirectory() as tmp:
        key, crt = os.path.join(tmp, "k.pem"), os.path.join(tmp, "c.pem")
        openssl("req", "-x509", "-newkey", "rsa:1024", "-nodes", "-keyout", key, "-out", crt,
                "-subj", "/CN=vtoken fuzz seed", "-days", "3650")
        variants = {
            "plain": ["-keypbe", "NONE", "-certpbe", "NONE"],
            "plain-nomac": ["-keypbe", "NONE", "-certpbe", "NONE", "-nomac"],
            "modern": [],
            "nca-style": ["-legacy"],
        }
        for vname, extra in variants.items():
            out = os.path.join(tmp, vname + ".p12")
            openssl("pkcs12", "-export", "-inkey", key, "-in", crt, "-out", out, "-passout",
                    "pass:Qwerty12", "-name", "seed", *extra)
            with open(out, "rb") as f:
                put("fuzz_p12", "gen-" + vname, b"\x01" + f.read())


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    card_seeds()
    image_seeds(sys.argv[1])
    pkcs15_seeds()
    p12_seeds()


if __name__ == "__main__":
    main()
