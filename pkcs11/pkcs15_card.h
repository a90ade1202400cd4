/* A PKCS#15 application on a card, in the layout OpenSC's rutoken_ecp profile writes:
 * EF(DIR) 3F00/2F00 -> DF 3F00/5000 with ODF 5031, TokenInfo 5032, AODF 6005, PrKDF 6002,
 * PuKDF 6001, CDF 6004, DODF 6006, and object EFs from the key-domain template
 * (public key 02xx, certificate 03xx, data 04xx, private data 05xx). The card itself is
 * reached through p11_p15_fs, which the card driver implements with its APDUs. */
#ifndef P11_PKCS15_CARD_H
#define P11_PKCS15_CARD_H

#include "p11.h"
#include "pkcs15.h"

/* What a file is for: the driver picks its access conditions from this. */
typedef enum p11_p15_file_role {
    P11_P15_FILE_DIR,        /* EF(DIR) */
    P11_P15_FILE_ODF,        /* ODF */
    P11_P15_FILE_TOKENINFO,  /* TokenInfo */
    P11_P15_FILE_AODF,       /* AODF (PIN objects) */
    P11_P15_FILE_XDF,        /* PrKDF, PuKDF, CDF, DODF */
    P11_P15_FILE_PUBLIC_EF,  /* a certificate, public key or public data object */
    P11_P15_FILE_PRIVATE_EF, /* a private data object */
} p11_p15_file_role;

typedef struct p11_p15_fs {
    void *ctx;
    /* Read a whole transparent EF. *found = false (and CKR_OK) when it does not exist. */
    CK_RV (*read)(void *ctx, const p11_p15_path *path, vt_buf *out, bool *found);
    /* Write data from offset 0 and zero the rest of the file. When the file does not
     * exist, create it (at least size bytes, access conditions for role) first. A file
     * too small for data is recreated larger. */
    CK_RV (*write)
    (void *ctx, const p11_p15_path *path, p11_p15_file_role role, size_t size, const uint8_t *data,
     size_t len);
    /* Delete an EF; CKR_OK when it did not exist. */
    CK_RV (*remove)(void *ctx, const p11_p15_path *path);
    /* Create a DF (the application DF). */
    CK_RV (*create_df)(void *ctx, const p11_p15_path *path);
} p11_p15_fs;

typedef struct p11_p15_df {
    p11_p15_df_type type;
    p11_p15_path path;
    p11_p15_obj *objs;
    size_t n;
} p11_p15_df;

typedef struct p11_p15_card {
    p11_p15_codec *codec;
    bool present;     /* a PKCS#15 application was found */
    p11_p15_path app; /* its DF */
    p11_p15_tokeninfo ti;
    p11_p15_df dfs[P11_P15_MAX_ODF]; /* in ODF order */
    size_t ndfs;
} p11_p15_card;

/* Defaults of a new application. */
typedef struct p11_p15_new_app {
    const char *label;        /* TokenInfo label and EF(DIR) label */
    const char *manufacturer; /* TokenInfo manufacturerID */
    const uint8_t *serial;    /* TokenInfo serialNumber (the card's serial) */
    size_t serial_len;
    long user_pin_min, user_pin_max, so_pin_min, so_pin_max;
    /* PIN references, also the AODF authIds: 0 means the rutoken_ecp profile's (SO 1,
     * user 2) */
    uint8_t so_ref, user_ref;
    uint16_t app_fid; /* the application DF below the MF; 0 means 5000 */
} p11_p15_new_app;

p11_p15_status p11_p15_card_init(p11_p15_card *card); /* makes the codec */
void p11_p15_card_free(p11_p15_card *card);
/* Forget what was read (keeps the codec). */
void p11_p15_card_reset(p11_p15_card *card);

/* Read EF(DIR), ODF, TokenInfo and every DF. A card without an application is not an
 * error (card->present = false). Malformed content is CKR_DEVICE_ERROR. */
CK_RV p11_p15_card_load(p11_p15_card *card, const p11_p15_fs *fs);

/* Lay out a new application (DF, ODF, TokenInfo, AODF with the SO and user PIN, each
 * with its reference as auth ID, empty PrKDF, PuKDF, CDF, DODF, then EF(DIR)). */
CK_RV p11_p15_card_create(p11_p15_card *card, const p11_p15_fs *fs, const p11_p15_new_app *app);

/* The DF of a type (NULL when the ODF has none). */
p11_p15_df *p11_p15_card_df(p11_p15_card *card, p11_p15_df_type type);

/* The AODF's PIN entry with this pinReference (NULL when none). df and idx (may be NULL)
 * locate it for p11_p15_card_replace(). */
p11_p15_obj *p11_p15_card_pin(p11_p15_card *card, long reference, p11_p15_df **df, size_t *idx);

/* Append obj to the DF of type and write the DF. obj is copied. A DF the ODF does not
 * list yet is created where the profile puts it and added to the ODF. */
CK_RV p11_p15_card_add(p11_p15_card *card, const p11_p15_fs *fs, p11_p15_df_type type,
                       const p11_p15_obj *obj);
/* Replace entry i of df (obj copied), or remove it; the DF is written. */
CK_RV p11_p15_card_replace(p11_p15_card *card, const p11_p15_fs *fs, p11_p15_df *df, size_t i,
                           const p11_p15_obj *obj);
CK_RV p11_p15_card_remove(p11_p15_card *card, const p11_p15_fs *fs, p11_p15_df *df, size_t i);

/* Rewrite TokenInfo with a new label (and lastUpdate). */
CK_RV p11_p15_card_set_label(p11_p15_card *card, const p11_p15_fs *fs, const char *label);

/* The next free object EF from the key-domain template: base 0x0200 (public key), 0x0300
 * (certificate), 0x0400 (data), 0x0500 (private data), plus 0..0xFE, below the
 * application DF, not used by any object. */
CK_RV p11_p15_card_alloc_ef(const p11_p15_card *card, uint16_t base, p11_p15_path *out);
/* The lowest private key reference 1..255 no PrKDF entry uses. */
CK_RV p11_p15_card_alloc_key_ref(const p11_p15_card *card, long *ref);

/* An object's value path made absolute (the application DF is the base). */
bool p11_p15_card_abs_path(const p11_p15_card *card, const p11_p15_path *in, p11_p15_path *out);

/* GeneralizedTime "YYYYMMDDhhmmssZ" for now. */
void p11_p15_now(char out[16]);

#endif
