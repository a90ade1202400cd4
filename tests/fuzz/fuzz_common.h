/* Shared by the card and image fuzz targets: a scratch directory (in /dev/shm when it
 * can, so the card's fsyncs cost nothing), golden-transcript replay to build a card's
 * starting state, and the private-key leak check every card response goes through. */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim.h"
#include "vt_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A failed property: print why (libFuzzer keeps the input) and abort. */
void fz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
#define FZ_REQUIRE(c)                                                                              \
    do {                                                                                           \
        if (!(c))                                                                                  \
            fz_fail("%s:%d: %s", __FILE__, __LINE__, #c);                                          \
    } while (0)

/* The process's scratch directory, made on first use and removed at exit. */
const char *fz_scratch(void);
/* "<scratch>/<name>" in a static buffer per call site's buffer (cap bytes). */
void fz_path(char *out, size_t cap, const char *name);
/* Replace path with bytes (no fsync: scratch files). */
void fz_write_file(const char *path, const uint8_t *data, size_t len);
/* Whole file into buf (cleared first). */
bool fz_read_file(const char *path, vt_buf *buf);

/* Replay the commands of a golden transcript (vectors/transcripts/...) on a powered
 * connection, ignoring the expected responses; "! reset" and "! power" are honoured. */
void fz_replay_transcript(sim_conn *conn, const char *path);
/* Parse one "> hex" line body (HH, spaces, HH*N) into out; -1 on bad syntax. */
long fz_parse_hex_line(const char *s, uint8_t *out, size_t cap);

/* Private key parts (d, p, q, dp, dq, qinv in both byte orders) of every RSA key in an
 * image, collected across a run: a response holding 16 consecutive bytes of one that
 * the host never sent is a leak. */
typedef struct fz_secrets {
    uint8_t part[16][6][2][512];
    size_t len[16][6];
    size_t nkeys;
    uint8_t seen[64][32]; /* SHA-256 of every key DER looked at: decode each once */
    size_t nseen;
} fz_secrets;
void fz_secrets_add_image(fz_secrets *s, const uint8_t *der, size_t len);
/* The same from a decoded image (the card's memory: a transaction's writes reach the
 * file only when it ends). */
struct ks_image;
void fz_secrets_add_img(fz_secrets *s, const struct ks_image *img);
/* True when resp holds a window of a secret that input does not hold itself. */
bool fz_secrets_leak(const fz_secrets *s, const uint8_t *resp, size_t rlen, const uint8_t *input,
                     size_t ilen);

#endif
