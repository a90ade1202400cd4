// SunPKCS11 against the vtoken module, driven by tests/integration/test-java.sh.
//   VtokenJavaTest <config> wrong-pin <pin>
//       KeyStore.load with a wrong PIN must fail as a failed login, and nothing else.
//   VtokenJavaTest <config> sign <pin> <alias> <cert.der>
//       the PKCS11 KeyStore pairs the alias's private key with the token's certificate;
//       SHA256withRSA and RSASSA-PSS signatures made on the token verify in software;
//       4 threads signing at once all produce valid signatures.
// Prints one "ok: ..." line per check; any failure throws, and the JVM exits non-zero.
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.PublicKey;
import java.security.Security;
import java.security.Signature;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.PSSParameterSpec;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import javax.security.auth.login.FailedLoginException;

public final class VtokenJavaTest {
    private static final int THREADS = 4;
    private static final int SIGNATURES_PER_THREAD = 5;

    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            throw new IllegalArgumentException("usage: <config> wrong-pin|sign <pin> [alias cert.der]");
        }
        Provider p11 = Security.getProvider("SunPKCS11").configure(args[0]);
        Security.addProvider(p11);
        System.out.println("ok: provider " + p11.getName() + " configured");
        switch (args[1]) {
            case "wrong-pin":
                wrongPin(p11, args[2].toCharArray());
                break;
            case "sign":
                if (args.length != 5) {
                    throw new IllegalArgumentException("sign needs <pin> <alias> <cert.der>");
                }
                sign(p11, args[2].toCharArray(), args[3], Path.of(args[4]));
                break;
            default:
                throw new IllegalArgumentException("unknown mode " + args[1]);
        }
    }

    private static void wrongPin(Provider p11, char[] pin) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS11", p11);
        try {
            ks.load(null, pin);
        } catch (java.io.IOException e) {
            // SunPKCS11 wraps the failed C_Login: IOException <- UnrecoverableKeyException
            // <- FailedLoginException <- PKCS11Exception(CKR_PIN_INCORRECT). Any other
            // failure (a crash, a hang, another error code) is not a clean wrong-PIN error.
            FailedLoginException login = null;
            for (Throwable c = e.getCause(); c != null; c = c.getCause()) {
                if (c instanceof FailedLoginException) {
                    login = (FailedLoginException) c;
                    break;
                }
            }
            if (login == null) {
                throw new AssertionError("wrong PIN: no FailedLoginException in the causes", e);
            }
            Throwable p11e = login.getCause();
            if (p11e == null || !"CKR_PIN_INCORRECT".equals(p11e.getMessage())) {
                throw new AssertionError("wrong PIN: expected CKR_PIN_INCORRECT, got " + p11e, e);
            }
            System.out.println("ok: wrong PIN rejected (" + p11e.getMessage() + ")");
            return;
        }
        throw new AssertionError("KeyStore.load accepted a wrong PIN");
    }

    private static void sign(Provider p11, char[] pin, String alias, Path certFile) throws Exception {
        X509Certificate expected;
        try (var in = Files.newInputStream(certFile)) {
            expected = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
        KeyStore ks = KeyStore.getInstance("PKCS11", p11);
        ks.load(null, pin);
        List<String> aliases = Collections.list(ks.aliases());
        System.out.println("ok: KeyStore loaded, aliases " + aliases);
        if (!ks.isKeyEntry(alias)) {
            throw new AssertionError("alias '" + alias + "' is not a key entry; aliases " + aliases);
        }
        KeyStore.Entry entry = ks.getEntry(alias, null);
        if (!(entry instanceof KeyStore.PrivateKeyEntry)) {
            throw new AssertionError("alias '" + alias + "' is not a PrivateKeyEntry: " + entry);
        }
        KeyStore.PrivateKeyEntry pke = (KeyStore.PrivateKeyEntry) entry;
        PrivateKey key = pke.getPrivateKey();
        Certificate[] chain = pke.getCertificateChain();
        if (chain.length < 1 || !chain[0].equals(expected)) {
            throw new AssertionError("the key's chain does not start with the token's certificate");
        }
        if (!expected.equals(ks.getCertificate(alias))) {
            throw new AssertionError("getCertificate(alias) is not the token's certificate");
        }
        if (!"RSA".equals(key.getAlgorithm())) {
            throw new AssertionError("key algorithm " + key.getAlgorithm());
        }
        System.out.println("ok: alias '" + alias + "' pairs a " + key.getAlgorithm()
                + " private key with " + expected.getSubjectX500Principal());
        PublicKey pub = expected.getPublicKey();

        byte[] data = "signed by SunPKCS11 with a virtual Kaztoken".getBytes(StandardCharsets.UTF_8);
        checkSignature(p11, "SHA256withRSA", null, key, pub, data);
        PSSParameterSpec pss = new PSSParameterSpec("SHA-256", "MGF1", MGF1ParameterSpec.SHA256, 32, 1);
        checkSignature(p11, "RSASSA-PSS", pss, key, pub, data);

        // Several threads at once, each with its own Signature (and so its own session).
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        CountDownLatch start = new CountDownLatch(1);
        List<Future<Integer>> results = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            final int thread = t;
            Callable<Integer> job = () -> {
                start.await();
                int good = 0;
                for (int i = 0; i < SIGNATURES_PER_THREAD; i++) {
                    byte[] msg = ("thread " + thread + " message " + i).getBytes(StandardCharsets.UTF_8);
                    Signature s = Signature.getInstance("SHA256withRSA", p11);
                    s.initSign(key);
                    s.update(msg);
                    byte[] sig = s.sign();
                    Signature v = Signature.getInstance("SHA256withRSA", "SunRsaSign");
                    v.initVerify(pub);
                    v.update(msg);
                    if (!v.verify(sig)) {
                        throw new AssertionError("thread " + thread + " signature " + i + " does not verify");
                    }
                    good++;
                }
                return good;
            };
            results.add(pool.submit(job));
        }
        start.countDown();
        int total = 0;
        for (Future<Integer> f : results) {
            total += f.get();
        }
        pool.shutdown();
        if (total != THREADS * SIGNATURES_PER_THREAD) {
            throw new AssertionError("only " + total + " concurrent signatures");
        }
        System.out.println("ok: " + THREADS + " threads made " + total + " signatures at once, all verify");
    }

    private static void checkSignature(Provider p11, String alg, PSSParameterSpec params, PrivateKey key,
                                       PublicKey pub, byte[] data) throws Exception {
        Signature s = Signature.getInstance(alg, p11);
        if (params != null) {
            s.setParameter(params);
        }
        s.initSign(key);
        s.update(data);
        byte[] sig = s.sign();
        Signature v = Signature.getInstance(alg, "SunRsaSign");
        if (params != null) {
            v.setParameter(params);
        }
        v.initVerify(pub);
        v.update(data);
        if (!v.verify(sig)) {
            throw new AssertionError(alg + " signature does not verify");
        }
        // The same signature must not verify over other data.
        v.initVerify(pub);
        v.update("other data".getBytes(StandardCharsets.UTF_8));
        if (v.verify(sig)) {
            throw new AssertionError(alg + " signature verifies over other data");
        }
        System.out.println("ok: " + alg + " signature made on the token verifies");
    }
}
