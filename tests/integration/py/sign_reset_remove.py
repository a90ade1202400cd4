"""A signature through the module whose PC/SC card is reset, then removed, between
C_SignInit and C_Sign (test-cli-pcsc.sh). The module asks the card nothing at
C_SignInit on a PC/SC slot (pkcs11/opcommon.c): the transaction of C_Sign must meet the
reset or the removal and answer for it.

usage: sign_reset_remove.py MODULE READER OPENSC_READER_INDEX VTOKEN PIN
READER is the reader's slot as pcscd names it ("... 00 00"); run it with the module's
embedded tokens off (VTOKEN_OPTIONS=embedded=no), so the only slots are PC/SC ones.
"""
import subprocess
import sys
import time

import PyKCS11
from PyKCS11 import LowLevel

module, reader, index, vtoken, pin = sys.argv[1:6]
lib = PyKCS11.PyKCS11Lib()
lib.load(module)
failures = 0


def name(v):
    return PyKCS11.CKR[v] if isinstance(v, int) and not isinstance(v, bool) else v


def check(what, got, want):
    global failures
    ok = got == want
    print("%s %s: %s" % ("ok  " if ok else "FAIL", what, name(got)))
    if not ok:
        print("     wanted %s" % name(want))
        failures += 1


def pcsc_slot():
    for s in lib.getSlotList(tokenPresent=True):
        if lib.getSlotInfo(s).slotDescription.strip().startswith(reader):
            return s
    return None


slot = pcsc_slot()
if slot is None:
    sys.exit("no token in a slot for reader '%s'" % reader)
session = lib.openSession(slot, PyKCS11.CKF_SERIAL_SESSION | PyKCS11.CKF_RW_SESSION)
session.login(pin)
pub, priv = session.generateKeyPair(
    [(PyKCS11.CKA_CLASS, PyKCS11.CKO_PUBLIC_KEY), (PyKCS11.CKA_TOKEN, True),
     (PyKCS11.CKA_MODULUS_BITS, 2048), (PyKCS11.CKA_PUBLIC_EXPONENT, (1, 0, 1)),
     (PyKCS11.CKA_VERIFY, True), (PyKCS11.CKA_LABEL, "reset-probe"),
     (PyKCS11.CKA_ID, (0x7e,))],
    [(PyKCS11.CKA_CLASS, PyKCS11.CKO_PRIVATE_KEY), (PyKCS11.CKA_TOKEN, True),
     (PyKCS11.CKA_PRIVATE, True), (PyKCS11.CKA_SIGN, True),
     (PyKCS11.CKA_LABEL, "reset-probe"), (PyKCS11.CKA_ID, (0x7e,))])
mech = PyKCS11.Mechanism(PyKCS11.CKM_SHA256_RSA_PKCS, None)
data = b"signed through pcscd"


def sign_init():
    return lib.lib.C_SignInit(session.session, mech.to_native(), priv)


def sign_final():
    """C_Sign with a buffer: the call that reaches the card."""
    sig = PyKCS11.ckbytelist([0] * 256)
    rv = lib.lib.C_Sign(session.session, PyKCS11.ckbytelist(data), sig)
    return rv, bytes(sig)


def verifies(sig):
    return session.verify(pub, data, sig, mech)


check("C_SignInit, nothing happened", sign_init(), PyKCS11.CKR_OK)
rv, sig = sign_final()
check("C_Sign, nothing happened", rv, PyKCS11.CKR_OK)
check("the signature verifies", verifies(sig), True)

# A reset by another PC/SC program after C_SignInit: the card forgot the PIN, and says
# so; the module keeps working once the application logs in again.
check("C_SignInit before a reset", sign_init(), PyKCS11.CKR_OK)
subprocess.run(["opensc-tool", "-r", index, "--reset", "warm"], check=True,
               stdout=subprocess.DEVNULL)
rv, _ = sign_final()
check("C_Sign after a reset", rv, PyKCS11.CKR_USER_NOT_LOGGED_IN)
session.logout()
session.login(pin)
# Handles of private objects do not survive a logout: find the key again.
priv = session.findObjects([(PyKCS11.CKA_CLASS, PyKCS11.CKO_PRIVATE_KEY),
                            (PyKCS11.CKA_ID, (0x7e,))])[0]
check("C_SignInit after logging in again", sign_init(), PyKCS11.CKR_OK)
rv, sig = sign_final()
check("C_Sign after logging in again", rv, PyKCS11.CKR_OK)
check("that signature verifies", verifies(sig), True)

# The card taken out of its reader after C_SignInit.
check("C_SignInit before a removal", sign_init(), PyKCS11.CKR_OK)
subprocess.run([vtoken, "card", "remove", "kaztoken"], check=True, stdout=subprocess.DEVNULL)
for _ in range(150):  # until pcscd has seen it go (it polls vpcd every 400 ms)
    if subprocess.run(["opensc-tool", "-r", index, "--atr"], stdout=subprocess.DEVNULL,
                      stderr=subprocess.DEVNULL).returncode != 0:
        break
    time.sleep(0.1)
else:
    sys.exit("the card did not leave its reader")
rv, _ = sign_final()
check("C_Sign after a removal", rv, PyKCS11.CKR_DEVICE_REMOVED)
check("the slot is empty", pcsc_slot(), None)
subprocess.run([vtoken, "card", "insert", "kaztoken"], check=True, stdout=subprocess.DEVNULL)
sys.exit(1 if failures else 0)
